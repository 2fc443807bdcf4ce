/**
 * The tokens of protobuf's text format, as protobuf's own tokenizer cuts them: identifiers, numbers,
 * quoted strings (already unescaped to bytes, since `\xNN` and octal escapes make bytes, not
 * characters), and one-character symbols. `#` starts a comment that runs to the end of the line.
 */

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (what editors of ASCII configs count). */
  column: number;
}

export type Token =
  | (SourcePosition & { kind: 'identifier' | 'symbol'; text: string })
  | (SourcePosition & { kind: 'integer' | 'float'; text: string })
  | (SourcePosition & { kind: 'string'; text: string; bytes: Uint8Array })
  | (SourcePosition & { kind: 'end'; text: '' });

export class TextProtoError extends Error {
  constructor(
    readonly file: string,
    readonly position: SourcePosition,
    readonly detail: string,
  ) {
    super(`${file}:${position.line}:${position.column}: ${detail}`);
    this.name = 'TextProtoError';
  }
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
// Hex and octal integers first, so `0x1F` is not read as `0` followed by an identifier.
const NUMBER = /0[xX][0-9A-Fa-f]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?/y;
const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '/']);
const SIMPLE_ESCAPES: Record<string, number> = {
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  '?': 0x3f,
};

/**
 * The tokens one at a time, ending with an `end` token: the parser pulls them as it goes, so a syntax
 * error is reported where it occurs even if a string further on is malformed, as protobuf's parser does.
 */
export function* tokenize(text: string, file: string): Generator<Token, void, undefined> {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (at = i): SourcePosition => ({ line, column: at - lineStart + 1 });
  const fail = (detail: string, at = i): never => {
    throw new TextProtoError(file, here(at), detail);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\v' || c === '\f') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      const at = here();
      const { bytes, end } = readString(text, i, fail);
      const literal = text.slice(i, end);
      i = end;
      yield { kind: 'string', text: literal, bytes, ...at };
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text)![0];
      const end = i + match.length;
      if (/[A-Za-z0-9_.]/.test(text[end] ?? '')) fail(`expected a number, got "${text.slice(i, end + 1)}"`);
      const kind = !/^0[xX]/.test(match) && /[.eEfF]/.test(match) ? 'float' : 'integer';
      const at = here();
      i = end;
      yield { kind, text: match, ...at };
    } else if (/[A-Za-z_]/.test(c)) {
      IDENTIFIER.lastIndex = i;
      const match = IDENTIFIER.exec(text)![0];
      const at = here();
      i += match.length;
      yield { kind: 'identifier', text: match, ...at };
    } else if (SYMBOLS.has(c)) {
      const at = here();
      i++;
      yield { kind: 'symbol', text: c, ...at };
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  yield { kind: 'end', text: '', ...here() };
}

/** A quoted string from `start` (the quote) to its closing quote, with C escapes decoded to bytes. */
function readString(text: string, start: number, fail: (detail: string, at?: number) => never): { bytes: Uint8Array; end: number } {
  const quote = text[start]!;
  const out: number[] = [];
  const encoder = new TextEncoder();
  let i = start + 1;
  for (;;) {
    const c = text[i];
    if (c === undefined || c === '\n') fail('string literal is not closed on its line', start);
    if (c === quote) return { bytes: Uint8Array.from(out), end: i + 1 };
    if (c !== '\\') {
      const codePoint = text.codePointAt(i)!;
      const char = String.fromCodePoint(codePoint);
      out.push(...encoder.encode(char));
      i += char.length;
      continue;
    }
    const e = text[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out.push(simple);
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
      const value = parseInt(digits, 8);
      if (value > 0xff) fail(`octal escape \\${digits} is above \\377`, i);
      out.push(value);
      i += 1 + digits.length;
    } else if (e === 'x' || e === 'X') {
      const digits = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 2, i + 4))?.[0];
      if (!digits) fail('expected hex digits after \\x', i);
      out.push(parseInt(digits, 16));
      i += 2 + digits.length;
    } else if (e === 'u' || e === 'U') {
      const width = e === 'u' ? 4 : 8;
      const digits = text.slice(i + 2, i + 2 + width);
      const codePoint = /^[0-9A-Fa-f]+$/.test(digits) && digits.length === width ? parseInt(digits, 16) : NaN;
      if (!(codePoint <= 0x10ffff) || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
        fail(`expected ${width} hex digits of a Unicode code point after \\${e}`, i);
      }
      out.push(...encoder.encode(String.fromCodePoint(codePoint)));
      i += 2 + width;
    } else {
      fail(`unknown escape \\${e}`, i);
    }
  }
}
