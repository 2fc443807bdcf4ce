import { z } from 'zod';
import { s3SourcesOf } from '../artifacts/s3-sources';
import type { ResolvedConfig } from '../config/config';
import { curlCommand, type ExampleRequest } from '../components/infra-validator/example-request';
import { PUSH_FILE, PushRecordSchema } from '../components/pusher/payload';
import { openModelRepository } from '../components/pusher/repository';
import type { PipelineStatus } from '../workflows/pipeline-types';
import { CliError, untilInterrupted } from './cli-context';

/** What a Pusher node's summary says of the version it pushed, or found already serving. */
const PushSummarySchema = z.object({ pushed: z.boolean(), repository: z.string(), model: z.string(), version: z.number().int().positive() });
type PushSummary = z.infer<typeof PushSummarySchema>;

/** The model versions a run's Pusher nodes pushed (or found serving already), in node order. */
export function pushedVersions(status: PipelineStatus): PushSummary[] {
  return Object.values(status.nodes).flatMap((n) => {
    const parsed = PushSummarySchema.safeParse(n.summary);
    return parsed.success && (n.state === 'succeeded' || n.state === 'cached') ? [parsed.data] : [];
  });
}

async function exampleRequestOf(pushed: PushSummary, config: ResolvedConfig): Promise<ExampleRequest | undefined> {
  const store = await openModelRepository(pushed.repository, undefined, s3SourcesOf(config));
  try {
    const record = PushRecordSchema.parse(JSON.parse((await store.getObjectBuffer(`${pushed.model}/${pushed.version}/${PUSH_FILE}`)).toString('utf8')));
    return record.exampleRequest;
  } finally {
    await store.close();
  }
}

/**
 * `mlpipe run --serve`: the model the run pushed, served by `mlpipe serve` in this process on its
 * default ports; the run's own example row is sent once, as the printed `curl` sends it, so the
 * command a person pastes is known to answer. Stays up until Ctrl-C where a person is at the
 * terminal; elsewhere (CI, a pipe) it stops after that one answer.
 */
export async function servePushedModel(status: PipelineStatus, config: ResolvedConfig, say: (line: string) => void, ports: { httpPort: number; grpcPort: number }): Promise<void> {
  const [pushed, ...others] = pushedVersions(status);
  if (!pushed) throw new CliError('--serve: the run pushed no model (it has no Pusher node, or its Pusher did not run)');
  if (others.some((o) => o.repository !== pushed.repository)) {
    throw new CliError(`--serve: the run pushed to several repositories (${[pushed, ...others].map((p) => p.repository).join(', ')}); serve one with \`mlpipe serve --repository <uri>\``);
  }
  const request = await exampleRequestOf(pushed, config);
  // Loaded here: onnxruntime and gRPC take ~250 ms to load, which runs without --serve would pay.
  const { startModelServer, ServerListenError } = require('../serving/server') as typeof import('../serving/server');
  const server = await startModelServer({
    repository: pushed.repository,
    ...ports,
    ...(config.s3 ? { s3: config.s3 } : {}),
  }).catch((err: unknown) => {
    // The run succeeded: a busy port is the user's to choose around, not a crash.
    if (err instanceof ServerListenError) throw new CliError(`--serve: ${err.message} (\`--serve <port>\` takes HTTP <port> and gRPC the next; \`--serve 0\` free ones)`);
    throw err;
  });
  try {
    const http = `http://${server.host}:${server.httpPort}`;
    const versions = server.repository.servingVersions(pushed.model);
    say(`mlpipe serve: ${pushed.repository}: ${pushed.model} version ${versions.join(', ') || '(none)'} on ${http} (OIP v2 /v2, TF Serving /v1) and gRPC ${server.host}:${server.grpcPort}`);
    if (!request) {
      say(`  (the InfraValidator recorded no example row; send one to ${http}/v1/models/${pushed.model}:predict)`);
    } else {
      const response = await fetch(`${http}/v1/models/${pushed.model}:predict`, { method: 'POST', body: JSON.stringify(request) });
      const answer = await response.text();
      if (!response.ok) throw new CliError(`--serve: the served model refused the run's example row (HTTP ${response.status}): ${answer}`);
      say('ask it yourself, from another terminal:');
      say(`  ${curlCommand(http, pushed.model, request)}`);
      say(`its answer: ${answer.trim()}`);
    }
    if (process.stdin.isTTY && process.stdout.isTTY) {
      say('serving until Ctrl-C');
      await untilInterrupted();
    } else {
      say(`no terminal to stop it from, so the server stops now; \`mlpipe serve --repository ${pushed.repository}\` serves it again`);
    }
  } finally {
    await server.stop();
  }
}
