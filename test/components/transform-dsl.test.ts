import assert from 'node:assert/strict';
import { canonicalJson } from '../../artifacts/fingerprint';
import { checkTransform } from '../../components/transform/check';
import {
  applyBuckets,
  bucketize,
  clip,
  cross,
  dayOfWeek,
  featureKindsOf,
  fillMissing,
  hashStrings,
  hour,
  labelIds,
  month,
  scaleTo01,
  scaleToZScore,
  transform,
  vocabulary,
  type FeatureKinds,
} from '../../components/transform/dsl';
import { TransformIrSchema, type TransformIr } from '../../components/transform/expression';
import type { SchemaPayload } from '../../components/schema-gen/payload';
import { throwsUserInputError as refuses } from '../support/user-input-errors';
import { PENGUINS_SCHEMA } from './penguins-schema';

const PENGUINS = PENGUINS_SCHEMA;
const PENGUIN_KINDS = {
  Species: 'string',
  Island: 'string',
  'Beak Length (mm)': 'number',
  'Body Mass (g)': 'number',
  Sex: 'string',
} as const satisfies FeatureKinds;

const example = (): TransformIr =>
  transform(({ f }) => ({
    bill: scaleToZScore(f['Beak Length (mm)']),
    island: vocabulary(f.Island, { topK: 10, numOovBuckets: 1 }).oneHot(),
    label: labelIds(f.Species),
  }));

