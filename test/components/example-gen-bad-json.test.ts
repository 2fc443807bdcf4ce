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

/** Every written row as its JSON text, sorted, over both splits. */
async function writtenRows(run: ExecutorTestRun): Promise<string[]> {
  const rows: string[] = [];
  for (const split of ['train', 'eval']) {
    const file = path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet');
    for (const row of await readParquet(file, '*')) rows.push(JSON.stringify(row, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
  }
  return rows.sort();
}

const SYNTAX = '{"Species": "Adelie", "Island":';
const ARRAY = '[1, 2]';
const MISFIT = '{"Species": "Gentoo", "Island": "Biscoe", "Beak Length (mm)": "abc", "Beak Depth (mm)": 15.1, "Flipper Length (mm)": 215, "Body Mass (g)": 5100, "Sex": "MALE"}';
const GOOD = '{"Species": "Gentoo", "Island": "Dream", "Beak Length (mm)": 40.5, "Beak Depth (mm)": 17.9, "Flipper Length (mm)": 187, "Body Mass (g)": 3200, "Sex": "FEMALE"}';

describe('ExampleGen bad JSON lines', function () {
  let dir: string;
  /** penguins.json as JSON lines: 344 objects on lines 1-344. */
  let penguins: string[];
  /**
   * penguins 60 times (20,640 lines): DuckDB infers column types from the first 20,480 rows, so a value
   * after them that does not fit its column fails the read instead of making the column text.
   */
  let many: string[];
  const N = 20_640;

  before(async function () {
    dir = await tempDir('example-gen-bad-json');
    penguins = (JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as object[]).map((row) => JSON.stringify(row));
    many = Array.from({ length: 60 }, () => penguins).flat();
    assert.equal(many.length, N);
  });

  const withLines = async (name: string, lines: string[]) => {
    const file = path.join(dir, name);
    await writeFile(file, [...many, ...lines].map((l) => `${l}\n`).join(''));
    return file;
  };

  it('within maxBadRows (a count): invalid JSON, a non-object and a value not fitting its column are skipped, listed by file and line', async function () {
    const input = await withLines('three-bad.jsonl', [SYNTAX, ARRAY, GOOD, MISFIT]);
    const run = await runExecutorForTest(ExampleGen, { parameters: { input, maxBadRows: 3 } });
    assert.equal(run.result.properties?.examples?.num_examples, N + 1);
    assert.equal(run.result.properties?.examples?.num_rejected_rows, 3);
    const rejected = await rejectedRows(run);
    assert.deepEqual(
      rejected.map(({ file, line, text }) => ({ file, line, text })),
      [
        { file: input, line: N + 1, text: SYNTAX },
        { file: input, line: N + 2, text: ARRAY },
        { file: input, line: N + 4, text: MISFIT },
      ],
    );
    assert.match(String(rejected[0]!.reason), /^not valid JSON \(/);
    assert.equal(rejected[1]!.reason, 'expected a JSON object (one row), got an array');
    assert.equal(rejected[2]!.reason, 'Failed to cast value to numerical: "abc"');
    const summary = run.result.summary as { badRows: { count: number; sample: unknown[] } };
    assert.deepEqual(summary.badRows, { count: 3, sample: rejected });

    // The rows kept are exactly the good lines, read on their own.
    const clean = await runExecutorForTest(ExampleGen, { parameters: { input: await withLines('clean.jsonl', [GOOD]) } });
    assert.deepEqual(await writtenRows(run), await writtenRows(clean));
  });

  it('within maxBadRows as a fraction; beyond it fails naming file and line', async function () {
    const input = await withLines('fraction.jsonl', [SYNTAX, GOOD, ARRAY]);
    const run = (maxBadRows: number) => runExecutorForTest(ExampleGen, { parameters: { input, maxBadRows } });
    const allowed = await run(0.0001);
    assert.equal(allowed.result.properties?.examples?.num_examples, N + 1);
    assert.deepEqual((await rejectedRows(allowed)).map((r) => r.line), [N + 1, N + 3]);
    await rejects(run(0.00005), /^2 bad rows exceed maxBadRows 0\.00005 \(1 of 20643 rows\); the first: .*fraction\.jsonl line 20641: not valid JSON/);
    await rejects(run(1), /^2 bad rows exceed maxBadRows 1; the first: .*fraction\.jsonl line 20641: not valid JSON .*; the line reads: \{"Species": "Adelie", "Island":$/);
  });

  it('without a budget fails at the first bad line, naming file, line and reason', async function () {
    const nonObject = await withLines('non-object.jsonl', [GOOD, ARRAY, SYNTAX]);
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: nonObject } }),
      /^malformed JSON lines: .*non-object\.jsonl line 20642: expected a JSON object \(one row\), got an array; the line reads: \[1, 2\] \(1 more bad line\(s\) after it\)$/,
    );
    const misfit = await withLines('misfit.jsonl', [MISFIT]);
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: misfit } }),
      /^malformed JSON lines: .*misfit\.jsonl line 20641: Failed to cast value to numerical: "abc"; the line reads: \{"Species": "Gentoo"/,
    );
  });

  it('a JSON array file is one document: a syntax error fails it whole, saying a budget cannot skip it', async function () {
    const input = path.join(dir, 'broken.json');
    await writeFile(input, `[${penguins.join(',\n')},\n${SYNTAX}]\n`);
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input, maxBadRows: 10 } }),
      /broken\.json.*record\/value 346: .*\(a \.json file is one JSON document, read whole: maxBadRows cannot skip a part of it; JSON lines, one object per line, can skip bad lines\)$/,
    );
  });
});
