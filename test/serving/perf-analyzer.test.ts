import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildMlpModel, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { perfAnalyzer } from '../support/test-tools';
import { startTestServer, type ServerUnderTest } from './serving-fixture';

const run = promisify(execFile);


describe("serving: NVIDIA's perf_analyzer (unmodified) against mlpipe", function () {
  let t: ServerUnderTest;
  let binary: string;

  before(async function () {
    binary = perfAnalyzer(this);
    t = await startTestServer((repo) => writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8, dynamic_batching: {} }));
  });
  after(() => t?.stop());

  const cases = [
    { protocol: 'http', sharedMemory: false },
    { protocol: 'grpc', sharedMemory: false },
    { protocol: 'http', sharedMemory: true },
    { protocol: 'grpc', sharedMemory: true },
  ] as const;
  for (const { protocol, sharedMemory } of cases) {
    const how = sharedMemory ? ', tensors in system shared memory' : '';
    it(`measures the small model over ${protocol}${how}, with the server-side statistics it reads from the server`, async () => {
      const url = protocol === 'http' ? `127.0.0.1:${t.server.httpPort}` : t.grpcAddress;
      const { stdout } = await run(
        binary,
        [
          ...['-m', 'small', '-u', url, '-i', protocol, '-b', '2', '--concurrency-range', '4'],
          ...['--measurement-interval', '1000', '--stability-percentage', '100', '--max-trials', '10'],
          ...(sharedMemory ? ['--shared-memory', 'system', '--output-shared-memory-size', '64'] : []),
        ],
        { timeout: 90_000 },
      );
      assert.doesNotMatch(stdout, /Unable to|Failed/, stdout);
      const throughput = /Throughput: ([\d.]+) infer\/sec/.exec(stdout);
      assert.ok(throughput && Number(throughput[1]) > 0, stdout);
      // perf_analyzer's server section comes from /v2/models/small/stats (gRPC: ModelStatistics).
      const server = /Inference count: (\d+)\s+Execution count: (\d+)\s+Successful request count: (\d+)/.exec(stdout);
      assert.ok(server, stdout);
      assert.equal(Number(server[1]), 2 * Number(server[3]), 'two rows per request');
      assert.match(stdout, /Avg request latency: \d+ usec \(overhead \d+ usec \+ queue \d+ usec \+ compute input \d+ usec \+ compute infer \d+ usec/);
    });
  }
});
