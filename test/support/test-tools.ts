import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { mlpipeCacheDir } from '../../stack/binaries';

/**
 * Tools from outside this repository that some tests drive: scripts/setup-test-tools.sh (run by
 * `npm test`) installs them where these functions look. A missing tool fails its test with the
 * command that installs it; only MLPIPE_TEST_SKIP, which CI never sets, turns that into a skip.
 */
export type TestTool = 'tritonclient' | 'sklearn' | 'perf_analyzer' | 'chromium';

const SETUP = 'bash scripts/setup-test-tools.sh';

function optedOut(tool: TestTool): boolean {
  return (process.env.MLPIPE_TEST_SKIP ?? '').split(',').map((s) => s.trim()).includes(tool);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Skips the test, saying why, when `why` is given or the user opted out of `tool`. */
function skipWhen(ctx: Mocha.Context, tool: TestTool, why?: string): void {
  const reason = why ?? (optedOut(tool) ? `MLPIPE_TEST_SKIP names ${tool}` : undefined);
  if (reason === undefined) return;
  console.log(`      skipped: ${reason}`);
  ctx.skip();
}

function missing(what: string, where: string): Error {
  return new Error(`${what} is not installed (looked for ${where}). Run \`${SETUP}\` (npm test runs it), or set MLPIPE_TEST_SKIP to skip this test.`);
}

/** The Python of the venv setup-test-tools.sh fills (named for what it first held). */
const testVenvPython = () => path.join(mlpipeCacheDir(), 'tritonclient-venv', 'bin', 'python');

/** A Python that imports NVIDIA's tritonclient and numpy: $MLPIPE_TRITONCLIENT_PYTHON or the cached venv's. */
export function tritonclientPython(ctx: Mocha.Context): string {
  skipWhen(ctx, 'tritonclient');
  const python = process.env.MLPIPE_TRITONCLIENT_PYTHON ?? testVenvPython();
  if (!isExecutable(python)) throw missing("NVIDIA's tritonclient (Python)", python);
  return python;
}

/**
 * A Python with scikit-learn, skl2onnx, onnx and pyarrow, for the Trainer's own-script test:
 * $MLPIPE_SKLEARN_PYTHON or the cached venv's (setup-test-tools.sh installs them beside tritonclient).
 */
export function sklearnPython(ctx: Mocha.Context): string {
  skipWhen(ctx, 'sklearn');
  const python = process.env.MLPIPE_SKLEARN_PYTHON ?? testVenvPython();
  if (!isExecutable(python)) throw missing('scikit-learn and skl2onnx (Python)', python);
  return python;
}

/** NVIDIA's perf_analyzer: $MLPIPE_PERF_ANALYZER or the cached install; skipped where NVIDIA publishes no build. */
export function perfAnalyzer(ctx: Mocha.Context): string {
  const unpublished = process.arch === 'x64' && process.platform === 'linux' ? undefined : `perf_analyzer is published for x86-64 Linux only (this is ${process.platform}-${process.arch})`;
  skipWhen(ctx, 'perf_analyzer', unpublished);
  const binary = process.env.MLPIPE_PERF_ANALYZER ?? path.join(mlpipeCacheDir(), 'perf-analyzer', 'perf_analyzer');
  if (!isExecutable(binary)) throw missing("NVIDIA's perf_analyzer", binary);
  return binary;
}

const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

/** Chromium (Debian's package) on PATH, as setup-test-tools.sh installs it; undefined when there is none. */
export function findChromium(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return CHROMIUM_NAMES.flatMap((name) => dirs.map((dir) => path.join(dir, name))).find((file) => existsSync(file) && isExecutable(file));
}

/** Chromium for the tests that look at web pages. */
export function chromiumExecutable(ctx: Mocha.Context): string {
  skipWhen(ctx, 'chromium');
  const found = findChromium();
  if (!found) throw missing('Chromium', `${CHROMIUM_NAMES.join(' or ')} on PATH`);
  return found;
}
