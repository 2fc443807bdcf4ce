import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { assignSplitsSql, SPLIT_INDEX_COLUMN } from '../../components/example-gen/hash-split';
import { writeSplitsFromStaged } from '../../components/example-gen/split-files';
import { ExampleGen } from '../../components/example-gen/spec';
import { contentHashOf, hashLocalArtifact } from '../../artifacts/manifest';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';

const ROWS = 400_000;
const SPLITS = [
  { name: 'train', hashBuckets: 2 },
  { name: 'eval', hashBuckets: 1 },
];
const signal = new AbortController().signal;

/** Row counts of a Parquet file's row groups, in order. */
async function rowGroups(file: string): Promise<number[]> {
  const rows = await duckQuery(`SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${sqlString(file)}) ORDER BY row_group_id`);
  return rows.map((r) => Number(r.row_group_num_rows));
}

describe('ExampleGen split files are byte-identical across runs and DuckDB thread counts', function () {
  let dir: string;
  let input: string;

  before(async function () {
    dir = await tempDir('example-gen-deterministic');
    // JSON lines: DuckDB's JSON reader hands a parallel COPY other batches with one thread than with
    // several, so the staged file's row groups differ (checked below); flights-3m's first rows.
    input = path.join(dir, 'flights.jsonl');
    await duckQuery(`COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${ROWS}) TO ${sqlString(input)} (FORMAT json)`);
  });

  it('writes the same split files from files staged with 1 and with 3 threads', async function () {
    const written: Buffer[][] = [];
    const layouts: number[][] = [];
    for (const threads of [1, 3]) {
      const staged = path.join(dir, `staged-${threads}.parquet`);
      const key = `concat_ws('|', "date", "delay", "distance", "origin", "destination")`;
      await withDuckDb({ tmpDir: dir, signal }, async (db) => {
        await db.query(`SET threads = ${threads}`);
        await db.query(`COPY (${assignSplitsSql(`read_json(${sqlString(input)})`, key, SPLITS)}) TO ${sqlString(staged)} (FORMAT parquet)`);
      });
      layouts.push(await rowGroups(staged));
      const files = SPLITS.map((s) => path.join(dir, `${s.name}-${threads}.parquet`));
      const selects = SPLITS.map((_, i) => `SELECT * EXCLUDE ("${SPLIT_INDEX_COLUMN}") FROM read_parquet(${sqlString(staged)}) WHERE "${SPLIT_INDEX_COLUMN}" = ${i}`);
      await writeSplitsFromStaged(selects, files, { tmpDir: dir, signal, onWritten: () => undefined });
      written.push(await Promise.all(files.map((f) => readFile(f))));
    }
    assert.notDeepEqual(layouts[0], layouts[1], 'the staged files differ in layout (the hazard the writer must absorb)');
    for (const [i, split] of SPLITS.entries()) assert.ok(written[0]![i]!.equals(written[1]![i]!), `Split-${split.name} differs between 1 and 3 staging threads`);
    for (const split of SPLITS) {
      const groups = await rowGroups(path.join(dir, `${split.name}-1.parquet`));
      assert.ok(groups.length > 1, `Split-${split.name} spans several row groups`);
      assert.deepEqual(groups.slice(0, -1), groups.slice(0, -1).map(() => 122_880), `Split-${split.name}: every row group but the last is full`);
    }
    const counts = await duckQuery(`SELECT count(*) AS n FROM read_parquet([${written[0]!.map((_, i) => sqlString(path.join(dir, `${SPLITS[i]!.name}-1.parquet`))).join(', ')}])`);
    assert.equal(Number(counts[0]!.n), ROWS);
  });

  it('gives the Examples the same content hash on a second run', async function () {
    const hashes: string[] = [];
    for (let run = 0; run < 2; run++) {
      const result = await runExecutorForTest(ExampleGen, { parameters: { input } });
      assert.equal(result.result.properties?.examples?.num_examples, ROWS);
      const files = await hashLocalArtifact(result.outputDirs.examples!, { fsync: false });
      assert.deepEqual(files.map((f) => f.path).sort(), ['Split-eval/data-00000.parquet', 'Split-train/data-00000.parquet']);
      hashes.push(contentHashOf(files));
    }
    assert.equal(hashes[0], hashes[1]);
  });
});
