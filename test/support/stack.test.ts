import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import * as Minio from 'minio';
import { locateServerBinary, serverBinDir } from '../../stack/binaries';
import { ensureServerBinary } from '../../stack/build-server';
import { freePort } from '../../stack/free-port';
import { startMinio } from '../../stack/minio-server';
import { PIPELINE_SEARCH_ATTRIBUTE, startTemporalDevServer } from '../../stack/temporal-dev-server';
import { testMinio, testTemporal } from './servers';
import { REPO_ROOT } from './repo-root';
import { tempDir } from './tmp';
import { processAlive } from '../../stack/process-alive';


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

  it('tells the user the command that builds a missing binary', async () => {
    const empty = await tempDir('no-binaries');
    assert.throws(
      () => locateServerBinary('minio', { env: { MLPIPE_BIN_DIR: empty } }),
      (err: Error) => err.message.includes(`bash ${path.join(REPO_ROOT, 'scripts', 'build-servers.sh')} minio`) && err.message.includes(path.join(empty, 'minio')),
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
      await assert.rejects(startTemporalDevServer({ dbFile: path.join(empty, 't.db') }), /build-servers\.sh temporal/);
      await assert.rejects(startMinio({ dataDir: path.join(empty, 'data') }), /build-servers\.sh minio/);
    } finally {
      if (saved === undefined) delete process.env.MLPIPE_BIN_DIR;
      else process.env.MLPIPE_BIN_DIR = saved;
    }
  });
});

/**
 * A stand-in for Go that "builds" a server in milliseconds: a real build takes minutes (CI's first
 * `npm run demo` on a fresh machine does one). It answers the three go commands build-servers.sh uses.
 */
const FAKE_GO = `#!/bin/sh
case "$1" in
  env) echo go1.26.0 ;;
  version) sed -n 's/^# mod /\tmod\t/p' "$3" | tr ' ' '\t' ;;
  install)
    echo "go: downloading example.com/dependency v1.0.0" >&2
    [ -n "$FAKE_GO_FAIL" ] && { echo "go: $FAKE_GO_FAIL" >&2; exit 1; }
    name=$(basename "\${2%@*}")
    printf '#!/bin/sh\n# mod %s %s\n' "$(dirname "$(dirname "\${2%@*}")")" "\${2#*@}" > "$GOBIN/$name"
    chmod +x "$GOBIN/$name" ;;
esac
`;

describe('stack: a server is built the first time something needs it', () => {
  async function fakeGoEnv(extra: Record<string, string> = {}) {
    const dir = await tempDir('fake-go');
    await writeFile(path.join(dir, 'go'), FAKE_GO);
    await chmod(path.join(dir, 'go'), 0o755);
    const binDir = path.join(dir, 'bin');
    return { binDir, env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, MLPIPE_BIN_DIR: binDir, ...extra } };
  }

  it('says what it builds, why, and about how long; keeps Go\'s output in a log; reuses the binary after', async () => {
    const { binDir, env } = await fakeGoEnv();
    const said: string[] = [];
    const binary = await ensureServerBinary('temporal', { env, neededBy: 'the embedded stack of `mlpipe run`', say: (l) => said.push(l) });
    assert.equal(binary, path.join(binDir, 'temporal'));
    const log = path.join(binDir, 'build-temporal.log');
    assert.deepEqual(said.slice(0, 2), [
      `mlpipe: the embedded stack of \`mlpipe run\` needs the Temporal CLI (its dev server runs your pipelines), which is not built yet: building it with Go (log: ${log})`,
      'mlpipe: building temporal v1.5.1 with go1.26.0 (go install github.com/temporalio/cli/cmd/temporal@v1.5.1): about 4 min on a 2-core machine, once per machine',
    ]);
    assert.match(said[2]!, new RegExp(`^mlpipe: built temporal in \\d+ s; later runs reuse ${binary.replace(/[.]/g, '\\.')}$`));
    assert.equal(said.length, 3, said.join('\n'));
    assert.match(readFileSync(log, 'utf8'), /go: downloading example\.com\/dependency/);
    said.length = 0;
    assert.equal(await ensureServerBinary('temporal', { env, neededBy: 'again', say: (l) => said.push(l) }), binary);
    assert.deepEqual(said, [], 'a built server is used as is');
  });

  it('a failed build names the log and shows its last lines', async () => {
    const { env } = await fakeGoEnv({ FAKE_GO_FAIL: 'module lookup disabled by GOPROXY=off' });
    await assert.rejects(
      ensureServerBinary('minio', { env, neededBy: 'mlpipe dev --minio', say: () => undefined }),
      (err: Error) => /building minio failed \(exit 1\); the last lines of .*build-minio\.log:/.test(err.message) && /module lookup disabled by GOPROXY=off/.test(err.message),
    );
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
    assert.equal(processAlive(server.pid), false);
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
    assert.ok(processAlive(serverPid));
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (processAlive(serverPid) && Date.now() < deadline) await sleep(100);
    assert.equal(processAlive(serverPid), false, `minio (pid ${serverPid}) outlived its parent`);
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
