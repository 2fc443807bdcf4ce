import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { SpanRangeSchema } from './input-patterns';
import { resolveInputFiles } from './split-inputs';

/** Split names become `Split-<name>/` directories. */
export const SPLIT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Bounds the bucket arithmetic; a million buckets is far finer than any split ratio needs. */
export const MAX_TOTAL_HASH_BUCKETS = 1_000_000;

export const SplitConfigSchema = z
  .object({
    name: z.string().regex(SPLIT_NAME_PATTERN, 'split names start with a letter or digit and use letters, digits, _ and - (up to 64)'),
    hashBuckets: z.number().int().min(1, 'hashBuckets must be at least 1'),
  })
  .strict();
export type SplitConfig = z.infer<typeof SplitConfigSchema>;

export const INPUT_FORMATS = ['csv', 'json', 'jsonl', 'parquet', 'tfrecord', 'avro', 'arrow'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

/** The column types a CSV may declare (`columns`), as DuckDB reads them. */
export const DUCKDB_TYPE_OF_DECLARED = { int64: 'BIGINT', double: 'DOUBLE', string: 'VARCHAR', bool: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMP' } as const;
const DECLARED_COLUMN_TYPES = Object.keys(DUCKDB_TYPE_OF_DECLARED) as [keyof typeof DUCKDB_TYPE_OF_DECLARED, ...Array<keyof typeof DUCKDB_TYPE_OF_DECLARED>];

export const ExampleGenParametersSchema = z
  .object({
    /**
     * Absolute local path, file:// or s3:// URI; may be a glob (`/data/part-*.parquet`) and a span
     * pattern (`/data/span-{SPAN}/v{VERSION}/*.csv`, `s3://bucket/{YYYY}-{MM}-{DD}/*.parquet`: see
     * input-patterns.ts). Read as it was when the node was prepared.
     */
    input: z.union([
      z.string().min(1, 'input must name a file, a file:// URI or a glob'),
      // Pre-split input, as TFX's input_config.splits: each split's files are written as they are, no hashing.
      z.record(z.string(), z.string().min(1, 'each split of a pre-split input names a file, a file:// URI or a glob')).superRefine((splits, ctx) => {
        const names = Object.keys(splits);
        if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'a pre-split input names at least one split' });
        for (const name of names.filter((n) => !SPLIT_NAME_PATTERN.test(n))) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'split names start with a letter or digit and use letters, digits, _ and - (up to 64)' });
        }
      }),
    ]),
    /** Which spans a span pattern reads: the latest by default, `{start, end}` or `{latestSpans: n}`, each at its latest version. */
    range: SpanRangeSchema.optional(),
    /**
     * The S3 endpoint and keys an s3:// input is read with: the name of one of the workers'
     * `s3Sources` (never the keys themselves); the artifact store's by default.
     */
    s3Source: z.string().min(1).optional(),
    /**
     * `auto` picks the format from the extension (.csv/.tsv, .json, .jsonl/.ndjson, .parquet/.pq, optionally
     * .gz/.zst; .avro; .arrow/.arrows/.feather/.ipc for Arrow IPC, file or stream).
     */
    format: z.enum(['auto', ...INPUT_FORMATS]).default('auto'),
    /** Hash-bucket split, as TFX's `output_config.split_config`: train:eval = 2:1 by default. */
    splits: z
      .array(SplitConfigSchema)
      .min(1, 'at least one split is needed')
      .default([
        { name: 'train', hashBuckets: 2 },
        { name: 'eval', hashBuckets: 1 },
      ])
      .superRefine((splits, ctx) => {
        const seen = new Set<string>();
        splits.forEach((split, i) => {
          if (seen.has(split.name)) {
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `split name '${split.name}' is used twice` });
          }
          seen.add(split.name);
        });
        const total = splits.reduce((sum, s) => sum + s.hashBuckets, 0);
        if (total > MAX_TOTAL_HASH_BUCKETS) {
          ctx.addIssue({ code: 'custom', message: `hash buckets add up to ${total}; at most ${MAX_TOTAL_HASH_BUCKETS} are allowed` });
        }
      }),
    /** Column whose value is the hash key (rows sharing it share a split); default: the whole record. */
    partitionFeature: z.string().min(1).optional(),
    /**
     * Split exactly as TFX 1.21's ExampleGen splits the same CSV or TFRecord input (see tfx-split.ts),
     * so evaluation numbers stay comparable across a migration. `{ payloadFormat: 'proto' }` matches
     * ImportExampleGen's `payload_format=FORMAT_PROTO` (the raw record bytes are the key). In this mode a
     * CSV row's split can depend on other rows (CsvExampleGen infers column types over the whole input),
     * and the sha256 runs in JavaScript: slower than the default split.
     */
    tfxCompatibleSplit: z
      .union([z.boolean(), z.object({ payloadFormat: z.enum(['tf_example', 'proto']) }).strict()])
      .default(false),
    /** CSV dialect; anything left out is detected from the file. */
    csv: z
      .object({
        delimiter: z.string().min(1).max(4).optional(),
        header: z.boolean().optional(),
        /** Quote character, doubled to escape it (RFC 4180); `''` reads quotes as text. Default `"`. */
        quote: z.string().max(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * Declared CSV column types by name (the others are inferred): a value that does not parse as its
     * column's type makes its row a bad row (see maxBadRows) instead of turning the column into text.
     */
    columns: z.record(z.string().min(1), z.enum(DECLARED_COLUMN_TYPES)).optional(),
    /**
     * Bad CSV rows (wrong field count, a value not parsing as its declared type, an unterminated quote) and
     * bad JSON lines (not JSON, not an object, a value not fitting its inferred type) that may be skipped:
     * a count (a whole number), or a fraction below 1 of all rows read, good and bad. Skipped rows are
     * counted, and a sample is written to the Examples artifact's `rejected_rows.jsonl` and the run
     * summary. By default none: the first bad row fails the node, naming file, line and column.
     * The budget applies to the hashed split, to `tfxCompatibleSplit` (bad CSV rows are set apart before
     * CsvExampleGen's type inference, which runs over the rest) and to a pre-split input, over the rows
     * of all its splits together. A `.json` document fails whole at a syntax error; binary formats
     * (Parquet, Avro, TFRecord, Arrow IPC) fail at their first corrupt record, so a budget set for one
     * is refused before reading.
     */
    maxBadRows: z
      .number()
      .nonnegative()
      .refine((n) => n < 1 || Number.isInteger(n), 'maxBadRows is a whole number of rows, or a fraction of the rows below 1')
      .default(0),
  })
  .strict()
  .superRefine((params, ctx) => {
    if (typeof params.input === 'string') return;
    // A pre-split input's splits are its own: nothing is hashed.
    if (params.partitionFeature !== undefined) ctx.addIssue({ code: 'custom', path: ['partitionFeature'], message: 'partitionFeature hashes rows into splits; a pre-split input (input by split) is not hashed' });
    if (params.tfxCompatibleSplit !== false) ctx.addIssue({ code: 'custom', path: ['tfxCompatibleSplit'], message: 'tfxCompatibleSplit hashes rows into splits; a pre-split input (input by split) is not hashed' });
  });
export type ExampleGenParameters = z.output<typeof ExampleGenParametersSchema>;

/**
 * Ingests CSV, JSON (array or lines), JSON lines, Parquet, Avro, TFRecord of tf.Example or Arrow IPC and
 * writes Parquet per split under `Split-<name>/`, split deterministically by a hash of each record (see
 * hash-split.ts) or as a pre-split input gives them.
 */
export const ExampleGen = defineComponent({
  type: 'ExampleGen',
  // 2: the default split hashes a row-local key with MD5, so rows land in other splits than version 1's
  // sha256 put them; a version-1 artifact in the cache is not this version's output.
  version: '2',
  description: 'Reads CSV, JSON, JSON lines, Parquet, Avro, TFRecord or Arrow IPC files and writes a deterministic hash split as Parquet per split',
  parameters: ExampleGenParametersSchema,
  inputs: {},
  outputs: { examples: 'Examples' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
  // The input's files and their content are looked up once, before the cache: a refreshed file at
  // the same path runs the node again, and the executor reads exactly the files that were hashed.
  resolve: async (ctx) => ({ files: await resolveInputFiles(ctx.listFiles, ctx.parameters), artifacts: {} }),
});
