import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { sqlString } from '../../components/data/sql';
import { CachedSplit, type DataLayout } from '../../components/trainer/datasets';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery, readParquet } from './parquet-rows';

/**
 * The Trainer's read of a split takes FLOAT and FLOAT[] columns (the Transform's float32 outputs) from
 * DuckDB's vectors as they are, and any other numeric column through DOUBLE: both must give the values
 * Parquet holds, rounded to float32, and name a NULL as the NaN it stands for.
 */
describe('Trainer datasets: FLOAT columns read from DuckDB vectors', function () {
  const ROWS = 5000;
  /** x FLOAT, v FLOAT[] of 3, d DOUBLE[] of 2 (read through DOUBLE), h BIGINT ids, y a class id. */
  const layout: DataLayout = {
    features: [
      { name: 'x', width: 1, kind: 'number' },
      { name: 'v', width: 3, kind: 'number' },
      { name: 'd', width: 2, kind: 'number' },
      { name: 'h', width: 1, kind: 'ids' },
    ],
    label: { name: 'y', classes: ['no', 'yes'] },
  };
  const columns = (replace: string) => `
    SELECT * REPLACE (${replace}) FROM (
      SELECT i,
        CAST(sin(i) * 1e3 AS FLOAT) AS x,
        [CAST(i / 7 AS FLOAT), CAST(-i * 1e-40 AS FLOAT), CAST(cos(i) AS FLOAT)] AS v,
        [1 / (i + 3), i * 1e30] AS d,
        i % 97 AS h,
        i % 2 AS y
      FROM range(${ROWS}) t(i))`;

  async function splitFile(replace = 'x AS x'): Promise<string> {
    const dir = path.join(await tempDir('trainer-float-columns'), 'Split-train');
    await mkdir(dir);
    await duckQuery(`COPY (SELECT * EXCLUDE (i) FROM (${columns(replace)}) ORDER BY i) TO ${sqlString(path.join(dir, 'data-00000.parquet'))} (FORMAT parquet)`);
    return dir;
  }

  const read = async (dir: string) => CachedSplit.read({ split: { name: 'train', dir }, layout, dir: await tempDir('trainer-float-columns-cache'), signal: new AbortController().signal });

  it('gives the values Parquet holds, as float32, row for row across chunks', async () => {
    const dir = await splitFile();
    const stored = await readParquet(path.join(dir, 'data-00000.parquet'));
    assert.deepEqual((await duckQuery(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path.join(dir, 'data-00000.parquet'))})`)).map((c) => c.column_type), ['FLOAT', 'FLOAT[]', 'DOUBLE[]', 'BIGINT', 'BIGINT']);
    const split = await read(dir);
    try {
      assert.equal(split.rows, ROWS);
      const batches = await tf.data.generator(() => split.batches({ batchSize: 1024, signal: new AbortController().signal }) as unknown as Iterator<tf.TensorContainer>).toArray();
      const column = (name: string) => batches.flatMap((b) => Array.from(((b as { xs: Record<string, tf.Tensor> }).xs[name]!).dataSync()));
      const labels = batches.flatMap((b) => (((b as { ys: tf.Tensor }).ys.arraySync()) as number[][]).map((row) => row.indexOf(1)));
      assert.deepEqual(column('x'), stored.map((r) => r.x as number));
      assert.deepEqual(column('v'), stored.flatMap((r) => r.v as number[]));
      assert.deepEqual(column('d'), stored.flatMap((r) => (r.d as number[]).map(Math.fround)));
      assert.deepEqual(column('h'), stored.map((r) => Number(r.h)));
      assert.deepEqual(labels, stored.map((r) => Number(r.y)));
      assert.ok(column('v').some((value) => value !== 0 && Math.abs(value) < 2 ** -126), 'subnormal floats come through');
      batches.forEach((b) => tf.dispose(b));
    } finally {
      await split.close();
    }
  });

  it('names a NULL row or element of a FLOAT or FLOAT[] column as NaN, and a list of the wrong length, with file and row', async () => {
    const file = /Split-train\/data-00000\.parquet/.source;
    const nan = (row: number, feature: string) => new RegExp(`${file} row ${row}: transformed feature "${feature}" is NaN, and a model trains on numbers only`);
    await rejects(read(await splitFile(`CASE WHEN i = 3 THEN NULL ELSE x END AS x`)), nan(3, 'x'));
    await rejects(read(await splitFile(`CASE WHEN i = 2500 THEN NULL ELSE v END AS v`)), nan(2500, 'v'));
    await rejects(read(await splitFile(`CASE WHEN i = 2100 THEN [1, NULL, 2]::FLOAT[] ELSE v END AS v`)), nan(2100, 'v'));
    await rejects(
      read(await splitFile(`CASE WHEN i = 4100 THEN ['Infinity'::FLOAT, 0, 0] ELSE v END AS v`)),
      new RegExp(`${file} row 4100: transformed feature "v" is Infinity, and a model trains on numbers only`),
    );
    await rejects(
      read(await splitFile(`CASE WHEN i = 4 THEN [1, 2]::FLOAT[] ELSE v END AS v`)),
      new RegExp(`${file}: the transformed columns do not read as the transform signature says \\(x: a number, v: 3 numbers, d: 2 numbers, h: a number, y: a number\\): "v" row 4 has 2 values, not 3`),
    );
  });
});
