import { attribute, GraphBuilder, OnnxElementType } from '../graph';

const MICROS_PER_HOUR = 3_600_000_000;
const MICROS_PER_DAY = 24 * MICROS_PER_HOUR;

/** Calendar parts of INT64 microseconds since 1970-01-01T00:00:00Z (proleptic Gregorian, UTC), each INT64. */
export interface DateParts {
  year: string;
  /** 1 to 12. */
  month: string;
  /** 1 to 31. */
  day: string;
  /** Python's datetime.weekday(): Monday 0 … Sunday 6. */
  dayOfWeek: string;
  /** 0 to 23. */
  hour: string;
}

/**
 * Date parts by integer arithmetic only (no string or float round trip, so exact for every INT64
 * timestamp JS Date can also represent). ONNX Div truncates towards zero but Mod with fmod = 0 takes the
 * divisor's sign, so floor division is (a - Mod(a, b)) / b, which keeps instants before 1970 right.
 * The civil date is Howard Hinnant's days_from_civil inverse (eras of 400 years starting 0000-03-01).
 */
export function dateParts(g: GraphBuilder, micros: string): DateParts {
  const int = (v: number): string => g.int64Constant([v], []);
  const add = (a: string, b: string): string => g.op('Add', [a, b]);
  const sub = (a: string, b: string): string => g.op('Sub', [a, b]);
  const mul = (a: string, b: string): string => g.op('Mul', [a, b]);
  const div = (a: string, b: string): string => g.op('Div', [a, b]);
  const mod = (a: string, b: string): string => g.op('Mod', [a, b], [attribute.int('fmod', 0)]);
  const floorDiv = (a: string, b: string): string => div(sub(a, mod(a, b)), b);

  const days = floorDiv(micros, int(MICROS_PER_DAY));
  const hour = div(mod(micros, int(MICROS_PER_DAY)), int(MICROS_PER_HOUR));
  // 1970-01-01 was a Thursday, weekday() 3.
  const dayOfWeek = mod(add(days, int(3)), int(7));

  const z = add(days, int(719_468));
  const era = floorDiv(z, int(146_097));
  const dayOfEra = sub(z, mul(era, int(146_097)));
  const yearOfEra = div(
    add(sub(dayOfEra, div(dayOfEra, int(1460))), sub(div(dayOfEra, int(36_524)), div(dayOfEra, int(146_096)))),
    int(365),
  );
  const dayOfYear = sub(dayOfEra, add(mul(yearOfEra, int(365)), sub(div(yearOfEra, int(4)), div(yearOfEra, int(100)))));
  const monthFromMarch = div(add(mul(dayOfYear, int(5)), int(2)), int(153));
  const day = add(sub(dayOfYear, div(add(mul(monthFromMarch, int(153)), int(2)), int(5))), int(1));
  const month = add(mod(add(monthFromMarch, int(2)), int(12)), int(1));
  const inJanuaryOrFebruary = g.op('Cast', [g.op('Less', [month, int(3)])], [attribute.int('to', OnnxElementType.INT64)]);
  const year = add(add(yearOfEra, mul(era, int(400))), inJanuaryOrFebruary);
  return { year, month, day, dayOfWeek, hour };
}

/**
 * dateParts where the INT64 `missing` marks an instant without a value: every part of it is -1. The
 * arithmetic runs on 0 in its place, since INT64's minimum (signature.ts's MISSING_INSTANT) would
 * overflow the floor division.
 */
export function datePartsOrMissing(g: GraphBuilder, micros: string, missing: bigint): DateParts {
  const isMissing = g.op('Equal', [micros, g.int64Constant([missing], [])]);
  const parts = dateParts(g, g.op('Where', [isMissing, g.int64Constant([0], []), micros]));
  const none = g.int64Constant([-1], []);
  const orMissing = (part: string): string => g.op('Where', [isMissing, none, part]);
  return { year: orMissing(parts.year), month: orMissing(parts.month), day: orMissing(parts.day), dayOfWeek: orMissing(parts.dayOfWeek), hour: orMissing(parts.hour) };
}
