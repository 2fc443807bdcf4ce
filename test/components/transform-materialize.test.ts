import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { materializeSplit, type MaterializeOptions, type MaterializeProgress } from '../../components/transform/materialize';
import { MISSING_INSTANT } from '../../components/transform/signature';
import { openSession, Tensor } from '../../onnx/session';
import { applyBuckets } from '../../onnx/transform-ops/buckets';
import { datePartsOrMissing } from '../../onnx/transform-ops/date-parts';
import { scaleToZScore } from '../../onnx/transform-ops/numeric';
import { lookupVocabulary, oneHot } from '../../onnx/transform-ops/vocabulary';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';
import { buildGraph, FLIGHTS_VOCABULARY_SIZE, flightsAnalyzers, flightsGraph, type TestGraph } from './transform-graphs';
import { vegaFile } from './vega-data';

type Row = Record<string, unknown>;

const BEAK = 'Beak Length (mm)';
const MASS = 'Body Mass (g)';
const ISLANDS = ['Biscoe', 'Dream', 'Torgersen'];
const BEAK_STATS = { mean: 43.9, stdDev: 5.45 };
const MASS_BOUNDARIES = [3500, 4000, 4500, 5000];

/**
 * Penguins with an instant per row; Island, Observed and Beak are NULL on planted rows, one beak is beyond
 * FP32's range; Species planted with strings a decoder could confuse: longer than DuckDB's 12 inline
 * bytes, a prefix of another, non-ASCII, empty; Tag is 344 strings alike in their first 4 bytes, so
 * some share a slot of the decoder's cache.
 */
const PENGUINS_ROWS =
  `SELECT i, CASE i % 11 WHEN 6 THEN Species || ' of a name longer than twelve bytes' WHEN 7 THEN 'Adeli' ` +
  `WHEN 8 THEN 'Adelie ü' WHEN 9 THEN '' ELSE Species END AS Species, 'Tag-' || i AS Tag, CASE WHEN i % 17 = 3 THEN NULL ELSE Island END AS Island, ` +
  `CASE WHEN i = 7 THEN 1e300 ELSE "${BEAK}" END AS "${BEAK}", "${MASS}", ` +
  `CASE WHEN i % 13 = 5 THEN NULL ELSE TIMESTAMP '2007-11-09 00:00:00.25' + i * INTERVAL '7 hours 13 minutes' END AS Observed ` +
  `FROM (SELECT row_number() OVER () - 1 AS i, * FROM read_json(${sqlString(vegaFile('penguins.json'))}))`;

function penguinsGraph(): TestGraph {
  return buildGraph(
    [
      { name: BEAK, dtype: 'float32', shape: [-1] },
      { name: MASS, dtype: 'float32', shape: [-1] },
      { name: 'Island', dtype: 'string', shape: [-1] },
      { name: 'Species', dtype: 'string', shape: [-1] },
      { name: 'Tag', dtype: 'string', shape: [-1] },
      { name: 'Observed', dtype: 'int64', shape: [-1] },
    ],
    (g) => {
      const island = lookupVocabulary(g, 'Island', ISLANDS);
      const observed = datePartsOrMissing(g, 'Observed', MISSING_INSTANT);
      return [
        { name: 'beak_z', source: scaleToZScore(g, BEAK, BEAK_STATS), dtype: 'float32' },
        { name: 'mass_bucket', source: applyBuckets(g, MASS, MASS_BOUNDARIES), dtype: 'int64' },
        { name: 'island_id', source: island, dtype: 'int64' },
        { name: 'island_one_hot', source: oneHot(g, island, ISLANDS.length), dtype: 'float32', width: ISLANDS.length },
        { name: 'species_text', source: g.op('Identity', ['Species']), dtype: 'string' },
        { name: 'tag_text', source: g.op('Identity', ['Tag']), dtype: 'string' },
        { name: 'observed_year', source: observed.year, dtype: 'int64' },
        { name: 'observed_hour', source: observed.hour, dtype: 'int64' },
      ];
    },
  );
}

/** Rows of Parquet files in file and row order, read by DuckDB into JavaScript values. */
function readRows(files: string[], select = '*'): Promise<Row[]> {
  return duckQuery(
    `SELECT ${select} FROM read_parquet([${files.map(sqlString).join(', ')}], filename = true, file_row_number = true) ORDER BY filename, file_row_number`,
  );
}

