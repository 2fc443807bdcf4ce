import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatLineage } from '../../artifacts/metadata/lineage-format';
import { formatRun } from '../../artifacts/metadata/runs-format';
import { ExampleGen, pipeline } from '../../dsl';
import { UserInputError } from '../../dsl/executor';
import { parseInputPattern, selectSpans, SpanRangeSchema, type InputPattern } from '../../components/example-gen/input-patterns';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, string | number | null>;

function pattern(location: string): InputPattern {
  const parsed = parseInputPattern(location);
  assert.ok(parsed, `${location} is a span pattern`);
  return parsed;
}

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof UserInputError, `expected a UserInputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

async function rejected(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof UserInputError, `expected a UserInputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('ExampleGen span patterns: the matcher', function () {
  it('reads span and version from folder and file names, and lists them with a glob', () => {
    const p = pattern('/data/span-{SPAN}/v{VERSION}/part-*.csv');
    assert.equal(p.glob, '/data/span-*/v*/part-*.csv');
    assert.equal(p.hasVersion, true);
    assert.deepEqual(p.match('/data/span-12/v3/part-0.csv'), { span: 12, version: 3 });
    assert.deepEqual(p.match('/data/span-0/v0/part-a.csv'), { span: 0, version: 0 });
    assert.deepEqual(pattern('/data/day-{SPAN}.parquet').match('/data/day-41.parquet'), { span: 41, version: 0 });
    refused(() => p.match('/data/span-latest/v3/part-0.csv'), /span-latest\/v3\/part-0\.csv matches .* only as a glob: it has no number where \{SPAN\}, \{VERSION\} stand/);
    refused(() => p.match('/data/span-1/v2/other.csv'), /only as a glob/);
  });

  it('holds each placeholder to its width, and names a file whose digits do not fit', () => {
    const p = pattern('/data/span-{SPAN:3}/*.csv');
    assert.deepEqual(p.match('/data/span-007/a.csv'), { span: 7, version: 0 });
    assert.deepEqual(p.match('/data/span-120/a.csv'), { span: 120, version: 0 });
    refused(() => p.match('/data/span-7/a.csv'), /input file \/data\/span-7\/a\.csv: "7" stands where \{SPAN:3\} expects 3 digits/);
    refused(() => p.match('/data/span-1200/a.csv'), /"1200" stands where \{SPAN:3\} expects 3 digits/);
    // Widths are what separate adjacent numbers.
    assert.deepEqual(pattern('/data/d{SPAN:2}{VERSION:2}.csv').match('/data/d0312.csv'), { span: 3, version: 12 });
  });

  it('numbers a date span by its days since 1970-01-01, as TFX does', () => {
    const p = pattern('/data/{YYYY}-{MM}-{DD}/*.jsonl');
    // Independently: Python's (date(y, m, d) - date(1970, 1, 1)).days.
    assert.equal(p.match('/data/1970-01-01/a.jsonl').span, 0);
    assert.equal(p.match('/data/1970-02-01/a.jsonl').span, 31);
    assert.equal(p.match('/data/2000-03-01/a.jsonl').span, 11017);
    assert.equal(p.match('/data/2024-02-29/a.jsonl').span, 19782);
    assert.equal(p.match('/data/2024-03-01/a.jsonl').span, 19783);
    assert.deepEqual(pattern('/data/{YYYY}{MM}{DD}/v{VERSION}/x.csv').match('/data/20240302/v2/x.csv'), { span: 19784, version: 2 });
    refused(() => p.match('/data/2023-02-29/a.jsonl'), /input file \/data\/2023-02-29\/a\.jsonl: 2023-02-29 is not a date/);
    refused(() => p.match('/data/2023-13-01/a.jsonl'), /2023-13-01 is not a date/);
    refused(() => p.match('/data/1969-12-31/a.jsonl'), /date spans start on 1970-01-01 \(span 0\); 1969-12-31 is before it/);
    refused(() => p.match('/data/2024-3-01/a.jsonl'), /"3" stands where \{MM\} expects 2 digits/);
  });

  it('matches file:// patterns against the local paths listing gives, and s3:// patterns against object URIs', () => {
    const local = pattern(`${pathToFileURL('/data').href}/span-{SPAN}/*.csv`);
    assert.equal(local.glob, 'file:///data/span-*/*.csv');
    assert.deepEqual(local.match('/data/span-5/a.csv'), { span: 5, version: 0 });
    const s3 = pattern('s3://bucket/in/{YYYY}/{MM}/{DD}/*.parquet');
    assert.equal(s3.glob, 's3://bucket/in/*/*/*/*.parquet');
    assert.equal(s3.match('s3://bucket/in/2024/03/01/part-0.parquet').span, 19783);
    assert.equal(parseInputPattern('/data/*.csv'), null, 'a plain glob is no span pattern');
  });

  it('refuses a bad pattern, saying what is wrong', () => {
    const bad = (location: string, message: RegExp) => refused(() => parseInputPattern(location), message);
    bad('/d/{SPAN}/{SPAN}.csv', /\{SPAN\} appears 2 times; a span pattern holds it once/);
    bad('/d/{SPAN}/{YYYY}{MM}{DD}.csv', /\{SPAN\} and a date \{YYYY\}\{MM\}\{DD\} both name the span; use one of them/);
    bad('/d/{YYYY}-{MM}.csv', /a date span needs all of \{YYYY\}, \{MM\} and \{DD\}; it has only \{YYYY\}, \{MM\}/);
    bad('/d/v{VERSION}/x.csv', /\{VERSION\} needs a span, \{SPAN\} or \{YYYY\}\{MM\}\{DD\}, in the same pattern/);
    bad('/d/{SPAN:0}/x.csv', /\{SPAN:0\} needs a width of at least 1/);
    bad('/d/{SPAN}/{DAY}.csv', /unknown placeholder \{DAY\}/);
    bad('/d/{SPAN}/{a,b}.csv', /unknown placeholder \{a,b\}/);
    bad('/d/{SPAN}/{YYYY:4}.csv', /unknown placeholder \{YYYY:4\}/);
  });
});

