import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import {
  applyBuckets,
  bucketize,
  clip,
  cross,
  dayOfWeek,
  fillMissing,
  hashStrings,
  hour,
  labelIds,
  log1p,
  month,
  scaleTo01,
  scaleToZScore,
  transform,
  vocabulary,
  year,
} from '../../components/transform/dsl';
import type { TransformIr } from '../../components/transform/expression';
import { MISSING_INSTANT, SERVING_GRAPH_FILE, SIGNATURE_FILE, TransformSignatureSchema, type TensorSpec } from '../../components/transform/signature';
import { Transform } from '../../components/transform/spec';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { binaryBody, request, splitBinaryResponse } from '../serving/serving-fixture';
import { servedPorts, serveProcess } from '../serving/serve-process';
import { duckQuery, readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';
import { PENGUIN_FEATURES } from '../../examples/penguins/transform';

/**
 * The skew test: rows materialised by the Transform component (the training path) and the same raw
 * rows sent to `mlpipe serve` serving the transform's serving graph over HTTP (the serving path) give
 * identical tensors, element for element (bit for bit: NaN where one has NaN). The eval split holds
 * thousands of rows with what serving meets and training did not: missing values, unseen categories,
 * values far outside the training range, instants before 1970 and missing ones.
 */

const BATCH = 1000;
const FLIGHT_KINDS = { date: 'timestamp', delay: 'number', distance: 'number', origin: 'string', destination: 'string' } as const;

const penguinsTransform = (): TransformIr =>
  transform(
    ({ f }) => ({
      beak: scaleToZScore(f['Beak Length (mm)']),
      flipper: scaleTo01(fillMissing(f['Flipper Length (mm)'], 'mean')),
      mass: log1p(clip(f['Body Mass (g)'], { min: 0, max: 5000 })),
      depth: fillMissing(f['Beak Depth (mm)'], 'median'),
      beakBucket: applyBuckets(f['Beak Length (mm)'], [35, 40, 45, 50]),
      massBucket: bucketize(f['Body Mass (g)'], 4),
      island: vocabulary(f.Island, { numOovBuckets: 2 }).oneHot(),
      sex: vocabulary(fillMissing(f.Sex, 'mode')).ids(),
      flipperId: vocabulary(f['Flipper Length (mm)'], { topK: 20 }).ids(),
      islandHash: hashStrings(f.Island, 16),
      islandFilled: fillMissing(f.Island, { constant: 'nowhere' }),
      islandSex: cross(f.Island, f.Sex, 32),
      species: labelIds(f.Species),
    }),
    PENGUIN_FEATURES,
  );

const flightsTransform = (): TransformIr =>
  transform(
    ({ f }) => ({
      delayZ: scaleToZScore(f.delay),
      delayMode: fillMissing(f.delay, 'mode'),
      distanceBucket: bucketize(f.distance, 5),
      originOneHot: vocabulary(f.origin, { topK: 20, numOovBuckets: 1 }).oneHot(),
      destinationId: vocabulary(f.destination).ids(),
      route: cross(f.origin, f.destination, 64),
      year: year(f.date),
      distance: f.distance,
      month: month(f.date),
      dayOfWeek: dayOfWeek(f.date),
      hour: hour(f.date),
    }),
    FLIGHT_KINDS,
  );

/** Penguins as they are for training; for serving 9 perturbed copies with missing, unseen and out-of-range values. */
async function penguinsInput(dir: string): Promise<Record<string, string>> {
  const source = `read_json(${sqlString(vegaFile('penguins.json'))})`;
  const train = path.join(dir, 'penguins-train.parquet');
  const evalFile = path.join(dir, 'penguins-eval.parquet');
  await duckQuery(`COPY (SELECT * FROM ${source}) TO ${sqlString(train)} (FORMAT parquet)`);
  await duckQuery(
    `COPY (SELECT
       CASE WHEN n % 19 = 0 THEN 'Unicorn' ELSE Species END AS Species,
       CASE WHEN n % 11 = 0 THEN 'Atlantis' WHEN n % 13 = 0 THEN NULL ELSE Island END AS Island,
       CAST(CASE WHEN i % 7 = 0 THEN NULL WHEN n % 17 = 0 THEN "Beak Length (mm)" * 10 ELSE "Beak Length (mm)" + i END AS DOUBLE) AS "Beak Length (mm)",
       CAST(CASE WHEN i % 5 = 0 THEN NULL ELSE "Beak Depth (mm)" - i END AS DOUBLE) AS "Beak Depth (mm)",
       CAST(CASE WHEN i % 3 = 0 THEN NULL ELSE "Flipper Length (mm)" + i * 3 END AS BIGINT) AS "Flipper Length (mm)",
       CAST(CASE WHEN i % 4 = 0 THEN -"Body Mass (g)" WHEN i % 6 = 0 THEN NULL ELSE "Body Mass (g)" * i END AS BIGINT) AS "Body Mass (g)",
       CASE WHEN n % 2 = 0 THEN NULL WHEN n % 9 = 0 THEN 'OTHER' ELSE Sex END AS Sex
     FROM (SELECT *, row_number() OVER () AS n FROM ${source} CROSS JOIN range(1, 10) t(i))) TO ${sqlString(evalFile)} (FORMAT parquet)`,
  );
  return { train, eval: evalFile };
}

/** 4,000 flights for training; the next 3,000 for serving, with unseen airports, missing values and instants before 1970. */
async function flightsInput(dir: string): Promise<Record<string, string>> {
  const source = `(SELECT *, row_number() OVER () AS n FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT 7000)`;
  const train = path.join(dir, 'flights-train.parquet');
  const evalFile = path.join(dir, 'flights-eval.parquet');
  await duckQuery(`COPY (SELECT * EXCLUDE (n) FROM ${source} WHERE n <= 4000) TO ${sqlString(train)} (FORMAT parquet)`);
  await duckQuery(
    `COPY (SELECT
       CASE WHEN n % 17 = 0 THEN NULL WHEN n % 19 = 0 THEN date - INTERVAL 60 YEAR ELSE date END AS date,
       CASE WHEN n % 7 = 0 THEN NULL WHEN n % 23 = 0 THEN delay * 1000 ELSE delay END AS delay,
       CASE WHEN n % 13 = 0 THEN distance * 100 ELSE distance END AS distance,
       CASE WHEN n % 11 = 0 THEN 'ZZZ' ELSE origin END AS origin,
       CASE WHEN n % 29 = 0 THEN NULL ELSE destination END AS destination
     FROM ${source} WHERE n > 4000) TO ${sqlString(evalFile)} (FORMAT parquet)`,
  );
  return { train, eval: evalFile };
}

async function splitRows(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).sort();
  return (await Promise.all(files.map((f) => readParquet(path.join(dir, f))))).flat();
}

