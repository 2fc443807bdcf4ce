/**
 * Figure: failed requests while new model versions are pushed under load. A second process drives
 * REST JSON and a third gRPC at fixed concurrency while this one writes a new version into the
 * repository every `--push-every-ms`; the server polls, loads, warms up and swaps each one in.
 * Baseline in the same run: the same load for the same time with no pushes. Target: 0 failed requests.
 * Meanwhile this process sends requests of its own, each with another row, and checks that every answer
 * holds the outputs of the version it names (each version has its own weights). Target: 0 wrong answers.
 *   npx tsx bench/serving/hot-reload-under-load.ts [--model small|heavy] [--pushes 5] [--push-every-ms 2000]
 *     [--concurrency 16]   (compiled: node dist/bench/serving/hot-reload-under-load.js ...)
 */
import type { RepositoryEvent } from '../../serving/model-repository';
import { startModelServer, type ModelServer } from '../../serving/server';
import { assertClose, distinctRows, float32s, mlpReference } from '../../test/serving/mlp-reference';
import { floats, grpcClient, postJson } from '../../test/serving/serving-fixture';
import { removeTempDirs, tempDir } from '../../test/support/tmp';
import { runLoad } from './load';
import type { LoadResult, LoadSpec } from './load-protocol';
import { buildMlpModel, HEAVY_MLP, mulberry32, SMALL_MLP, writeModelVersion, type MlpSpec } from './models';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

function loads(server: ModelServer, inputDim: number, concurrency: number, durationMs: number): [LoadSpec, LoadSpec] {
  const random = mulberry32(3);
  const row = Array.from({ length: inputDim }, () => random());
  const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, inputDim], datatype: 'FP32', data: row }] }));
  return [
    {
      kind: 'http',
      port: server.httpPort,
      path: '/v2/models/hot/infer',
      headers: { 'Content-Type': 'application/json' },
      bodyBase64: body.toString('base64'),
      concurrency,
      warmupMs: 300,
      durationMs,
    },
    {
      kind: 'grpc',
      address: `127.0.0.1:${server.grpcPort}`,
      request: { model_name: 'hot', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, inputDim] }] },
      rawInputsBase64: [Buffer.from(new Float32Array(row).buffer).toString('base64')],
      concurrency: Math.max(1, Math.floor(concurrency / 4)),
      warmupMs: 300,
      durationMs,
    },
  ];
}

interface Checked {
  checked: number;
  wrong: number;
  failed: number;
  versions: Set<number>;
  firstWrong?: string;
}

/** Expected outputs of every version for each row: version v is built with seed v. */
function expectations(spec: MlpSpec, versions: number, rows: number[][]): Map<number, number[][]> {
  const table = new Map<number, number[][]>();
  for (let version = 1; version <= versions; version++) {
    const forward = mlpReference({ ...spec, seed: version });
    table.set(version, rows.map((row) => forward(row)));
  }
  return table;
}

/**
 * One REST and one gRPC client in this process, sending row after row for `durationMs`; each 200 answer
 * must hold the outputs of the version it names for the row it was sent.
 */
async function checkAnswers(server: ModelServer, rows: number[][], expected: Map<number, number[][]>, durationMs: number): Promise<Checked> {
  const result: Checked = { checked: 0, wrong: 0, failed: 0, versions: new Set() };
  const verify = (via: string, version: number, i: number, actual: ArrayLike<number>) => {
    result.checked++;
    result.versions.add(version);
    try {
      const want = expected.get(version)?.[i];
      if (!want) throw new Error(`${via}: an answer from version ${version}, which was never pushed`);
      assertClose(actual, want, `${via} row ${i}, version ${version}`);
    } catch (err) {
      result.wrong++;
      result.firstWrong ??= (err as Error).message;
    }
  };
  const client = grpcClient(`127.0.0.1:${server.grpcPort}`);
  const deadline = performance.now() + durationMs;
  let sent = 0;
  const rest = async () => {
    while (performance.now() < deadline) {
      const i = sent++ % rows.length;
      try {
        const reply = await postJson(`http://127.0.0.1:${server.httpPort}/v2/models/hot/infer`, {
          inputs: [{ name: 'input', shape: [1, rows[i]!.length], datatype: 'FP32', data: rows[i] }],
        });
        if (reply.status !== 200) throw new Error(`HTTP ${reply.status}`);
        const body = reply.json as { model_version: string; outputs: Array<{ data: number[] }> };
        verify('REST', Number(body.model_version), i, body.outputs[0]!.data);
      } catch {
        result.failed++;
      }
    }
  };
  const grpc = async () => {
    while (performance.now() < deadline) {
      const i = sent++ % rows.length;
      try {
        const res = (await client.call('ModelInfer')({
          model_name: 'hot',
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, rows[i]!.length] }],
          raw_input_contents: [floats(rows[i]!)],
        })) as { model_version: string; raw_output_contents: Buffer[] };
        verify('gRPC', Number(res.model_version), i, float32s(res.raw_output_contents[0]!));
      } catch {
        result.failed++;
      }
    }
  };
  try {
    await Promise.all([rest(), grpc()]);
  } finally {
    client.close();
  }
  return result;
}

