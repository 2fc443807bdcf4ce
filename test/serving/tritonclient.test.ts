import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildIdentityModel, buildMlpModel, OnnxElementType, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { tritonclientPython } from '../support/test-tools';
import { assertClose, mlpReference } from './mlp-reference';
import { startTestServer } from './serving-fixture';

const run = promisify(execFile);


/** The Python scripts stay in test/serving; from dist this file runs two levels further down. */
function pythonScript(name: string): string {
  return __filename.endsWith('.ts') ? path.join(__dirname, name) : path.join(__dirname, '..', '..', '..', 'test', 'serving', name);
}

describe("serving: NVIDIA's tritonclient (Python, unmodified) against mlpipe", function () {
  let python: string;
  before(function () {
    python = tritonclientPython(this);
  });

  it('passes health, metadata, config, JSON and binary inference, every tested datatype, statistics and errors', async () => {
    const t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 64, dynamic_batching: {} });
      await writeModelVersion(
        repo,
        'identity',
        1,
        buildIdentityModel([
          { name: 'f32', elemType: OnnxElementType.FLOAT, dims: [2] },
          { name: 'i64', elemType: OnnxElementType.INT64, dims: [2] },
          { name: 'b', elemType: OnnxElementType.BOOL, dims: [2] },
          { name: 's', elemType: OnnxElementType.STRING, dims: [2] },
          { name: 'h', elemType: OnnxElementType.FLOAT16, dims: [2] },
        ]),
        { max_batch_size: 8 },
      );
    });
    try {
      const { stdout } = await run(python, [pythonScript('tritonclient_check.py'), `127.0.0.1:${t.server.httpPort}`, t.grpcAddress], {
        timeout: 60_000,
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        x: number[][];
        http_small: number[][];
        http_unknown_model: string;
        grpc_bad_shape: { status: string; message: string };
        grpc_stream: Record<string, string>;
        shared_memory: string[];
      };
      // The script checks every other answer of 'small' against this one.
      assert.equal(seen.http_small.length, 2);
      assertClose(seen.http_small.flat(), mlpReference(SMALL_MLP)(seen.x.flat()), 'tritonclient HTTP answer');
      assert.match(seen.http_unknown_model, /unknown model 'nope'/);
      assert.equal(seen.grpc_bad_shape.status, 'StatusCode.INVALID_ARGUMENT');
      assert.match(seen.grpc_bad_shape.message, /shape \[1, 3\] does not match/);
      assert.equal(seen.grpc_stream['row0'], 'ok');
      assert.equal(seen.grpc_stream['row1'], 'ok');
      assert.match(seen.grpc_stream['error']!, /shape \[1, 3\] does not match/);
      assert.deepEqual(seen.shared_memory, ['http', 'grpc']);
    } finally {
      await t.stop();
    }
  });

  it('loads and unloads models in explicit model control mode over HTTP and gRPC', async () => {
    const t = await startTestServer(
      async (repo) => {
        await writeModelVersion(repo, 'iris_a', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 });
        await writeModelVersion(repo, 'iris_b', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 });
      },
      { modelControlMode: 'explicit', loadModels: ['iris_a'] },
    );
    try {
      const { stdout } = await run(python, [pythonScript('tritonclient_model_control.py'), `127.0.0.1:${t.server.httpPort}`, t.grpcAddress], {
        timeout: 60_000,
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1)!) as { http_load_missing: string; grpc_index: Record<string, string> };
      assert.match(seen.http_load_missing, /failed to load 'nope'/);
      assert.deepEqual(seen.grpc_index, { iris_a: 'READY', iris_b: 'UNAVAILABLE' });
    } finally {
      await t.stop();
    }
  });
});