describe('ExampleGen span patterns: which spans a range reads', function () {
  const p = pattern('/d/span-{SPAN}/v{VERSION}/*.csv');
  const files = ['/d/span-1/v1/a.csv', '/d/span-1/v2/a.csv', '/d/span-1/v2/b.csv', '/d/span-2/v1/a.csv', '/d/span-4/v1/a.csv', '/d/span-4/v3/a.csv'];

  it('reads the latest span at its latest version by default', () => {
    assert.deepEqual(selectSpans(p, files, undefined), { spans: [{ span: 4, version: 3 }], files: ['/d/span-4/v3/a.csv'] });
  });

  it('reads every span of a static range, each at its latest version', () => {
    assert.deepEqual(selectSpans(p, files, { start: 1, end: 2 }), {
      spans: [
        { span: 1, version: 2 },
        { span: 2, version: 1 },
      ],
      files: ['/d/span-1/v2/a.csv', '/d/span-1/v2/b.csv', '/d/span-2/v1/a.csv'],
    });
    assert.deepEqual(selectSpans(p, files, { start: 2, end: 2 }).files, ['/d/span-2/v1/a.csv']);
    refused(() => selectSpans(p, files, { start: 1, end: 4 }), /range 1\.\.4 asks for span\(s\) 3, which no file matches; spans found: 1, 2, 4/);
    refused(() => selectSpans(p, files, { start: 5, end: 6 }), /asks for span\(s\) 5, 6, which no file matches/);
  });

  it('reads the N latest spans of a rolling window, fewer when fewer exist', () => {
    assert.deepEqual(selectSpans(p, files, { latestSpans: 2 }).spans, [
      { span: 2, version: 1 },
      { span: 4, version: 3 },
    ]);
    assert.deepEqual(
      selectSpans(p, files, { latestSpans: 10 }).spans.map((s) => s.span),
      [1, 2, 4],
    );
  });

  it('refuses nothing to read and a range that is backwards', () => {
    refused(() => selectSpans(p, [], undefined), /no file matches the span pattern "\/d\/span-\{SPAN\}\/v\{VERSION\}\/\*\.csv"/);
    assert.equal(SpanRangeSchema.safeParse({ start: 3, end: 2 }).success, false);
    assert.equal(SpanRangeSchema.safeParse({ latestSpans: 0 }).success, false);
    assert.equal(SpanRangeSchema.safeParse({ start: 1, end: 2, latestSpans: 2 }).success, false);
  });
});

