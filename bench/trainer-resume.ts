/**
 * Figure: the Trainer's resume cost, the time from a worker SIGKILLed mid-training to the Trainer
 * training again on the next worker (already polling, as in a fleet), split into Temporal noticing the
 * dead worker and starting the retry (the heartbeat timeout, `--heartbeat-ms`) and the retry's startup
 * (executor process, tfjs, the splits' column files, the checkpoint restored). Baseline in the same
 * run: one epoch's time. The scenario is the crash-proof test's (test/pipeline/trainer-crash-scenario.ts):
 * penguins, examples/penguins/trainer.ts, a checkpoint every epoch; "training again" is when the
 * retry's first checkpoint was committed less one of its epochs.
 *   npm run build && node dist/bench/trainer-resume.js [--runs 3] [--epochs 20] [--heartbeat-ms 3000] [--batch 8]
 */
import type { ChildProcess } from 'node:child_process';
import { epochMs, runTrainerCrash, TRAINER_NODE } from '../test/pipeline/trainer-crash-scenario';
import { numberArg, runBench } from './support/bench-stack';
import { fmtMs, median } from './stats';

runBench(async (stack) => {
  const runs = numberArg('runs', 3);
  const shape = { epochs: numberArg('epochs', 20), batchSize: numberArg('batch', 8), seed: 7, heartbeatMs: numberArg('heartbeat-ms', 3000), cache: false };
  const rows: Array<{ epoch: number; retry: number; startup: number; resume: number }> = [];
  for (let r = 0; r < runs; r++) {
    const children: ChildProcess[] = [];
    try {
      const run = await runTrainerCrash(stack, { name: 'trainer-resume-bench', shape, killAfterEpoch: 3, identities: [`bench-${r}-a`, `bench-${r}-b`], children });
      const node = run.status.nodes[TRAINER_NODE]!;
      if (node.state !== 'succeeded' || node.attempt !== 2) throw new Error(`run ${r}: the Trainer ended ${node.state} on attempt ${node.attempt}: ${node.error ?? ''}`);
      const firstResumed = run.checkpoints.find((c) => c.attempt === 2)!;
      const trainingAgainAt = firstResumed.seenAt - epochMs(run.checkpoints, 2);
      rows.push({
        epoch: epochMs(run.checkpoints, 1),
        retry: run.retryStartedAt - run.killedAt,
        startup: trainingAgainAt - run.retryStartedAt,
        resume: trainingAgainAt - run.killedAt,
      });
      const last = rows.at(-1)!;
      console.log(`run ${r}: resumed at epoch ${run.durable.epoch + 1}; kill → retry started ${fmtMs(last.retry)}, → training again ${fmtMs(last.resume)}; one epoch ${fmtMs(last.epoch)}`);
    } finally {
      // The next run's Trainer must start on its own first worker, not on a survivor of this one.
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }
  const m = (key: keyof (typeof rows)[number]) => median(rows.map((row) => row[key]));
  console.log(`\nTrainer resume cost (penguins, ${shape.epochs} epochs of batch ${shape.batchSize}, heartbeat timeout ${shape.heartbeatMs} ms, median of ${runs}):`);
  console.log(`  kill → retry started on the next worker:  ${fmtMs(m('retry'))}  (Temporal's heartbeat timeout + retry interval + dispatch)`);
  console.log(`  retry started → training again:           ${fmtMs(m('startup'))}  (executor process, tfjs, column files, checkpoint restored)`);
  console.log(`  kill → training again (resume cost):      ${fmtMs(m('resume'))}`);
  console.log(`  baseline, one epoch in the same run:      ${fmtMs(m('epoch'))}  → resume cost = ${(m('resume') / m('epoch')).toFixed(1)} epochs`);
}, ['control']);
