/**
 * The features of a TFRecord input of tf.Example: their names in order of first appearance, and for
 * each the kind, the longest list and whether every bytes value is UTF-8 (what fixes its column),
 * learnt from records located one by one in their bytes (tf-example-scan.ts).
 */
import { UserInputError } from '../../../dsl/executor';
import { decodeExample, ExampleDecodeError, serializeFeature, type TfExample } from './tf-example';
import { bytesValueAt, FeatureSpans, isUtf8Range, KIND_BYTES, KIND_NONE, scanExample, scanFeature } from './tf-example-scan';
import { describeOffset, isGzipPath, readTfRecordFrameBatches, type FrameBatch } from './tfrecord-frames';

export const KIND_NAMES = ['kind unset', 'bytes_list', 'float_list', 'int64_list'] as const;

/** Where a record is, as every message names it. */
export interface RecordPlace {
  file: string;
  gzip: boolean;
  index: number;
  offset: number;
}

export function where(place: RecordPlace): string {
  return `${place.file} record ${place.index} at ${describeOffset(place.offset, place.gzip)}`;
}

export interface FeatureShape {
  name: string;
  /** KIND_NONE until a record sets it. */
  kind: number;
  maxLength: number;
  utf8: boolean;
  /** Where the kind was first seen, for the error when another record disagrees. */
  firstSeen?: RecordPlace;
}

/** The features met so far, by id in order of first appearance, found by their name's bytes. */
export class FeatureNames {
  readonly shapes: FeatureShape[] = [];
  private readonly nameBytes: Uint8Array[] = [];
  private readonly byLength = new Map<number, number[]>();
  private readonly byName = new Map<string, number>();

  /** The id of the name in `bytes[start, end)`, trying `hint` first (records tend to repeat one order); -1 if new. */
  find(bytes: Uint8Array, start: number, end: number, hint: number): number {
    const length = end - start;
    const hinted = this.nameBytes[hint];
    if (hinted && hinted.length === length && sameBytes(hinted, bytes, start)) return hint;
    const candidates = this.byLength.get(length);
    if (candidates) {
      for (const id of candidates) if (sameBytes(this.nameBytes[id]!, bytes, start)) return id;
    }
    return -1;
  }

  idOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  add(name: string, bytes: Uint8Array): number {
    const id = this.shapes.length;
    this.shapes.push({ name, kind: KIND_NONE, maxLength: 0, utf8: true, firstSeen: undefined });
    this.nameBytes.push(Uint8Array.from(bytes));
    this.byName.set(name, id);
    const sameLength = this.byLength.get(bytes.length);
    if (sameLength) sameLength.push(id);
    else this.byLength.set(bytes.length, [id]);
    return id;
  }
}

function sameBytes(name: Uint8Array, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < name.length; i++) if (name[i] !== bytes[start + i]) return false;
  return true;
}

/**
 * Locates the features of a record in `spans`, each entry with its id among `names`. A name not among
 * them goes to `unknown`, which adds it (and returns its id) or throws.
 */
export class FeatureLocator {
  readonly spans = new FeatureSpans();
  private readonly seenAt: number[] = [];
  private record = 0;

  constructor(
    private readonly names: FeatureNames,
    private readonly unknown: (name: string, bytes: Uint8Array, place: RecordPlace) => number,
  ) {}

  /** Record `k` of `batch`. */
  locate(batch: FrameBatch, k: number, place: RecordPlace): void {
    if (scanExample(batch.bytes, batch.dataStart[k]!, batch.dataEnd[k]!, this.spans) && this.identify(place)) return;
    this.locateDecoded(batch, k, place);
  }

  /** Gives each scanned entry its id; false for a name the full decoder must handle. */
  private identify(place: RecordPlace): boolean {
    const { spans, names } = this;
    const bytes = spans.bytes;
    const record = ++this.record;
    for (let j = 0; j < spans.count; j++) {
      const nameStart = spans.nameStart[j]!;
      const nameEnd = spans.nameEnd[j]!;
      let id = names.find(bytes, nameStart, nameEnd, spans.ids[j]!);
      if (id < 0) {
        // A name that is not UTF-8 is the full decoder's error to report.
        if (!isUtf8Range(bytes, nameStart, nameEnd)) return false;
        const nameBytes = bytes.subarray(nameStart, nameEnd);
        id = this.unknown(Buffer.from(nameBytes.buffer, nameBytes.byteOffset, nameBytes.length).toString('utf8'), nameBytes, place);
      }
      // A name given twice: protobuf keeps the last entry, as the full decoder does.
      if (this.seenAt[id] === record) return false;
      this.seenAt[id] = record;
      spans.ids[j] = id;
    }
    return true;
  }

