import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { splitDirName } from '../data/examples-layout';
import type { ExampleStatistics, FeatureStatistics, Histogram, SliceStatistics, SplitStatistics } from './payload';

/**
 * statistics.json as TFDV's `DatasetFeatureStatisticsList` (tensorflow_metadata's statistics.proto,
 * vendored in ./proto), so Facets, `tfdv.load_stats_binary` and TFX's own readers open our statistics.
 * Layout as TFX's StatisticsGen writes it: `Split-<name>/FeatureStats.pb` (the binary proto), with its
 * proto3 JSON form beside it as `FeatureStats.json`.
 *
 * Per split, one DatasetFeatureStatistics named after the split; with slices, TFDV's naming: the whole
 * split is `All Examples` and each slice `<feature>_<value>` (several features sorted by name, joined
 * by `_`, as TFDV's `get_feature_value_slicer`; a missing value, which TFDV puts in no slice, is
 * `(missing)`). Mapping choices where TFDV has no counterpart: BOOL features are STRING features
 * (values `true`/`false`; tf.Example has no booleans); TEMPORAL ones are INT features in microseconds
 * since 1970-01-01 UTC, with their ISO min and max as custom statistics; OTHER ones are BYTES with
 * presence and distinct counts. Ranks in rank histograms start at 0, as TFDV's. Figures that are
 * sketches carry their method and error as a custom statistic `approximation:<figure>`.
 */
export const TFDV_STATISTICS_FILE = 'FeatureStats.pb';
export const TFDV_STATISTICS_JSON_FILE = 'FeatureStats.json';
export const TFDV_DEFAULT_SLICE = 'All Examples';
export const TFDV_STATISTICS_LIST_TYPE = 'tensorflow.metadata.v0.DatasetFeatureStatisticsList';
const STATISTICS_PROTO = 'tensorflow_metadata/proto/v0/statistics.proto';

/** The vendored .proto files: beside this module in the sources; tsc does not copy them to dist/. */
export function tfdvProtoDir(): string {
  const candidates = [path.join(__dirname, 'proto'), path.resolve(__dirname, '..', '..', '..', 'components', 'statistics-gen', 'proto')];
  const found = candidates.find((dir) => existsSync(path.join(dir, STATISTICS_PROTO)));
  if (!found) throw new Error(`cannot find ${STATISTICS_PROTO} in ${candidates.join(' or ')}`);
  return found;
}

let listType: protobuf.Type | undefined;

/** `DatasetFeatureStatisticsList` from the vendored statistics.proto (google/protobuf/any.proto is protobufjs's own). */
export function statisticsListType(): protobuf.Type {
  if (!listType) {
    const dir = tfdvProtoDir();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : path.join(dir, target));
    root.loadSync(STATISTICS_PROTO);
    listType = root.lookupType(TFDV_STATISTICS_LIST_TYPE);
  }
  return listType;
}

/* The messages as protobufjs's fromObject takes them: the proto's fields in camelCase, enums by name. */
interface ProtoBucket {
  lowValue: number;
  highValue: number;
  sampleCount: number;
}
interface ProtoHistogram {
  type: 'STANDARD' | 'QUANTILES';
  numNan?: number;
  numUndefined?: number;
  buckets: ProtoBucket[];
  name?: string;
}
interface ProtoCommonStatistics {
  numNonMissing: number;
  numMissing: number;
  minNumValues: number;
  maxNumValues: number;
  avgNumValues?: number;
  totNumValues: number;
  numValuesHistogram: ProtoHistogram;
  weightedCommonStats?: { numNonMissing: number; numMissing: number };
}
interface ProtoFreqAndValue {
  value: string;
  frequency: number;
}
interface ProtoCustomStatistic {
  name: string;
  str: string;
}
interface ProtoFeatureStatistics {
  path: { step: string[] };
  type: 'INT' | 'FLOAT' | 'STRING' | 'BYTES';
  numStats?: {
    commonStats: ProtoCommonStatistics;
    mean?: number;
    stdDev?: number;
    numZeros?: number;
    min?: number;
    median?: number;
    max?: number;
    histograms: ProtoHistogram[];
    weightedNumericStats?: { mean?: number; stdDev?: number; median?: number; histograms: ProtoHistogram[] };
  };
  stringStats?: {
    commonStats: ProtoCommonStatistics;
    unique: number;
    topValues: ProtoFreqAndValue[];
    avgLength?: number;
    rankHistogram: { buckets: Array<{ lowRank: number; highRank: number; label: string; sampleCount: number }> };
    weightedStringStats?: { topValues: ProtoFreqAndValue[] };
  };
  bytesStats?: { commonStats: ProtoCommonStatistics; unique: number };
  customStats: ProtoCustomStatistic[];
}
export interface ProtoDatasetStatistics {
  name: string;
  numExamples: number;
  weightedNumExamples?: number;
  features: ProtoFeatureStatistics[];
}
export interface ProtoStatisticsList {
  datasets: ProtoDatasetStatistics[];
}

/** Nulls (no finite value) leave the field unset, as TFDV does for a feature without values. */
const orUnset = (n: number | null | undefined): number | undefined => (n === null ? undefined : n);

function histogram(h: Histogram): ProtoHistogram {
  return { type: h.type, numNan: h.numNan, numUndefined: h.numUndefined, buckets: h.buckets.map((b) => ({ lowValue: b.low, highValue: b.high, sampleCount: b.count })) };
}

