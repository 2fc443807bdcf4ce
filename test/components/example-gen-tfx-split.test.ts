import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { ExampleGen, type ExampleGenParametersSchema } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { readParquet } from './parquet-rows';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/tfx-split');
const PENGUINS_CSV = path.join(FIXTURES, 'penguins.csv');
const PENGUINS_TFRECORD = path.join(FIXTURES, 'penguins.tfrecord');

interface VectorCase {
  name: string;
  input: string;
  splits: Array<{ name: string; hash_buckets: number }>;
  partition_feature: string | null;
  counts: Record<string, number>;
  assignment: string[];
}
const VECTORS = JSON.parse(readFileSync(path.join(FIXTURES, 'vectors.json'), 'utf8')) as { cases: VectorCase[] };

/** penguins.csv split on commas (it holds no quotes), header first: the rows every case holds, in file order. */
function csvRows(): { header: string[]; rows: string[][] } {
  const [header, ...rows] = readFileSync(PENGUINS_CSV, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(','));
  return { header: header!, rows };
}

/** A written value against its CSV cell: numbers within float32 precision (TFRecord stores float32), null for an empty cell. */
function sameValue(written: unknown, cell: string): boolean {
  if (cell === '') return written === null;
  if (typeof written === 'number' || typeof written === 'bigint') return Math.fround(Number(written)) === Math.fround(Number(cell));
  return written === cell;
}

const PARAMETERS: Record<string, z.input<typeof ExampleGenParametersSchema>> = {
  'csv-default': { input: PENGUINS_CSV, tfxCompatibleSplit: true },
  'csv-island-8-2': {
    input: PENGUINS_CSV,
    tfxCompatibleSplit: true,
    partitionFeature: 'Island',
    splits: [
      { name: 'train', hashBuckets: 8 },
      { name: 'eval', hashBuckets: 2 },
    ],
  },
  'tfrecord-default': { input: PENGUINS_TFRECORD, tfxCompatibleSplit: true },
  'tfrecord-proto': { input: PENGUINS_TFRECORD, tfxCompatibleSplit: { payloadFormat: 'proto' } },
};

describe('ExampleGen tfxCompatibleSplit: the split TFX 1.21 made of the same data', function () {
  const { header, rows } = csvRows();

  for (const vector of VECTORS.cases) {
    it(`${vector.name}: every row lands where TFX put it`, async function () {
      const parameters = PARAMETERS[vector.name];
      assert.ok(parameters, `no parameters for case ${vector.name}`);
      const run: ExecutorTestRun = await runExecutorForTest(ExampleGen, { parameters });
      assert.equal(rows.length, vector.assignment.length);
      for (const split of vector.splits) {
        const written = await readParquet(path.join(run.outputDirs.examples!, `Split-${split.name}`, 'data-00000.parquet'));
        // Rows keep file order within a split, so the split's rows are exactly the input rows TFX put
        // there, in order (penguins has no duplicate rows, so content identifies each one).
        const expected = rows.filter((_, i) => vector.assignment[i] === split.name);
        assert.equal(written.length, vector.counts[split.name], `${split.name} row count`);
        expected.forEach((cells, i) => {
          const row = written[i]!;
          header.forEach((name, c) => assert.ok(sameValue(row[name], cells[c]!), `${split.name} row ${i}, ${name}: wrote ${String(row[name])}, TFX row holds "${cells[c]}"`));
        });
      }
      assert.deepEqual(run.result.summary?.splits, vector.counts);
    });
  }

  it('rejects inputs TFX has no ExampleGen for, and a float partition feature', async function () {
    const dir = await tempDir('tfx-split-errors');
    const json = path.join(dir, 'rows.json');
    await writeFile(json, JSON.stringify([{ a: 1 }]));
    await rejects(runExecutorForTest(ExampleGen, { parameters: { input: json, tfxCompatibleSplit: true } }), /which read CSV and TFRecord; input .* is read as json/);
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS_CSV, tfxCompatibleSplit: true, partitionFeature: 'Beak Length (mm)' } }),
      /data row 1: partitionFeature "Beak Length \(mm\)" is a float_list; TFX partitions on bytes_list or int64_list features only/,
    );
    await rejects(
      runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS_CSV, tfxCompatibleSplit: { payloadFormat: 'proto' } } }),
      /payloadFormat applies to TFRecord input/,
    );
  });

  it('types a CSV column as CsvExampleGen does: one non-numeric cell makes the column bytes and moves other rows', async function () {
    const dir = await tempDir('tfx-split-types');
    const file = path.join(dir, 'appended.csv');
    const original = readFileSync(PENGUINS_CSV, 'utf8');
    await writeFile(file, `${original}Adelie,Dream,abc,18,190,3800,MALE\n`);
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: file, tfxCompatibleSplit: true } });
    const counts = run.result.summary?.splits as Record<string, number>;
    assert.equal(counts.train! + counts.eval!, 345);
    // With "Beak Length (mm)" now bytes, the original rows' keys change: the split is not TFX's for the 344 rows.
    const original344 = VECTORS.cases.find((c) => c.name === 'csv-default')!.counts;
    assert.notDeepEqual({ train: counts.train, eval: counts.eval }, original344);
  });
});
