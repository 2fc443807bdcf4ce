import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ComponentError, defineExecutor, UserInputError, type Progress } from '../../dsl/executor';
import type { ResolvedFileSet } from '../../dsl/resolve';
import type { Column } from '../data/column-kinds';
import { withDuckDb, type DuckDbSession } from '../data/duckdb-session';
import { monotonicProgress } from '../data/progress';
import { sqlIdentifier, sqlString } from '../data/sql';
import { assignSplitsSql, featureKeySql, recordKeySql, RESERVED_COLUMNS, SPLIT_INDEX_COLUMN, type KeyOptions } from './hash-split';
import { splitDataFileName, splitDirName, splitNamesProperty } from '../data/examples-layout';
import { asReadError, checkCsvDialect, dropJsReadInput, loadJsReadInput, noRowsError, notAColumnOf, quotedNames, sourceOf, type Source } from './source';
import { csvBadRows, checkBadRowBudget, checkBadRowBudgetApplies, checkBadRowsSoFar, mergeBadRows, SUMMARY_SAMPLE_SIZE, writeRejectedRows, type BadRows } from './bad-rows';
import { textColumnsOfAnotherType } from './column-type-report';
import { readJsonLinesWithBudget } from './json-lines-scan';
import { loadWithTfxSplit } from './tfx-split';
import type { LoadProgress } from './formats/load-records';
import { ExampleGen, type ExampleGenParameters } from './spec';
import { spanProperties } from './input-patterns';
import { localInputFiles } from './s3-input';
import { preSplitNames, splitInputKey } from './split-inputs';
import { useOneThread, writeSplitFile, writeSplitsFromStaged } from './split-files';

const ROWS_TABLE = '__mlpipe_rows';
/** The hashed rows with their split index, written once and read back per split (in the executor's tmpDir). */
const STAGED_FILE = 'rows-with-split.parquet';
/** Share of the progress bar for reading and hashing; writing the splits takes the rest. */
const READ_SHARE = 0.8;
/**
 * DuckDB's memory for one run (its default is 80% of the machine's RAM): a 30 M-row CSV stays within a
 * 1 GB peak RSS at the same speed (bench/example-gen-large-csv.ts); what does not fit spills to tmpDir.
 */
const DUCKDB_MEMORY_LIMIT = '512MB';
/** Formats whose column types a reader infers from the data, not from a schema the file declares. */
const INFERRED_TYPE_FORMATS: ReadonlySet<Source['format']> = new Set(['csv', 'json', 'jsonl']);

/** The input's columns, once its declared types (`columns`) are known to name some of them. */
async function inputColumns(db: DuckDbSession, source: Source, declared: ExampleGenParameters['columns']): Promise<Column[]> {
  const columns = await db.columns(source.relationSql).catch(async (err: unknown) => {
    throw await asReadError(db, err, source);
  });
  await checkCsvDialect(source, columns.length);
  const reserved = columns.find((c) => RESERVED_COLUMNS.includes(c.name));
  if (reserved) throw new UserInputError(`input column "${reserved.name}" uses a name reserved by ExampleGen; rename it`);
  // DuckDB ignores a declared type whose column does not exist; a misspelt name would go unnoticed.
  const unknown = Object.keys(declared ?? {}).filter((name) => !columns.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new UserInputError(
      `columns declares a type for ${quotedNames(unknown)}, ${notAColumnOf(source.input, columns.map((c) => c.name))}`,
    );
  }
  return columns;
}

function keySql(source: Source, columns: readonly Column[], partitionFeature: string | undefined): string {
  const options: KeyOptions = { numericText: INFERRED_TYPE_FORMATS.has(source.format) };
  if (partitionFeature === undefined) return recordKeySql(columns, options);
  const feature = columns.find((c) => c.name === partitionFeature);
  if (!feature) {
    throw new UserInputError(`partitionFeature "${partitionFeature}" is ${notAColumnOf(source.input, columns.map((c) => c.name))}`);
  }
  return featureKeySql(feature, options);
}

