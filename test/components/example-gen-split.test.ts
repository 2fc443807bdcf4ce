import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError } from '../../dsl/executor';
import type { z } from 'zod';
import { ExampleGen, type ExampleGenParametersSchema } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { recordKeyWith, splitOf, type Scalar } from './hash-split-reference';
import { readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, Scalar>;

const splitFile = (run: ExecutorTestRun, split: string) => path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet');

/** Dates and timestamps as text, as the key writes them. */
async function splitRows(run: ExecutorTestRun, split: string): Promise<Row[]> {
  return (await readParquet(splitFile(run, split))).map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString().slice(0, 10) : (v as Scalar)])),
  );
}

/** Each row's canonical record key (numbers and text that reads as one alike) → the split it is in. */
async function splitOfEachRow(run: ExecutorTestRun): Promise<Map<string, string[]>> {
  const where = new Map<string, string[]>();
  for (const split of ['train', 'eval']) {
    for (const row of await splitRows(run, split)) {
      const key = recordKeyWith(row, { numericText: true });
      where.set(key, [...(where.get(key) ?? []), split]);
    }
  }
  return where;
}

/** Every row of `before` is in the same split (as many times) in `after`. */
function assertNoRowMoved(before: Map<string, string[]>, after: Map<string, string[]>): void {
  let checked = 0;
  for (const [key, splits] of before) {
    const now = after.get(key) ?? [];
    assert.deepEqual(now.slice(0, splits.length).sort(), [...splits].sort(), `row ${JSON.stringify(key)} moved`);
    checked += splits.length;
  }
  assert.ok(checked > 300, `${checked} rows compared`);
}

async function penguinsCsv(): Promise<string> {
  const rows = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Row[];
  const columns = Object.keys(rows[0]!);
  return [columns.join(','), ...rows.map((r) => columns.map((c) => (r[c] === null ? '' : String(r[c]))).join(','))].join('\n') + '\n';
}

