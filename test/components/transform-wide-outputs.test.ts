import assert from 'node:assert/strict';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { materializeSplit } from '../../components/transform/materialize';
import { lookupVocabulary, oneHot } from '../../onnx/transform-ops/vocabulary';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';
import { buildGraph } from './transform-graphs';

/**
 * A one-hot of a large vocabulary makes rows of tens of kilobytes; onnxruntime, JavaScript and DuckDB
 * each hold a whole batch of them, so batches shrink to keep a batch's outputs near 32 MiB (16 k rows of a
 * 20 000-wide one-hot took 9 GiB of memory before).
 */
describe('Transform materialisation: wide outputs', () => {
  it('runs a 5 000-wide one-hot in batches of at most 32 MiB of outputs, every row encoded right', async () => {
    const dir = await tempDir('transform-wide-outputs');
    const file = path.join(dir, 'data.parquet');
    const width = 5000;
    const rows = 2000;
    await duckQuery(`COPY (SELECT 'v' || (i * 7 % ${width}) AS s, CAST(i AS DOUBLE) AS i FROM range(${rows}) t(i)) TO ${sqlString(file)} (FORMAT parquet)`);
    const vocabulary = Array.from({ length: width }, (_, k) => `v${k}`);
    const graph = buildGraph(
      [
        { name: 's', dtype: 'string', shape: [-1] },
        { name: 'i', dtype: 'float32', shape: [-1] },
      ],
      (g) => [
        { name: 'i', source: 'i', dtype: 'float32' },
        { name: 'oneHot', source: oneHot(g, lookupVocabulary(g, 's', vocabulary), width), dtype: 'float32', width },
      ],
    );
    const signal = new AbortController().signal;
    const { files } = await materializeSplit({ model: graph.model, signature: graph.signature, inputFiles: [file], outDir: path.join(dir, 'out'), tmpDir: dir, signal, threads: 1 });

    const bytesPerRow = 4 * (width + 1);
    const batchRows = Math.floor((32 * 1024 * 1024) / bytesPerRow);
    const perFile = await Promise.all(files.map(async (f) => Number((await duckQuery(`SELECT count(*) AS n FROM read_parquet(${sqlString(f)})`))[0]!.n)));
    assert.deepEqual(perFile, [batchRows, rows - batchRows], 'one batch per part, each within 32 MiB of outputs');
    const [check] = await duckQuery(
      `SELECT count(*) AS n, count(*) FILTER (WHERE list_sum(oneHot) = 1 AND oneHot[(CAST(i AS BIGINT) * 7 % ${width}) + 1] = 1) AS right ` +
        `FROM read_parquet([${files.map(sqlString).join(', ')}])`,
    );
    assert.deepEqual([Number(check!.n), Number(check!.right)], [rows, rows]);
  });
});
