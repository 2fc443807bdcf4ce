import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { ExampleGen, type ExampleGenParametersSchema } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { rejectedRows } from './rejected-rows';
import { vegaFile } from './vega-data';

type Parameters = z.input<typeof ExampleGenParametersSchema>;

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/tfx-split');
const PENGUINS_CSV = path.join(FIXTURES, 'penguins.csv');
/** penguins.csv: a header and 344 rows of 7 fields, no quotes. */
const [HEADER, ...ROWS] = readFileSync(PENGUINS_CSV, 'utf8').trimEnd().split('\n') as [string, ...string[]];
const BEAK = 'Beak Length (mm)';
/** A value that does not parse as the declared DOUBLE of BEAK, and a row with one field too many. */
const NOT_A_DOUBLE = 'Adelie,Dream,abc,18,190,3800,MALE';
const EIGHT_FIELDS = 'Adelie,Dream,39,18,190,3800,MALE,extra';

const splitRows = (run: ExecutorTestRun, split: string) => readParquet(path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet'));

/** `rows` with `planted` inserted before data row `at` (0-based): the planted line is line `at + 2` of a file with a header. */
const plant = (rows: readonly string[], at: number, planted: string) => [...rows.slice(0, at), planted, ...rows.slice(at)];

async function writeCsv(file: string, rows: readonly string[]): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, [HEADER, ...rows].join('\n') + '\n');
  return file;
}

/** A CSV row as a JSON object: numbers where the cell is one, null where it is empty. */
function jsonLine(row: string): string {
  const names = HEADER.split(',');
  const cells = row.split(',');
  return JSON.stringify(Object.fromEntries(names.map((n, i) => [n, cells[i] === '' ? null : Number.isNaN(Number(cells[i])) ? cells[i] : Number(cells[i])])));
}

/** Both splits of the two runs hold the same rows in the same order. */
async function assertSameSplits(run: ExecutorTestRun, clean: ExecutorTestRun, splits: readonly string[]): Promise<void> {
  for (const split of splits) assert.deepEqual(await splitRows(run, split), await splitRows(clean, split), `split ${split}`);
}

