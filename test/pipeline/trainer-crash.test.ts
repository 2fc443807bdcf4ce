import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EXECUTOR_LOG_NAME } from '../../activities/execute-component';
import { EpochMetricsSchema, type EpochMetrics } from '../../components/trainer/checkpoint-files';
import { METRICS_FILE, MODEL_FILE, TRAINING_FILE } from '../../components/trainer/payload';
import { decodeModel, OnnxElementType } from '../../onnx/graph';
import { z } from 'zod';
import { startTestStack, type TestStack } from './harness';
import { epochMs, penguinsTrainingPipeline, runTrainerCrash, TRAINER_NODE, type TrainerRunShape } from './trainer-crash-scenario';

const SHAPE: TrainerRunShape = { epochs: 12, batchSize: 4, seed: 7, heartbeatMs: 3000 };
/** 0-based, as the Trainer's checkpoints count: the log's "epoch 4/12". */
const KILL_AFTER_EPOCH = 3;

/** Every FLOAT initializer of a model.onnx, by name. */
function floatInitializers(bytes: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const t of decodeModel(bytes).graph?.initializer ?? []) {
    if (t.dataType !== OnnxElementType.FLOAT) continue;
    const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
    out.set(t.name!, raw ? new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) : Float32Array.from(t.floatData ?? []));
  }
  return out;
}

/** |a - b| <= 1e-5 + 1e-5 |b| element-wise; the message names the first value outside it. */
function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const [a, b] = [actual[i]!, expected[i]!];
    if (!(Math.abs(a - b) <= 1e-5 + 1e-5 * Math.abs(b))) assert.fail(`${label}[${i}]: resumed ${a}, uninterrupted ${b}`);
  }
}

async function readModelArtifact(stack: TestStack, uri: string) {
  const dir = await stack.store.materialize(uri);
  const metrics = z.array(EpochMetricsSchema).parse(JSON.parse(await readFile(path.join(dir, METRICS_FILE), 'utf8')));
  const training = z.object({ backend: z.string(), epochsRun: z.array(z.number()) }).loose().parse(JSON.parse(await readFile(path.join(dir, TRAINING_FILE), 'utf8')));
  return { metrics, training, log: await readFile(path.join(dir, EXECUTOR_LOG_NAME), 'utf8'), weights: floatInitializers(await readFile(path.join(dir, MODEL_FILE))) };
}

const metricValues = (m: EpochMetrics[]) => m.flatMap((e) => Object.keys(e).sort().map((k) => e[k]!));

describe('Trainer crash-proof on a real stack', function () {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  before(async () => {
    stack = await startTestStack({ queues: ['control'] });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await stack?.stop();
  });

  it('a worker SIGKILLed during epoch k: the retry on another worker trains epochs k..n only and ends with the weights of an uninterrupted run', async () => {
    const run = await runTrainerCrash(stack, { name: 'trainer-crash', shape: SHAPE, killAfterEpoch: KILL_AFTER_EPOCH, identities: ['trainer-worker-1', 'trainer-worker-2'], children });
    const { durable, status } = run;
    const n = SHAPE.epochs;
    const k = durable.epoch + 1;
    assert.ok(k > KILL_AFTER_EPOCH && k <= KILL_AFTER_EPOCH + 4, `killed during epoch ${k} (0-based) of ${n}, soon after the checkpoint of epoch ${KILL_AFTER_EPOCH}`);
    assert.equal(run.executorPids.length, 1, `the killed worker ran the Trainer in one executor process (${run.executorPids.join(', ')})`);

    const node = status.nodes[TRAINER_NODE]!;
    assert.equal(node.state, 'succeeded', node.error);
    assert.equal(node.attempt, 2, 'the kill failed the first attempt, the second finished');
    assert.equal(node.worker, run.survivor, 'the worker left finished the Trainer');
    const execution = (await stack.metadata.getRun((await run.handle.describe()).runId))!.executions.find((e) => e.nodeId === TRAINER_NODE)!;
    assert.equal(execution.worker, run.survivor);
    assert.deepEqual([...new Set(run.checkpoints.filter((c) => c.attempt === 2).map((c) => c.epoch))], Array.from({ length: n - k }, (_, i) => k + i), 'the retry checkpointed epochs k..n-1');

    const resumed = await readModelArtifact(stack, node.outputs!.model![0]!);
    const epochs = Array.from({ length: n - k }, (_, i) => k + i);
    assert.deepEqual(resumed.training.epochsRun, epochs, 'training.json: the retry trained epochs k..n-1 only');
    assert.equal(node.summary?.epochsRun, `${k}..${n - 1}`, 'the run summary says so too');
    assert.deepEqual(resumed.metrics.map((m) => m.epoch), Array.from({ length: n }, (_, i) => i), 'metrics.json has every epoch');
    assert.deepEqual(resumed.metrics.slice(0, k), run.durableMetrics, "the epochs before k are the killed attempt's, from its checkpoint");
    // The published log is the retry's: it resumes at k and prints epochs k+1..n (1-based) and no other.
    assert.match(resumed.log, new RegExp(`^resuming at epoch ${k} from the checkpoint of epoch ${k - 1}$`, 'm'));
    const logged = [...resumed.log.matchAll(new RegExp(`^epoch (\\d+)/${n}: loss`, 'gm'))].map((m) => Number(m[1]) - 1);
    assert.deepEqual(logged, epochs, 'the log shows epochs k..n-1 trained');

    // The same Trainer, uninterrupted (upstream nodes from the cache, so the same inputs), on the surviving worker.
    const again = await stack.run(penguinsTrainingPipeline('trainer-crash', { ...SHAPE, cache: false }));
    const cleanNode = again.status.nodes[TRAINER_NODE]!;
    assert.equal(cleanNode.state, 'succeeded', cleanNode.error);
    assert.equal(cleanNode.attempt, 1);
    assert.equal(again.status.nodes.transform!.outputs!.transformedExamples![0], status.nodes.transform!.outputs!.transformedExamples![0], 'both trained on the same examples');
    const clean = await readModelArtifact(stack, cleanNode.outputs!.model![0]!);
    assert.deepEqual(clean.training.epochsRun, Array.from({ length: n }, (_, i) => i));
    assert.equal(resumed.training.backend, clean.training.backend, 'the retry trained on the backend the uninterrupted run used');
    assert.deepEqual(resumed.metrics.slice(0, k), clean.metrics.slice(0, k), 'the epochs before the kill trained as uninterrupted');
    assertAllClose(metricValues(resumed.metrics), metricValues(clean.metrics), 'metrics');
    assert.deepEqual([...resumed.weights.keys()].sort(), [...clean.weights.keys()].sort());
    assert.ok(clean.weights.size >= 6, `three dense layers' kernels and biases (${[...clean.weights.keys()].join(', ')})`);
    for (const [name, want] of clean.weights) assertAllClose(resumed.weights.get(name)!, want, `initializer ${name}`);

    const epoch = epochMs(run.checkpoints, 1);
    const resumedFirst = run.checkpoints.find((c) => c.attempt === 2)!;
    console.log(
      `      resume at epoch ${k} of ${n}: executor gone ${run.executorsGoneMs} ms after the kill; retry started ${run.retryStartedAt - run.killedAt} ms after it ` +
        `(heartbeat timeout ${SHAPE.heartbeatMs} ms); training again ~${resumedFirst.seenAt - epoch - run.killedAt} ms after it; one epoch ${epoch} ms`,
    );
  });
});
