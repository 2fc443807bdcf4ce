import assert from 'node:assert/strict';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { materializeSplit } from '../../components/transform/materialize';
import { MISSING_INSTANT } from '../../components/transform/signature';
import { tempDir } from '../support/tmp';
import { duckQuery, readParquet } from './parquet-rows';
import { buildGraph } from './transform-graphs';

/**
 * Instants reach the graph as INT64 microseconds, floored, with MISSING_INSTANT for NULL and for
 * ±infinity, whatever the column's precision (graph-columns.ts).
 */
describe('Transform materialisation: instants of every timestamp precision', () => {
  it('reads ±infinity as missing and floors nanoseconds, for TIMESTAMP_NS as for TIMESTAMP', async () => {
    const dir = await tempDir('transform-instants');
    const file = path.join(dir, 'data.parquet');
    const texts = ['infinity', '-infinity', '2020-01-01 00:00:00.000001999', '1969-12-31 23:59:59.999999001', null];
    await duckQuery(
      `COPY (SELECT CAST(t AS TIMESTAMP_NS) AS ns, CAST(t AS TIMESTAMP) AS us, i FROM (VALUES ${texts.map((t, i) => `(${t === null ? 'NULL' : sqlString(t)}, ${i})`).join(', ')}) v(t, i) ORDER BY i) ` +
        `TO ${sqlString(file)} (FORMAT parquet)`,
    );
    const graph = buildGraph(
      [
        { name: 'ns', dtype: 'int64', shape: [-1] },
        { name: 'us', dtype: 'int64', shape: [-1] },
      ],
      () => [
        { name: 'ns', source: 'ns', dtype: 'int64' },
        { name: 'us', source: 'us', dtype: 'int64' },
      ],
    );
    const out = path.join(dir, 'out');
    const signal = new AbortController().signal;
    const { files } = await materializeSplit({ model: graph.model, signature: graph.signature, inputFiles: [file], outDir: out, tmpDir: dir, signal, threads: 1 });
    const rows = (await Promise.all(files.map((f) => readParquet(f)))).flat();
    const expected = [MISSING_INSTANT, MISSING_INSTANT, 1_577_836_800_000_001n, -1n, MISSING_INSTANT];
    assert.deepEqual(rows.map((r) => r.ns), expected);
    assert.deepEqual(rows.map((r) => r.us), expected);
  });
});