function commonStatistics(f: FeatureStatistics): ProtoCommonStatistics {
  return {
    numNonMissing: f.count,
    numMissing: f.missing,
    minNumValues: f.valueCounts.min,
    maxNumValues: f.valueCounts.max,
    avgNumValues: orUnset(f.valueCounts.mean),
    totNumValues: f.valueCounts.total,
    // StatisticsGen's values-per-row buckets are equal-mass, as TFDV's num_values_histogram.
    numValuesHistogram: { type: 'QUANTILES', buckets: f.valueCounts.histogram.map((b) => ({ lowValue: b.low, highValue: b.high, sampleCount: b.count })) },
    ...(f.weighted ? { weightedCommonStats: { numNonMissing: f.weighted.count, numMissing: f.weighted.missing } } : {}),
  };
}

const freqAndValues = (values: ReadonlyArray<{ value: string; count: number }>): ProtoFreqAndValue[] => values.map((t) => ({ value: t.value, frequency: t.count }));

function customStatistics(f: FeatureStatistics): ProtoCustomStatistic[] {
  const out: ProtoCustomStatistic[] = [];
  if (f.type === 'TEMPORAL') {
    out.push({ name: 'unit', str: 'microseconds since 1970-01-01 UTC' });
    if (f.temporalMin) out.push({ name: 'temporal_min', str: f.temporalMin });
    if (f.temporalMax) out.push({ name: 'temporal_max', str: f.temporalMax });
  }
  for (const [figure, a] of Object.entries(f.approximations ?? {})) out.push({ name: `approximation:${figure}`, str: `${a.method}: ${a.error}` });
  return out;
}

function numericStatistics(f: FeatureStatistics): ProtoFeatureStatistics['numStats'] {
  const n = f.numeric;
  const w = f.weighted;
  return {
    commonStats: commonStatistics(f),
    ...(n
      ? {
          mean: orUnset(n.mean),
          stdDev: orUnset(n.std),
          numZeros: n.numZeros,
          min: orUnset(n.min),
          median: orUnset(n.median),
          max: orUnset(n.max),
          histograms: [histogram(n.standardHistogram), histogram(n.quantilesHistogram)],
        }
      : { histograms: [] }),
    ...(w
      ? {
          weightedNumericStats: {
            mean: orUnset(w.mean),
            stdDev: orUnset(w.std),
            median: orUnset(w.median),
            histograms: [w.standardHistogram, w.quantilesHistogram].filter((h): h is Histogram => h !== undefined).map(histogram),
          },
        }
      : {}),
  };
}

function featureStatistics(f: FeatureStatistics): ProtoFeatureStatistics {
  const base = { path: { step: [f.name] }, customStats: customStatistics(f) };
  switch (f.type) {
    case 'INT':
    case 'FLOAT':
    case 'TEMPORAL':
      return { ...base, type: f.type === 'FLOAT' ? 'FLOAT' : 'INT', numStats: numericStatistics(f) };
    case 'STRING':
    case 'BOOL':
      return {
        ...base,
        type: 'STRING',
        stringStats: {
          commonStats: commonStatistics(f),
          unique: f.distinct,
          topValues: freqAndValues(f.topValues),
          avgLength: orUnset(f.stringLength?.mean),
          rankHistogram: { buckets: f.rankHistogram.map((r) => ({ lowRank: r.rank - 1, highRank: r.rank - 1, label: r.value, sampleCount: r.count })) },
          ...(f.weighted?.topValues ? { weightedStringStats: { topValues: freqAndValues(f.weighted.topValues) } } : {}),
        },
      };
    case 'OTHER':
      return { ...base, type: 'BYTES', bytesStats: { commonStats: commonStatistics(f), unique: f.distinct } };
  }
}

/** TFDV's slice key: `<feature>_<value>` per slicing feature, in name order, joined by `_`. */
export function tfdvSliceName(key: SliceStatistics['key']): string {
  return Object.keys(key)
    .sort()
    .map((feature) => `${feature}_${key[feature] ?? '(missing)'}`)
    .join('_');
}

function datasetStatistics(name: string, d: { numExamples: number; weightedNumExamples?: number; features: FeatureStatistics[] }): ProtoDatasetStatistics {
  return {
    name,
    numExamples: d.numExamples,
    ...(d.weightedNumExamples !== undefined ? { weightedNumExamples: d.weightedNumExamples } : {}),
    features: d.features.map(featureStatistics),
  };
}

/** One split's statistics as TFDV's list: the split, then its slices. */
export function tfdvStatisticsOf(split: SplitStatistics): ProtoStatisticsList {
  if (split.slices.length === 0) return { datasets: [datasetStatistics(split.name, split)] };
  return { datasets: [datasetStatistics(TFDV_DEFAULT_SLICE, split), ...split.slices.map((s) => datasetStatistics(tfdvSliceName(s.key), s))] };
}

/** Writes `Split-<name>/FeatureStats.pb` and `FeatureStats.json` for every split under `outDir`. */
export async function writeTfdvExport(outDir: string, statistics: ExampleStatistics): Promise<void> {
  const type = statisticsListType();
  for (const split of statistics.splits) {
    const message = type.fromObject(tfdvStatisticsOf(split));
    const dir = path.join(outDir, splitDirName(split.name));
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, TFDV_STATISTICS_FILE), type.encode(message).finish());
    const json = type.toObject(message, { longs: String, enums: String, json: true });
    await writeFile(path.join(dir, TFDV_STATISTICS_JSON_FILE), `${JSON.stringify(json, null, 2)}\n`);
  }
}
