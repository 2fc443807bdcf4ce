import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { readParquet } from './parquet-rows';

const PENGUINS_CSV = path.join(REPO_ROOT, 'test/fixtures/tfx-split/penguins.csv');
const SPLITS = ['train', 'eval'];

/** penguins.csv's cells (it holds no quotes), header first, with each Sex cell's text wrapped in double quotes: `"MALE"`. */
function cellsWithQuotedSex(): string[][] {
  const [header, ...rows] = readFileSync(PENGUINS_CSV, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(','));
  const sex = header!.indexOf('Sex');
  return [header!, ...rows.map((cells) => cells.map((cell, c) => (c === sex && cell !== '' ? `"${cell}"` : cell)))];
}

async function splitRows(input: string, quote?: string) {
  const run = await runExecutorForTest(ExampleGen, { parameters: { input, tfxCompatibleSplit: true, ...(quote ? { csv: { quote } } : {}) } });
  return Object.fromEntries(
    await Promise.all(SPLITS.map(async (name) => [name, await readParquet(path.join(run.outputDirs.examples!, `Split-${name}`, 'data-00000.parquet'))] as const)),
  );
}

describe('ExampleGen tfxCompatibleSplit on a CSV with its own quote character', function () {
  it('hashes the cells the rows hold, whichever quote the file uses', async function () {
    const dir = await tempDir('example-gen-tfx-csv-quote');
    const cells = cellsWithQuotedSex();
    // The same cell texts twice: quoted with ' (csv.quote), where " is an ordinary character, and in
    // RFC 4180's quoting, where a " in a cell is doubled inside a quoted field. Every Island cell is
    // quoted in the first, so DuckDB's sniffer alone would take " as the quote and strip the Sex cells'.
    const singleQuoted = path.join(dir, 'single-quoted.csv');
    const rfc4180 = path.join(dir, 'rfc4180.csv');
    const island = cells[0]!.indexOf('Island');
    const write = (file: string, quote: (cell: string, c: number) => string) =>
      writeFile(file, cells.map((row, r) => (r === 0 ? row : row.map(quote)).join(',')).join('\n') + '\n');
    await write(singleQuoted, (cell, c) => (c === island ? `'${cell}'` : cell));
    await write(rfc4180, (cell) => (cell.includes('"') ? `"${cell.replace(/"/g, '""')}"` : cell));

    const expected = await splitRows(rfc4180);
    const got = await splitRows(singleQuoted, "'");
    assert.equal(expected.train!.length + expected.eval!.length, cells.length - 1);
    assert.match(String(got.train!.find((row) => row.Sex !== null)!.Sex), /^"(MALE|FEMALE)"$/);
    for (const name of SPLITS) assert.deepEqual(got[name], expected[name], `Split-${name}: the rows of the ' quoted file, against the same cells in RFC 4180 quoting`);
  });
});
