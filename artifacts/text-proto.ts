import type * as protobuf from 'protobufjs';
import { TextProtoError, tokenize, type SourcePosition, type Token } from './text-proto-tokens';

export { TextProtoError, type SourcePosition } from './text-proto-tokens';

/**
 * Protobuf's text format (Triton's config.pbtxt, TFDV's schema.pbtxt), read and written against a
 * protobufjs message type, since protobufjs itself has no text format. Values take the plain-object
 * form protobufjs' `toObject({ enums: String, longs: String, bytes: String })` gives, keyed by the
 * .proto's own field names: enums by name, 64-bit integers as decimal strings (uint64's range does
 * not fit a double), bytes as base64, maps as objects, repeated fields as arrays. Fields the text
 * sets are kept even when they hold the default value, as protobufjs keeps set fields, so a text
 * and the JSON of the same message give the same object.
 */

export type TextProtoValue = string | number | boolean | TextProtoObject | TextProtoValue[];
export interface TextProtoObject {
  [field: string]: TextProtoValue;
}

export interface ParsedTextProto {
  value: TextProtoObject;
  /**
   * Where the text sets the value at `path` (field names, list indexes, map keys), or its nearest
   * enclosing value; undefined for the empty path. Lets a later validation point at the line.
   */
  positionOf(path: readonly PropertyKey[]): SourcePosition | undefined;
}

type ValueKind = { kind: 'message'; type: protobuf.Type } | { kind: 'enum'; type: protobuf.Enum } | { kind: 'scalar'; name: string };

interface PositionTree {
  at: SourcePosition;
  children: Map<PropertyKey, PositionTree>;
}

const INTEGER_RANGES: Record<string, { min: bigint; max: bigint; long: boolean }> = {
  int32: { min: -(2n ** 31n), max: 2n ** 31n - 1n, long: false },
  sint32: { min: -(2n ** 31n), max: 2n ** 31n - 1n, long: false },
  sfixed32: { min: -(2n ** 31n), max: 2n ** 31n - 1n, long: false },
  uint32: { min: 0n, max: 2n ** 32n - 1n, long: false },
  fixed32: { min: 0n, max: 2n ** 32n - 1n, long: false },
  int64: { min: -(2n ** 63n), max: 2n ** 63n - 1n, long: true },
  sint64: { min: -(2n ** 63n), max: 2n ** 63n - 1n, long: true },
  sfixed64: { min: -(2n ** 63n), max: 2n ** 63n - 1n, long: true },
  uint64: { min: 0n, max: 2n ** 64n - 1n, long: true },
  fixed64: { min: 0n, max: 2n ** 64n - 1n, long: true },
};
const OTHER_SCALARS = new Set(['double', 'float', 'bool', 'string', 'bytes']);
const BOOL_WORDS: Record<string, boolean> = { true: true, True: true, t: true, false: false, False: false, f: false };
const FLOAT_WORDS: Record<string, number> = { inf: Infinity, infinity: Infinity, nan: NaN };

const fieldTables = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** A type's fields by the name the .proto declares (text format's names, whatever casing protobufjs loaded). */
function fieldsOf(type: protobuf.Type): Map<string, protobuf.Field> {
  let table = fieldTables.get(type);
  if (!table) {
    table = new Map(type.fieldsArray.map((f) => [f.protoName ?? f.name, f]));
    fieldTables.set(type, table);
  }
  return table;
}

function typeName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}

/** A map field's key type; protobufjs declares MapField apart from Field, though fieldsArray holds both. */
function mapKeyType(field: protobuf.Field): string {
  return (field as unknown as protobuf.MapField).keyType;
}

function valueKindOf(field: protobuf.Field): ValueKind {
  const resolved = field.resolve().resolvedType;
  if (resolved && 'fieldsArray' in resolved) return { kind: 'message', type: resolved };
  if (resolved) return { kind: 'enum', type: resolved };
  if (field.type in INTEGER_RANGES || OTHER_SCALARS.has(field.type)) return { kind: 'scalar', name: field.type };
  throw new Error(`field ${field.name} of ${typeName(field.parent!)}: type ${field.type} has no text form here`);
}