function checkedLine(label: string, c: Checked): string {
  return `  ${label.padEnd(26)} ${String(c.checked).padStart(7)} answers checked (versions ${[...c.versions].sort((a, b) => a - b).join(', ')}), ${c.wrong} wrong, ${c.failed} failed${c.firstWrong ? `  first wrong: ${c.firstWrong}` : ''}`;
}

function line(label: string, r: LoadResult): string {
  return `  ${label.padEnd(26)} ${String(r.completed).padStart(7)} ok ${String(r.errors).padStart(5)} failed ${r.rps.toFixed(0).padStart(7)}/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${r.firstError ? `  first error: ${r.firstError}` : ''}`;
}

async function main(): Promise<void> {
  const modelName = arg('model', 'small');
  const spec = modelName === 'heavy' ? HEAVY_MLP : SMALL_MLP;
  const pushes = Number(arg('pushes', '5'));
  const pushEveryMs = Number(arg('push-every-ms', '2000'));
  const concurrency = Number(arg('concurrency', '16'));
  const durationMs = (pushes + 1) * pushEveryMs;
  const config = { max_batch_size: 64, dynamic_batching: {} };

  const rows = distinctRows(16, spec.inputDim, 5);
  const expected = expectations(spec, pushes + 1, rows);

  const repo = await tempDir('bench-hot-reload');
  await writeModelVersion(repo, 'hot', 1, buildMlpModel({ ...spec, seed: 1 }), config);
  const events: Array<RepositoryEvent & { at: number }> = [];
  const server = await startModelServer({ repository: repo, httpPort: 0, grpcPort: 0, pollIntervalMs: 200 }, (e) =>
    events.push({ ...e, at: performance.now() }),
  );
  try {
    const [[restSteady, grpcSteady], checkedSteady] = await Promise.all([
      Promise.all(loads(server, spec.inputDim, concurrency, durationMs).map(runLoad)),
      checkAnswers(server, rows, expected, durationMs),
    ]);

    const models = Array.from({ length: pushes }, (_, i) => buildMlpModel({ ...spec, seed: i + 2 }));
    const pushedAt: number[] = [];
    const pusher = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < pushes; i++) {
        await new Promise((r) => setTimeout(r, pushEveryMs));
        pushedAt.push(performance.now());
        await writeModelVersion(repo, 'hot', i + 2, models[i]!);
      }
    })();
    const [[restReload, grpcReload], checkedReload] = await Promise.all([
      Promise.all(loads(server, spec.inputDim, concurrency, durationMs).map(runLoad)),
      checkAnswers(server, rows, expected, durationMs),
    ]);
    await pusher;
    const failedWhilePushing = restReload.errors + grpcReload.errors + checkedReload.failed;

    const loaded = events.filter((e): e is Extract<RepositoryEvent, { type: 'loaded' }> & { at: number } => e.type === 'loaded' && e.version > 1);
    const failedLoads = events.filter((e) => e.type === 'load-failed').length;
    const swapDelays = loaded.map((e) => e.at - pushedAt[e.version - 2]!);
    process.stdout.write(
      `\nhot reload under load: ${modelName} model, ${pushes} versions pushed every ${pushEveryMs} ms, ` +
        `REST JSON at concurrency ${concurrency} + gRPC at ${Math.max(1, Math.floor(concurrency / 4))}, ${durationMs} ms per phase\n` +
        line('REST, no pushes', restSteady) +
        '\n' +
        line('REST, while pushing', restReload) +
        '\n' +
        line('gRPC, no pushes', grpcSteady) +
        '\n' +
        line('gRPC, while pushing', grpcReload) +
        '\n' +
        checkedLine('outputs, no pushes', checkedSteady) +
        '\n' +
        checkedLine('outputs, while pushing', checkedReload) +
        '\n' +
        `  versions loaded ${loaded.length}/${pushes} (failed loads ${failedLoads}); push -> serving ${swapDelays.map((d) => d.toFixed(0)).join(', ')} ms; ` +
        `serving now: version ${server.repository.servingVersions('hot').join(', ')}\n` +
        `  throughput while pushing / steady: REST ${(restReload.rps / restSteady.rps).toFixed(2)}, gRPC ${(grpcReload.rps / grpcSteady.rps).toFixed(2)}\n` +
        `  failed requests while pushing: ${failedWhilePushing} (target 0) ${failedWhilePushing === 0 ? 'met' : 'MISSED'}\n` +
        `  wrong answers: ${checkedSteady.wrong + checkedReload.wrong} of ${checkedSteady.checked + checkedReload.checked} checked (target 0) ${checkedSteady.wrong + checkedReload.wrong === 0 ? 'met' : 'MISSED'}\n`,
    );
  } finally {
    await server.stop();
    await removeTempDirs();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
