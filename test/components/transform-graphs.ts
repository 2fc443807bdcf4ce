import { encodeModel, GraphBuilder, OnnxElementType, tensorValueInfo } from '../../onnx/graph';
import { applyBuckets } from '../../onnx/transform-ops/buckets';
import { datePartsOrMissing } from '../../onnx/transform-ops/date-parts';
import { scaleToZScore } from '../../onnx/transform-ops/numeric';
import { lookupVocabulary, oneHot } from '../../onnx/transform-ops/vocabulary';
import { MISSING_INSTANT, type GraphDtype, type GraphSignature, type TensorSpec } from '../../components/transform/signature';
import { duckQuery } from './parquet-rows';

/**
 * Transform graphs for the materialisation test and bench, built from the transform-ops blocks (the
 * compiler's building blocks) with analyzer values computed here by DuckDB SQL.
 */

const ELEMENT_TYPE: Record<GraphDtype, number> = { float32: OnnxElementType.FLOAT, int64: OnnxElementType.INT64, string: OnnxElementType.STRING };

export interface GraphOutputSpec {
  name: string;
  source: string;
  dtype: GraphDtype;
  /** One-hot and other [-1, width] outputs. */
  width?: number;
}

export interface TestGraph {
  model: Uint8Array;
  signature: GraphSignature;
}

/** A graph over 1-D `inputs` whose outputs `body` builds; the signature says what it takes and gives. */
export function buildGraph(inputs: TensorSpec[], body: (g: GraphBuilder) => GraphOutputSpec[]): TestGraph {
  const g = new GraphBuilder();
  const outputs = body(g);
  const graph = g.build(
    'transform',
    inputs.map((i) => tensorValueInfo(i.name, ELEMENT_TYPE[i.dtype], ['batch'])),
    outputs.map((o) => ({ name: o.name, source: o.source, elemType: ELEMENT_TYPE[o.dtype], dims: o.width ? ['batch', o.width] : ['batch'] })),
  );
  return {
    model: encodeModel(graph, { producerName: 'mlpipe-test', extraOpsets: g.extraOpsets() }),
    signature: { inputs, outputs: outputs.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.width ? [-1, o.width] : [-1] })) },
  };
}

export interface FlightsAnalyzers {
  delay: { mean: number; stdDev: number };
  distance: { mean: number; stdDev: number };
  origin: string[];
  destination: string[];
  distanceBoundaries: number[];
}

export const FLIGHTS_VOCABULARY_SIZE = 50;

/** z-score statistics (population), top-50 vocabularies in TFT's order and distance deciles over `relation`. */
export async function flightsAnalyzers(relation: string): Promise<FlightsAnalyzers> {
  const [moments] = await duckQuery(
    `SELECT avg(delay) AS dm, stddev_pop(delay) AS ds, avg(distance) AS im, stddev_pop(distance) AS isd, ` +
      `quantile_disc(distance, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) AS b FROM ${relation}`,
  );
  const vocabulary = async (column: string) =>
    (await duckQuery(`SELECT ${column} AS v, count(*) AS n FROM ${relation} WHERE ${column} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v DESC LIMIT ${FLIGHTS_VOCABULARY_SIZE}`)).map((r) => String(r.v));
  const boundaries = (moments!.b as unknown[]).map(Number);
  return {
    delay: { mean: Number(moments!.dm), stdDev: Number(moments!.ds) },
    distance: { mean: Number(moments!.im), stdDev: Number(moments!.isd) },
    origin: await vocabulary('origin'),
    destination: await vocabulary('destination'),
    distanceBoundaries: boundaries.filter((b, i) => i === 0 || boundaries[i - 1] !== b),
  };
}

export const FLIGHTS_INPUTS: TensorSpec[] = [
  { name: 'date', dtype: 'int64', shape: [-1] },
  { name: 'delay', dtype: 'float32', shape: [-1] },
  { name: 'distance', dtype: 'float32', shape: [-1] },
  { name: 'origin', dtype: 'string', shape: [-1] },
  { name: 'destination', dtype: 'string', shape: [-1] },
];

/**
 * The realistic flights transform: z-scores of delay and distance, vocabulary ids (or one-hot) of origin
 * and destination with one OOV bucket, month, day of week and hour of the date (-1 when missing),
 * distance deciles.
 */
export function flightsGraph(a: FlightsAnalyzers, encoding: 'ids' | 'one-hot'): TestGraph {
  return buildGraph(FLIGHTS_INPUTS, (g) => {
    const vocabularyOutput = (input: string, vocabulary: string[]): GraphOutputSpec => {
      const ids = lookupVocabulary(g, input, vocabulary, 1);
      const width = vocabulary.length + 1;
      return encoding === 'ids' ? { name: `${input}_id`, source: ids, dtype: 'int64' } : { name: `${input}_one_hot`, source: oneHot(g, ids, width), dtype: 'float32', width };
    };
    const parts = datePartsOrMissing(g, 'date', MISSING_INSTANT);
    return [
      { name: 'delay_z', source: scaleToZScore(g, 'delay', a.delay), dtype: 'float32' },
      { name: 'distance_z', source: scaleToZScore(g, 'distance', a.distance), dtype: 'float32' },
      vocabularyOutput('origin', a.origin),
      vocabularyOutput('destination', a.destination),
      { name: 'month', source: parts.month, dtype: 'int64' },
      { name: 'day_of_week', source: parts.dayOfWeek, dtype: 'int64' },
      { name: 'hour', source: parts.hour, dtype: 'int64' },
      { name: 'distance_bucket', source: applyBuckets(g, 'distance', a.distanceBoundaries), dtype: 'int64' },
    ];
  });
}
