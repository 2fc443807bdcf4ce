import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { withDuckDb } from '../../components/data/duckdb-session';
import { bucketSql, canonicalTextSql, featureKeySql } from '../../components/example-gen/hash-split';
import { sqlString } from '../../components/data/sql';
import { tempDir } from '../support/tmp';
import { bucketOf, canonicalText, featureKey } from './hash-split-reference';

/** Deterministic doubles from every corner of the format: sha256 output read as IEEE-754 bit patterns. */
function doublesFromBitPatterns(count: number): number[] {
  const out: number[] = [];
  for (let i = 0; out.length < count; i++) {
    const bytes = createHash('sha256').update(`double-${i}`).digest();
    for (let off = 0; off + 8 <= bytes.length && out.length < count; off += 8) out.push(bytes.readDoubleLE(off));
  }
  return out;
}

const EDGE_DOUBLES = [
  0, -0, 1, -1, 3750, 39.1, 0.1 + 0.2, 1 / 3, 1e-4, 1.5e-4, 9.99e-5, 1e-7, 1e15 + 0.5, 2 ** 53, 2 ** 53 + 2, 2 ** 63 - 1024, 2 ** 63,
  -(2 ** 63), 1e20, 1.5e300, 5e-324, 2.2250738585072014e-308, Number.MAX_VALUE, NaN, Infinity, -Infinity,
];

/** Doubles spread over ordinary magnitudes, where data actually lives. */
function everydayDoubles(count: number): number[] {
  return doublesFromBitPatterns(count).map((x, i) => {
    const unit = Math.abs(x) / Number.MAX_VALUE;
    return Number.isFinite(unit) ? (unit - 0.5) * 10 ** ((i % 30) - 12) : i;
  });
}

const doubleLiteral = (x: number) => (Number.isNaN(x) ? `'nan'` : x === Infinity ? `'inf'` : x === -Infinity ? `'-inf'` : sqlString(String(x)));

async function canonicalTextsInDuckDb(values: number[], sqlType: string): Promise<string[]> {
  return withDuckDb({ tmpDir: await tempDir('hash-split'), signal: new AbortController().signal }, async (db) => {
    const rows = values.map((x, i) => `(${i}, CAST(CAST(${doubleLiteral(x)} AS DOUBLE) AS ${sqlType}))`).join(', ');
    await db.query(`CREATE TABLE v AS SELECT * FROM (VALUES ${rows}) t(i, x)`);
    const [column] = (await db.columns('(SELECT x FROM v)')) as [Parameters<typeof canonicalTextSql>[0]];
    const reader = await db.query(`SELECT ${canonicalTextSql(column, { numericText: false })} AS t FROM v ORDER BY i`);
    return reader.getRowObjectsJS().map((r) => String(r.t));
  });
}

describe('hash split: DuckDB SQL against the TypeScript reference', function () {
  it('writes every double as the reference canonical text does (shortest round-trip, integral values as integers)', async function () {
    const values = [...EDGE_DOUBLES, ...doublesFromBitPatterns(4000), ...everydayDoubles(4000)];
    const texts = await canonicalTextsInDuckDb(values, 'DOUBLE');
    values.forEach((x, i) => assert.equal(texts[i], canonicalText(x), `canonical text of ${x} (bits ${Buffer.from(new Float64Array([x]).buffer).toString('hex')})`));
  });

  it('keys a FLOAT or DECIMAL value like the DOUBLE of its shortest decimal text', async function () {
    const values = [39.1, 0.1, 3750, -2.5, 123.45];
    assert.deepEqual(await canonicalTextsInDuckDb(values, 'FLOAT'), values.map((x) => canonicalText(x)));
    assert.deepEqual(await canonicalTextsInDuckDb(values, 'DECIMAL(9,2)'), values.map((x) => canonicalText(x)));
  });

  it('computes md5 mod n like BigInt arithmetic on the digest\'s first 8 bytes (little-endian)', async function () {
    const keys = Array.from({ length: 2000 }, (_, i) => (i % 7 === 0 ? '' : `key-${i}-é-${'x'.repeat(i % 13)}`));
    const totals = [1, 2, 3, 7, 10, 97, 1000, 65_537, 999_983, 1_000_000];
    const sql = (await withDuckDb({ tmpDir: await tempDir('hash-split'), signal: new AbortController().signal }, async (db) => {
      await db.query(`CREATE TABLE k AS SELECT * FROM (VALUES ${keys.map((k, i) => `(${i}, ${sqlString(k)})`).join(', ')}) t(i, key)`);
      const columns = totals.map((n) => `${bucketSql('key', n)} AS b${n}`).join(', ');
      return (await db.query(`SELECT ${columns} FROM k ORDER BY i`)).getRowObjectsJS();
    })) as Record<string, bigint>[];
    keys.forEach((key, i) => {
      for (const n of totals) assert.equal(Number(sql[i]![`b${n}`]), bucketOf(key, n), `bucket of ${JSON.stringify(key)} mod ${n}`);
    });
  });

  it('keys text that reads as a number like the number only where column types are inferred', async function () {
    const values = [null, '', 'a', 'é', '39.10', ' 7 ', '1e3', '-0.5', '3750.0', 'nan', '12abc'];
    const keys = async (numericText: boolean) =>
      withDuckDb({ tmpDir: await tempDir('hash-split'), signal: new AbortController().signal }, async (db) => {
        await db.query(`CREATE TABLE s AS SELECT * FROM (VALUES ${values.map((v, i) => `(${i}, ${v === null ? 'NULL::VARCHAR' : sqlString(v)})`).join(', ')}) t(i, s)`);
        const [column] = (await db.columns('(SELECT s FROM s)')) as [Parameters<typeof featureKeySql>[0]];
        return (await db.query(`SELECT ${featureKeySql(column, { numericText })} AS k FROM s ORDER BY i`)).getRowObjectsJS().map((r) => String(r.k));
      });
    assert.deepEqual(await keys(false), values.map((v) => featureKey(v)));
    const inferred = await keys(true);
    assert.deepEqual(inferred, ['', '', 'a', 'é', '39.1', '7', '1000', '-0.5', '3750', 'nan', '12abc']);
    // The reference knows plain number spellings; DuckDB also reads `nan` as a number.
    values.forEach((v, i) => {
      if (v !== 'nan') assert.equal(inferred[i], featureKey(v, { numericText: true }), `key of ${JSON.stringify(v)}`);
    });
  });
});
