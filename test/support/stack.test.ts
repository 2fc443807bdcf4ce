import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import * as Minio from 'minio';
import { locateServerBinary, serverBinDir } from '../../stack/binaries';
import { freePort } from '../../stack/free-port';
import { startMinio } from '../../stack/minio-server';
import { PIPELINE_SEARCH_ATTRIBUTE, startTemporalDevServer } from '../../stack/temporal-dev-server';
import { testMinio, testTemporal } from './servers';
import { tempDir } from './tmp';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('stack: server binaries', () => {
  it('finds both servers in the per-user cache', () => {
    for (const name of ['temporal', 'minio'] as const) {
      assert.equal(locateServerBinary(name), path.join(serverBinDir(), name));
    }
  });

  it('puts the cache under XDG_CACHE_HOME unless MLPIPE_BIN_DIR says otherwise', () => {
    assert.equal(serverBinDir({ HOME: '/home/u', XDG_CACHE_HOME: '/cache' }), '/cache/mlpipe/bin');
    assert.equal(serverBinDir({ HOME: '/home/u' }), '/home/u/.cache/mlpipe/bin');
    assert.equal(serverBinDir({ HOME: '/home/u', MLPIPE_BIN_DIR: '/opt/bin' }), '/opt/bin');
  });

  it('tells the user to run npm run setup:servers when a binary is missing', async () => {
    const empty = await tempDir('no-binaries');
    assert.throws(
      () => locateServerBinary('minio', { env: { MLPIPE_BIN_DIR: empty } }),
      (err: Error) => err.message.includes('npm run setup:servers') && err.message.includes(path.join(empty, 'minio')),
    );
  });

  it('uses binaries from PATH only when asked, and says so when they are not there', async () => {
    const dir = await tempDir('path-binaries');
    const fake = path.join(dir, 'temporal');
    await writeFile(fake, '#!/bin/sh\n');
    await chmod(fake, 0o755);
    assert.equal(locateServerBinary('temporal', { env: { PATH: dir, MLPIPE_USE_PATH_BINARIES: '1' } }), fake);
    assert.equal(locateServerBinary('temporal', { usePath: true, env: { PATH: dir } }), fake);
    assert.throws(
      () => locateServerBinary('minio', { usePath: true, env: { PATH: dir } }),
      /'minio' was not found on PATH.*MLPIPE_USE_PATH_BINARIES/,
    );
  });

  it('fails to start a server whose binary is missing, with the same advice', async () => {
    const empty = await tempDir('no-binaries');
    const saved = process.env.MLPIPE_BIN_DIR;
    process.env.MLPIPE_BIN_DIR = empty;
    try {
      await assert.rejects(startTemporalDevServer({ dbFile: path.join(empty, 't.db') }), /npm run setup:servers/);
      await assert.rejects(startMinio({ dataDir: path.join(empty, 'data') }), /npm run setup:servers/);
    } finally {
      if (saved === undefined) delete process.env.MLPIPE_BIN_DIR;
      else process.env.MLPIPE_BIN_DIR = saved;
    }
  });
});

