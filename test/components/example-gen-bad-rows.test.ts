import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { readParquet } from './parquet-rows';
import { rejectedRows } from './rejected-rows';
import { vegaFile } from './vega-data';

/** date → split, over both splits. */
async function splitByDate(run: ExecutorTestRun): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const split of ['train', 'eval']) {
    const rows = await readParquet(path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet'), 'CAST(date AS VARCHAR) AS d');
    for (const row of rows) out.set(String(row.d), split);
  }
  return out;
}

describe('ExampleGen bad rows', function () {
  let dir: string;
  let weather: string;
  /** seattle-weather.csv: header on line 1, 1461 rows on lines 2-1462. */
  let original: string;

  before(async function () {
    dir = await tempDir('example-gen-bad-rows');
    original = await readFile(vegaFile('seattle-weather.csv'), 'utf8');
    weather = path.join(dir, 'weather.csv');
    await writeFile(weather, original);
  });

  const withLines = async (name: string, lines: string[]) => {
    const file = path.join(dir, name);
    await writeFile(file, original + lines.map((l) => `${l}\n`).join(''));
    return file;
  };

  it('a value not parsing as its declared type fails by default, naming file, line, column and the type', async function () {
    const input = await withLines('declared-bad.csv', ['2016-01-01,0.3,9.4,2.2,3.1,rain', '2016-01-02,abc,8.9,1.7,2.4,sun']);
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input, columns: { precipitation: 'double' } } }),
      /malformed CSV: .*declared-bad\.csv line 1464, column "precipitation": .*"abc".*DOUBLE.*; the line reads: 2016-01-02,abc,8\.9,1\.7,2\.4,sun$/,
    );
  });

  it('within maxBadRows (a count), bad rows are skipped, sampled into rejected_rows.jsonl and the summary; other rows keep their splits', async function () {
    const input = await withLines('declared-budget.csv', ['2016-01-01,0.3,9.4,2.2,3.1,rain', '2016-01-02,abc,8.9,1.7,2.4,sun', '2016-01-03,1.0,7.2,0.6,2.9,rain,extra']);
    const base = await runExecutorForTest(ExampleGen, { parameters: { input: weather } });
    const run = await runExecutorForTest(ExampleGen, { parameters: { input, columns: { precipitation: 'double' }, maxBadRows: 2 } });
    assert.equal(run.result.properties?.examples?.num_examples, 1462);
    assert.equal(run.result.properties?.examples?.num_rejected_rows, 2);
    const rejected = await rejectedRows(run);
    assert.deepEqual(
      rejected.map((r) => [r.file, r.line, r.column, r.text]),
      [
        [input, 1464, 'precipitation', '2016-01-02,abc,8.9,1.7,2.4,sun'],
        [input, 1465, undefined, '2016-01-03,1.0,7.2,0.6,2.9,rain,extra'],
      ],
    );
    assert.match(String(rejected[0]!.reason), /abc/);
    assert.match(String(rejected[1]!.reason), /Expected Number of Columns: 6 Found: 7/);
    const summary = run.result.summary as { badRows: { count: number; sample: unknown[] }; warnings: string[] };
    assert.equal(summary.badRows.count, 2);
    assert.deepEqual(summary.badRows.sample, rejected);
    assert.deepEqual(summary.warnings, ['skipped 2 bad row(s) (maxBadRows 2); the first 2 are in rejected_rows.jsonl']);
    const before = await splitByDate(base);
    const after = await splitByDate(run);
    for (const [date, split] of before) assert.equal(after.get(date), split, `row of ${date}`);
    assert.equal(after.has('2016-01-02'), false);
  });

  it('beyond maxBadRows (a count or a fraction) fails with the first bad row', async function () {
    const input = await withLines('too-many.csv', ['2016-01-01,x,9.4,2.2,3.1,rain', '2016-01-02,y,8.9,1.7,2.4,sun']);
    const run = (maxBadRows: number) => runExecutorForTest(ExampleGen, { parameters: { input, columns: { precipitation: 'double' }, maxBadRows } });
    await rejects(run(1), /^2 bad rows exceed maxBadRows 1; the first: .*too-many\.csv line 1463, column "precipitation": /);
    // 0.001 of 1463 rows allows 1.
    await rejects(run(0.001), /^2 bad rows exceed maxBadRows 0\.001 \(1 of 1463 rows\); the first: .*too-many\.csv line 1463/);
    const allowed = await run(0.002);
    assert.equal(allowed.result.properties?.examples?.num_examples, 1461);
  });

  it('keeps a sample of the first 100 bad rows, counting them all', async function () {
    const bad = Array.from({ length: 150 }, (_, i) => `2017-01-01,${i},1,2`);
    const input = await withLines('many-bad.csv', bad);
    const run = await runExecutorForTest(ExampleGen, { parameters: { input, maxBadRows: 0.2 } });
    assert.equal(run.result.properties?.examples?.num_rejected_rows, 150);
    const rejected = await rejectedRows(run);
    assert.equal(rejected.length, 100);
    assert.deepEqual(rejected.map((r) => r.line), Array.from({ length: 100 }, (_, i) => 1463 + i));
  });

  it('an unterminated quote names file and line, near the top (the sniffer stumbles on it) or far down', async function () {
    const early = path.join(dir, 'early-quote.csv');
    await writeFile(early, 'a,b,c\n1,x,2\n3,"y,4\n5,z,6\n');
    await rejects(runExecutorForTest(ExampleGen, { parameters: { input: early } }), /malformed CSV: .*early-quote\.csv line 3: a quoted field opens here and is never closed/);
    const late = path.join(dir, 'late-quote.csv');
    await writeFile(late, ['a,b,c', ...Array.from({ length: 30000 }, (_, i) => `${i},x${i},${i * 2}`), '7,"broken,8', '9,z,10'].join('\n') + '\n');
    await rejects(runExecutorForTest(ExampleGen, { parameters: { input: late } }), /malformed CSV: .*late-quote\.csv line 30002, column "b": Value with unterminated quote found/);
  });

  it('a declared type for a column the CSV does not have, or for a format with types of its own', async function () {
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: weather, columns: { rainfall: 'double' } } }),
      /columns declares a type for "rainfall", not a column of .*weather\.csv; its columns are: "date", "precipitation", "temp_max", "temp_min", "wind", "weather"/,
    );
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json'), columns: { Island: 'string' } } }),
      /columns declares CSV column types; input .*penguins\.json" is read as json, whose types are its own/,
    );
  });

  it('maxBadRows that is neither a whole number nor a fraction below 1', async function () {
    await rejects(runExecutorForTest(ExampleGen, { parameters: { input: weather, maxBadRows: 1.5 } }), /maxBadRows: maxBadRows is a whole number of rows, or a fraction of the rows below 1/);
  });
});