/** One split's rows, without the split index. */
function splitSelectSql(rowsSql: string, index: number): string {
  return `SELECT * EXCLUDE (${sqlIdentifier(SPLIT_INDEX_COLUMN)}) FROM ${rowsSql} WHERE ${sqlIdentifier(SPLIT_INDEX_COLUMN)} = ${index}`;
}

async function splitRowCounts(db: DuckDbSession, rowsSql: string, splitCount: number): Promise<number[]> {
  const reader = await db.query(`SELECT ${sqlIdentifier(SPLIT_INDEX_COLUMN)} AS i, count(*) AS n FROM ${rowsSql} GROUP BY ALL`);
  const counts = new Array<number>(splitCount).fill(0);
  for (const row of reader.getRowObjectsJS()) counts[Number(row.i)] = Number(row.n);
  return counts;
}

function readProgress(progress: (p: Progress) => void, message: string) {
  return (p: { fraction: number; rowsProcessed: number }) =>
    progress({ fraction: p.fraction * READ_SHARE, message, counters: { rowsRead: p.rowsProcessed } });
}

/**
 * A JavaScript-read input's load, by the bytes of its files read: the first half of the read share,
 * the reading and hashing that follow it being the second (the bar holds until they pass it).
 */
function loadProgress(progress: (p: Progress) => void) {
  return (p: LoadProgress) =>
    progress({ fraction: (READ_SHARE / 2) * (p.bytesRead / Math.max(p.totalBytes, 1)), message: `reading ${p.file}`, counters: { rowsRead: p.rows } });
}

/** Bad CSV rows of the session's scans of `sources` (DuckDB keeps them across scans); none before a CSV source was read. */
async function csvBadRowsOf(db: DuckDbSession, sources: readonly Source[]): Promise<BadRows> {
  return sources.some((s) => s.format === 'csv') ? csvBadRows(db) : { count: 0, sample: [] };
}

/** Bad CSV rows of the session's scans, checked against the budget; none for other formats (their readers fail at once). */
async function badRowsOf(db: DuckDbSession, sources: readonly Source[], maxBadRows: number, goodRows: number): Promise<BadRows> {
  const bad = await csvBadRowsOf(db, sources);
  checkBadRowBudget(bad, maxBadRows, goodRows);
  return bad;
}

/** How an error names the bad rows: by the format of the input that holds the first of them. */
function badRowsFormat(sources: readonly Source[], bad: BadRows): string {
  const first = bad.sample[0];
  return first && sources.find((s) => s.files.includes(first.file))?.format === 'jsonl' ? 'JSON lines' : 'CSV';
}

/**
 * The default hash split: read and hash the input once, into a Parquet file with each row's split index;
 * each split is then written from it. Reading a file in order at every step keeps the written files
 * byte-identical from run to run, and the input streams through: it is never held in memory whole.
 */
async function stageHashSplit(db: DuckDbSession, source: Source, params: ExampleGenParameters, tmpDir: string, progress: (p: Progress) => void) {
  const columns = await inputColumns(db, source, params.columns);
  const key = keySql(source, columns, params.partitionFeature);
  const staged = path.join(tmpDir, STAGED_FILE);
  await db
    .query(`COPY (${assignSplitsSql(source.relationSql, key, params.splits)}) TO ${sqlString(staged)} (FORMAT parquet)`, readProgress(progress, 'reading and hashing rows'))
    .catch(async (err: unknown) => {
      throw await asReadError(db, err, source);
    });
  return { rowsSql: `read_parquet(${sqlString(staged)})`, columns };
}

