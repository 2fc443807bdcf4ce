import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ComponentError, UserInputError } from '../../dsl/executor';
import type { ResolveContext, ResolvedFileSet } from '../../dsl/resolve';

/**
 * Span and version patterns in input locations, as TFX's `input_base` + `split_pattern`:
 * `{SPAN}` or `{SPAN:width}` (a number), or a date `{YYYY}{MM}{DD}` whose span number is the days
 * since 1970-01-01 (TFX's `date_to_span_number`); optionally `{VERSION}` or `{VERSION:width}`. They
 * may stand in file or folder names. By default the latest span and its latest version are read; a
 * `range` reads a static span range or the N latest spans (TFX's RangeConfig static_range /
 * rolling_range), each at its latest version.
 */

/** `{start, end}`: every span from start to end (inclusive) must exist; `{latestSpans: n}`: the n newest spans found. */
export const SpanRangeSchema = z.union([
  z
    .object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative() })
    .strict()
    .refine((r) => r.start <= r.end, { message: 'range start must not be after its end' }),
  z.object({ latestSpans: z.number().int().positive() }).strict(),
]);
export type SpanRange = z.infer<typeof SpanRangeSchema>;

/** A span and the version of it that is read (0 when the pattern has no `{VERSION}`, as TFX records none). */
export interface SpanVersion {
  span: number;
  version: number;
}

type Placeholder = 'SPAN' | 'VERSION' | 'YYYY' | 'MM' | 'DD';
const PLACEHOLDERS: readonly Placeholder[] = ['SPAN', 'VERSION', 'YYYY', 'MM', 'DD'];
const DATE_WIDTH: Partial<Record<Placeholder, number>> = { YYYY: 4, MM: 2, DD: 2 };
const MS_PER_DAY = 86_400_000;

type PlaceholderToken = { placeholder: Placeholder; width?: number; source: string };
type Token = { text: string } | PlaceholderToken;

export interface InputPattern {
  /** The location as the user gave it. */
  location: string;
  /** The location with every placeholder as `*`: what is listed. */
  glob: string;
  hasVersion: boolean;
  /** The span and version a listed file stands for; a UserInputError when its name does not fit the pattern. */
  match(file: string): SpanVersion;
}

function tokenize(location: string): Token[] {
  const tokens: Token[] = [];
  const brace = /\{([^{}]*)\}/g;
  let last = 0;
  for (let m = brace.exec(location); m; m = brace.exec(location)) {
    if (m.index > last) tokens.push({ text: location.slice(last, m.index) });
    const spec = /^([A-Z]+)(?::(\d+))?$/.exec(m[1]!);
    const name = spec?.[1] as Placeholder | undefined;
    if (!spec || !name || !PLACEHOLDERS.includes(name) || (spec[2] !== undefined && name !== 'SPAN' && name !== 'VERSION')) {
      throw new UserInputError(
        `input "${location}": unknown placeholder ${m[0]}; a span pattern knows {SPAN}, {SPAN:width}, {VERSION}, {VERSION:width} and {YYYY}{MM}{DD} (glob braces {a,b} cannot be combined with them)`,
      );
    }
    const width = spec[2] === undefined ? undefined : Number(spec[2]);
    if (width === 0) throw new UserInputError(`input "${location}": ${m[0]} needs a width of at least 1`);
    tokens.push({ placeholder: name, ...(width !== undefined ? { width } : {}), source: m[0] });
    last = m.index + m[0].length;
  }
  if (last < location.length) tokens.push({ text: location.slice(last) });
  return tokens;
}

