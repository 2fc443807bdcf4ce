import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
import { parseTextProto, printTextProto, TextProtoError } from '../../artifacts/text-proto';

const PROTO = `
syntax = "proto3";
package demo;
enum Color { COLOR_UNSET = 0; RED = 1; GREEN = 2; }
message Point { int32 x = 1; int32 y = 2; }
message Config {
  string name = 1;
  int32 count = 2;
  uint32 size = 3;
  int64 offset = 4;
  uint64 big = 5;
  float ratio = 6;
  double scale = 7;
  bool enabled = 8;
  bytes blob = 9;
  Color color = 10;
  repeated int64 dims = 11;
  repeated Color colors = 12;
  Point origin = 13;
  repeated Point points = 14;
  map<string, Point> named = 15;
  map<uint64, string> labels = 16;
  oneof shape { Point circle = 17; Point square = 18; }
  repeated double weights = 19;
  map<bool, int32> flags = 20;
}`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
root.resolveAll();
const Config = root.lookupType('demo.Config');

function parse(text: string) {
  return parseTextProto(text, Config, 'demo.pbtxt').value;
}

function rejects(text: string, expected: RegExp): void {
  assert.throws(
    () => parse(text),
    (err: unknown) => {
      assert.ok(err instanceof TextProtoError, `expected a TextProtoError, got ${String(err)}`);
      assert.match(err.message, expected);
      return true;
    },
  );
}