  /** Through the full decoder: each feature re-serialised as protobuf writes it, then scanned. */
  private locateDecoded(batch: FrameBatch, k: number, place: RecordPlace): void {
    const data = batch.bytes.subarray(batch.dataStart[k], batch.dataEnd[k]);
    let example: TfExample;
    try {
      example = decodeExample(data);
    } catch (err) {
      if (!(err instanceof ExampleDecodeError)) throw err;
      throw new UserInputError(`${where(place)}: the record is not a tf.Example (${err.message} at byte ${err.offset} of its ${data.length} data bytes)`);
    }
    const entries = [...example.features];
    const serialized = entries.map(([, { feature }]) => serializeFeature(feature));
    const { spans } = this;
    spans.bytes = Buffer.concat(serialized);
    spans.count = entries.length;
    let start = 0;
    for (const [j, [name, { nameBytes }]] of entries.entries()) {
      spans.reserve(j);
      const end = start + serialized[j]!.length;
      if (!scanFeature(spans.bytes, start, end, spans, j)) throw new Error(`a re-serialised Feature of ${where(place)} did not scan`);
      spans.ids[j] = this.names.idOf(name) ?? this.unknown(name, nameBytes, place);
      start = end;
    }
  }
}

const valueRange = new Int32Array(2);

/** Widens `names`' shapes by the features of the record just located in `spans`. */
function learnShapes(spans: FeatureSpans, names: FeatureNames, place: RecordPlace): void {
  const bytes = spans.bytes;
  const range = valueRange;
  for (let j = 0; j < spans.count; j++) {
    const kind = spans.kind[j]!;
    if (kind === KIND_NONE) continue;
    const shape = names.shapes[spans.ids[j]!]!;
    if (shape.kind === KIND_NONE) {
      shape.kind = kind;
      shape.firstSeen = { ...place };
    } else if (shape.kind !== kind) {
      throw kindConflict(place, shape, kind);
    }
    const count = spans.valueCount[j]!;
    if (count > shape.maxLength) shape.maxLength = count;
    if (kind === KIND_BYTES && shape.utf8) {
      const end = spans.valuesEnd[j]!;
      let pos = spans.valuesStart[j]!;
      for (let n = 0; n < count && shape.utf8; n++) {
        bytesValueAt(bytes, pos, end, range);
        shape.utf8 = isUtf8Range(bytes, range[0]!, range[1]!);
        pos = range[1]!;
      }
    }
  }
}

export function kindConflict(place: RecordPlace, shape: FeatureShape, kind: number): UserInputError {
  return new UserInputError(
    `${where(place)}: feature "${shape.name}" is ${KIND_NAMES[kind]} here but ${KIND_NAMES[shape.kind]} in ${where(shape.firstSeen!)}; a feature must keep one kind in every record`,
  );
}

export interface LearnOptions {
  /** Defaults to the file name ending in `.gz`. */
  gzip?: boolean;
  signal: AbortSignal;
  /** Called once per file after every record of it was read. */
  onFile?: (progress: { file: string; records: number }) => void;
}

/**
 * The features of `files`, from every record (`sample: false`) or from each file's first megabyte,
 * a sample that the rows must then be checked against.
 */
export async function learnFeatures(files: readonly string[], options: LearnOptions & { sample: boolean }): Promise<FeatureNames> {
  const names = new FeatureNames();
  const locator = new FeatureLocator(names, (name, bytes) => names.add(name, bytes));
  for (const file of files) {
    const place: RecordPlace = { file, gzip: options.gzip ?? isGzipPath(file), index: 0, offset: 0 };
    let records = 0;
    for await (const batch of readTfRecordFrameBatches(file, { gzip: place.gzip, signal: options.signal })) {
      for (let k = 0; k < batch.count; k++) {
        place.index = batch.firstIndex + k;
        place.offset = batch.offsets[k]!;
        locator.locate(batch, k, place);
        learnShapes(locator.spans, names, place);
      }
      records += batch.count;
      if (options.sample) break;
    }
    if (!options.sample) options.onFile?.({ file, records });
  }
  return names;
}