/** Penguins as CSV text, rows [from, to). */
function penguinsCsv(rows: Row[], from: number, to: number): string {
  const columns = Object.keys(rows[0]!);
  const cell = (v: Row[string]) => (v === null ? '' : String(v));
  return [columns.join(','), ...rows.slice(from, to).map((r) => columns.map((c) => cell(r[c] ?? null)).join(','))].join('\n') + '\n';
}

async function writeSpanFile(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Every row of both splits, each as its values in column order: a multiset to compare with the rows written. */
async function examplesRows(run: ExecutorTestRun): Promise<string[]> {
  const rows = [
    ...(await readParquet(path.join(run.outputDirs.examples!, 'Split-train', 'data-00000.parquet'))),
    ...(await readParquet(path.join(run.outputDirs.examples!, 'Split-eval', 'data-00000.parquet'))),
  ];
  return rows.map((r) => Object.values(r).map(String).join('|')).sort();
}

const rowsOf = (rows: Row[]) => rows.map((r) => Object.values(r).map(String).join('|')).sort();

describe('ExampleGen span patterns: the executor', function () {
  let penguins: Row[];
  let dir: string;
  before(async () => {
    penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Row[];
    dir = await tempDir('spans');
    // span 1 came in twice (v2 corrects v1); span 2 once, in two files.
    await writeSpanFile(path.join(dir, 'span-1', 'v1', 'part-0.csv'), penguinsCsv(penguins, 0, 100));
    await writeSpanFile(path.join(dir, 'span-1', 'v2', 'part-0.csv'), penguinsCsv(penguins, 0, 150));
    await writeSpanFile(path.join(dir, 'span-2', 'v1', 'part-0.csv'), penguinsCsv(penguins, 150, 250));
    await writeSpanFile(path.join(dir, 'span-2', 'v1', 'part-1.csv'), penguinsCsv(penguins, 250, penguins.length));
  });

  const input = () => path.join(dir, 'span-{SPAN}', 'v{VERSION}', '*.csv');
  const csvRows = (from: number, to: number) => rowsOf(penguins.slice(from, to));

  it('ingests the latest span at its latest version and records both on the Examples', async () => {
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: input() } });
    const props = run.result.properties!.examples!;
    assert.equal(props.span, 2);
    assert.equal(props.version, 1);
    assert.equal(props.spans, undefined);
    assert.equal(props.num_examples, penguins.length - 150);
    assert.deepEqual(await examplesRows(run), csvRows(150, penguins.length));
  });

  it('ingests every span of a range, span 1 at its corrected version', async () => {
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: input(), range: { start: 1, end: 2 } } });
    assert.deepEqual(
      { span: run.result.properties!.examples!.span, version: run.result.properties!.examples!.version, spans: run.result.properties!.examples!.spans },
      { span: 2, version: 1, spans: '1,2' },
    );
    assert.deepEqual(await examplesRows(run), csvRows(0, penguins.length));
    const first = await runExecutorForTest(ExampleGen, { parameters: { input: input(), range: { start: 1, end: 1 } } });
    assert.deepEqual([first.result.properties!.examples!.span, first.result.properties!.examples!.version], [1, 2]);
    assert.deepEqual(await examplesRows(first), csvRows(0, 150));
  });

  it('ingests a date span', async () => {
    const days = await tempDir('date-spans');
    await writeSpanFile(path.join(days, '2024-02-28.csv'), penguinsCsv(penguins, 0, 40));
    await writeSpanFile(path.join(days, '2024-02-29.csv'), penguinsCsv(penguins, 40, 90));
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: path.join(days, '{YYYY}-{MM}-{DD}.csv') } });
    assert.equal(run.result.properties!.examples!.span, 19782);
    assert.deepEqual(await examplesRows(run), csvRows(40, 90));
  });

  it('refuses a range without a span pattern, a span range with a hole, and a pattern nothing matches', async () => {
    await rejected(
      runExecutorForTest(ExampleGen, { parameters: { input: path.join(dir, 'span-2', 'v1', '*.csv'), range: { latestSpans: 2 } } }),
      /range picks spans, but input ".*span-2\/v1\/\*\.csv" has no \{SPAN\} or \{YYYY\}\{MM\}\{DD\} in it/,
    );
    await rejected(runExecutorForTest(ExampleGen, { parameters: { input: input(), range: { start: 2, end: 3 } } }), /range 2\.\.3 asks for span\(s\) 3, which no file matches; spans found: 1, 2/);
    await rejected(runExecutorForTest(ExampleGen, { parameters: { input: path.join(dir, 'day-{SPAN}', '*.csv') } }), /no file matches the input pattern ".*day-\*\/\*\.csv"/);
  });
});