describe('artifacts: protobuf text format', () => {
  it('reads every form of the syntax into the plain object protobufjs gives', () => {
    const text = `
# a comment line
name: 'it\\'s' " \\"quoted\\"\\n\\x41\\101\\u00e9"   # adjacent strings concatenate
count: -42; size: 0x1F, offset: -9223372036854775808
big: 18446744073709551615
ratio: 1.5f scale: -inf
enabled: True
blob: "\\000\\377ab"
color: 2
dims: [1, -1, 017]
dims: 4
colors: [RED, GREEN]
origin < x: 1 y: 2 >
points { x: 3 } points: { y: 4 }
points [{ x: 5 }, < y: 6 >]
named { key: "a" value { x: 7 } }
named [{ value: { y: 8 } key: "b" }, { key: "c" }]
labels { key: 18446744073709551615 value: "max" } labels { value: "zero" }
square { x: 9 }
weights: [.5, 1e3, nan]
flags { key: t value: 1 } flags { key: false value: 0 }
`;
    const value = parse(text);
    assert.deepEqual(value, {
      name: 'it\'s "quoted"\nAAé',
      count: -42,
      size: 31,
      offset: '-9223372036854775808',
      big: '18446744073709551615',
      ratio: 1.5,
      scale: -Infinity,
      enabled: true,
      blob: Buffer.from([0, 255, 97, 98]).toString('base64'),
      color: 'GREEN',
      dims: ['1', '-1', '15', '4'],
      colors: ['RED', 'GREEN'],
      origin: { x: 1, y: 2 },
      points: [{ x: 3 }, { y: 4 }, { x: 5 }, { y: 6 }],
      named: { a: { x: 7 }, b: { y: 8 }, c: {} },
      labels: { '18446744073709551615': 'max', '0': 'zero' },
      square: { x: 9 },
      weights: [0.5, 1000, NaN],
      flags: { true: 1, false: 0 },
    });
    // protobufjs' own object form of the same message is exactly what the parser gave.
    const viaProtobufjs = Config.toObject(Config.fromObject(value), { enums: String, longs: String, bytes: String });
    assert.deepEqual(viaProtobufjs, value);
  });

  it('keeps fields set to their default value, and sets nothing for an empty list', () => {
    assert.deepEqual(parse('count: 0 name: "" enabled: false color: COLOR_UNSET dims: [] points: []'), {
      count: 0,
      name: '',
      enabled: false,
      color: 'COLOR_UNSET',
    });
  });

  it('prints canonical text that reads back to the same object', () => {
    const value = parse(`
      flags { key: true value: 1 } flags { key: false value: 2 }
      labels { key: 10 value: "ten" } labels { key: 9 value: "nine" }
      named { key: "b" value { x: 2 } } named { key: "a" value { } }
      weights: [inf, -0.25]  points { x: 1 } points { }  dims: [3, -1]  color: RED
      blob: "\\001\\"é"  name: "tab\\there \\"q\\" \\\\ é"  big: 18446744073709551615  origin { }`);
    const printed = printTextProto(value, Config);
    assert.equal(
      printed,
      [
        'name: "tab\\there \\"q\\" \\\\ é"',
        'big: 18446744073709551615',
        'blob: "\\001\\"\\303\\251"',
        'color: RED',
        'dims: 3',
        'dims: -1',
        'origin {',
        '}',
        'points {',
        '  x: 1',
        '}',
        'points {',
        '}',
        'named {',
        '  key: "a"',
        '  value {',
        '  }',
        '}',
        'named {',
        '  key: "b"',
        '  value {',
        '    x: 2',
        '  }',
        '}',
        'labels {',
        '  key: 9',
        '  value: "nine"',
        '}',
        'labels {',
        '  key: 10',
        '  value: "ten"',
        '}',
        'weights: inf',
        'weights: -0.25',
        'flags {',
        '  key: false',
        '  value: 2',
        '}',
        'flags {',
        '  key: true',
        '  value: 1',
        '}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(parse(printed), value);
  });

  it('prints objects written by hand (proto3 JSON forms) and names the field of a wrong value', () => {
    assert.equal(printTextProto({ offset: 12, scale: 'NaN', color: 1 }, Config), 'offset: 12\nscale: nan\ncolor: RED\n');
    assert.throws(() => printTextProto({ origin: { z: 1 } }, Config), /printTextProto: field origin\.z: demo\.Point has no field "z"/);
    assert.throws(() => printTextProto({ points: [{ x: 'one' }] }, Config), /field points\[0\]\.x: expected an integer \(int32\), got "one"/);
    assert.throws(() => printTextProto({ size: -1 }, Config), /field size: expected an integer \(uint32\), got -1/);
    assert.throws(() => printTextProto({ color: 'BLUE' }, Config), /field color: expected a value of enum demo\.Color, got "BLUE"/);
  });

  it('says where the text is wrong and what was expected', () => {
    rejects('name: "a"\n  colour: RED', /^demo\.pbtxt:2:3: unknown field "colour" in demo\.Config$/);
    rejects('origin {\n  x: 1\n  z: 2 }', /^demo\.pbtxt:3:3: unknown field "z" in demo\.Point$/);
    rejects('count 3', /^demo\.pbtxt:1:7: expected ":" after field name "count", got "3"$/);
    rejects('color: BLUE', /^demo\.pbtxt:1:8: expected a value of enum demo\.Color for field "color" \(COLOR_UNSET, RED, GREEN\), got "BLUE"$/);
    rejects('count: 2147483648', /^demo\.pbtxt:1:8: 2147483648 is out of range for field "count" \(int32: -2147483648 to 2147483647\)$/);
    rejects('size: -1', /^demo\.pbtxt:1:7: -1 is out of range for field "size"/);
    rejects('count: 1.5', /^demo\.pbtxt:1:8: expected an integer for field "count" \(int32\), got "1\.5"$/);
    rejects('enabled: yes', /^demo\.pbtxt:1:10: expected true or false for field "enabled", got "yes"$/);
    rejects('name: bare', /^demo\.pbtxt:1:7: expected a quoted string for field "name", got "bare"$/);
    rejects('name: "open\n', /^demo\.pbtxt:1:7: string literal is not closed on its line$/);
    rejects('name: "\\q"', /^demo\.pbtxt:1:8: unknown escape \\q$/);
    rejects('origin {\n  x: 1\n', /^demo\.pbtxt:3:1: expected "}" to close the message opened at 1:8$/);
    rejects('origin { x: 1 >', /^demo\.pbtxt:1:15: expected a field name or "}", got ">"$/);
    rejects('count: 1\ncount: 2', /^demo\.pbtxt:2:1: field "count" is set twice, but it is not repeated$/);
    rejects('circle {}\nsquare {}', /^demo\.pbtxt:2:1: field "square" and field "circle" are both in oneof "shape" of demo\.Config: set only one$/);
    rejects('count: [1, 2]', /^demo\.pbtxt:1:8: field "count" is not repeated: expected one value, not a list$/);
    rejects('dims: [1 2]', /^demo\.pbtxt:1:10: expected "," or "\]" in the list of field "dims"/);
    rejects('named { key: "a" other: 1 }', /^demo\.pbtxt:1:18: expected key, value or "}" in an entry of map field "named", got "other"$/);
    rejects('[demo.ext]: 1', /^demo\.pbtxt:1:1: expected a field name, got "\[" \(extension and Any fields, \[\.\.\.\], are not supported\)$/);
    rejects('count: 12abc', /^demo\.pbtxt:1:8: expected a number, got "12a"$/);
    rejects('name: "\\xff"', /^demo\.pbtxt:1:7: field "name" is a string but the literal is not valid UTF-8/);
  });

  it('locates each value, for errors found after parsing', () => {
    const parsed = parseTextProto('name: "a"\npoints {\n  x: 1\n}\npoints { y: 2 }\nnamed { key: "k" value {\n x: 3 } }\n', Config);
    assert.deepEqual(parsed.positionOf(['name']), { line: 1, column: 1 });
    assert.deepEqual(parsed.positionOf(['points', 1]), { line: 5, column: 8 });
    assert.deepEqual(parsed.positionOf(['points', 0, 'x']), { line: 3, column: 3 });
    assert.deepEqual(parsed.positionOf(['named', 'k', 'x']), { line: 7, column: 2 });
    // A path the text does not set points at its nearest enclosing value.
    assert.deepEqual(parsed.positionOf(['points', 1, 'x']), { line: 5, column: 8 });
    assert.equal(parsed.positionOf(['origin']), undefined);
  });
});
