import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { buildMlpModel, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { tempDir } from '../support/tmp';
import { grpcClient, postJson, request } from './serving-fixture';
import { servedPorts, serveProcess } from './serve-process';

describe('serving: mlpipe serve', function () {
  it('serves a repository on free ports it prints, and drains on SIGTERM', async () => {
    const repo = await tempDir('serve-cli');
    await writeModelVersion(repo, 'iris', 1, buildMlpModel(SMALL_MLP));
    await mkdir(path.join(repo, 'broken', '1'), { recursive: true });
    await writeFile(path.join(repo, 'broken', '1', 'model.onnx'), 'not an onnx model');
    const p = serveProcess(['--repository', `file://${repo}`, '--http-port', '0', '--grpc-port', '0', '--poll-interval-ms', '500']);
    try {
      const { http: httpPort, grpc: grpcPort } = await servedPorts(p);
      assert.ok(httpPort > 0 && grpcPort > 0 && httpPort !== 8000);
      assert.match(p.out(), /^ {2}models: iris \(version 1\) \(model control mode poll\)$/m, 'a model that failed to load is not listed as served');
      assert.match(p.out(), /^ {2}not serving: broken \(version 1 failed: .+\)$/m, p.out());
      assert.equal((await request(`http://127.0.0.1:${httpPort}/v2/models/iris/ready`)).status, 200);
      // As Triton's, the server is not ready while a model in its repository failed to load.
      assert.equal((await request(`http://127.0.0.1:${httpPort}/v2/health/ready`)).status, 503);
      const reply = await postJson(`http://127.0.0.1:${httpPort}/v2/models/iris/infer`, {
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
      });
      assert.equal(reply.status, 200);
      const client = grpcClient(`127.0.0.1:${grpcPort}`);
      assert.deepEqual(await client.call('ModelReady')({ name: 'iris' }), { ready: true });
      assert.deepEqual(await client.call('ServerReady')({}), { ready: false });
      client.close();
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
      assert.match(p.out(), /SIGTERM: draining in-flight requests/);
      assert.match(p.err(), /unloaded iris version 1/);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('rejects bad flags and repositories with messages naming them', async () => {
    const badPort = serveProcess(['--repository', '/tmp', '--http-port', 'eighty']);
    assert.equal(await badPort.exited, 2);
    assert.match(badPort.err(), /--http-port: expected a whole number/);
    const tooBig = serveProcess(['--repository', '/tmp', '--grpc-port', '70000']);
    assert.equal(await tooBig.exited, 2);
    assert.match(tooBig.err(), /--grpc-port: expected at most 65535/);
    const missing = serveProcess(['--repository', '/nonexistent/models', '--http-port', '0', '--grpc-port', '0']);
    assert.equal(await missing.exited, 2);
    assert.match(missing.err(), /model repository '\/nonexistent\/models': \/nonexistent\/models is not a directory/);
    const scheme = serveProcess(['--repository', 'gs://bucket/models', '--http-port', '0', '--grpc-port', '0']);
    assert.equal(await scheme.exited, 2);
    assert.match(scheme.err(), /unsupported scheme; expected file:\/\/, s3:\/\/ or a directory path/);
    const repo = await tempDir('serve-cli-busy');
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const busyPort = (blocker.address() as net.AddressInfo).port;
    const busy = serveProcess(['--repository', repo, '--http-port', String(busyPort), '--grpc-port', '0']);
    assert.equal(await busy.exited, 2);
    assert.match(busy.err(), new RegExp(`cannot listen for HTTP on 127\\.0\\.0\\.1:${busyPort}: .*EADDRINUSE`));
    blocker.close();
    const notExplicit = serveProcess(['--repository', repo, '--load-model', 'iris']);
    assert.equal(await notExplicit.exited, 2);
    assert.match(notExplicit.err(), /--load-model needs --model-control-mode explicit/);
    const missingModel = serveProcess(['--repository', repo, '--http-port', '0', '--grpc-port', '0', '--model-control-mode', 'explicit', '--load-model', 'iris']);
    assert.equal(await missingModel.exited, 2);
    assert.match(missingModel.err(), /--load-model 'iris': no such model directory in /);
    const badMode = serveProcess(['--repository', repo, '--model-control-mode', 'manual']);
    assert.equal(await badMode.exited, 2);
    assert.match(badMode.err(), /--model-control-mode: expected none, poll or explicit/);
  });
});
