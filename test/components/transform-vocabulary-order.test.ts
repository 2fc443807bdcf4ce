import assert from 'node:assert/strict';
import path from 'node:path';
import { canonicalJson } from '../../artifacts/fingerprint';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { computeAnalyzers } from '../../components/transform/analyzers';
import type { AnalyzerNode, TransformIr } from '../../components/transform/expression';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';

/**
 * TFT breaks a vocabulary's count ties by the values' bytes, reversed. For text beyond ASCII that is
 * not JavaScript's string order: UTF-16 puts astral characters (surrogate pairs) below U+E000-FFFF,
 * UTF-8 bytes put them above.
 */
describe('Transform vocabulary: ties in reverse order of UTF-8 bytes, as TFT', () => {
  it('orders tied values as DuckDB orders their bytes, with fullwidth, astral and accented letters', async () => {
    const dir = await tempDir('transform-vocabulary-order');
    const file = path.join(dir, 'data.parquet');
    const values = { common: 5, 'Ａ': 2, '😀': 2, 'ｚ': 2, 'é': 2, z: 2, '𝔸': 2, rare: 1 };
    const rows = Object.entries(values).flatMap(([v, n]) => Array.from({ length: n }, () => `(${sqlString(v)})`));
    await duckQuery(`COPY (SELECT * FROM (VALUES ${rows.join(', ')}) t(s)) TO ${sqlString(file)} (FORMAT parquet)`);
    const expected = (await duckQuery(`SELECT s FROM read_parquet(${sqlString(file)}) GROUP BY s ORDER BY count(*) DESC, s DESC`)).map((r) => r.s as string);

    const vocabulary: AnalyzerNode = { analyzer: 'vocabulary', of: { op: 'feature', name: 's' } };
    const ir: TransformIr = {
      version: 1,
      outputs: [{ name: 'ids', expression: { op: 'vocabularyIds', input: { op: 'feature', name: 's' }, vocabulary, defaultValue: -1, numOovBuckets: 0 }, dtype: 'int64', shape: { kind: 'scalar' } }],
    };
    const found = await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) => computeAnalyzers(db, ir, [file]));
    assert.deepEqual(found[canonicalJson(vocabulary)], expected);
    assert.deepEqual(expected.slice(0, 3), ['common', '😀', '𝔸'], 'astral characters first among the ties, above U+FF00');
  });
});