function defaultValue(kind: ValueKind): TextProtoValue {
  if (kind.kind === 'message') return {};
  if (kind.kind === 'enum') return kind.type.valuesById[0] ?? Object.keys(kind.type.values)[0]!;
  if (kind.name === 'bool') return false;
  if (kind.name === 'string' || kind.name === 'bytes') return '';
  return INTEGER_RANGES[kind.name]?.long ? '0' : 0;
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the text';
  if (token.kind === 'string') return `the string ${token.text}`;
  return `"${token.text}"`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Parser {
  private lookahead: Token | undefined;

  constructor(
    private readonly tokens: Iterator<Token, void, undefined>,
    private readonly file: string,
  ) {}

  private peek(): Token {
    // The tokenizer ends with an `end` token, so the iterator is never done before the parser stops.
    this.lookahead ??= this.tokens.next().value as Token;
    return this.lookahead;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.lookahead = undefined;
    return token;
  }

  private fail(at: SourcePosition, detail: string): never {
    throw new TextProtoError(this.file, at, detail);
  }

  private isSymbol(token: Token, symbol: string): boolean {
    return token.kind === 'symbol' && token.text === symbol;
  }

  private tryConsume(symbol: string): boolean {
    if (!this.isSymbol(this.peek(), symbol)) return false;
    this.next();
    return true;
  }

  private expect(symbol: string, context: string): void {
    const token = this.peek();
    if (!this.tryConsume(symbol)) this.fail(token, `expected "${symbol}" ${context}, got ${describe(token)}`);
  }

  /** Fields until `close` (or the end of the text at the top level), into a fresh object. */
  message(type: protobuf.Type, node: PositionTree, close?: { symbol: string; opener: Token }): TextProtoObject {
    const out: TextProtoObject = {};
    const oneofs = new Map<string, string>();
    for (;;) {
      const token = this.next();
      if (close ? this.isSymbol(token, close.symbol) : token.kind === 'end') return out;
      if (token.kind === 'end') {
        this.fail(token, `expected "${close!.symbol}" to close the message opened at ${close!.opener.line}:${close!.opener.column}`);
      }
      if (token.kind !== 'identifier') {
        const extension = this.isSymbol(token, '[') ? ' (extension and Any fields, [...], are not supported)' : '';
        this.fail(token, `expected a field name${close ? ` or "${close.symbol}"` : ''}, got ${describe(token)}${extension}`);
      }
      const field = fieldsOf(type).get(token.text);
      if (!field) this.fail(token, `unknown field "${token.text}" in ${typeName(type)}`);
      const name = token.text;
      if (!field.repeated && !field.map && name in out) this.fail(token, `field "${name}" is set twice, but it is not repeated`);
      const oneof = field.partOf;
      if (oneof) {
        const other = oneofs.get(oneof.name);
        if (other !== undefined && other !== name) {
          this.fail(token, `field "${name}" and field "${other}" are both in oneof "${oneof.name}" of ${typeName(type)}: set only one`);
        }
        oneofs.set(oneof.name, name);
      }
      let child = node.children.get(name);
      if (!child) {
        child = { at: token, children: new Map() };
        node.children.set(name, child);
      }
      this.fieldValue(field, name, out, child);
      if (!this.tryConsume(';')) this.tryConsume(',');
    }
  }

  private fieldValue(field: protobuf.Field, name: string, out: TextProtoObject, node: PositionTree): void {
    if (field.map) {
      this.tryConsume(':');
      this.oneOrList(name, true, (at) => this.mapEntry(field, name, (out[name] ??= {}) as TextProtoObject, node, at));
      return;
    }
    const kind = valueKindOf(field);
    if (kind.kind === 'message') this.tryConsume(':');
    else this.expect(':', `after field name "${name}"`);
    const read = (child: PositionTree): TextProtoValue =>
      kind.kind === 'message' ? this.messageValue(kind.type, name, child) : this.scalar(kind, name);
    if (!field.repeated) {
      if (this.isSymbol(this.peek(), '[')) this.fail(this.peek(), `field "${name}" is not repeated: expected one value, not a list`);
      out[name] = read(node);
      return;
    }
    this.oneOrList(name, kind.kind === 'message', (at) => {
      const list = (out[name] ??= []) as TextProtoValue[];
      const child: PositionTree = { at, children: new Map() };
      node.children.set(list.length, child);
      list.push(read(child));
    });
  }

  /**
   * `value` or `[value, value, ...]`; `readOne` gets where each value starts. An empty list sets
   * nothing: a repeated field has no presence apart from its elements, so `[]` could not print back.
   */
  private oneOrList(name: string, messages: boolean, readOne: (at: SourcePosition) => void): void {
    if (!this.tryConsume('[')) {
      readOne(this.peek());
      return;
    }
    if (this.tryConsume(']')) return;
    do readOne(this.peek());
    while (this.tryConsume(','));
    const token = this.peek();
    if (!this.tryConsume(']')) {
      this.fail(token, `expected "," or "]" in the list of field "${name}"${messages ? '' : ' (a list holds values only)'}, got ${describe(token)}`);
    }
  }

  private open(name: string): { symbol: string; opener: Token } {
    const opener = this.next();
    if (this.isSymbol(opener, '{')) return { symbol: '}', opener };
    if (this.isSymbol(opener, '<')) return { symbol: '>', opener };
    return this.fail(opener, `expected "{" or "<" to open message field "${name}", got ${describe(opener)}`);
  }

  private messageValue(type: protobuf.Type, name: string, node: PositionTree): TextProtoObject {
    return this.message(type, node, this.open(name));
  }

  /** `{ key: K value: V }`: the map entry message protoc generates, whose key and value may each be left out. */
  private mapEntry(field: protobuf.Field, name: string, entries: TextProtoObject, mapNode: PositionTree, at: SourcePosition): void {
    const close = this.open(name);
    const keyKind: ValueKind = { kind: 'scalar', name: mapKeyType(field) };
    const valueKind = valueKindOf(field);
    const entryNode: PositionTree = { at, children: new Map() };
    let key: TextProtoValue | undefined;
    let value: TextProtoValue | undefined;
    for (;;) {
      const token = this.next();
      if (this.isSymbol(token, close.symbol)) break;
      const part = token.kind === 'identifier' && (token.text === 'key' || token.text === 'value') ? token.text : undefined;
      if (!part) this.fail(token, `expected key, value or "${close.symbol}" in an entry of map field "${name}", got ${describe(token)}`);
      if ((part === 'key' ? key : value) !== undefined) this.fail(token, `the entry of map field "${name}" sets ${part} twice`);
      if (part === 'key') {
        this.expect(':', 'after key');
        key = this.scalar(keyKind, `${name}.key`);
      } else if (valueKind.kind === 'message') {
        this.tryConsume(':');
        value = this.messageValue(valueKind.type, `${name}.value`, entryNode);
      } else {
        this.expect(':', 'after value');
        value = this.scalar(valueKind, `${name}.value`);
      }
      if (!this.tryConsume(';')) this.tryConsume(',');
    }
    // protobuf's JSON form writes every map key as a string.
    const keyText = String(key ?? defaultValue(keyKind));
    entries[keyText] = value ?? defaultValue(valueKind);
    mapNode.children.set(keyText, entryNode);
  }

  private scalar(kind: Exclude<ValueKind, { kind: 'message' }>, name: string): TextProtoValue {
    if (kind.kind === 'enum') return this.enumValue(kind.type, name);
    const type = kind.name;
    if (type === 'string' || type === 'bytes') {
      const first = this.peek();
      if (first.kind !== 'string') this.fail(first, `expected a quoted string for field "${name}", got ${describe(first)}`);
      const parts: Uint8Array[] = [];
      // Adjacent literals concatenate, as in C.
      for (let t = this.peek(); t.kind === 'string'; t = this.peek()) {
        parts.push(t.bytes);
        this.next();
      }
      const bytes = Buffer.concat(parts);
      if (type === 'bytes') return bytes.toString('base64');
      try {
        return utf8.decode(bytes);
      } catch {
        return this.fail(first, `field "${name}" is a string but the literal is not valid UTF-8 (use a bytes field for raw bytes)`);
      }
    }
    if (type === 'bool') {
      const token = this.next();
      const word = token.kind === 'identifier' ? BOOL_WORDS[token.text] : token.kind === 'integer' ? { '0': false, '1': true }[token.text] : undefined;
      if (word === undefined) this.fail(token, `expected true or false for field "${name}", got ${describe(token)}`);
      return word;
    }
    const minusToken = this.peek();
    const negative = this.tryConsume('-');
    const token = this.next();
    if (type === 'double' || type === 'float') {
      const word = token.kind === 'identifier' ? FLOAT_WORDS[token.text.toLowerCase()] : undefined;
      if (word !== undefined) return negative ? -word : word;
      if (token.kind === 'float') return (negative ? -1 : 1) * Number(token.text.replace(/[fF]$/, ''));
      if (token.kind === 'integer') return (negative ? -1 : 1) * Number(integerOf(token.text));
      return this.fail(token, `expected a number for field "${name}", got ${describe(token)}`);
    }
    const range = INTEGER_RANGES[type]!;
    if (token.kind !== 'integer') this.fail(token, `expected an integer for field "${name}" (${type}), got ${describe(token)}`);
    const value = (negative ? -1n : 1n) * integerOf(token.text);
    if (value < range.min || value > range.max) {
      this.fail(negative ? minusToken : token, `${negative ? '-' : ''}${token.text} is out of range for field "${name}" (${type}: ${range.min} to ${range.max})`);
    }
    return range.long ? value.toString() : Number(value);
  }

  private enumValue(type: protobuf.Enum, name: string): TextProtoValue {
    const start = this.peek();
    const negative = this.tryConsume('-');
    const token = this.next();
    if (token.kind === 'identifier' && !negative) {
      if (token.text in type.values) return token.text;
    } else if (token.kind === 'integer') {
      const label = type.valuesById[Number((negative ? -1n : 1n) * integerOf(token.text))];
      if (label !== undefined) return label;
    }
    const names = Object.keys(type.values);
    const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')}, ...` : names.join(', ');
    return this.fail(negative ? start : token, `expected a value of enum ${typeName(type)} for field "${name}" (${shown}), got ${negative ? '"-' + token.text + '"' : describe(token)}`);
  }
}

/** Decimal, hex (`0x1F`) or octal (`017`) digits, as protobuf's tokenizer reads them. */
function integerOf(text: string): bigint {
  return /^0[0-7]+$/.test(text) ? BigInt(`0o${text.slice(1)}`) : BigInt(text);
}

/** Reads a text-format message of `type`; errors are `file:line:column: what was expected`. */
export function parseTextProto(text: string, type: protobuf.Type, file = 'text proto'): ParsedTextProto {
  const root: PositionTree = { at: { line: 1, column: 1 }, children: new Map() };
  const value = new Parser(tokenize(text, file), file).message(type, root);
  return {
    value,
    positionOf(path) {
      let node: PositionTree | undefined;
      let next = root.children.get(path[0]!);
      for (let i = 1; next; i++) {
        node = next;
        next = i < path.length ? node.children.get(path[i]!) : undefined;
      }
      return node && { line: node.at.line, column: node.at.column };
    },
  };
}

// ---- printing ------------------------------------------------------------------------------------

function fieldPath(parent: string, part: string | number): string {
  return typeof part === 'number' ? `${parent}[${part}]` : parent ? `${parent}.${part}` : part;
}

function printError(path: string, expected: string, got: unknown): Error {
  return new Error(`printTextProto: field ${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}

/** A C-escaped double-quoted literal; a string keeps its non-ASCII characters, bytes escape every byte above 0x7E. */
function quote(value: string | Uint8Array): string {
  const escapeByte = (b: number) => `\\${b.toString(8).padStart(3, '0')}`;
  const units = typeof value === 'string' ? Array.from(value) : Array.from(value, (b) => String.fromCharCode(b));
  const body = units
    .map((ch) => {
      const code = ch.codePointAt(0)!;
      if (ch === '"' || ch === '\\') return `\\${ch}`;
      if (ch === '\n') return '\\n';
      if (ch === '\r') return '\\r';
      if (ch === '\t') return '\\t';
      if (code < 0x20 || code === 0x7f || (typeof value !== 'string' && code > 0x7e)) return escapeByte(code);
      return ch;
    })
    .join('');
  return `"${body}"`;
}

function formatScalar(kind: Exclude<ValueKind, { kind: 'message' }>, value: TextProtoValue, path: string): string {
  if (kind.kind === 'enum') {
    if (typeof value === 'string' && value in kind.type.values) return value;
    if (typeof value === 'number' && kind.type.valuesById[value] !== undefined) return kind.type.valuesById[value]!;
    throw printError(path, `a value of enum ${typeName(kind.type)}`, value);
  }
  const type = kind.name;
  if (type === 'string') {
    if (typeof value !== 'string') throw printError(path, 'a string', value);
    return quote(value);
  }
  if (type === 'bytes') {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw printError(path, 'base64 bytes', value);
    return quote(Buffer.from(value, 'base64'));
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw printError(path, 'true or false', value);
    return String(value);
  }
  if (type === 'double' || type === 'float') {
    // proto3 JSON spells the non-finite values as strings.
    const n = value === 'NaN' ? NaN : value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : value;
    if (typeof n !== 'number') throw printError(path, 'a number', value);
    return Number.isNaN(n) ? 'nan' : n === Infinity ? 'inf' : n === -Infinity ? '-inf' : String(n);
  }
  const range = INTEGER_RANGES[type]!;
  const integer = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : typeof value === 'string' && /^-?[0-9]+$/.test(value) ? BigInt(value) : undefined;
  if (integer === undefined || integer < range.min || integer > range.max) throw printError(path, `an integer (${type})`, value);
  return integer.toString();
}

function compareKeys(a: string, b: string, keyType: string): number {
  if (keyType in INTEGER_RANGES) {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function mapKeyValue(key: string, keyType: string, path: string): TextProtoValue {
  if (keyType === 'bool') {
    if (key !== 'true' && key !== 'false') throw printError(path, 'a map key true or false', key);
    return key === 'true';
  }
  return key;
}

class Printer {
  readonly lines: string[] = [];

  message(value: TextProtoValue, type: protobuf.Type, indent: string, path: string): void {
    if (typeof value !== 'object' || Array.isArray(value)) throw printError(path || '(top level)', `a message ${typeName(type)}`, value);
    const fields = fieldsOf(type);
    for (const key of Object.keys(value)) {
      if (!fields.has(key)) throw new Error(`printTextProto: field ${fieldPath(path, key)}: ${typeName(type)} has no field "${key}"`);
    }
    for (const field of [...fields.values()].sort((a, b) => a.id - b.id)) {
      const name = field.protoName ?? field.name;
      const v = value[name];
      const at = fieldPath(path, name);
      if (v === undefined) continue;
      if (field.map) this.map(field, name, v, indent, at);
      else if (field.repeated) {
        if (!Array.isArray(v)) throw printError(at, 'a list', v);
        v.forEach((item, i) => this.field(valueKindOf(field), name, item, indent, fieldPath(at, i)));
      } else this.field(valueKindOf(field), name, v, indent, at);
    }
  }

  private field(kind: ValueKind, name: string, value: TextProtoValue, indent: string, path: string): void {
    if (kind.kind !== 'message') {
      this.lines.push(`${indent}${name}: ${formatScalar(kind, value, path)}`);
      return;
    }
    this.lines.push(`${indent}${name} {`);
    this.message(value, kind.type, `${indent}  `, path);
    this.lines.push(`${indent}}`);
  }

  /** One entry per key, in key order, so the same map always prints the same text. */
  private map(field: protobuf.Field, name: string, value: TextProtoValue, indent: string, path: string): void {
    if (typeof value !== 'object' || Array.isArray(value)) throw printError(path, 'a map (an object)', value);
    const keyType = mapKeyType(field);
    const keyKind: ValueKind = { kind: 'scalar', name: keyType };
    for (const key of Object.keys(value).sort((a, b) => compareKeys(a, b, keyType))) {
      const at = fieldPath(path, key);
      this.lines.push(`${indent}${name} {`);
      this.lines.push(`${indent}  key: ${formatScalar(keyKind, mapKeyValue(key, keyType, at), `${at} (key)`)}`);
      this.field(valueKindOf(field), 'value', value[key]!, `${indent}  `, at);
      this.lines.push(`${indent}}`);
    }
  }
}

/** Text format in protobuf's canonical layout: fields in field-number order, two-space indent, map entries by key. */
export function printTextProto(value: TextProtoObject, type: protobuf.Type): string {
  const printer = new Printer();
  printer.message(value, type, '', '');
  return printer.lines.map((line) => `${line}\n`).join('');
}
