import { parentPort } from 'node:worker_threads';
import { ExecutorRuntime, type ActivityMessage, type ExecutorMessage } from './executor-runtime';

/**
 * A long-lived executor thread: it runs one executor at a time, for as many runs as the pool gives
 * it, so thread start-up and module loading are paid once rather than per node.
 */
const port = parentPort!;
const runtime = new ExecutorRuntime((msg: ExecutorMessage) => port.postMessage(msg));
port.on('message', (msg: ActivityMessage) => runtime.receive(msg));