describe('ExampleGen bad-row budgets on pre-split inputs, tfxCompatibleSplit and binary formats', function () {
  let dir: string;
  before(async function () {
    dir = await tempDir('example-gen-bad-rows-splits');
  });

  describe('pre-split CSV (train from two files, eval from one), BEAK declared a double', function () {
    const columns = { [BEAK]: 'double' as const };
    let clean: Record<string, string>;
    let planted: { input: Record<string, string>; trainB: string; eval: string };
    let cleanRun: ExecutorTestRun;

    before(async function () {
      clean = {
        train: path.join(await writeCsv(path.join(dir, 'clean', 'train', 'a.csv'), ROWS.slice(0, 150)), '..', '*.csv'),
        eval: await writeCsv(path.join(dir, 'clean', 'eval', 'a.csv'), ROWS.slice(250)),
      };
      await writeCsv(path.join(dir, 'clean', 'train', 'b.csv'), ROWS.slice(150, 250));
      await writeCsv(path.join(dir, 'bad', 'train', 'a.csv'), ROWS.slice(0, 150));
      const trainB = await writeCsv(path.join(dir, 'bad', 'train', 'b.csv'), plant(ROWS.slice(150, 250), 10, EIGHT_FIELDS));
      const evalFile = await writeCsv(path.join(dir, 'bad', 'eval', 'a.csv'), plant(ROWS.slice(250), 5, NOT_A_DOUBLE));
      planted = { input: { train: path.join(dir, 'bad', 'train', '*.csv'), eval: evalFile }, trainB, eval: evalFile };
      cleanRun = await runExecutorForTest(ExampleGen, { parameters: { input: clean, columns } });
    });

    it('skips the bad rows of each split, counts them, samples them with file and line; the good rows are written as without them', async function () {
      const run = await runExecutorForTest(ExampleGen, { parameters: { input: planted.input, columns, maxBadRows: 2 } });
      const props = run.result.properties?.examples;
      assert.equal(props?.num_examples_train, 250);
      assert.equal(props?.num_examples_eval, 94);
      assert.equal(props?.num_rejected_rows, 2);
      const rejected = await rejectedRows(run);
      assert.deepEqual(
        rejected.map((r) => [r.file, r.line, r.column, r.text]),
        [
          [planted.eval, 7, BEAK, NOT_A_DOUBLE],
          [planted.trainB, 12, undefined, EIGHT_FIELDS],
        ],
      );
      assert.deepEqual((run.result.summary as { badRows: { count: number } }).badRows.count, 2);
      await assertSameSplits(run, cleanRun, ['train', 'eval']);
    });

    it('the budget is over the rows of all splits: a count over both, a fraction of all 346 rows', async function () {
      const run = (maxBadRows: number) => runExecutorForTest(ExampleGen, { parameters: { input: planted.input, columns, maxBadRows } });
      // One bad row in each split: each alone within 1, both together not.
      await rejects(run(1), /^2 bad rows exceed maxBadRows 1; the first: .*bad\/eval\/a\.csv line 7, column "Beak Length \(mm\)": .*"abc"/);
      await rejects(run(0.005), /^2 bad rows exceed maxBadRows 0\.005 \(1 of 346 rows\); the first: .*bad\/eval\/a\.csv line 7/);
      // 0.006 of all 346 rows allows 2, though of eval's 95 rows alone it would allow none.
      const allowed = await run(0.006);
      assert.equal(allowed.result.properties?.examples?.num_examples, 344);
      // Without a budget the first bad row fails the node as soon as its split is read (train, before eval).
      await rejects(
        runExecutorForTest(ExampleGen, { parameters: { input: planted.input, columns } }),
        /^malformed CSV: .*bad\/train\/b\.csv line 12: Expected Number of Columns: 7 Found: 8; the line reads: Adelie,Dream,39,18,190,3800,MALE,extra$/,
      );
    });
  });

  it('pre-split JSON lines: bad lines of each split skipped and sampled, the good rows written as without them', async function () {
    const write = async (name: string, rows: readonly string[]) => {
      const file = path.join(dir, 'jsonl', name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, rows.join('\n') + '\n');
      return file;
    };
    const train = ROWS.slice(0, 250).map(jsonLine);
    const evalRows = ROWS.slice(250).map(jsonLine);
    const clean = { train: await write('clean-train.jsonl', train), eval: await write('clean-eval.jsonl', evalRows) };
    const bad = { train: await write('train.jsonl', plant(train, 2, '{"Species": "Adelie",')), eval: await write('eval.jsonl', plant(evalRows, 0, '[1, 2]')) };
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: bad, maxBadRows: 2 } });
    assert.equal(run.result.properties?.examples?.num_examples_train, 250);
    assert.equal(run.result.properties?.examples?.num_examples_eval, 94);
    const rejected = await rejectedRows(run);
    assert.deepEqual(
      rejected.map((r) => [r.file, r.line]),
      [
        [bad.eval, 1],
        [bad.train, 3],
      ],
    );
    assert.match(String(rejected[0]!.reason), /expected a JSON object \(one row\), got an array/);
    assert.match(String(rejected[1]!.reason), /not valid JSON/);
    await assertSameSplits(run, await runExecutorForTest(ExampleGen, { parameters: { input: clean } }), ['train', 'eval']);
    await rejects(runExecutorForTest(ExampleGen, { parameters: { input: bad, maxBadRows: 1 } }), /^2 bad rows exceed maxBadRows 1; the first: .*eval\.jsonl line 1: expected a JSON object/);
  });

  describe('tfxCompatibleSplit on CSV', function () {
    const vectors = JSON.parse(readFileSync(path.join(FIXTURES, 'vectors.json'), 'utf8')) as { cases: Array<{ name: string; counts: Record<string, number> }> };
    const tfxCounts = vectors.cases.find((c) => c.name === 'csv-default')!.counts;

    it('skips bad rows before CsvExampleGen types the rest: every good row lands where TFX put it in the file without them', async function () {
      const columns = { [BEAK]: 'double' as const };
      const input = await writeCsv(path.join(dir, 'tfx', 'penguins.csv'), [...plant(ROWS, 100, EIGHT_FIELDS), NOT_A_DOUBLE]);
      const parameters: Parameters = { input, tfxCompatibleSplit: true, columns, maxBadRows: 2 };
      const run = await runExecutorForTest(ExampleGen, { parameters });
      assert.deepEqual(run.result.summary?.splits, tfxCounts);
      const rejected = await rejectedRows(run);
      assert.deepEqual(
        rejected.map((r) => [r.file, r.line, r.column]),
        [
          [input, 102, undefined],
          [input, 347, BEAK],
        ],
      );
      // The clean file's TFX split is checked row by row against TFX's own in example-gen-tfx-split.test.ts.
      await assertSameSplits(run, await runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS_CSV, tfxCompatibleSplit: true, columns } }), ['train', 'eval']);
      await rejects(runExecutorForTest(ExampleGen, { parameters: { ...parameters, maxBadRows: 1 } }), /^2 bad rows exceed maxBadRows 1; the first: .*tfx\/penguins\.csv line 102: /);
    });
  });

  it('a budget set for a binary format is refused before reading: its first corrupt record fails the node', async function () {
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('flights-200k.arrow'), maxBadRows: 10 } }),
      /^maxBadRows skips bad rows of CSV and JSON lines input; input ".*flights-200k\.arrow" is read as arrow, whose reader fails at its first corrupt record/,
    );
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: path.join(FIXTURES, 'penguins.tfrecord'), tfxCompatibleSplit: true, maxBadRows: 0.01 } }),
      /is read as tfrecord, whose reader fails at its first corrupt record/,
    );
  });
});
