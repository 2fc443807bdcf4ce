import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { SliceKeySchema, type Check, type MetricValue, type SliceKey, type SliceResult } from './payload';
import { describeSlice, sliceKeyId, SliceSpecSchema, specFeatures, type SliceSpec } from './slices';

/**
 * Thresholds and the blessing, with TFMA's semantics (metrics_validator.py):
 * - a value threshold holds if lower ≤ value ≤ upper, bounds inclusive;
 * - a change threshold compares the candidate with the baseline: higherIsBetter holds if
 *   (new − old) ≥ absolute and (new − old) / |old| ≥ relative, lowerIsBetter if both are ≤;
 * - without a baseline (a first model) change thresholds are skipped, value thresholds still judge;
 * - a threshold whose slice or metric is missing fails (TFMA: "Metric not found", missing slices);
 * - with no threshold configured the model is not blessed (TFX), said as such, not as a failed check.
 *
 * Where we differ, on purpose:
 * - a relative change divides by |old| (TFMA by old), so a negative baseline (an R² below 0) does not
 *   turn an improvement into a decline;
 * - a relative change from a baseline of 0 is undefined and fails its check with that reason (TFMA
 *   gets NaN and fails the whole change threshold, its absolute part included; we judge that part);
 * - `significant` asks that the paired bootstrap interval of (new − old) clear the slack at its bound
 *   on the wrong side (the lower bound for higherIsBetter, the upper for lowerIsBetter), and not only
 *   its point estimate: a lucky eval split then cannot push a model;
 * - `eachSliceOf` judges every slice of a spec, and skips (reports, does not judge) those smaller than
 *   minSliceSize; a threshold on one named slice that is too small fails, as TFMA's does.
 */

const bound = z.number();

export const ValueThresholdSchema = z
  .object({ lower: bound.optional(), upper: bound.optional() })
  .strict()
  .refine((v) => v.lower !== undefined || v.upper !== undefined, 'a value threshold needs a lower bound, an upper bound or both')
  .refine((v) => v.lower === undefined || v.upper === undefined || v.lower <= v.upper, 'a value threshold\'s lower bound must not exceed its upper bound');

