import { writeFile } from 'node:fs/promises';
import avro from 'avsc';

/**
 * Writes `records` as an Avro object container file with avsc's own encoder, independent of the
 * product's reader. A schema given as JSON goes into the header as it is (a Type would lose its logical
 * types there).
 */
export async function writeAvroFile(file: string, schema: avro.Schema, records: Iterable<object>, options?: ConstructorParameters<typeof avro.streams.BlockEncoder>[1]): Promise<void> {
  const encoder = new avro.streams.BlockEncoder(schema, options);
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve, reject) => encoder.on('end', resolve).on('error', reject));
  for (const record of records) encoder.write(record);
  encoder.end();
  await ended;
  await writeFile(file, Buffer.concat(chunks));
}