/** The graph run directly on `rows` (JavaScript values converted here, as signature.ts says), one batch. */
async function runDirectly(graph: TestGraph, rows: Row[]): Promise<Record<string, unknown[]>> {
  const feeds = Object.fromEntries(
    graph.signature.inputs.map((input) => {
      const values = rows.map((r) => r[input.name] ?? null);
      if (input.dtype === 'float32') return [input.name, new Tensor('float32', Float32Array.from(values, (v) => (v === null ? NaN : Number(v))), [rows.length])];
      if (input.dtype === 'string') return [input.name, new Tensor('string', values.map((v) => (v === null ? '' : String(v))), [rows.length])];
      const micros = values.map((v) => (v instanceof Date ? BigInt(v.getTime()) * 1000n : MISSING_INSTANT));
      return [input.name, new Tensor('int64', BigInt64Array.from(micros), [rows.length])];
    }),
  );
  const session = await openSession(graph.model);
  try {
    const results = await session.run(feeds);
    return Object.fromEntries(
      graph.signature.outputs.map((output) => {
        const data = results[output.name]!.data;
        const values: unknown[] = Array.isArray(data) ? data : data instanceof BigInt64Array ? Array.from(data) : Array.from(data as Float32Array);
        const width = output.shape[1];
        return [output.name, width === undefined ? values : rows.map((_, i) => values.slice(i * width, (i + 1) * width))];
      }),
    );
  } finally {
    await session.release();
  }
}

/** Every cell of the materialised files equals the graph run directly on the same input rows. */
async function assertSameAsDirectRun(graph: TestGraph, inputRows: Row[], files: string[]): Promise<Row[]> {
  const written = await readRows(files, `* EXCLUDE (filename, file_row_number)`);
  assert.equal(written.length, inputRows.length);
  const direct = await runDirectly(graph, inputRows);
  for (const output of graph.signature.outputs) {
    assert.deepStrictEqual(written.map((r) => r[output.name]), direct[output.name], `output ${output.name}`);
  }
  return written;
}

async function materialize(options: Partial<MaterializeOptions> & Pick<MaterializeOptions, 'model' | 'signature' | 'inputFiles'>, progress: MaterializeProgress[] = []) {
  const outDir = options.outDir ?? path.join(await tempDir('transform-out'), 'Split-train');
  const result = await materializeSplit({
    outDir,
    tmpDir: await tempDir('transform-tmp'),
    signal: new AbortController().signal,
    onProgress: (p) => progress.push(p),
    ...options,
  });
  return { ...result, outDir };
}

