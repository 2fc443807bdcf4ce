import { ExecutorRuntime, type ActivityMessage, type ExecutorMessage } from './executor-runtime';

/**
 * An executor in its own process (a component whose executor says `runIn: 'process'`): one run per
 * process, spoken to over the IPC channel with the same messages an executor thread gets.
 */
if (!process.send) throw new Error('executor-process must be started with an IPC channel');
const send = process.send.bind(process);
const runtime = new ExecutorRuntime((msg: ExecutorMessage) => {
  send(msg);
});
process.on('message', (msg: ActivityMessage) => runtime.receive(msg));
// The activity disconnects when the run is over, and the channel closes when its worker dies: an
// executor left running by a dead worker would compete with the retry for the same checkpoints.
process.on('disconnect', () => process.exit(0));