function checkPlaceholders(location: string, tokens: Token[]): void {
  const count = (p: Placeholder) => tokens.filter((t) => 'placeholder' in t && t.placeholder === p).length;
  for (const p of PLACEHOLDERS) {
    if (count(p) > 1) throw new UserInputError(`input "${location}": {${p}} appears ${count(p)} times; a span pattern holds it once`);
  }
  const dateParts = (['YYYY', 'MM', 'DD'] as const).filter((p) => count(p) === 1);
  if (dateParts.length > 0 && dateParts.length < 3) {
    throw new UserInputError(`input "${location}": a date span needs all of {YYYY}, {MM} and {DD}; it has only ${dateParts.map((p) => `{${p}}`).join(', ')}`);
  }
  if (dateParts.length === 3 && count('SPAN') === 1) {
    throw new UserInputError(`input "${location}": {SPAN} and a date {YYYY}{MM}{DD} both name the span; use one of them`);
  }
  if (count('VERSION') === 1 && count('SPAN') === 0 && dateParts.length === 0) {
    throw new UserInputError(`input "${location}": {VERSION} needs a span, {SPAN} or {YYYY}{MM}{DD}, in the same pattern`);
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.+^${}()|\\]/g, '\\$&');
}

/** The glob syntax listing understands (`**`, `*`, `?`, `[...]`) as a regular expression over whole paths. */
function globTextRegex(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '*' && text[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[' && text.indexOf(']', i + 2) > 0) {
      const end = text.indexOf(']', i + 2);
      const body = text.slice(i + 1, end);
      out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else {
      out += escapeRegex(c);
    }
  }
  return out;
}

/**
 * One capture group per placeholder, in order. `strict`: each placeholder's digits at its width;
 * otherwise any run of digits, to tell a width mismatch from a name that does not fit at all.
 */
function patternRegex(tokens: Token[], strict: boolean): RegExp {
  const body = tokens
    .map((t) => {
      if ('text' in t) return globTextRegex(t.text);
      const width = t.width ?? DATE_WIDTH[t.placeholder];
      return strict && width !== undefined ? `(\\d{${width}})` : '(\\d+)';
    })
    .join('');
  return new RegExp(`^${body}$`);
}

function dateSpan(file: string, year: number, month: number, day: number): number {
  const ms = Date.UTC(year, month - 1, day);
  const date = new Date(ms);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new UserInputError(`input file ${file}: ${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')} is not a date`);
  }
  if (ms < 0) throw new UserInputError(`input file ${file}: date spans start on 1970-01-01 (span 0); ${date.toISOString().slice(0, 10)} is before it`);
  return ms / MS_PER_DAY;
}

/** Local paths are matched as paths: a file:// pattern is matched in the form listing gives its files. */
function matchableLocation(location: string): string {
  if (!/^file:/i.test(location)) return location;
  try {
    return fileURLToPath(location);
  } catch (err) {
    throw new UserInputError(`input "${location}" is not a valid file:// URI: ${(err as Error).message}`);
  }
}

/** The span pattern of an input location, or null when it holds no placeholder (a plain path or glob). */
export function parseInputPattern(location: string): InputPattern | null {
  if (!/\{[A-Z]+(?::\d+)?\}/.test(location)) return null;
  const tokens = tokenize(location);
  checkPlaceholders(location, tokens);
  const localTokens = tokenize(matchableLocation(location));
  const strict = patternRegex(localTokens, true);
  const loose = patternRegex(localTokens, false);
  const fields = localTokens
    .filter((t): t is PlaceholderToken => 'placeholder' in t)
    .map((t) => ({ placeholder: t.placeholder, source: t.source, width: t.width ?? DATE_WIDTH[t.placeholder] }));
  return {
    location,
    glob: tokens.map((t) => ('text' in t ? t.text : '*')).join(''),
    hasVersion: fields.some((f) => f.placeholder === 'VERSION'),
    match(file) {
      const m = strict.exec(file);
      if (!m) {
        const digits = loose.exec(file);
        const wrong = digits && fields.map((f, i) => ({ ...f, digits: digits[i + 1]! })).find((f) => f.width !== undefined && f.digits.length !== f.width);
        if (wrong) {
          throw new UserInputError(`input file ${file}: "${wrong.digits}" stands where ${wrong.source} expects ${wrong.width} digits (pattern "${location}")`);
        }
        throw new UserInputError(
          `input file ${file} matches "${location}" only as a glob: it has no number where ${fields.map((f) => f.source).join(', ')} stand(s)`,
        );
      }
      const value = (p: Placeholder) => {
        const i = fields.findIndex((f) => f.placeholder === p);
        return i < 0 ? undefined : Number(m[i + 1]);
      };
      const span = value('SPAN') ?? dateSpan(file, value('YYYY')!, value('MM')!, value('DD')!);
      return { span, version: value('VERSION') ?? 0 };
    },
  };
}