/** ExampleGen: the resolved input files → Parquet per split (`Split-<name>/data-00000.parquet`). */
export const executor = defineExecutor(ExampleGen, async (ctx) => {
  const { parameters: params, signal } = ctx;
  const progress = monotonicProgress(ctx.progress);
  const outDir = ctx.outputDirs.examples;
  const preSplit = preSplitNames(params.input);
  const splitNames = preSplit ?? params.splits.map((s) => s.name);
  const inputs =
    typeof params.input === 'string'
      ? [{ key: 'input', location: params.input }]
      : Object.entries(params.input).map(([split, location]) => ({ key: splitInputKey(split), location }));

  const sets: ResolvedFileSet[] = [];
  const sources: Source[] = [];
  for (const { key, location } of inputs) {
    const set = ctx.resolved.files[key];
    if (!set) throw new ComponentError(`ExampleGen ran without its resolved input files (${key})`);
    const local = await localInputFiles(set, { sources: ctx.s3Sources, dir: path.join(ctx.tmpDir, 's3-input', key), signal, progress });
    sets.push(set);
    sources.push(sourceOf({ ...params, input: location }, local));
    checkBadRowBudgetApplies(sources.at(-1)!, params.maxBadRows);
  }
  const [first] = sources as [Source, ...Source[]];

  return withDuckDb({ tmpDir: ctx.tmpDir, signal }, async (db) => {
    await db.query(`SET memory_limit = ${sqlString(DUCKDB_MEMORY_LIMIT)}`);
    const fileCount = sources.reduce((n, s) => n + s.files.length, 0);
    progress({ fraction: 0, message: `reading ${fileCount} ${first.format} file(s)` });
    const warnings: string[] = [];
    const counts = new Array<number>(splitNames.length).fill(0);
    const splitDir = async (i: number) => {
      const dir = path.join(outDir, splitDirName(splitNames[i]!));
      await mkdir(dir, { recursive: true });
      return path.join(dir, splitDataFileName(0));
    };
    /** The default split's rows with their split index, and the input's columns. */
    let staged: { rowsSql: string; columns: Column[] } | undefined;
    let bad: BadRows;

    if (preSplit) {
      // Each split's files are written as they are, in one thread like the hashed splits (split-files.ts);
      // a JavaScript-read input's table is dropped before the next is loaded.
      await useOneThread(db, DUCKDB_MEMORY_LIMIT);
      // One bad-row budget over the rows of all splits; the splits read so far are checked as they go.
      const jsonLinesBad: BadRows[] = [];
      const badSoFar = async (splitsRead: number) => mergeBadRows([await csvBadRowsOf(db, sources.slice(0, splitsRead)), ...jsonLinesBad]);
      const goodSoFar = () => counts.reduce((a, b) => a + b, 0);
      for (const [i, source] of sources.entries()) {
        await loadJsReadInput(db, source, { signal, onProgress: loadProgress(progress) });
        const read = readProgress(progress, `reading split ${splitNames[i]}`);
        const before = await badSoFar(i);
        const checkBudget = (b: BadRows, good: number) => checkBadRowsSoFar(mergeBadRows([before, b]), params.maxBadRows, goodSoFar() + good, 'JSON lines');
        const written = await readJsonLinesWithBudget(source, { checkBudget, tmpDir: path.join(ctx.tmpDir, `split-${i}`), signal }, async (clean) => {
          await inputColumns(db, clean, params.columns);
          return writeSplitFile(db, `SELECT * FROM ${clean.relationSql}`, await splitDir(i), read).catch(async (err: unknown) => {
            throw await asReadError(db, err, clean);
          });
        });
        counts[i] = written.result;
        if (written.bad) jsonLinesBad.push(written.bad);
        await dropJsReadInput(db, source);
        const soFar = await badSoFar(i + 1);
        checkBadRowsSoFar(soFar, params.maxBadRows, goodSoFar(), badRowsFormat(sources, soFar));
      }
      bad = await badSoFar(sources.length);
      checkBadRowBudget(bad, params.maxBadRows, goodSoFar(), badRowsFormat(sources, bad));
    } else {
      let rowsSql: string;
      /** Set when a JSON lines input's bad lines were scanned for (json-lines-scan.ts); CSV's come from DuckDB's rejects. */
      let jsonLinesBad: BadRows | undefined;
      if (params.tfxCompatibleSplit) {
        // TFX's own key and sha256, hashed in JavaScript (tfx-split.ts); the row count is unknown until read.
        await loadWithTfxSplit(db, first, params, {
          table: ROWS_TABLE,
          tmpDir: ctx.tmpDir,
          signal,
          onProgress: (p) => progress({ fraction: 0, message: p.message, counters: { rowsRead: p.rows } }),
        });
        rowsSql = ROWS_TABLE;
      } else {
        await loadJsReadInput(db, first, { signal, onProgress: loadProgress(progress) });
        const checkBudget = (b: BadRows, good: number) => checkBadRowBudget(b, params.maxBadRows, good, 'JSON lines');
        const read = await readJsonLinesWithBudget(first, { checkBudget, tmpDir: ctx.tmpDir, signal }, (source) =>
          stageHashSplit(db, source, params, ctx.tmpDir, progress),
        );
        staged = read.result;
        jsonLinesBad = read.bad;
        rowsSql = staged.rowsSql;
      }
      counts.splice(0, counts.length, ...(await splitRowCounts(db, rowsSql, splitNames.length)));
      // Too many bad rows fail the node before a split is written.
      bad = jsonLinesBad ?? (await badRowsOf(db, sources, params.maxBadRows, counts.reduce((a, b) => a + b, 0)));
      let written = 0;
      const total = counts.reduce((a, b) => a + b, 0);
      const wrote = (i: number) => {
        written += counts[i]!;
        progress({
          fraction: READ_SHARE + ((1 - READ_SHARE) * written) / Math.max(total, 1),
          message: `wrote split ${splitNames[i]}`,
          counters: { rowsRead: total, rowsWritten: written },
        });
      };
      const files = await Promise.all(splitNames.map((_, i) => splitDir(i)));
      const selects = splitNames.map((_, i) => splitSelectSql(rowsSql, i));
      if (staged) {
        await writeSplitsFromStaged(selects, files, { tmpDir: ctx.tmpDir, signal, onWritten: wrote });
      } else {
        await useOneThread(db, DUCKDB_MEMORY_LIMIT);
        for (const [i, file] of files.entries()) {
          await writeSplitFile(db, selects[i]!, file);
          wrote(i);
        }
      }
    }

    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) throw noRowsError(first);
    if (bad.count > 0) {
      await writeRejectedRows(outDir, bad);
      warnings.push(`skipped ${bad.count} bad row(s) (maxBadRows ${params.maxBadRows}); the first ${bad.sample.length} are in rejected_rows.jsonl`);
    }
    for (const [i, name] of splitNames.entries()) {
      if (counts[i] === 0) warnings.push(`split ${name} holds no rows (${total} row(s) in all)`);
    }
    if (staged && INFERRED_TYPE_FORMATS.has(first.format)) {
      warnings.push(...(await textColumnsOfAnotherType(db, staged.rowsSql, staged.columns)));
    }
    for (const warning of warnings) progress({ message: `warning: ${warning}` });
    progress({ fraction: 1, message: `wrote ${splitNames.length} split(s)`, counters: { rowsRead: total + bad.count, rowsWritten: total } });

    const perSplit = Object.fromEntries(splitNames.map((name, i) => [name, counts[i]!]));
    return {
      properties: {
        examples: {
          split_names: splitNamesProperty(splitNames),
          // The splits of a pre-split input read the same spans (split-inputs.ts): the first set's are all of theirs.
          ...spanProperties(sets[0]!),
          num_examples: total,
          ...Object.fromEntries(splitNames.map((name, i) => [`num_examples_${name}`, counts[i]!])),
          input_format: first.format,
          ...(bad.count > 0 ? { num_rejected_rows: bad.count } : {}),
        },
      },
      summary: {
        rows: total,
        splits: perSplit,
        format: first.format,
        files: fileCount,
        ...(preSplit ? { preSplit: true } : {}),
        ...(bad.count > 0 ? { badRows: { count: bad.count, sample: bad.sample.slice(0, SUMMARY_SAMPLE_SIZE) } } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
      },
    };
  });
});
