import { bucketNames, dayOfWeek, hour, labelIds, log1p, month, scaleToZScore, transform, vocabulary } from '../../dsl';

/** The columns of vega-datasets' flights files as the schema types them. */
const FLIGHT_FEATURES = {
  date: 'timestamp',
  delay: 'number',
  distance: 'number',
  origin: 'string',
  destination: 'string',
} as const;

/** Airports kept by name; the rest (about a tenth of the flights) share the out-of-vocabulary slots. */
const TOP_AIRPORTS = 60;

/**
 * The model's features: the departure's hour, day of week and month as ids (the model embeds or scales
 * them); the distance as a z-score of its log (distances span 21 to 4,962 miles); origin and
 * destination one-hot over the busiest airports plus two OOV buckets (dense inputs, so the wasm
 * backend, which lacks Embedding's gradient, can train the model). The label is the US DOT's delay
 * indicator, an arrival 15 minutes late or more (`ArrDel15`), named so predictions read as words.
 */
export const flightsTransform = transform(
  ({ f }) => ({
    hour: hour(f.date),
    dayOfWeek: dayOfWeek(f.date),
    month: month(f.date),
    logDistance: scaleToZScore(log1p(f.distance)),
    originAirport: vocabulary(f.origin, { topK: TOP_AIRPORTS, numOovBuckets: 2 }).oneHot(),
    destinationAirport: vocabulary(f.destination, { topK: TOP_AIRPORTS, numOovBuckets: 2 }).oneHot(),
    delayed: labelIds(bucketNames(f.delay, { boundaries: [15], names: ['on time', 'delayed'] }), { classes: ['on time', 'delayed'] }),
  }),
  FLIGHT_FEATURES,
);