describe('transform DSL', () => {
  it('compiles the penguins example to its IR, with a serving signature without the label', () => {
    const beak = { op: 'feature', name: 'Beak Length (mm)' };
    const island = { op: 'feature', name: 'Island' };
    assert.deepEqual(example(), {
      version: 1,
      outputs: [
        {
          name: 'bill',
          expression: { op: 'scaleToZScore', input: beak, mean: { analyzer: 'mean', of: beak }, var: { analyzer: 'var', of: beak } },
          dtype: 'float32',
          shape: { kind: 'scalar' },
        },
        {
          name: 'island',
          expression: { op: 'vocabularyIds', input: island, vocabulary: { analyzer: 'vocabulary', of: island, topK: 10 }, defaultValue: -1, numOovBuckets: 1 },
          dtype: 'float32',
          shape: { kind: 'oneHot' },
        },
        { name: 'label', expression: { op: 'labelIds', input: { op: 'feature', name: 'Species' } }, dtype: 'int64', shape: { kind: 'scalar' } },
      ],
    });
    assert.deepEqual(checkTransform(example(), PENGUINS), {
      training: { inputs: ['Beak Length (mm)', 'Island', 'Species'], outputs: ['bill', 'island', 'label'] },
      serving: { inputs: ['Beak Length (mm)', 'Island'], outputs: ['bill', 'island'] },
    });
  });

  it('writes the exact JSON of bucketize, fillMissing, cross, hour and ids', () => {
    const ir = transform(({ f }) => ({
      mass: bucketize(fillMissing(f['Body Mass (g)'], 'mean'), 4),
      pair: cross(f.Island, f.Sex, 100),
      at: hour(f.date),
      sex: vocabulary(fillMissing(f.Sex, { constant: 'unknown' })),
    }));
    assert.equal(
      JSON.stringify(ir.outputs.map((o) => [o.name, o.expression, o.dtype])),
      JSON.stringify([
        [
          'mass',
          {
            op: 'applyBuckets',
            input: { op: 'fillMissing', input: { op: 'feature', name: 'Body Mass (g)' }, with: { kind: 'mean' }, value: { analyzer: 'mean', of: { op: 'feature', name: 'Body Mass (g)' } } },
            boundaries: {
              analyzer: 'quantiles',
              of: { op: 'fillMissing', input: { op: 'feature', name: 'Body Mass (g)' }, with: { kind: 'mean' }, value: { analyzer: 'mean', of: { op: 'feature', name: 'Body Mass (g)' } } },
              numBuckets: 4,
            },
          },
          'int64',
        ],
        ['pair', { op: 'cross', inputs: [{ op: 'feature', name: 'Island' }, { op: 'feature', name: 'Sex' }], numBuckets: 100 }, 'int64'],
        ['at', { op: 'datePart', input: { op: 'feature', name: 'date' }, part: 'hour' }, 'int64'],
        [
          'sex',
          {
            op: 'vocabularyIds',
            input: { op: 'fillMissing', input: { op: 'feature', name: 'Sex' }, with: { kind: 'constant', value: 'unknown' } },
            vocabulary: { analyzer: 'vocabulary', of: { op: 'fillMissing', input: { op: 'feature', name: 'Sex' }, with: { kind: 'constant', value: 'unknown' } } },
            defaultValue: -1,
            numOovBuckets: 0,
          },
          'int64',
        ],
      ]),
    );
  });

  it('gives the same IR bytes for the same transform, and other bytes when a parameter changes', () => {
    const bytes = canonicalJson(example());
    assert.equal(canonicalJson(example()), bytes);
    assert.equal(JSON.stringify(example()), JSON.stringify(TransformIrSchema.parse(JSON.parse(JSON.stringify(example())))));
    const otherTopK = transform(({ f }) => ({
      bill: scaleToZScore(f['Beak Length (mm)']),
      island: vocabulary(f.Island, { topK: 11, numOovBuckets: 1 }).oneHot(),
      label: labelIds(f.Species),
    }));
    assert.notEqual(canonicalJson(otherTopK), bytes);
  });

  it('refuses a numeric op on a string feature at type-check and build time when the kinds are given', () => {
    refuses(
      () =>
        transform(
          // @ts-expect-error Island is a string feature: scaleToZScore needs a number
          ({ f }) => ({ island: scaleToZScore(f.Island) }),
          PENGUIN_KINDS,
        ),
      /^scaleToZScore needs a number input, got feature "Island" of kind string$/,
    );
    // @ts-expect-error Body Mass is a number feature: hashStrings needs a string
    refuses(() => transform(({ f }) => ({ h: hashStrings(f['Body Mass (g)'], 8) }), PENGUIN_KINDS), /^hashStrings needs a string input, got feature "Body Mass \(g\)"/);
    refuses(() => transform(({ f }) => ({ x: scaleTo01(f.Wingspan) }), featureKindsOf(PENGUINS)), /^the transform reads feature "Wingspan", which the schema lacks$/);
    refuses(() => transform(({ f }) => ({ raw: f.Island })), /^output "raw": the kind of feature "Island" is unknown here/);
    refuses(
      () => transform(({ f }) => ({ mass: applyBuckets(f['Body Mass (g)'], [4000, 3000]), bill: clip(f['Beak Length (mm)'], { min: 50, max: 40 }) })),
      /^output "mass" expression\.boundaries: boundaries must be strictly increasing; output "bill" expression: clip min must not exceed max$/,
    );
    refuses(() => transform(({ f }) => ({ island: vocabulary(f.Island, { topK: 0 }) })), /^output "island" expression\.vocabulary\.topK: Too small/);
  });

  it('reads date parts of a TEMPORAL feature only, no feature of type OTHER; without environments all is served', () => {
    const flights: SchemaPayload = {
      version: 1,
      features: [
        { name: 'date', type: 'TEMPORAL' },
        { name: 'origin', type: 'STRING' },
        { name: 'blob', type: 'OTHER' },
      ],
    };
    const ir = transform(({ f }) => ({ h: hour(f.date), d: dayOfWeek(f.date), o: hashStrings(f.origin, 16) }));
    const both = { inputs: ['date', 'origin'], outputs: ['h', 'd', 'o'] };
    assert.deepEqual(checkTransform(ir, flights), { training: both, serving: both });
    refuses(() => checkTransform(transform(({ f }) => ({ m: month(f.origin) })), flights), /^output "m": datePart needs a timestamp input, got feature "origin" of kind string$/);
    refuses(() => checkTransform(transform(({ f }) => ({ b: hashStrings(f.blob, 4) })), flights), /^output "b" reads feature "blob" of type OTHER, which a transform cannot read$/);
  });

  it('refuses, against the schema, each bad transform naming the output, the op and the feature', () => {
    const check = (ir: TransformIr) => () => checkTransform(ir, PENGUINS);
    refuses(check(transform(({ f }) => ({ wing: scaleTo01(f.Wingspan) }))), /^output "wing" reads feature "Wingspan", which the schema lacks$/);
    refuses(
      check(transform(({ f }) => ({ island: scaleToZScore(f.Island) }))),
      /^output "island": scaleToZScore needs a number input, got feature "Island" of kind string$/,
    );
    refuses(
      check(transform(({ f }) => ({ mass: hashStrings(f['Body Mass (g)'], 8) }))),
      /^output "mass": hashStrings needs a string input, got feature "Body Mass \(g\)" of kind number$/,
    );
    refuses(
      check(transform(({ f }) => ({ island: fillMissing(f.Island, 'median') }))),
      /^output "island": median needs a number input, got feature "Island" of kind string$/,
    );
    const twice = example();
    twice.outputs.push({ ...twice.outputs[0]! });
    refuses(check(twice), /^output "bill" is defined twice; each output needs its own name$/);
    refuses(
      check(transform(({ f }) => ({ species: vocabulary(f.Species).oneHot() }))),
      /^output "species": vocabularyIds reads feature "Species", which is not in the SERVING environment \(a label\), so serving could not compute it; only a labelIds output may read it$/,
    );
    assert.throws(
      () => TransformIrSchema.parse({ version: 1, outputs: [{ name: 'b', expression: { op: 'applyBuckets', input: { op: 'feature', name: 'x' }, boundaries: [2, 1] }, dtype: 'int64', shape: { kind: 'scalar' } }] }),
      /boundaries must be strictly increasing/,
    );
  });
});
