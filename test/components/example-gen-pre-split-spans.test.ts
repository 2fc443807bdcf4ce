import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, string | number | null>;
const MASS = 'Body Mass (g)';

async function writeCsv(file: string, rows: readonly Row[]): Promise<void> {
  const header = Object.keys(rows[0]!);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, [header.join(','), ...rows.map((r) => header.map((h) => r[h] ?? '').join(','))].join('\n') + '\n');
}

/** Each split's body masses in file order: which rows it holds. */
async function massesBySplit(run: ExecutorTestRun, splits: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const split of splits) {
    const rows = await readParquet(path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet'), `"${MASS}" AS m`);
    out[split] = rows.map((r) => (r.m === null ? null : Number(r.m)));
  }
  return out;
}

describe('ExampleGen pre-split input with span patterns', function () {
  let penguins: Row[];
  const masses = (from: number, to: number) => penguins.slice(from, to).map((r) => r[MASS] ?? null);

  before(async () => {
    penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Row[];
  });

  it('reads every split at the latest span and records that span on the Examples; a range reads the same spans for each', async () => {
    const dir = await tempDir('pre-split-spans');
    await writeCsv(path.join(dir, 'span-1', 'train', 'a.csv'), penguins.slice(0, 80));
    await writeCsv(path.join(dir, 'span-1', 'eval', 'a.csv'), penguins.slice(80, 120));
    await writeCsv(path.join(dir, 'span-2', 'train', 'a.csv'), penguins.slice(120, 260));
    await writeCsv(path.join(dir, 'span-2', 'eval', 'a.csv'), penguins.slice(260));
    const input = { train: path.join(dir, 'span-{SPAN}', 'train', '*.csv'), eval: path.join(dir, 'span-{SPAN}', 'eval', '*.csv') };

    const latest = await runExecutorForTest(ExampleGen, { parameters: { input } });
    const props = latest.result.properties!.examples!;
    assert.deepEqual({ span: props.span, version: props.version, spans: props.spans }, { span: 2, version: 0, spans: undefined });
    assert.deepEqual(await massesBySplit(latest, ['train', 'eval']), { train: masses(120, 260), eval: masses(260, penguins.length) });

    const both = await runExecutorForTest(ExampleGen, { parameters: { input, range: { latestSpans: 2 } } });
    const range = both.result.properties!.examples!;
    assert.deepEqual({ span: range.span, spans: range.spans }, { span: 2, spans: '1,2' });
    assert.deepEqual(await massesBySplit(both, ['train', 'eval']), {
      train: [...masses(0, 80), ...masses(120, 260)],
      eval: [...masses(80, 120), ...masses(260, penguins.length)],
    });
  });

  it('refuses splits whose latest spans differ, naming both', async () => {
    const dir = await tempDir('pre-split-spans-apart');
    await writeCsv(path.join(dir, 'span-2', 'train', 'a.csv'), penguins.slice(0, 100));
    await writeCsv(path.join(dir, 'span-2', 'eval', 'a.csv'), penguins.slice(100, 150));
    // Span 3's train files have come in; its eval files have not.
    await writeCsv(path.join(dir, 'span-3', 'train', 'a.csv'), penguins.slice(150, 250));
    const input = { train: path.join(dir, 'span-{SPAN}', 'train', '*.csv'), eval: path.join(dir, 'span-{SPAN}', 'eval', '*.csv') };
    const quoted = (split: 'train' | 'eval') => input[split].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input } }),
      new RegExp(`^the splits of a pre-split input must read the same spans: split train \\("${quoted('train')}"\\) reads span 3 version 0, split eval \\("${quoted('eval')}"\\) reads span 2 version 0$`),
    );
    // A window of the 2 latest spans differs the same way: train 2,3 against eval 2.
    await rejects(runExecutorForTest(ExampleGen, { parameters: { input, range: { latestSpans: 2 } } }), /split train .* reads span 2 version 0, span 3 version 0, split eval .* reads span 2 version 0$/);
  });

  it('refuses splits at different versions of a span, and a split without a span beside one with it', async () => {
    const dir = await tempDir('pre-split-versions');
    await writeCsv(path.join(dir, 'span-1', 'v1', 'train', 'a.csv'), penguins.slice(0, 100));
    await writeCsv(path.join(dir, 'span-1', 'v1', 'eval', 'a.csv'), penguins.slice(100, 150));
    await writeCsv(path.join(dir, 'span-1', 'v2', 'eval', 'a.csv'), penguins.slice(100, 160));
    const versioned = (split: string) => path.join(dir, 'span-{SPAN}', 'v{VERSION}', split, '*.csv');
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: { train: versioned('train'), eval: versioned('eval') } } }),
      /split train .* reads span 1 version 1, split eval .* reads span 1 version 2$/,
    );
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: { train: versioned('train'), eval: path.join(dir, 'span-1', 'v2', 'eval', '*.csv') } } }),
      /split train .* reads span 1 version 1, split eval .* reads no span \(no span pattern\)$/,
    );
  });
});