/** A raw value as a serving client sends it (signature.ts): NaN, '' and MISSING_INSTANT for missing. */
function encodeInput(spec: TensorSpec, rows: Record<string, unknown>[]): { json?: string[]; raw?: Buffer } {
  const values = rows.map((r) => r[spec.name]);
  switch (spec.dtype) {
    case 'float32':
      return { raw: Buffer.from(Float32Array.from(values, (v) => (v === null ? NaN : Number(v))).buffer) };
    case 'string':
      return { json: values.map((v) => (v === null ? '' : String(v))) };
    case 'int64':
      return { raw: Buffer.from(BigInt64Array.from(values, (v) => (v === null ? MISSING_INSTANT : BigInt((v as Date).getTime()) * 1000n)).buffer) };
  }
}

/** BYTES elements of the binary extension: each a 4-byte little-endian length, then its UTF-8 bytes. */
function decodeBytes(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = bytes.readUInt32LE(at);
    out.push(bytes.toString('utf8', at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** The serving graph's answer for `rows`, per output, flat and row-major. */
async function served(http: string, model: string, inputs: TensorSpec[], outputs: TensorSpec[], rows: Record<string, unknown>[]): Promise<Record<string, Array<number | string>>> {
  const raw: Buffer[] = [];
  const header = {
    inputs: inputs.map((spec) => {
      const encoded = encodeInput(spec, rows);
      const base = { name: spec.name, shape: [rows.length], datatype: spec.dtype === 'float32' ? 'FP32' : spec.dtype === 'int64' ? 'INT64' : 'BYTES' };
      if (encoded.json) return { ...base, data: encoded.json };
      raw.push(encoded.raw!);
      return { ...base, parameters: { binary_data_size: encoded.raw!.length } };
    }),
    outputs: outputs.map((o) => ({ name: o.name, parameters: { binary_data: true } })),
  };
  const { body, headers } = binaryBody(header, raw);
  const reply = await request(`${http}/v2/models/${model}/infer`, { method: 'POST', body, headers });
  assert.equal(reply.status, 200, reply.body.toString());
  const { header: answer, rest } = splitBinaryResponse(reply);
  const result: Record<string, Array<number | string>> = {};
  let offset = 0;
  for (const output of answer.outputs) {
    const size = (output.parameters as { binary_data_size: number }).binary_data_size;
    const bytes = rest.subarray(offset, offset + size);
    offset += size;
    const copy = new Uint8Array(bytes).buffer;
    const datatype = output.datatype as string;
    if (!['FP32', 'INT64', 'BYTES'].includes(datatype)) throw new Error(`output ${String(output.name)}: unexpected datatype ${datatype}`);
    result[output.name as string] = datatype === 'FP32' ? Array.from(new Float32Array(copy)) : datatype === 'INT64' ? Array.from(new BigInt64Array(copy), Number) : decodeBytes(Buffer.from(copy));
  }
  return result;
}

describe('Transform: the skew test (materialised training tensors = what mlpipe serve computes from the raw rows)', function () {
  it('gives identical tensors, element for element, for penguins and flights rows with missing, unseen and out-of-range values', async () => {
    const dir = await tempDir('transform-skew');
    const repo = path.join(dir, 'models');
    const cases = [
      { model: 'penguins_transform', input: await penguinsInput(dir), ir: penguinsTransform(), label: 'Species' },
      { model: 'flights_transform', input: await flightsInput(dir), ir: flightsTransform(), label: undefined },
    ];
    const runs = [];
    for (const c of cases) {
      const examples = (await runExecutorForTest(ExampleGen, { parameters: { input: c.input } })).artifact('examples');
      const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
      const schema = (await runExecutorForTest(SchemaGen, { parameters: c.label ? { label: c.label } : {}, inputs: { statistics: [statistics] } })).artifact('schema');
      const run = await runExecutorForTest(Transform, { parameters: { transform: c.ir }, inputs: { examples: [examples], schema: [schema] } });
      const graphDir = run.outputDirs.transformGraph!;
      await mkdir(path.join(repo, c.model, '1'), { recursive: true });
      await writeFile(path.join(repo, c.model, '1', 'model.onnx'), await readFile(path.join(graphDir, SERVING_GRAPH_FILE)));
      const signature = TransformSignatureSchema.parse(JSON.parse(await readFile(path.join(graphDir, SIGNATURE_FILE), 'utf8')));
      runs.push({ ...c, examples, signature, transformed: run.outputDirs.transformedExamples! });
    }

    const server = serveProcess(['--repository', repo, '--http-port', '0', '--grpc-port', '0', '--poll-interval-ms', '0', '--default-max-batch-size', String(BATCH)]);
    try {
      const http = `http://127.0.0.1:${(await servedPorts(server)).http}`;
      for (const run of runs) {
        let compared = 0;
        for (const split of ['train', 'eval']) {
          const raw = await splitRows(path.join(run.examples.localDir, `Split-${split}`));
          const materialised = await splitRows(path.join(run.transformed, `Split-${split}`));
          assert.equal(materialised.length, raw.length);
          for (let start = 0; start < raw.length; start += BATCH) {
            const rows = raw.slice(start, start + BATCH);
            const answer = await served(http, run.model, run.signature.serving.inputs, run.signature.serving.outputs, rows);
            for (const output of run.signature.serving.outputs) {
              const expected = materialised.slice(start, start + BATCH).flatMap((r): Array<number | string> => {
                const v = r[output.name];
                if (output.dtype === 'string') return [v as string];
                return Array.isArray(v) ? v.map(Number) : [Number(v)];
              });
              const got = answer[output.name]!;
              assert.equal(got.length, expected.length, `${run.model} ${split} ${output.name}: element count`);
              got.forEach((g, i) =>
                assert.ok(Object.is(g, expected[i]), `${run.model} ${split} row ${start + Math.floor(i / (got.length / rows.length))} output ${output.name}: served ${g}, materialised ${expected[i]}`),
              );
              compared += got.length;
            }
          }
        }
        assert.ok(compared > 10_000, `${run.model}: ${compared} elements compared`);
      }
      // The planted rows reached the graph: unseen islands one-hot as all zeros or an OOV bucket, pre-1970 years.
      const penguinsEval = await splitRows(path.join(runs[0]!.transformed, 'Split-eval'));
      assert.ok(penguinsEval.some((r) => Number.isNaN(Number(r.beak))), 'a missing beak stays NaN after scaling');
      assert.ok(penguinsEval.some((r) => r.islandFilled === 'nowhere') && penguinsEval.some((r) => r.islandFilled === 'Atlantis'), 'string outputs compared: filled and unseen islands');
      const flightsEval = await splitRows(path.join(runs[1]!.transformed, 'Split-eval'));
      assert.ok(flightsEval.some((r) => Number(r.year) < 1970) && flightsEval.some((r) => Number(r.year) === -1), 'instants before 1970 and missing ones reached the graph');
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
