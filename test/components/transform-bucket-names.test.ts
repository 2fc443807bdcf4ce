import assert from 'node:assert/strict';
import path from 'node:path';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import type { SchemaPayload } from '../../components/schema-gen/payload';
import { computeAnalyzers } from '../../components/transform/analyzers';
import { checkTransform } from '../../components/transform/check';
import { compileTransform } from '../../components/transform/compile-graph';
import { bucketNames, labelIds, transform, vocabulary } from '../../components/transform/dsl';
import { openSession, Tensor } from '../../onnx/session';
import { tempDir } from '../support/tmp';
import { throwsUserInputError as refuses } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';

/** Delays in minutes (the label `delay`, and `minutes`, the same numbers as a serving feature): both sides of each boundary (15 and just below it in FP32), infinities, NaN and NULL. */
const DELAYS = [-5, 0, 3, 3, 14, Math.fround(14.999999), 15, 15, 15, 16, 200, Infinity, -Infinity, NaN, null];
const SCHEMA: SchemaPayload = {
  version: 1,
  defaultEnvironments: ['TRAINING', 'SERVING'],
  features: [
    { name: 'delay', type: 'FLOAT', notInEnvironment: ['SERVING'] },
    { name: 'minutes', type: 'FLOAT' },
    { name: 'origin', type: 'STRING' },
  ],
};
const KINDS = { delay: 'number', minutes: 'number', origin: 'string' } as const;
const THREE = { boundaries: [0, 15], names: ['early', 'on time', 'delayed'] };
const TWO = { boundaries: [15], names: ['on time', 'delayed'] };

/** The names as plain TypeScript gives them: the bucket applyBuckets counts (boundaries at or below x), '' for a missing number. */
function namesOf(buckets: { boundaries: number[]; names: string[] }): string[] {
  return DELAYS.map((x) => (x === null || Number.isNaN(x) ? '' : buckets.names[buckets.boundaries.filter((b) => b <= x).length]!));
}

describe('Transform bucketNames (a number as the name of its bucket; a label from a number)', () => {
  it('names each bucket as applyBuckets counts it, missing as no class, and labelIds and vocabulary over the names agree with plain TypeScript', async () => {
    const ir = transform(
      ({ f }) => ({
        band: vocabulary(bucketNames(f.minutes, THREE)).ids(),
        delayed: labelIds(bucketNames(f.delay, TWO)),
        delayedGiven: labelIds(bucketNames(f.delay, TWO), { classes: ['on time', 'delayed'] }),
      }),
      KINDS,
    );
    const dir = await tempDir('bucket-names');
    const file = path.join(dir, 'delays.parquet');
    const literal = (x: number | null) => (x === null ? 'NULL' : `'${String(x).replace('Infinity', 'inf')}'::DOUBLE`);
    await duckQuery(
      `COPY (SELECT * FROM (VALUES ${DELAYS.map((x, i) => `(${i}, ${literal(x)}, ${literal(x)}, 'A')`).join(', ')}) AS t(i, delay, minutes, origin) ORDER BY i) ` +
        `TO ${sqlString(file)} (FORMAT parquet)`,
    );
    const values = await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (s) => computeAnalyzers(s, ir, [file]));
    const compiled = compileTransform(ir, values, SCHEMA);

    assert.deepEqual(compiled.signature.labels.map((l) => [l.output, l.feature, l.classes]), [
      ['delayed', 'delay', ['delayed', 'on time']],
      ['delayedGiven', 'delay', ['on time', 'delayed']],
    ]);
    assert.deepEqual(compiled.signature.serving.inputs.map((i) => i.name), ['minutes'], 'serving reads no delay');

    const session = await openSession(compiled.training, { intraOpNumThreads: 1 });
    const out = await session
      .run({
        delay: new Tensor('float32', Float32Array.from(DELAYS, (x) => x ?? NaN), [DELAYS.length]),
        minutes: new Tensor('float32', Float32Array.from(DELAYS, (x) => x ?? NaN), [DELAYS.length]),
      })
      .finally(() => session.release());
    const ids = (name: string) => Array.from(out[name]!.data as BigInt64Array, Number);

    const three = namesOf(THREE);
    const counts = new Map<string, number>();
    for (const name of three) if (name !== '') counts.set(name, (counts.get(name) ?? 0) + 1);
    // TFT's order: decreasing count, ties to the greater name.
    const order = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).map(([name]) => name);
    // 15 counted as 'on time' (a boundary on the wrong side in the analyzer's SQL) would reverse the first two.
    assert.deepEqual(order, ['delayed', 'on time', 'early']);
    assert.deepEqual(ids('band'), three.map((name) => (name === '' ? -1 : order.indexOf(name))));
    const two = namesOf(TWO);
    assert.deepEqual(two.slice(4, 7), ['on time', 'on time', 'delayed'], '15 and above is delayed');
    assert.deepEqual(ids('delayed'), two.map((name) => ['delayed', 'on time'].indexOf(name)), "classes in code-unit order; missing is -1");
    assert.deepEqual(ids('delayedGiven'), two.map((name) => ['on time', 'delayed'].indexOf(name)));
  });

  it('refuses names that do not fit the buckets, repeated or empty names, unordered boundaries and a string input', () => {
    refuses(() => transform(({ f }) => ({ x: labelIds(bucketNames(f.delay, { boundaries: [15], names: ['late'] })) }), KINDS), /bucketNames on feature "delay": 1 boundaries make 2 buckets, but 1 names were given/);
    refuses(() => transform(({ f }) => ({ x: labelIds(bucketNames(f.delay, { boundaries: [15], names: ['late', 'late'] })) }), KINDS), /output "x".*bucket names must be distinct/);
    refuses(() => transform(({ f }) => ({ x: labelIds(bucketNames(f.delay, { boundaries: [15], names: ['', 'late'] })) }), KINDS), /output "x".*must not be '' \(a missing string\)/);
    refuses(() => transform(({ f }) => ({ x: labelIds(bucketNames(f.delay, { boundaries: [15, 5], names: ['a', 'b', 'c'] })) }), KINDS), /output "x".*boundaries must be strictly increasing/);
    const untyped = transform(({ f }) => ({ x: labelIds(bucketNames(f.origin, TWO)) }));
    refuses(() => checkTransform(untyped, SCHEMA), /output "x": bucketNames needs a number input, got feature "origin" of kind string/);
  });
});
