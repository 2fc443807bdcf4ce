import { bucketize, fillMissing, labelIds, scaleToZScore, transform, vocabulary } from '../../dsl';

/** The penguins' features as the schema types them: declared, so a numeric op on a string feature is a TypeScript error. */
export const PENGUIN_FEATURES = {
  Species: 'string',
  Island: 'string',
  'Beak Length (mm)': 'number',
  'Beak Depth (mm)': 'number',
  'Flipper Length (mm)': 'number',
  'Body Mass (g)': 'number',
  Sex: 'string',
} as const;

/**
 * The model's features: numbers as z-scores (missing ones filled with the training mean first), the
 * island one-hot, sex as vocabulary ids with missing as its own value, body mass in quartiles; the
 * species, the label, as ids in the order of its class names.
 */
export const penguinsTransform = transform(
  ({ f }) => ({
    beakLength: scaleToZScore(fillMissing(f['Beak Length (mm)'], 'mean')),
    beakDepth: scaleToZScore(fillMissing(f['Beak Depth (mm)'], 'mean')),
    flipperLength: scaleToZScore(fillMissing(f['Flipper Length (mm)'], 'mean')),
    bodyMass: bucketize(f['Body Mass (g)'], 4),
    island: vocabulary(f.Island, { numOovBuckets: 1 }).oneHot(),
    sex: vocabulary(fillMissing(f.Sex, { constant: 'unknown' })).ids(),
    species: labelIds(f.Species),
  }),
  PENGUIN_FEATURES,
);