describe('ExampleGen span patterns: spans arriving one after another', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => stack?.stop());

  it('each run ingests the newest span, an unchanged one is cached, and runs and lineage show the span', async () => {
    const penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Row[];
    const dir = await tempDir('arriving');
    const definition = () =>
      pipeline({ name: 'daily-spans', nodes: [ExampleGen('example_gen', { parameters: { input: path.join(dir, 'span-{SPAN}', '*.csv') } })] });
    const arrive = (span: number, from: number, to: number) => writeSpanFile(path.join(dir, `span-${span}`, 'data.csv'), penguinsCsv(penguins, from, to));
    const runOnce = async () => {
      const { handle, status, error } = await stack.run(definition());
      assert.equal(status.state, 'succeeded', error);
      const node = status.nodes.example_gen!;
      const run = (await stack.metadata.getRun((await handle.describe()).runId))!;
      const examples = run.executions[0]!.outputs.examples![0]!;
      return { state: node.state, rows: node.summary?.rows, span: examples.properties.span, uri: examples.uri, id: examples.id, shown: formatRun(run) };
    };

    await arrive(1, 0, 100);
    const first = await runOnce();
    assert.deepEqual([first.state, first.rows, first.span], ['succeeded', 100, 1]);

    await arrive(2, 100, 220);
    const second = await runOnce();
    assert.deepEqual([second.state, second.rows, second.span], ['succeeded', 120, 2]);
    assert.notEqual(second.uri, first.uri);

    const again = await runOnce();
    assert.deepEqual([again.state, again.span, again.uri], ['cached', 2, second.uri], 'nothing new arrived: the span-2 Examples are reused');

    await arrive(3, 220, penguins.length);
    const third = await runOnce();
    assert.deepEqual([third.state, third.rows, third.span], ['succeeded', penguins.length - 220, 3]);

    assert.ok(first.shown.endsWith(`examples: ${first.uri} · span 1 version 0`), first.shown);
    assert.ok(third.shown.endsWith(`examples: ${third.uri} · span 3 version 0`), third.shown);
    for (const [run, span] of [[first, 1], [second, 2], [third, 3]] as const) {
      const lineage = formatLineage(await stack.metadata.lineage(run.id, { direction: 'up' }), run.id);
      assert.equal(lineage.split('\n')[0], `Examples #${run.id} · live · ${run.uri} · span ${span} version 0`);
    }
  });
});