describe('Transform materialisation (materializeSplit)', function () {
  this.timeout(60_000);
  let dir: string;
  let penguinFiles: string[];
  let flightsFile: string;

  before(async () => {
    dir = await tempDir('transform-materialize');
    penguinFiles = [path.join(dir, 'penguins-a.parquet'), path.join(dir, 'penguins-b.parquet')];
    await duckQuery(`COPY (SELECT * EXCLUDE (i) FROM (${PENGUINS_ROWS}) WHERE i < 200 ORDER BY i) TO ${sqlString(penguinFiles[0]!)} (FORMAT parquet)`);
    await duckQuery(`COPY (SELECT * EXCLUDE (i) FROM (${PENGUINS_ROWS}) WHERE i >= 200 ORDER BY i) TO ${sqlString(penguinFiles[1]!)} (FORMAT parquet)`);
    // 40 000 flights with NULLs in date, delay and origin, an unseen airport and distances beyond any decile.
    flightsFile = path.join(dir, 'flights.parquet');
    await duckQuery(
      `COPY (SELECT CASE WHEN i % 103 = 1 THEN NULL ELSE date END AS date, CASE WHEN i % 97 = 2 THEN NULL ELSE delay END AS delay, ` +
        `CASE WHEN i % 89 = 4 THEN 99999 ELSE distance END AS distance, ` +
        `CASE WHEN i % 101 = 3 THEN NULL WHEN i % 83 = 5 THEN 'ZZZ' ELSE origin END AS origin, destination ` +
        `FROM (SELECT file_row_number AS i, * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}, file_row_number = true) WHERE file_row_number < 40000) ORDER BY i) ` +
        `TO ${sqlString(flightsFile)} (FORMAT parquet)`,
    );
  });

  it('writes penguins from two files in row order, every cell as the graph computes it, with NULLs, beyond-FP32 values and typed columns', async () => {
    const graph = penguinsGraph();
    const progress: MaterializeProgress[] = [];
    const { rows, files } = await materialize({ model: graph.model, signature: graph.signature, inputFiles: penguinFiles, batchRows: 64 }, progress);
    assert.equal(rows, 344);
    assert.deepEqual(files.map((f) => path.basename(f)), ['data-00000.parquet', 'data-00001.parquet']);
    const input = await readRows(penguinFiles);
    const written = await assertSameAsDirectRun(graph, input, files);

    // Plain TypeScript for a few columns, so the direct run is not the only judge.
    const f = Math.fround;
    const beakZ = input.map((r) => (r[BEAK] === null ? NaN : f(f(f(Number(r[BEAK])) - f(BEAK_STATS.mean)) / f(BEAK_STATS.stdDev))));
    assert.deepStrictEqual(written.map((r) => r.beak_z), beakZ);
    assert.equal(written[7]!.beak_z, Infinity, '1e300 is +Infinity in FP32');
    assert.deepStrictEqual(written.map((r) => r.island_id), input.map((r) => BigInt(ISLANDS.indexOf(String(r.Island)))));
    assert.ok(written.filter((r) => r.island_id === -1n).length === 21, 'planted NULL islands are out of vocabulary');
    assert.deepStrictEqual(written.map((r) => r.island_one_hot), input.map((r) => ISLANDS.map((s) => (s === r.Island ? 1 : 0))));
    assert.deepStrictEqual(written.map((r) => r.species_text), input.map((r) => r.Species));
    assert.deepStrictEqual(written.map((r) => r.tag_text), input.map((_, i) => `Tag-${i}`));
    assert.deepStrictEqual(written.map((r) => r.observed_hour), input.map((r) => BigInt(r.Observed instanceof Date ? r.Observed.getUTCHours() : -1)));
    assert.deepStrictEqual(
      written.map((r) => r.mass_bucket),
      input.map((r) => BigInt(r[MASS] === null ? MASS_BOUNDARIES.length : MASS_BOUNDARIES.filter((b) => b <= Number(r[MASS])).length)),
    );

    const types = await duckQuery(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(files[0]!)}))`);
    assert.deepEqual(Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), {
      beak_z: 'FLOAT',
      mass_bucket: 'BIGINT',
      island_id: 'BIGINT',
      island_one_hot: 'FLOAT[]',
      species_text: 'VARCHAR',
      tag_text: 'VARCHAR',
      observed_year: 'BIGINT',
      observed_hour: 'BIGINT',
    });

    // Progress after every batch of 64 rows, in order, up to every row.
    assert.deepEqual(progress.at(-1), { rows: 344, totalRows: 344 });
    assert.ok(progress.length >= 344 / 64, `${progress.length} progress reports`);
    assert.ok(progress.every((p, i) => i === 0 || p.rows >= progress[i - 1]!.rows));

    // The same input gives the same bytes.
    const again = await materialize({ model: graph.model, signature: graph.signature, inputFiles: penguinFiles, batchRows: 64 });
    for (let i = 0; i < files.length; i++) assert.ok((await readFile(files[i]!)).equals(await readFile(again.files[i]!)), `${files[i]} differs between runs`);
  });

  it('writes 40 000 flights in three parts on two threads, row for row as the graph run directly, with OOV and missing dates', async () => {
    const analyzers = await flightsAnalyzers(`read_parquet(${sqlString(flightsFile)})`);
    const graph = flightsGraph(analyzers, 'ids');
    const { rows, files } = await materialize({ model: graph.model, signature: graph.signature, inputFiles: [flightsFile], batchRows: 1000, threads: 2 });
    assert.equal(rows, 40_000);
    assert.equal(files.length, 3, 'parts of 16 batches of 1000 rows');
    const input = await readRows([flightsFile]);
    const written = await assertSameAsDirectRun(graph, input, files);

    const f = Math.fround;
    const z = (v: unknown, s: { mean: number; stdDev: number }) => (v === null ? NaN : f(f(f(Number(v)) - f(s.mean)) / f(s.stdDev)));
    assert.deepStrictEqual(written.map((r) => r.delay_z), input.map((r) => z(r.delay, analyzers.delay)));
    const originId = (v: unknown) => {
      const id = analyzers.origin.indexOf(String(v ?? ''));
      return BigInt(id >= 0 ? id : FLIGHTS_VOCABULARY_SIZE);
    };
    assert.deepStrictEqual(written.map((r) => r.origin_id), input.map((r) => originId(r.origin)));
    assert.deepStrictEqual(written.map((r) => r.month), input.map((r) => BigInt(r.date instanceof Date ? r.date.getUTCMonth() + 1 : -1)));
    assert.ok(written.some((r) => r.month === -1n) && written.some((r) => r.origin_id === BigInt(FLIGHTS_VOCABULARY_SIZE)));
    assert.ok(written.filter((r) => r.distance_bucket === BigInt(analyzers.distanceBoundaries.length)).length >= 40_000 / 89);
  });

  it('refuses a file without a column the graph reads, or with one of a type it cannot take, naming file and column', async () => {
    const graph = penguinsGraph();
    const withoutIsland = path.join(dir, 'no-island.parquet');
    await duckQuery(`COPY (SELECT * EXCLUDE (Island) FROM read_parquet(${sqlString(penguinFiles[0]!)})) TO ${sqlString(withoutIsland)} (FORMAT parquet)`);
    const numericIsland = path.join(dir, 'numeric-island.parquet');
    await duckQuery(`COPY (SELECT * REPLACE (length(Island)::INTEGER AS Island) FROM read_parquet(${sqlString(penguinFiles[1]!)})) TO ${sqlString(numericIsland)} (FORMAT parquet)`);
    const textDate = path.join(dir, 'text-date.parquet');
    await duckQuery(`COPY (SELECT * REPLACE (Observed::VARCHAR AS Observed) FROM read_parquet(${sqlString(penguinFiles[1]!)})) TO ${sqlString(textDate)} (FORMAT parquet)`);
    const run = (inputFiles: string[]) => materialize({ model: graph.model, signature: graph.signature, inputFiles });
    await rejects(run([withoutIsland]), new RegExp(`^${withoutIsland}: no column "Island", which the transform graph reads as string \\(a string column`));
    await rejects(run([penguinFiles[0]!, numericIsland]), new RegExp(`^${numericIsland}: column "Island" is INTEGER, but the transform graph reads it as string`));
    await rejects(run([textDate]), new RegExp(`^${textDate}: column "Observed" is VARCHAR, but the transform graph reads it as int64 and takes a date or time column`));
  });

  it('stops within a batch when aborted, removes what it wrote, and keeps the event loop free while it runs', async () => {
    const analyzers = await flightsAnalyzers(`read_parquet(${sqlString(flightsFile)})`);
    const graph = flightsGraph(analyzers, 'one-hot');
    const controller = new AbortController();
    const outDir = path.join(await tempDir('transform-abort'), 'Split-train');
    let abortedAt = 0;
    let ticks = 0;
    let longestGap = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      ticks++;
      longestGap = Math.max(longestGap, Date.now() - last);
      last = Date.now();
    }, 5);
    const started = Date.now();
    try {
      await assert.rejects(
        materialize({
          model: graph.model,
          signature: graph.signature,
          inputFiles: [flightsFile],
          batchRows: 256,
          threads: 2,
          outDir,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.rows >= 6000 && !abortedAt) {
              abortedAt = Date.now();
              controller.abort();
            }
          },
        }),
        (err: Error) => err.name === 'AbortError',
      );
    } finally {
      clearInterval(timer);
    }
    const stoppedIn = Date.now() - abortedAt;
    assert.ok(abortedAt > 0, 'progress reached 6000 rows');
    assert.ok(stoppedIn < 3000, `stopped ${stoppedIn} ms after the abort`);
    assert.deepEqual((await readdir(outDir)).filter((f) => f.endsWith('.parquet')), []);
    assert.ok(ticks >= (abortedAt - started) / 100, `${ticks} timer ticks in ${abortedAt - started} ms`);
    assert.ok(longestGap < 1000, `the event loop was blocked for ${longestGap} ms`);
  });
});