/** What a range picked: the spans read, oldest first, each at its latest version, and the files of each. */
export interface SpanSelection {
  spans: SpanVersion[];
  /** The files read, in listing order. */
  files: string[];
}

function spanList(spans: Iterable<number>): string {
  const sorted = [...spans].sort((a, b) => a - b);
  return sorted.length > 12 ? `${sorted.slice(0, 5).join(', ')}, ... ${sorted.slice(-5).join(', ')} (${sorted.length} spans)` : sorted.join(', ');
}

/**
 * Picks the spans `range` asks for among `files` (full paths or URIs, as listing gives them), each at
 * its latest version; every problem is a UserInputError naming the pattern.
 */
export function selectSpans(pattern: InputPattern, files: readonly string[], range: SpanRange | undefined): SpanSelection {
  const versions = new Map<number, Map<number, string[]>>();
  for (const file of files) {
    const { span, version } = pattern.match(file);
    const bySpan = versions.get(span) ?? new Map<number, string[]>();
    versions.set(span, bySpan);
    bySpan.set(version, [...(bySpan.get(version) ?? []), file]);
  }
  const found = [...versions.keys()].sort((a, b) => a - b);
  if (found.length === 0) throw new UserInputError(`no file matches the span pattern "${pattern.location}"`);
  let chosen: number[];
  if (range === undefined) {
    chosen = [found[found.length - 1]!];
  } else if ('latestSpans' in range) {
    chosen = found.slice(-range.latestSpans);
  } else {
    chosen = found.filter((s) => s >= range.start && s <= range.end);
    const missing: number[] = [];
    for (let s = range.start; s <= range.end && missing.length <= 12; s++) if (!versions.has(s)) missing.push(s);
    if (missing.length > 0) {
      throw new UserInputError(
        `input "${pattern.location}": range ${range.start}..${range.end} asks for span(s) ${spanList(missing)}${missing.length > 12 ? ' and more' : ''}, which no file matches; spans found: ${spanList(found)}`,
      );
    }
  }
  const spans = chosen.map((span) => ({ span, version: Math.max(...versions.get(span)!.keys()) }));
  const keep = new Set(spans.flatMap(({ span, version }) => versions.get(span)!.get(version)!));
  return { spans, files: files.filter((f) => keep.has(f)) };
}

/**
 * What an input location names, as the resolve step lists it: a span pattern lists the files of the
 * spans `range` picks (recorded in the set's `spans`), anything else is listed as it is.
 */
export async function listInput(
  listFiles: ResolveContext<unknown>['listFiles'],
  location: string,
  { range, s3Source }: { range?: SpanRange; s3Source?: string },
): Promise<ResolvedFileSet> {
  const pattern = parseInputPattern(location);
  const source = s3Source !== undefined ? { s3Source } : {};
  if (!pattern) {
    if (range) throw new UserInputError(`range picks spans, but input "${location}" has no {SPAN} or {YYYY}{MM}{DD} in it`);
    return listFiles(location, source);
  }
  let selection: SpanSelection | undefined;
  const set = await listFiles(pattern.glob, { ...source, select: (files) => (selection = selectSpans(pattern, files, range)).files });
  // A pattern's glob always has a wildcard, so listing always selects.
  if (!selection) throw new ComponentError(`listing "${pattern.glob}" did not select spans`);
  return { ...set, location, spans: selection.spans };
}

/**
 * The Examples artifact's span properties, as TFX records them: the newest span read and its version
 * (0 and 0 for a location without a pattern); `spans` lists every span when a range read several.
 */
export function spanProperties(set: ResolvedFileSet): Record<string, number | string> {
  const spans = set.spans ?? [];
  const newest = spans[spans.length - 1] ?? { span: 0, version: 0 };
  return { span: newest.span, version: newest.version, ...(spans.length > 1 ? { spans: spans.map((s) => s.span).join(',') } : {}) };
}