describe('stack: freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('stack: Temporal dev server', () => {
  it('starts on free ports with the UI, a custom namespace and the pipeline search attribute, and stops', async () => {
    const dir = await tempDir('temporal-ui');
    const server = await startTemporalDevServer({ dbFile: path.join(dir, 'db', 'temporal.db'), namespace: 'mlpipe-test', port: 0 });
    try {
      assert.equal(server.address, `127.0.0.1:${server.port}`);
      assert.notEqual(server.port, 0);
      assert.ok(server.uiPort !== null && server.uiPort !== server.port);
      assert.equal(server.uiUrl, `http://127.0.0.1:${server.uiPort}`);
      const ui = await fetch(server.uiUrl);
      assert.equal(ui.status, 200);
      const connection = await Connection.connect({ address: server.address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'mlpipe-test' });
        assert.equal(customAttributes[PIPELINE_SEARCH_ATTRIBUTE], temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
    assert.equal(isRunning(server.pid), false);
    assert.equal(await acceptsConnections(server.port), false);
  });

  it('keeps workflow state in its SQLite file across a restart', async () => {
    const dir = await tempDir('temporal-restart');
    const dbFile = path.join(dir, 'temporal.db');
    const first = await startTemporalDevServer({ dbFile, headless: true });
    assert.equal(first.uiUrl, null);
    const workflowId = 'survives-restart';
    try {
      const connection = await Connection.connect({ address: first.address });
      // No worker polls this queue: the workflow just waits, which is all a persistence check needs.
      await new Client({ connection }).workflow.start('neverRuns', { taskQueue: 'nobody-polls', workflowId });
      await connection.close();
    } finally {
      await first.stop();
    }
    const second = await startTemporalDevServer({ dbFile, headless: true });
    try {
      const connection = await Connection.connect({ address: second.address });
      const description = await new Client({ connection }).workflow.getHandle(workflowId).describe();
      assert.equal(description.status.name, 'RUNNING');
      await connection.close();
    } finally {
      await second.stop();
    }
  });

  it('reports a port that is already taken, with the server output', async () => {
    const dir = await tempDir('temporal-clash');
    // Connections the readiness probe makes to the blocker are dropped, so close() can finish.
    const blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startTemporalDevServer({ dbFile: path.join(dir, 't.db'), port: taken, headless: true }),
        (err: Error) => /temporal dev server (exited|was killed|did not answer)/.test(err.message) && /address already in use/i.test(err.message),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('stack: MinIO', () => {
  it('serves the S3 API on a free port with the given credentials, and stops', async () => {
    const dir = await tempDir('minio');
    const server = await startMinio({
      dataDir: path.join(dir, 'data'),
      consolePort: 0,
      accessKey: 'stacktest',
      secretKey: 'stacktest-secret',
    });
    try {
      assert.equal(server.endpoint, `http://127.0.0.1:${server.port}`);
      assert.ok(server.consoleUrl?.startsWith('http://127.0.0.1:'));
      assert.equal((await fetch(server.consoleUrl!)).status, 200);
      const client = new Minio.Client({ endPoint: '127.0.0.1', port: server.port, useSSL: false, accessKey: 'stacktest', secretKey: 'stacktest-secret' });
      await client.makeBucket('roundtrip');
      await client.putObject('roundtrip', 'a/b.txt', Buffer.from('hello'));
      const chunks: Buffer[] = [];
      for await (const chunk of await client.getObject('roundtrip', 'a/b.txt')) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), 'hello');
      const intruder = new Minio.Client({ endPoint: '127.0.0.1', port: server.port, useSSL: false, accessKey: 'stacktest', secretKey: 'wrong-secret' });
      await assert.rejects(intruder.listBuckets(), /signature|SignatureDoesNotMatch/i);
    } finally {
      await server.stop();
    }
    assert.equal(await acceptsConnections(server.port), false);
  });

  it('keeps the console off unless a console port is given', async () => {
    const dir = await tempDir('minio-noconsole');
    await mkdir(dir, { recursive: true });
    const server = await startMinio({ dataDir: path.join(dir, 'data') });
    try {
      assert.equal(server.consoleUrl, null);
      assert.equal((await fetch(`${server.endpoint}/minio/health/live`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});

describe('stack: servers die with the process that started them', () => {
  it('takes MinIO down when its parent is SIGKILLed, which no exit handler sees', async () => {
    const dir = await tempDir('orphan');
    const runsFromSources = __filename.endsWith('.ts');
    const script = `
      const { startMinio } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'stack', 'minio-server'))});
      startMinio({ dataDir: ${JSON.stringify(path.join(dir, 'data'))} }).then((s) => process.stdout.write(s.pid + '\\n'));
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, [...(runsFromSources ? ['--require', 'tsx/cjs'] : []), '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const serverPid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', (code) => reject(new Error(`fixture exited with ${code} before starting MinIO`)));
    });
    assert.ok(isRunning(serverPid));
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isRunning(serverPid) && Date.now() < deadline) await sleep(100);
    assert.equal(isRunning(serverPid), false, `minio (pid ${serverPid}) outlived its parent`);
  });
});

describe('test harness servers', () => {
  it('shares one Temporal dev server and one MinIO per test process', async () => {
    const [t1, t2] = await Promise.all([testTemporal(), testTemporal()]);
    assert.equal(t1, t2);
    const [m1, m2] = await Promise.all([testMinio(), testMinio()]);
    assert.equal(m1, m2);
    assert.equal((await fetch(`${m1.endpoint}/minio/health/live`)).status, 200);
    const connection = await Connection.connect({ address: t1.address });
    await connection.workflowService.describeNamespace({ namespace: t1.namespace });
    await connection.close();
  });
});
