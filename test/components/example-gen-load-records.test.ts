import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIGINT, BLOB, BOOLEAN, DATE, DECIMAL, DOUBLE, FLOAT, INTEGER, LIST, MAP, STRUCT, TIME, TIMESTAMP, UBIGINT, UTINYINT, VARCHAR } from '@duckdb/node-api';
import { UserInputError } from '../../dsl/executor';
import { withDuckDb, type DuckDbSession } from '../../components/data/duckdb-session';
import { dropLoadedRecords, loadRecords, PART_ROWS } from '../../components/example-gen/formats/load-records';
import type { RecordSource, SourceColumn } from '../../components/example-gen/formats/record-source';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';

const signal = new AbortController().signal;
const BATCH = 2048;

/** Rows `[id, 'row <id>']` for ids 0..rows-1, in batches; throws once `failAt` rows are out, when given. */
async function generatedSource(dir: string, rows: number, failAt?: number): Promise<RecordSource> {
  const file = path.join(dir, 'generated.rows');
  await writeFile(file, 'rows made by the test');
  return {
    file,
    columns: [
      { name: 'id', type: BIGINT },
      { name: 'txt', type: VARCHAR },
    ],
    bytesRead: () => 0,
    async *batches() {
      for (let start = 0; start < rows; start += BATCH) {
        if (failAt !== undefined && start >= failAt) throw new UserInputError(`${file}: row ${start} is bad`);
        const batch = [];
        for (let id = start; id < Math.min(rows, start + BATCH); id++) batch.push([BigInt(id), `row ${id}`]);
        yield batch;
      }
    },
  };
}

const partsFolder = (dir: string, table: string) => path.join(dir, `mlpipe-records-${table}`);

async function tablesHeld(db: DuckDbSession): Promise<number> {
  return Number((await db.query('SELECT count(*) AS n FROM duckdb_tables()')).getRowObjectsJS()[0]!.n);
}

describe('ExampleGen loadRecords: rows read by JavaScript go through Parquet parts, never a whole input in DuckDB memory', () => {
  it('600,000 rows: parts of at most PART_ROWS rows, read back by the view in file order with every value, no table left in memory', async () => {
    const dir = await tempDir('load-records-parts');
    const rows = 600_000;
    await withDuckDb({ tmpDir: dir, signal }, async (db) => {
      assert.equal(await loadRecords(db, 'records', [await generatedSource(dir, rows)], { signal }), rows);
      const parts = (await readdir(partsFolder(dir, 'records'))).sort();
      assert.equal(parts.length, Math.ceil(rows / PART_ROWS));
      const perPart = (await db.query(`SELECT count(*) AS n FROM read_parquet('${partsFolder(dir, 'records')}/*.parquet', filename = true) GROUP BY filename ORDER BY filename`)).getRowObjectsJS();
      assert.deepEqual(perPart.map((p) => Number(p.n)), [PART_ROWS, PART_ROWS, rows - 2 * PART_ROWS]);
      assert.equal(await tablesHeld(db), 0);

      const [ids, texts] = (await db.query('SELECT id, txt FROM records')).getColumnsJS() as [bigint[], string[]];
      assert.equal(ids.length, rows);
      const outOfPlace = ids.findIndex((id, i) => id !== BigInt(i) || texts[i] !== `row ${i}`);
      assert.equal(outOfPlace, -1, `row ${outOfPlace} read back as ${ids[outOfPlace]} ${texts[outOfPlace]}`);

      await dropLoadedRecords(db, 'records');
      await assert.rejects(readdir(partsFolder(dir, 'records')), { code: 'ENOENT' });
      await assert.rejects(db.query('SELECT * FROM records'), /records does not exist/);
    });
  });

  it('the types the Avro and Arrow readers declare survive the Parquet parts, and an input of no rows gives an empty view', async () => {
    const dir = await tempDir('load-records-types');
    const columns: SourceColumn[] = [
      { name: 'b', type: BOOLEAN },
      { name: 'i', type: INTEGER },
      { name: 'u8', type: UTINYINT },
      { name: 'u64', type: UBIGINT },
      { name: 'f', type: FLOAT },
      { name: 'd', type: DOUBLE },
      { name: 'blob', type: BLOB },
      { name: 'day', type: DATE },
      { name: 'time', type: TIME },
      { name: 'ts', type: TIMESTAMP },
      { name: 'dec', type: DECIMAL(38, 10) },
      { name: 'list', type: LIST(VARCHAR) },
      { name: 'struct', type: STRUCT({ a: INTEGER, b: LIST(DOUBLE) }) },
      { name: 'map', type: MAP(VARCHAR, BIGINT) },
    ];
    const file = path.join(dir, 'empty.rows');
    await writeFile(file, '');
    const empty: RecordSource = { file, columns, bytesRead: () => 0, batches: async function* () {} };
    await withDuckDb({ tmpDir: dir, signal }, async (db) => {
      assert.equal(await loadRecords(db, 'records', [empty], { signal }), 0);
      const described = (await db.query('DESCRIBE records')).getRowObjectsJS().map((c) => `${String(c.column_name)} ${String(c.column_type)}`);
      const declared = (await db.query(`DESCRIBE SELECT ${columns.map((c) => `NULL::${c.type.toString()} AS "${c.name}"`).join(', ')}`)).getRowObjectsJS();
      assert.deepEqual(described, declared.map((c) => `${String(c.column_name)} ${String(c.column_type)}`));
      assert.equal(Number((await db.query('SELECT count(*) AS n FROM records')).getRowObjectsJS()[0]!.n), 0);
    });
  });

  it('a source failing after parts were written leaves no view, no table and no parts; the next load starts clean', async () => {
    const dir = await tempDir('load-records-failure');
    await withDuckDb({ tmpDir: dir, signal }, async (db) => {
      await rejects(loadRecords(db, 'records', [await generatedSource(dir, 400_000, 300_000)], { signal }), /generated\.rows: row 301056 is bad/);
      assert.equal(await tablesHeld(db), 0);
      assert.equal((await db.query(`SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'records'`)).getRowObjectsJS()[0]!.n, 0n);
      await assert.rejects(readdir(partsFolder(dir, 'records')), { code: 'ENOENT' });
      assert.equal(await loadRecords(db, 'records', [await generatedSource(dir, 5000)], { signal }), 5000);
      assert.deepEqual((await db.query('SELECT count(*) AS n, sum(id) AS s FROM records')).getRowObjectsJS()[0], { n: 5000n, s: 12497500n });
    });
  });
});
