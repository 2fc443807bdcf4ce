import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { featureKey, recordKey, splitOf, type Scalar } from './hash-split-reference';
import { duckQuery, readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, Scalar>;

const PENGUINS = vegaFile('penguins.json');
const DEFAULT_SPLITS = [
  { name: 'train', hashBuckets: 2 },
  { name: 'eval', hashBuckets: 1 },
];

async function penguins(): Promise<Row[]> {
  return JSON.parse(await readFile(PENGUINS, 'utf8')) as Row[];
}

const splitFile = (run: ExecutorTestRun, split: string) => path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet');

async function splitRows(run: ExecutorTestRun, split: string): Promise<Row[]> {
  return (await readParquet(splitFile(run, split))) as Row[];
}

/** Record keys (by the reference serialisation) of every row in a split, sorted: a multiset to compare. */
async function splitKeys(run: ExecutorTestRun, split: string): Promise<string[]> {
  return (await splitRows(run, split)).map(recordKey).sort();
}

async function writeIn(dir: string, name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

function csvOf(rows: Row[]): string {
  const columns = Object.keys(rows[0]!);
  const cell = (v: Scalar) => (v === null ? '' : String(v));
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c] ?? null)).join(','))].join('\n') + '\n';
}

describe('ExampleGen', function () {
  let dir: string;
  let penguinRows: Row[];
  let penguinRun: ExecutorTestRun;

  before(async function () {
    dir = await tempDir('example-gen-test');
    penguinRows = await penguins();
    penguinRun = await runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS } });
  });

  describe('on penguins.json (a JSON array)', function () {
    it('writes Parquet per split under Split-<name>/ with the properties downstream components read', async function () {
      const entries = (await readdir(penguinRun.outputDirs.examples!)).sort();
      assert.deepEqual(entries, ['Split-eval', 'Split-train']);
      const props = penguinRun.result.properties?.examples;
      assert.ok(props);
      assert.equal(props.split_names, '["train","eval"]');
      assert.equal(props.span, 0);
      assert.equal(props.version, 0);
      assert.equal(props.num_examples, 344);
      const train = (await splitRows(penguinRun, 'train')).length;
      const evalRows = (await splitRows(penguinRun, 'eval')).length;
      assert.equal(props.num_examples_train, train);
      assert.equal(props.num_examples_eval, evalRows);
      assert.equal(train + evalRows, 344);
    });

    it('splits about 2:1 by default', function () {
      const train = Number(penguinRun.result.properties?.examples?.num_examples_train);
      // A fair 2:1 hash split of 344 rows has a standard deviation of ~8.7 rows (2.5%).
      assert.ok(Math.abs(train / 344 - 2 / 3) < 0.06, `train holds ${train} of 344 rows`);
    });

    it('puts every row where the pure-TypeScript reference of the bucket function puts it', async function () {
      const expected: Record<string, string[]> = { train: [], eval: [] };
      for (const row of penguinRows) {
        const key = recordKey(row);
        expected[splitOf(key, DEFAULT_SPLITS)]!.push(key);
      }
      assert.deepEqual(await splitKeys(penguinRun, 'train'), expected.train!.sort());
      assert.deepEqual(await splitKeys(penguinRun, 'eval'), expected.eval!.sort());
    });

    it('keeps column names with spaces and parentheses, types and nulls', async function () {
      const rows = await duckQuery(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(splitFile(penguinRun, 'train'))}))`,
      );
      assert.deepEqual(
        rows.map((r) => `${String(r.column_name)}:${String(r.column_type)}`),
        [
          'Species:VARCHAR',
          'Island:VARCHAR',
          'Beak Length (mm):DOUBLE',
          'Beak Depth (mm):DOUBLE',
          'Flipper Length (mm):BIGINT',
          'Body Mass (g):BIGINT',
          'Sex:VARCHAR',
        ],
      );
      const all = [...(await splitRows(penguinRun, 'train')), ...(await splitRows(penguinRun, 'eval'))];
      assert.equal(all.filter((r) => r.Sex === null).length, penguinRows.filter((r) => r.Sex === null).length);
    });

    it('writes byte-identical files on a second run', async function () {
      const again = await runExecutorForTest(ExampleGen, { parameters: { input: pathToFileURL(PENGUINS).href } });
      for (const split of ['train', 'eval']) {
        const digest = async (run: ExecutorTestRun) => createHash('sha256').update(await readFile(splitFile(run, split))).digest('hex');
        assert.equal(await digest(again), await digest(penguinRun), `Split-${split} differs between runs`);
      }
    });

    it('reports progress up to completion with row counters', function () {
      const last = penguinRun.progress.at(-1);
      assert.equal(last?.fraction, 1);
      assert.equal(last?.counters?.rowsWritten, 344);
      const fractions = penguinRun.progress.map((p) => p.fraction ?? 0);
      assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b), 'progress never goes backwards');
    });
  });

  describe('the same rows in other formats', function () {
    it('land in the same splits from CSV, JSON lines and Parquet', async function () {
      const csv = await writeIn(dir, 'penguins.csv', csvOf(penguinRows));
      const jsonl = await writeIn(dir, 'penguins.jsonl', penguinRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const parquet = path.join(dir, 'penguins.parquet');
      await duckQuery(`COPY (SELECT * FROM read_json(${sqlString(PENGUINS)})) TO ${sqlString(parquet)} (FORMAT parquet)`);
      const expectedTrain = await splitKeys(penguinRun, 'train');
      const expectedEval = await splitKeys(penguinRun, 'eval');
      for (const input of [csv, jsonl, parquet]) {
        const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
        assert.deepEqual(await splitKeys(run, 'train'), expectedTrain, `train split from ${path.basename(input)}`);
        assert.deepEqual(await splitKeys(run, 'eval'), expectedEval, `eval split from ${path.basename(input)}`);
      }
    });

    it('reads a .json file holding JSON lines', async function () {
      const input = await writeIn(dir, 'lines.json', penguinRows.map((r) => JSON.stringify(r)).join('\n'));
      const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
      assert.equal(run.result.properties?.examples?.num_examples, 344);
      assert.deepEqual(await splitKeys(run, 'train'), await splitKeys(penguinRun, 'train'));
    });
  });

  describe('split configuration', function () {
    it('keeps rows sharing a partitionFeature value together, keyed by that value', async function () {
      const feature = 'Beak Length (mm)';
      const run = await runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS, partitionFeature: feature } });
      for (const split of ['train', 'eval']) {
        for (const row of await splitRows(run, split)) {
          assert.equal(splitOf(featureKey(row[feature] ?? null), DEFAULT_SPLITS), split, `row with ${feature} = ${String(row[feature])}`);
        }
      }
    });

    it('honours custom splits and ratios (8:1:1 on a 20,000-row sample of flights-3m.parquet)', async function () {
      const sample = path.join(dir, 'flights-sample.parquet');
      await duckQuery(
        `COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT 20000) TO ${sqlString(sample)} (FORMAT parquet)`,
      );
      const splits = [
        { name: 'train', hashBuckets: 8 },
        { name: 'validation', hashBuckets: 1 },
        { name: 'test', hashBuckets: 1 },
      ];
      const run = await runExecutorForTest(ExampleGen, { parameters: { input: sample, splits } });
      const props = run.result.properties?.examples;
      assert.equal(props?.split_names, '["train","validation","test"]');
      const n = (s: string) => Number(props?.[`num_examples_${s}`]);
      assert.equal(n('train') + n('validation') + n('test'), 20000);
      // Standard deviation of a 10% share of 20,000 rows is 0.2%.
      assert.ok(Math.abs(n('train') / 20000 - 0.8) < 0.01, `train ${n('train')}`);
      assert.ok(Math.abs(n('validation') / 20000 - 0.1) < 0.01, `validation ${n('validation')}`);

      // Timestamps key by their DuckDB text; check a sample of rows against the reference.
      const rows = (await readParquet(
        path.join(run.outputDirs.examples!, 'Split-test', 'data-00000.parquet'),
        'CAST(date AS VARCHAR) AS date, delay, distance, origin, destination',
      )) as Row[];
      for (const row of rows.slice(0, 300)) assert.equal(splitOf(recordKey(row), splits), 'test');
    });

    it('reads every file a glob matches', async function () {
      const globDir = await tempDir('example-gen-glob');
      await writeIn(globDir, 'part-1.csv', csvOf(penguinRows.slice(0, 100)));
      await writeIn(globDir, 'part-2.csv', csvOf(penguinRows.slice(100)));
      const run = await runExecutorForTest(ExampleGen, { parameters: { input: path.join(globDir, 'part-*.csv') } });
      assert.equal(run.result.properties?.examples?.num_examples, 344);
      assert.equal(run.result.summary?.files, 2);
      assert.deepEqual(await splitKeys(run, 'train'), await splitKeys(penguinRun, 'train'));
    });

    it('reads seattle-weather.csv with its DATE column', async function () {
      const run = await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('seattle-weather.csv') } });
      const lines = (await readFile(vegaFile('seattle-weather.csv'), 'utf8')).trim().split('\n');
      assert.equal(run.result.properties?.examples?.num_examples, lines.length - 1);
      const [first] = await duckQuery(
        `SELECT typeof(date) AS t FROM read_parquet(${sqlString(splitFile(run, 'train'))}) LIMIT 1`,
      );
      assert.equal(first?.t, 'DATE');
    });

    it('stops with an AbortError when cancelled mid-scan (flights-3m.parquet)', async function () {
      const controller = new AbortController();
      let rowsReadAtAbort = 0;
      const run = runExecutorForTest(ExampleGen, {
        parameters: { input: vegaFile('flights-3m.parquet') },
        signal: controller.signal,
        onProgress: (p) => {
          const rowsRead = p.counters?.rowsRead ?? 0;
          if (rowsRead > 0 && !controller.signal.aborted) {
            rowsReadAtAbort = rowsRead;
            controller.abort();
          }
        },
      });
      await assert.rejects(run, (err: Error) => err.name === 'AbortError');
      assert.ok(rowsReadAtAbort > 0 && rowsReadAtAbort < 3_000_000, `cancelled after ${rowsReadAtAbort} rows`);
    });
  });

  describe('bad input', function () {
    it('a missing file', async function () {
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: path.join(dir, 'missing.csv') } }), /input file not found: .*missing\.csv/);
    });

    it('a glob matching nothing', async function () {
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: path.join(dir, 'nothing-*.csv') } }), /no file matches the input pattern/);
    });

    it('a directory', async function () {
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: dir } }), /is a directory; name its files with a glob/);
    });

    it('an extension that names no known format', async function () {
      const input = await writeIn(dir, 'data.xyz', 'a,b\n1,2\n');
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), /cannot tell the format of input .*data\.xyz.*set format to one of csv, json, jsonl, parquet/);
    });

    it('a compression the format\'s reader cannot undo', async function () {
      for (const name of ['data.tfrecord.zst', 'data.avro.gz', 'data.parquet.zst']) {
        const input = await writeIn(dir, name, 'not read');
        await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), new RegExp(`cannot tell the format of input .*${name.replace(/\./g, '\\.')}`));
      }
    });

    it('an unknown format parameter', async function () {
      await rejects(
        runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS, format: 'xml' as 'csv' } }),
        /ExampleGen parameters: format: /,
      );
    });

    it('an s3:// input where no S3 endpoint is configured', async function () {
      await rejects(
        runExecutorForTest(ExampleGen, { parameters: { input: 's3://bucket/penguins.json' } }),
        /input "s3:\/\/bucket\/penguins\.json" is on S3, but no S3 endpoint is configured/,
      );
    });

    it('a relative path', async function () {
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: 'data/penguins.json' } }), /must be an absolute path or a file:\/\/ URI/);
    });

    it('a CSV line with too many fields names the file and the line', async function () {
      const input = await writeIn(dir, 'bad.csv', 'a,b,c\n1,x,2\n3,y,4\n5,z,6,7\n8,w,9\n');
      await rejects(
        runExecutorForTest(ExampleGen, { parameters: { input } }),
        /malformed CSV: .*bad\.csv line 4: Expected Number of Columns: 3 Found: 4; the line reads: 5,z,6,7/,
      );
    });

    it('a CSV value that does not fit its column names the line and the column', async function () {
      const rows = Array.from({ length: 30000 }, (_, i) => `${i},${i * 2}`);
      const input = await writeIn(dir, 'late-bad.csv', ['id,value', ...rows, '30000,oops'].join('\n') + '\n');
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), /late-bad\.csv line 30002, column "value": .*oops/);
    });

    it('malformed JSON names the file and the record', async function () {
      const input = await writeIn(dir, 'bad.json', '[{"a": 1}, {"a": 2}, {"a": oops}]');
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), /cannot read .*bad\.json as JSON: Malformed JSON in file ".*bad\.json", at byte \d+ in record\/value \d+/);
    });

    it('malformed JSON lines name the file and the line', async function () {
      const input = await writeIn(dir, 'bad.jsonl', '{"a": 1}\n{"a": 2\n{"a": 3}\n');
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), /malformed JSON lines: .*bad\.jsonl line 2: not valid JSON .*; the line reads: \{"a": 2$/);
    });

    it('JSON whose records are not objects', async function () {
      const input = await writeIn(dir, 'numbers.json', '[1, 2, 3]');
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), /numbers\.json as JSON: every record must be a JSON object/);
    });

    it('a file that is not Parquet', async function () {
      const input = await writeIn(dir, 'fake.parquet', 'this is not parquet');
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input } }), /cannot read .*fake\.parquet as PARQUET/);
    });

    it('an empty CSV file and an empty JSON array', async function () {
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: await writeIn(dir, 'empty.csv', '') } }), /holds no rows/);
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: await writeIn(dir, 'empty.json', '[]') } }), /holds no rows/);
    });

    it('a partitionFeature that is not a column lists the columns', async function () {
      await rejects(
        runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS, partitionFeature: 'Weight' } }),
        /partitionFeature "Weight" is not a column of .*penguins\.json; its columns are: "Species", "Island", "Beak Length \(mm\)"/,
      );
    });

    it('csv options on a non-CSV input', async function () {
      await rejects(runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS, csv: { delimiter: ';' } } }), /csv options apply to CSV input only/);
    });

    it('zero hash buckets, duplicate split names, no splits, a split name unfit for a directory', async function () {
      const run = (splits: Array<{ name: string; hashBuckets: number }>) => runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS, splits } });
      await rejects(run([{ name: 'train', hashBuckets: 0 }, { name: 'eval', hashBuckets: 1 }]), /splits\[0\]\.hashBuckets: hashBuckets must be at least 1/);
      await rejects(run([{ name: 'train', hashBuckets: 1 }, { name: 'train', hashBuckets: 1 }]), /splits\[1\]\.name: split name 'train' is used twice/);
      await rejects(run([]), /splits: at least one split is needed/);
      await rejects(run([{ name: '../up', hashBuckets: 1 }]), /splits\[0\]\.name: split names start with a letter or digit/);
      await rejects(run([{ name: 'a', hashBuckets: 999_999 }, { name: 'b', hashBuckets: 2 }]), /hash buckets add up to 1000001; at most 1000000/);
    });
  });
});
