import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { EpochMetricsSchema, TrainerCheckpointStateSchema, type EpochMetrics } from '../../components/trainer/checkpoint-files';
import { Trainer } from '../../components/trainer/spec';
import { Transform } from '../../components/transform/spec';
import type { ArtifactStore } from '../../artifacts/store';
import { pipeline, type PipelineDefinition } from '../../dsl/compile';
import { penguinsTransform } from '../../examples/penguins/transform';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { vegaFile } from '../components/vega-data';
import { REPO_ROOT } from '../support/repo-root';
import type { TestStack } from './harness';

/**
 * The Trainer's crash-proof scenario on a real stack, shared by its test and its bench: penguins
 * through ExampleGen → StatisticsGen → SchemaGen → Transform → Trainer (examples/penguins/trainer.ts)
 * on two `mlpipe worker` processes; once the Trainer's checkpoint of a chosen epoch is committed, the
 * worker running it is SIGKILLed mid-epoch and the other (already polling, as in a fleet) finishes the
 * run from the checkpoint. Times come from watching the store's checkpoints and
 * Temporal's view of the activity, never from the processes' own clocks.
 */

const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');
const PENGUINS_TRAINER_MODULE = path.join(REPO_ROOT, 'examples', 'penguins', 'trainer.ts');
export const TRAINER_NODE = 'trainer';

export interface TrainerRunShape {
  epochs: number;
  batchSize: number;
  seed: number;
  /** The Trainer's heartbeat timeout: how soon a dead worker's attempt is given up. */
  heartbeatMs: number;
  cache?: boolean;
}

export function penguinsTrainingPipeline(name: string, shape: TrainerRunShape): PipelineDefinition {
  const examples = ExampleGen('example_gen', { parameters: { input: vegaFile('penguins.json') } });
  const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
  const schema = SchemaGen('schema_gen', { parameters: { label: 'Species' }, inputs: { statistics: statistics.outputs.statistics } });
  const transformed = Transform('transform', {
    parameters: { transform: penguinsTransform },
    inputs: { examples: examples.outputs.examples, schema: schema.outputs.schema },
  });
  const trainer = Trainer(TRAINER_NODE, {
    parameters: {
      module: PENGUINS_TRAINER_MODULE,
      label: 'species',
      epochs: shape.epochs,
      batchSize: shape.batchSize,
      seed: shape.seed,
      hyperparameters: { hidden: 16, learningRate: 0.01 },
    },
    inputs: { examples: transformed.outputs.transformedExamples, transformGraph: transformed.outputs.transformGraph, schema: schema.outputs.schema },
    timeouts: { heartbeatMs: shape.heartbeatMs },
    retry: { maximumAttempts: 3, initialIntervalMs: 100 },
    ...(shape.cache === false ? { cache: false } : {}),
  });
  return pipeline({ name, nodes: [examples, statistics, schema, transformed, trainer] });
}