export const ChangeThresholdSchema = z
  .object({
    direction: z.enum(['higherIsBetter', 'lowerIsBetter']),
    /** Slack on new − old, in the metric's unit: 0 for "no worse", 0.01 for "at least a point better". */
    absolute: bound.optional(),
    /** Slack on (new − old) / |old|. */
    relative: bound.optional(),
    significant: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.absolute !== undefined || c.relative !== undefined, 'a change threshold needs an absolute slack, a relative slack or both');

export const ThresholdSchema = z
  .object({
    metric: z.string().min(1),
    /** One slice, e.g. `{ island: 'Biscoe' }`; without it (and without eachSliceOf), the overall slice. */
    slice: SliceKeySchema.optional(),
    /** Every slice of this slice spec (e.g. `'island'`, or `['island', 'sex']`). */
    eachSliceOf: SliceSpecSchema.optional(),
    value: ValueThresholdSchema.optional(),
    change: ChangeThresholdSchema.optional(),
  })
  .strict()
  .refine((t) => t.value !== undefined || t.change !== undefined, 'a threshold needs a value threshold, a change threshold or both')
  .refine((t) => t.slice === undefined || t.eachSliceOf === undefined, 'a threshold names one slice or eachSliceOf a spec, not both');
export type Threshold = z.infer<typeof ThresholdSchema>;

export const ThresholdsSchema = z.array(ThresholdSchema).default([]);

/**
 * A threshold on a slice no slice spec produces could never be checked: said when the parameters are
 * read, not after the evaluation ran.
 */
export function checkThresholdSlices(thresholds: Threshold[], specs: SliceSpec[]): void {
  const known = new Set(specs.map((s) => featureSetId(specFeatures(s))));
  const list = specs.map((s) => JSON.stringify(s)).join(', ') || 'none';
  thresholds.forEach((t, i) => {
    const features = t.eachSliceOf !== undefined ? specFeatures(t.eachSliceOf) : Object.keys(t.slice ?? {});
    if (features.length > 0 && !known.has(featureSetId(features))) {
      throw new UserInputError(`thresholds[${i}] (${t.metric}): no slice spec slices on ${features.join(' × ')}; add ${JSON.stringify(features.length === 1 ? features[0] : features)} to slices (the slices are ${list})`);
    }
  });
}

const featureSetId = (features: string[]) => JSON.stringify([...features].sort());

export interface Difference {
  slice: SliceKey;
  metrics: Record<string, MetricValue>;
}

export interface Judgement {
  checks: Check[];
  blessed: boolean;
  /** `blessed`, `not blessed: <the failed checks>`, or `not blessed: no thresholds configured`. */
  verdict: string;
}

export const NO_THRESHOLDS_VERDICT = 'not blessed: no thresholds configured';

/** Failed checks named in the one-line verdict; the rest are counted (all are in the checks). */
const VERDICT_FAILURES = 3;

export function judge(options: {
  thresholds: Threshold[];
  candidate: SliceResult[];
  /** The baseline's slices; null for a first model. */
  baseline: SliceResult[] | null;
  /** Per slice, candidate − baseline with its paired interval. */
  differences: Difference[];
  minSliceSize: number;
  /** The bootstrap's confidence level, or null when it is off. */
  confidence: number | null;
}): Judgement {
  if (options.thresholds.length === 0) return { checks: [], blessed: false, verdict: NO_THRESHOLDS_VERDICT };
  const candidate = bySlice(options.candidate);
  const baseline = options.baseline === null ? null : bySlice(options.baseline);
  const differences = new Map(options.differences.map((d) => [sliceKeyId(d.slice), d.metrics]));
  const checks: Check[] = [];
  for (const threshold of options.thresholds) {
    const targets = targetsOf(threshold, options.candidate);
    if (targets.length === 0) {
      checks.push({
        metric: threshold.metric,
        slice: {},
        kind: threshold.value ? 'value' : 'change',
        threshold: { eachSliceOf: JSON.stringify(threshold.eachSliceOf) },
        value: null,
        passed: false,
        reason: `${threshold.metric} on each slice of ${specFeatures(threshold.eachSliceOf!).join(' × ')}: the eval rows have no such slice`,
      });
    }
    for (const target of targets) {
      const id = sliceKeyId(target.key);
      const context: CheckContext = {
        threshold,
        key: target.key,
        slice: target.slice ?? candidate.get(id),
        skipTooSmall: target.slice !== undefined,
        minSliceSize: options.minSliceSize,
      };
      if (threshold.value) checks.push(valueCheck(context, threshold.value));
      if (threshold.change) {
        checks.push(
          changeCheck(context, threshold.change, {
            baseline: baseline === null ? null : baseline.get(id),
            difference: differences.get(id)?.[threshold.metric],
            confidence: options.confidence,
          }),
        );
      }
    }
  }
  const failed = checks.filter((c) => !c.passed);
  if (failed.length === 0) return { checks, blessed: true, verdict: 'blessed' };
  const named = failed.slice(0, VERDICT_FAILURES).map((c) => c.reason);
  const more = failed.length > VERDICT_FAILURES ? `; and ${failed.length - VERDICT_FAILURES} more failed checks` : '';
  return { checks, blessed: false, verdict: `not blessed: ${named.join('; ')}${more}` };
}

function bySlice(slices: SliceResult[]): Map<string, SliceResult> {
  return new Map(slices.map((s) => [sliceKeyId(s.slice), s]));
}

/** The slices a threshold judges: the one it names (found or not), or each slice of its spec there is. */
function targetsOf(threshold: Threshold, slices: SliceResult[]): Array<{ key: SliceKey; slice?: SliceResult }> {
  if (threshold.eachSliceOf === undefined) return [{ key: threshold.slice ?? {} }];
  const id = featureSetId(specFeatures(threshold.eachSliceOf));
  return slices.filter((s) => Object.keys(s.slice).length > 0 && featureSetId(Object.keys(s.slice)) === id).map((s) => ({ key: s.slice, slice: s }));
}

interface CheckContext {
  threshold: Threshold;
  key: SliceKey;
  slice: SliceResult | undefined;
  /** Reached through eachSliceOf: a too-small slice is skipped rather than failed. */
  skipTooSmall: boolean;
  minSliceSize: number;
}

type CheckBase = Pick<Check, 'metric' | 'slice' | 'kind' | 'threshold'>;

const num = (v: number) => String(Number(v.toPrecision(6)));
const signed = (v: number) => (v > 0 ? `+${num(v)}` : num(v));
const subject = (c: CheckContext) => `${c.threshold.metric} on ${describeSlice(c.key)}`;

/** Why a slice's metric cannot be read, or its value. */
function readMetric(c: CheckContext, slice: SliceResult | undefined, whose: string): { reason: string; skip?: boolean } | { value: MetricValue } {
  if (!slice) return { reason: `${subject(c)}: the slice is not in the ${whose}'s eval rows` };
  if (slice.tooSmall) {
    const what = `the slice has ${slice.examples} examples, fewer than minSliceSize ${c.minSliceSize}`;
    return c.skipTooSmall ? { reason: `${subject(c)}: not judged, ${what}`, skip: true } : { reason: `${subject(c)}: ${what}, so its metrics are not computed and the threshold cannot hold` };
  }
  const value = slice.metrics[c.threshold.metric];
  if (!value) return { reason: `${subject(c)}: the ${whose} has no metric "${c.threshold.metric}" (its metrics are ${Object.keys(slice.metrics).join(', ')})` };
  if (value.value === null) return { reason: `${subject(c)}: the ${whose}'s ${c.threshold.metric} is undefined on this slice` };
  return { value };
}

function valueCheck(c: CheckContext, t: NonNullable<Threshold['value']>): Check {
  const base: CheckBase = { metric: c.threshold.metric, slice: c.key, kind: 'value', threshold: definedOnly({ lower: t.lower, upper: t.upper }) };
  const read = readMetric(c, c.slice, 'candidate');
  if ('reason' in read) return { ...base, value: null, passed: read.skip === true, ...(read.skip ? { skipped: true } : {}), reason: read.reason };
  const { value: v, lower, upper } = read.value;
  const value = v!;
  const interval = lower !== undefined && upper !== undefined ? { interval: { lower, upper } } : {};
  let reason: string;
  let passed = true;
  if (t.lower !== undefined && value < t.lower) {
    passed = false;
    reason = `${subject(c)} = ${num(value)} < lower bound ${num(t.lower)}`;
  } else if (t.upper !== undefined && value > t.upper) {
    passed = false;
    reason = `${subject(c)} = ${num(value)} > upper bound ${num(t.upper)}`;
  } else {
    reason = `${subject(c)} = ${num(value)} within [${t.lower === undefined ? '−∞' : num(t.lower)}, ${t.upper === undefined ? '+∞' : num(t.upper)}]`;
  }
  return { ...base, value, ...interval, passed, reason };
}

function changeCheck(
  c: CheckContext,
  t: NonNullable<Threshold['change']>,
  /** baseline: the baseline's slice (undefined: it has none), or null when there is no baseline model. */
  against: { baseline: SliceResult | undefined | null; difference: MetricValue | undefined; confidence: number | null },
): Check {
  const base: CheckBase = {
    metric: c.threshold.metric,
    slice: c.key,
    kind: 'change',
    threshold: definedOnly({ direction: t.direction, absolute: t.absolute, relative: t.relative, significant: t.significant }),
  };
  const read = readMetric(c, c.slice, 'candidate');
  if (against.baseline === null) {
    const value = 'value' in read ? read.value.value : null;
    return { ...base, value, passed: true, skipped: true, reason: `${subject(c)}: change threshold skipped, there is no baseline (a first model is judged by value thresholds only)` };
  }
  if ('reason' in read) return { ...base, value: null, passed: read.skip === true, ...(read.skip ? { skipped: true } : {}), reason: read.reason };
  const value = read.value.value!;
  const readBaseline = readMetric(c, against.baseline, 'baseline');
  if ('reason' in readBaseline) return { ...base, value, passed: false, reason: readBaseline.reason };
  const old = readBaseline.value.value!;
  const better = t.direction === 'higherIsBetter';
  const ok = (x: number, slack: number) => (better ? x >= slack : x <= slack);
  const relation = better ? '≥' : '≤';
  const failing = better ? '<' : '>';
  const delta = value - old;
  const compared = `${subject(c)}: ${num(value)} vs baseline ${num(old)}, change ${signed(delta)}`;
  const done = (passed: boolean, reason: string, interval?: Check['interval']) => ({ ...base, value, baselineValue: old, ...(interval ? { interval } : {}), passed, reason });

  if (t.relative !== undefined && old === 0) return done(false, `${compared}: the relative change from a baseline of 0 is undefined, so the relative slack ${num(t.relative)} cannot hold`);
  const relative = delta / Math.abs(old);
  const holds = (t.absolute === undefined || ok(delta, t.absolute)) && (t.relative === undefined || ok(relative, t.relative));
  // Each slack with the relation that holds: ` ≥ absolute slack 0`, `, relative change +0.1 < relative slack +0.2`.
  const phrase =
    (t.absolute === undefined ? '' : ` ${ok(delta, t.absolute) ? relation : failing} absolute slack ${signed(t.absolute)}`) +
    (t.relative === undefined ? '' : `, relative change ${signed(relative)} ${ok(relative, t.relative) ? relation : failing} relative slack ${signed(t.relative)}`);
  if (!holds || !t.significant) return done(holds, `${compared}${phrase} (${better ? 'higher' : 'lower'} is better)`);
  const slackWords = [t.absolute !== undefined ? `absolute slack ${signed(t.absolute)}` : '', t.relative !== undefined ? `relative slack ${signed(t.relative)}` : ''].filter(Boolean).join(' and ');

  const lower = against.difference?.lower ?? null;
  const upper = against.difference?.upper ?? null;
  const edge = better ? lower : upper;
  if (against.confidence === null || edge === null) {
    return done(false, `${compared} clears ${slackWords}, but its significance cannot be judged: ${against.confidence === null ? 'the bootstrap is off' : 'the paired bootstrap interval of the change is undefined'}`);
  }
  const level = `${num(against.confidence * 100)}%`;
  const interval = { lower, upper };
  const edgeName = better ? 'lower' : 'upper';
  const edgeFailures: string[] = [];
  if (t.absolute !== undefined && !ok(edge, t.absolute)) edgeFailures.push(`its ${edgeName} bound ${signed(edge)} ${failing} absolute slack ${signed(t.absolute)}`);
  if (t.relative !== undefined && !ok(edge / Math.abs(old), t.relative)) edgeFailures.push(`its ${edgeName} bound relative to the baseline ${signed(edge / Math.abs(old))} ${failing} relative slack ${signed(t.relative)}`);
  const intervalWords = `the paired ${level} interval of the change is [${signed(lower!)}, ${signed(upper!)}]`;
  if (edgeFailures.length > 0) return done(false, `${compared} clears ${slackWords}, but not significantly: ${intervalWords} and ${edgeFailures.join(', ')}`, interval);
  return done(true, `${compared} ${relation} ${slackWords}, significantly: ${intervalWords}, its ${edgeName} bound clears the slack`, interval);
}

function definedOnly<T extends Record<string, number | string | boolean | undefined>>(record: T): Record<string, number | string | boolean> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as Record<string, number | string | boolean>;
}