describe('ExampleGen default split: row-local keys, CSV dialects, pre-split inputs', function () {
  let dir: string;
  before(async function () {
    dir = await tempDir('example-gen-split');
  });

  describe('appending rows never moves an existing row to another split', function () {
    it('seattle-weather.csv, with good rows and a bad value that turns a column of numbers into text (reported)', async function () {
      const original = await readFile(vegaFile('seattle-weather.csv'), 'utf8');
      const base = path.join(dir, 'weather.csv');
      await writeFile(base, original);
      const appended = path.join(dir, 'weather-appended.csv');
      await writeFile(appended, original + '2016-01-01,0.3,9.4,2.2,3.1,rain\n2016-01-02,abc,8.9,1.7,2.4,sun\n2016-01-03,1.0,7.2,0.6,2.9,rain\n');
      const before = await runExecutorForTest(ExampleGen, { parameters: { input: base } });
      const after = await runExecutorForTest(ExampleGen, { parameters: { input: appended } });
      assert.equal(after.result.properties?.examples?.num_examples, Number(before.result.properties?.examples?.num_examples) + 3);
      assertNoRowMoved(await splitOfEachRow(before), await splitOfEachRow(after));
      assert.deepEqual(after.result.summary?.warnings, [
        `column "precipitation" was read as text because 1 of 1464 values do not read as a number (e.g. 'abc'); declare its type in \`columns\` to count such rows as bad rows instead`,
      ]);
      assert.ok(after.progress.some((p) => p.message?.startsWith('warning: column "precipitation" was read as text')));
      assert.equal(before.result.summary?.warnings, undefined);
    });

    it('a column of 64-bit IDs beyond 2^53 that a bad value turns into text', async function () {
      // Neighbouring IDs a double cannot tell apart: keyed by their digits either way.
      const ids = Array.from({ length: 400 }, (_, i) => `${9007199254740993n + BigInt(i)},${i % 7}`);
      const base = path.join(dir, 'ids.csv');
      await writeFile(base, ['id,group', ...ids].join('\n') + '\n');
      const appended = path.join(dir, 'ids-appended.csv');
      await writeFile(appended, ['id,group', ...ids, 'abc,1'].join('\n') + '\n');
      const before = await runExecutorForTest(ExampleGen, { parameters: { input: base } });
      const after = await runExecutorForTest(ExampleGen, { parameters: { input: appended } });
      assert.match(String(after.result.summary?.warnings), /column "id" was read as text/);
      assertNoRowMoved(await splitOfEachRow(before), await splitOfEachRow(after));
    });

    it('penguins as CSV, with rows whose numbers are text and a new column filled only in the new rows', async function () {
      const csv = await penguinsCsv();
      const base = path.join(dir, 'penguins.csv');
      await writeFile(base, csv);
      const [header, ...lines] = csv.trimEnd().split('\n');
      const grown = path.join(dir, 'penguins-grown.csv');
      await writeFile(
        grown,
        [`${header},Note`, ...lines.map((l) => `${l},`), 'Adelie,Dream,n/a,18.1,190,3700,MALE,late', 'Gentoo,Biscoe,47.5,15,218,4950,FEMALE,'].join('\n') + '\n',
      );
      const before = await runExecutorForTest(ExampleGen, { parameters: { input: base } });
      const after = await runExecutorForTest(ExampleGen, { parameters: { input: grown } });
      assert.equal(after.result.properties?.examples?.num_examples, 346);
      assertNoRowMoved(await splitOfEachRow(before), await splitOfEachRow(after));
    });
  });

  it('warns when a split ends up with no rows (a 2-row file), and still writes its (empty) file', async function () {
    const input = path.join(dir, 'two.csv');
    await writeFile(input, 'id,value\n2,b\n4,d\n');
    const splits = [
      { name: 'train', hashBuckets: 2 },
      { name: 'eval', hashBuckets: 1 },
    ];
    // The reference puts both rows in train.
    for (const row of [{ id: 2, value: 'b' }, { id: 4, value: 'd' }]) assert.equal(splitOf(recordKeyWith(row, { numericText: true }), splits), 'train');
    const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
    assert.equal(run.result.properties?.examples?.num_examples_train, 2);
    assert.equal(run.result.properties?.examples?.num_examples_eval, 0);
    assert.deepEqual(run.result.summary?.warnings, ['split eval holds no rows (2 row(s) in all)']);
    assert.ok(run.progress.some((p) => p.message === 'warning: split eval holds no rows (2 row(s) in all)'));
    assert.deepEqual(await readParquet(splitFile(run, 'eval')), []);
  });

  describe('CSV dialects', function () {
    it('reads TSV, quoted delimiters, doubled quotes and multi-line quoted fields', async function () {
      const input = path.join(dir, 'quoted.tsv');
      await writeFile(input, 'name\tnote\tn\n"Smith\tJr."\t"said ""hi"""\t1\nLee\t"two\nlines"\t2\nKim\tplain\t3\n');
      const run = await runExecutorForTest(ExampleGen, { parameters: { input, splits: [{ name: 'all', hashBuckets: 1 }] } });
      assert.deepEqual(await readParquet(path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet')), [
        { name: 'Smith\tJr.', note: 'said "hi"', n: 1n },
        { name: 'Lee', note: 'two\nlines', n: 2n },
        { name: 'Kim', note: 'plain', n: 3n },
      ]);
    });

    it('detects a header, or its absence; csv.header overrides', async function () {
      const input = path.join(dir, 'no-header.csv');
      await writeFile(input, '1,2.5,x\n2,3.5,y\n3,4.5,z\n');
      const one = [{ name: 'all', hashBuckets: 1 }];
      const detected = await runExecutorForTest(ExampleGen, { parameters: { input, splits: one } });
      const rows = await readParquet(path.join(detected.outputDirs.examples!, 'Split-all', 'data-00000.parquet'));
      assert.deepEqual(rows, [
        { column0: 1n, column1: 2.5, column2: 'x' },
        { column0: 2n, column1: 3.5, column2: 'y' },
        { column0: 3n, column1: 4.5, column2: 'z' },
      ]);
      const headed = await runExecutorForTest(ExampleGen, { parameters: { input, splits: one, csv: { header: true } } });
      assert.deepEqual(Object.keys((await readParquet(path.join(headed.outputDirs.examples!, 'Split-all', 'data-00000.parquet')))[0]!), ['1', '2.5', 'x']);
    });

    it('declared column types are kept (others inferred)', async function () {
      const input = path.join(dir, 'declared.csv');
      await writeFile(input, 'id,zip,when,flag\n1,02134,2024-03-01,true\n2,10001,2024-03-02,false\n');
      const run = await runExecutorForTest(ExampleGen, {
        parameters: { input, splits: [{ name: 'all', hashBuckets: 1 }], columns: { zip: 'string', id: 'double' } },
      });
      const rows = await readParquet(path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet'), 'id, zip, CAST("when" AS VARCHAR) AS w, flag, typeof(id) AS t');
      assert.deepEqual(rows, [
        { id: 1, zip: '02134', w: '2024-03-01', flag: true, t: 'DOUBLE' },
        { id: 2, zip: '10001', w: '2024-03-02', flag: false, t: 'DOUBLE' },
      ]);
    });
  });

  describe('pre-split input (input by split, as TFX input_config.splits)', function () {
    it('writes each split from its own files, unhashed and in order', async function () {
      await mkdir(path.join(dir, 'pre', 'train'), { recursive: true });
      await mkdir(path.join(dir, 'pre', 'eval'), { recursive: true });
      await writeFile(path.join(dir, 'pre', 'train', 'a.csv'), 'x,y\n1,a\n2,b\n');
      await writeFile(path.join(dir, 'pre', 'train', 'b.csv'), 'x,y\n3,c\n');
      await writeFile(path.join(dir, 'pre', 'eval', 'a.csv'), 'x,y\n9,z\n');
      const input = { train: path.join(dir, 'pre', 'train', '*.csv'), eval: path.join(dir, 'pre', 'eval', '*.csv') };
      const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
      assert.deepEqual(await readParquet(splitFile(run, 'train')), [
        { x: 1n, y: 'a' },
        { x: 2n, y: 'b' },
        { x: 3n, y: 'c' },
      ]);
      assert.deepEqual(await readParquet(splitFile(run, 'eval')), [{ x: 9n, y: 'z' }]);
      const props = run.result.properties?.examples;
      assert.equal(props?.split_names, '["train","eval"]');
      assert.equal(props?.num_examples_train, 3);
      assert.equal(props?.num_examples_eval, 1);
      assert.equal(run.result.summary?.files, 3);
    });

    it('refuses a partitionFeature or tfxCompatibleSplit with it, and a split name unfit for a directory', async function () {
      const input = { train: path.join(dir, 'pre', 'train', '*.csv') };
      const refused = async (parameters: z.input<typeof ExampleGenParametersSchema>, pattern: RegExp) =>
        assert.rejects(runExecutorForTest(ExampleGen, { parameters }), (err: Error) => err instanceof UserInputError && pattern.test(err.message));
      await refused({ input, partitionFeature: 'x' }, /partitionFeature: partitionFeature hashes rows into splits; a pre-split input/);
      await refused({ input, tfxCompatibleSplit: true }, /tfxCompatibleSplit: tfxCompatibleSplit hashes rows into splits/);
      await refused({ input: { '../up': input.train } }, /split names start with a letter or digit/);
    });
  });
});