/** A `mlpipe worker` on the cpu queue with the built-in components only (no --components); resolves once it polls. */
async function spawnCpuWorker(stack: TestStack, identity: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--queues', 'cpu', '--identity', identity], {
    env: { ...process.env, ...stack.env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${identity}] ${d}`));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/ polling /.test(out)) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`worker ${identity} exited (${signal ?? code}) before polling: ${out}`)));
  });
  return child;
}

/** /proc/<pid>/stat's state and parent (the command name, in parentheses, may hold spaces). */
function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Running, not a zombie: an orphan's parent may be slow to reap it, and a zombie runs nothing. */
function processRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The executor processes (activities/executor-process.js) a worker forked. */
function executorChildrenOf(workerPid: number): number[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      if (procStat(pid)?.ppid !== workerPid) return false;
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('executor-process.js');
      } catch {
        return false;
      }
    });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface SeenCheckpoint {
  /** `<n>-a<attempt>` under the node's `_checkpoints/`. */
  name: string;
  attempt: number;
  /** The last epoch it holds (0-based, as the Trainer's state says). */
  epoch: number;
  /** When its manifest was first seen: the checkpoint became durable at most one poll before. */
  seenAt: number;
}

const CheckpointStateFileSchema = z.object({ state: TrainerCheckpointStateSchema });

/** Lists a node's `_checkpoints/` every few ms and records each committed checkpoint as it appears. */
class CheckpointWatcher {
  readonly seen: SeenCheckpoint[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;
  /** Looks one at a time, so a checkpoint is never recorded twice. */
  private looking: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ArtifactStore,
    readonly prefix: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.poll();
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  poll(): Promise<void> {
    this.looking = this.looking.then(() => this.look());
    return this.looking;
  }

  /** A checkpoint removed between listing and reading is simply not seen. */
  private async look(): Promise<void> {
    const names = new Set<string>();
    for await (const o of this.store.list(this.prefix)) names.add(o.key.slice(this.prefix.length + 1).split('/')[0]!);
    const known = new Set(this.seen.map((s) => s.name));
    for (const name of names) {
      const match = /^\d+-a(\d+)$/.exec(name);
      if (!match || known.has(name)) continue;
      const at = Date.now();
      if (!(await this.store.readManifest(this.store.uriFor(`${this.prefix}/${name}`)))) continue;
      const state = await this.store.getObjectBuffer(`${this.prefix}/${name}/state.json`).catch(() => undefined);
      if (!state) continue;
      const { epoch } = CheckpointStateFileSchema.parse(JSON.parse(state.toString('utf8'))).state;
      this.seen.push({ name, attempt: Number(match[1]), epoch, seenAt: at });
    }
  }

  async metricsOf(name: string): Promise<EpochMetrics[]> {
    const bytes = await this.store.getObjectBuffer(`${this.prefix}/${name}/files/metrics.json`);
    return z.array(EpochMetricsSchema).parse(JSON.parse(bytes.toString('utf8')));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Temporal's view of the Trainer's activity: its attempt, and when that attempt started (server clock). */
async function pendingTrainerAttempt(handle: WorkflowHandle): Promise<{ attempt: number; startedAt?: number } | undefined> {
  const { raw } = await handle.describe();
  const activity = (raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'executeComponent');
  if (!activity) return undefined;
  const started = activity.lastStartedTime;
  const running = activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  const startedAt = running && started ? Number(started.seconds) * 1000 + Math.round((started.nanos ?? 0) / 1e6) : undefined;
  return { attempt: activity.attempt ?? 0, ...(startedAt !== undefined ? { startedAt } : {}) };
}

export interface TrainerCrashRun {
  handle: WorkflowHandle;
  status: PipelineStatus;
  /** The identities of the worker that ran the Trainer first and was killed, and of the one left. */
  killed: string;
  survivor: string;
  killedAt: number;
  /** The executor processes the killed worker had forked, and how soon after the kill all were gone. */
  executorPids: number[];
  executorsGoneMs: number;
  /** The latest checkpoint durable when the worker died: where the retry must resume. */
  durable: SeenCheckpoint;
  durableMetrics: EpochMetrics[];
  /** When Temporal started the retry on the other worker (its server's clock, on this machine). */
  retryStartedAt: number;
  checkpoints: SeenCheckpoint[];
}

/**
 * Runs the scenario: two workers polling before the run starts (a worker's start takes longer than
 * a few epochs); whichever runs the Trainer is SIGKILLed as soon as the checkpoint of epoch
 * `killAfterEpoch` (0-based) is committed, and the other finishes.
 */
export async function runTrainerCrash(stack: TestStack, options: { name: string; shape: TrainerRunShape; killAfterEpoch: number; identities: [string, string]; children: ChildProcess[] }): Promise<TrainerCrashRun> {
  const workers = await Promise.all(options.identities.map((id) => spawnCpuWorker(stack, id)));
  options.children.push(...workers);
  const handle = await stack.start(penguinsTrainingPipeline(options.name, options.shape));
  const { runId } = await handle.describe();
  const watcher = new CheckpointWatcher(stack.store, `pipelines/${options.name}/runs/${runId}/${TRAINER_NODE}/_checkpoints`);
  try {
    await until(`the Trainer checkpointed epoch ${options.killAfterEpoch}`, () => watcher.seen.some((s) => s.epoch >= options.killAfterEpoch), 60_000, 5);
    // Its parent gone, an orphan cannot be told apart by its parent any more: list them first.
    const forked = workers.map((w) => executorChildrenOf(w.pid!));
    const victim = forked.findIndex((pids) => pids.length > 0);
    assert.ok(victim >= 0 && forked[1 - victim]!.length === 0, `one worker runs the Trainer's executor process (${JSON.stringify(forked)})`);
    const executorPids = forked[victim]!;
    const first = workers[victim]!;
    first.kill('SIGKILL');
    const killedAt = Date.now();
    await until('the killed worker is gone', () => first.exitCode !== null || first.signalCode !== null, 5000, 5);
    await until('its executor processes are gone', () => executorPids.every((pid) => !processRunning(pid)), 10_000, 5);
    const executorsGoneMs = Date.now() - killedAt;

    // Nothing commits for the dead worker any more: the latest checkpoint now is the one the retry gets.
    await watcher.poll();
    const durable = watcher.seen.filter((s) => s.attempt === 1).at(-1)!;
    const durableMetrics = await watcher.metricsOf(durable.name);

    let retryStartedAt: number | undefined;
    await until(
      'Temporal started the retry',
      async () => {
        const pending = await pendingTrainerAttempt(handle);
        if (pending && pending.attempt >= 2 && pending.startedAt !== undefined) retryStartedAt = pending.startedAt;
        return retryStartedAt !== undefined;
      },
      30_000,
      25,
    );
    await handle.result();
    const status = (await handle.query('status')) as PipelineStatus;
    return {
      handle,
      status,
      killed: options.identities[victim]!,
      survivor: options.identities[1 - victim]!,
      killedAt,
      executorPids,
      executorsGoneMs,
      durable,
      durableMetrics,
      retryStartedAt: retryStartedAt!,
      checkpoints: watcher.seen,
    };
  } finally {
    await watcher.stop();
  }
}

/** The median gap between consecutive checkpoints of one attempt: one epoch's time, its checkpoint included. */
export function epochMs(checkpoints: SeenCheckpoint[], attempt: number): number {
  const times = checkpoints.filter((c) => c.attempt === attempt).map((c) => c.seenAt);
  const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
  assert.ok(gaps.length > 0, `attempt ${attempt} committed two checkpoints at least`);
  return gaps[Math.floor(gaps.length / 2)]!;
}
