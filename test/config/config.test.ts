import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, redactConfig, resolveConfig } from '../../config/config';
import { tempDir } from '../support/tmp';
import { describeResult, runCli } from '../cli/cli-process';

/** The ConfigError loadConfig throws for these inputs; fails when it accepts them. */
function configError(options: Parameters<typeof loadConfig>[0]): string {
  try {
    loadConfig(options);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error)?.stack}`);
    return err.message;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(options?.env)}`);
}

describe('configuration (loadConfig, resolveConfig, redactConfig)', function () {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir('config');
  });
  const writeConfigFile = (values: unknown, name = 'mlpipe.config.json') => {
    const file = path.join(cwd, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, typeof values === 'string' ? values : JSON.stringify(values));
    return file;
  };

  describe('defaults', function () {
    it('with nothing configured: home ./.mlpipe, no Temporal address (embedded stack), namespace default, every queue', () => {
      const config = loadConfig({ env: {}, cwd });
      assert.equal(config.home, path.join(cwd, '.mlpipe'));
      assert.equal(config.temporalAddress, undefined);
      assert.equal(config.temporalNamespace, 'default');
      assert.deepEqual(config.worker.queues, ['control', 'cpu', 'gpu']);
      assert.equal(config.useBinariesOnPath, false);
    });

    it('resolveConfig puts artifacts (file://) and the SQLite metadata database under home', () => {
      const resolved = resolveConfig(loadConfig({ env: {}, cwd }));
      assert.equal(resolved.artifactRoot, `file://${path.join(cwd, '.mlpipe', 'artifacts')}`);
      assert.equal(resolved.metadataUrl, `sqlite://${path.join(cwd, '.mlpipe', 'metadata.db')}`);
    });

    it('a relative MLPIPE_HOME is taken relative to the working directory', () => {
      assert.equal(loadConfig({ env: { MLPIPE_HOME: 'state/here' }, cwd }).home, path.join(cwd, 'state', 'here'));
    });
  });

  describe('sources and precedence', function () {
    it('reads ./mlpipe.config.json', () => {
      writeConfigFile({ temporalAddress: 'temporal.internal:7233', artifactRoot: 'file:///srv/artifacts', worker: { queues: ['cpu'] } });
      const config = loadConfig({ env: {}, cwd });
      assert.equal(config.temporalAddress, 'temporal.internal:7233');
      assert.equal(config.artifactRoot, 'file:///srv/artifacts');
      assert.deepEqual(config.worker.queues, ['cpu']);
    });

    it('reads the file $MLPIPE_CONFIG names (relative to the working directory) instead', () => {
      writeConfigFile({ temporalAddress: 'default-file:7233' });
      writeConfigFile({ temporalAddress: 'named-file:7233' }, 'conf/prod.json');
      assert.equal(loadConfig({ env: { MLPIPE_CONFIG: 'conf/prod.json' }, cwd }).temporalAddress, 'named-file:7233');
    });

    it('a missing $MLPIPE_CONFIG file is an error naming the variable and the file', () => {
      const message = configError({ env: { MLPIPE_CONFIG: 'missing.json' }, cwd });
      assert.match(message, /MLPIPE_CONFIG=missing\.json/);
      assert.match(message, /not found/);
    });

    it('environment variables beat the file; explicit overrides beat both', () => {
      writeConfigFile({ temporalAddress: 'from-file:7233', temporalNamespace: 'file-ns', artifactRoot: 'file:///from/file' });
      const env = { MLPIPE_TEMPORAL_ADDRESS: 'from-env:7233', MLPIPE_ARTIFACT_ROOT: 'file:///from/env' };
      const config = loadConfig({ env, cwd });
      assert.equal(config.temporalAddress, 'from-env:7233');
      assert.equal(config.artifactRoot, 'file:///from/env');
      assert.equal(config.temporalNamespace, 'file-ns', 'what the environment does not set still comes from the file');
      assert.equal(loadConfig({ env, cwd, overrides: { temporalAddress: 'from-flag:7233' } }).temporalAddress, 'from-flag:7233');
    });

    it('S3 settings merge key by key: endpoint and key in the file, the secret from the environment', () => {
      writeConfigFile({ artifactRoot: 's3://ml-artifacts/prod', s3: { endpoint: 'http://minio.internal:9000', accessKey: 'pipelines' } });
      const config = loadConfig({ env: { MLPIPE_S3_SECRET_KEY: 'env-secret-1234', MLPIPE_S3_ACCESS_KEY: 'env-access' }, cwd });
      assert.deepEqual(config.s3, { endpoint: 'http://minio.internal:9000', accessKey: 'env-access', secretKey: 'env-secret-1234', region: 'us-east-1' });
    });

    it('worker settings from the environment', () => {
      const config = loadConfig({
        env: { MLPIPE_WORKER_QUEUES: 'control, gpu', MLPIPE_WORKER_CONCURRENCY: 'gpu=2,control=10', MLPIPE_WORKER_IDENTITY: 'gpu-box-1', MLPIPE_USE_PATH_BINARIES: '1' },
        cwd,
      });
      assert.deepEqual(config.worker, { queues: ['control', 'gpu'], concurrency: { gpu: 2, control: 10 }, identity: 'gpu-box-1' });
      assert.equal(config.useBinariesOnPath, true);
    });
  });

  describe('bad values name the setting and what was expected', function () {
    const cases: Array<{ env: Record<string, string>; names: string; expects: RegExp }> = [
      { env: { MLPIPE_ARTIFACT_ROOT: 'ftp://x' }, names: 'MLPIPE_ARTIFACT_ROOT', expects: /file:\/\/\/.*s3:\/\/bucket/ },
      { env: { MLPIPE_ARTIFACT_ROOT: 's3://A_Bad_Bucket' }, names: 'MLPIPE_ARTIFACT_ROOT', expects: /s3:\/\/bucket/ },
      { env: { MLPIPE_TEMPORAL_ADDRESS: 'localhost' }, names: 'MLPIPE_TEMPORAL_ADDRESS', expects: /host:port/ },
      { env: { MLPIPE_TEMPORAL_UI_URL: 'temporal-ui:8080' }, names: 'MLPIPE_TEMPORAL_UI_URL', expects: /URL such as http:\/\/temporal-ui:8080/ },
      { env: { MLPIPE_METADATA_URL: 'mysql://db/mlpipe' }, names: 'MLPIPE_METADATA_URL', expects: /sqlite:\/\/.*postgres/ },
      { env: { MLPIPE_WORKER_QUEUES: 'cpu,tpu' }, names: 'MLPIPE_WORKER_QUEUES', expects: /control.*cpu.*gpu/ },
      { env: { MLPIPE_WORKER_CONCURRENCY: 'cpu=lots' }, names: 'MLPIPE_WORKER_CONCURRENCY', expects: /queue=number/ },
      { env: { MLPIPE_WORKER_CONCURRENCY: 'cpu=0' }, names: 'MLPIPE_WORKER_CONCURRENCY', expects: /0|positive|>/ },
      {
        env: { MLPIPE_S3_ENDPOINT: 'minio:9000', MLPIPE_S3_ACCESS_KEY: 'pipelines', MLPIPE_S3_SECRET_KEY: 'long-enough-secret' },
        names: 'MLPIPE_S3_ENDPOINT',
        expects: /URL such as http:\/\//,
      },
      { env: { MLPIPE_S3_ENDPOINT: 'http://127.0.0.1:9000', MLPIPE_S3_SECRET_KEY: 'long-enough-secret' }, names: 'MLPIPE_S3_ACCESS_KEY', expects: /./ },
    ];
    for (const { env, names, expects } of cases) {
      it(`${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} → names ${names}`, () => {
        const message = configError({ env, cwd });
        assert.ok(message.includes(names), `the message should name ${names}:\n${message}`);
        assert.match(message, expects);
        assert.ok(!message.includes('long-enough-secret'), `the message must not show the secret:\n${message}`);
      });
    }

    it('a short S3 secret is rejected without echoing it', () => {
      const message = configError({ env: { MLPIPE_S3_ENDPOINT: 'http://127.0.0.1:9000', MLPIPE_S3_ACCESS_KEY: 'pipelines', MLPIPE_S3_SECRET_KEY: 'tiny' }, cwd });
      assert.match(message, /MLPIPE_S3_SECRET_KEY/);
      assert.match(message, /at least 8 characters/);
      assert.ok(!message.includes('tiny'), message);
    });

    it('an s3:// artifact root without credentials says which settings are missing', () => {
      const message = configError({ env: { MLPIPE_ARTIFACT_ROOT: 's3://ml-artifacts/prod' }, cwd });
      for (const name of ['MLPIPE_ARTIFACT_ROOT', 'MLPIPE_S3_ENDPOINT', 'MLPIPE_S3_ACCESS_KEY', 'MLPIPE_S3_SECRET_KEY']) {
        assert.ok(message.includes(name), `names ${name}:\n${message}`);
      }
    });

    it('a bad value in the config file names the file and the key, not an environment variable', () => {
      const file = writeConfigFile({ artifactRoot: 'ftp://x', temporalAddress: 'no-port' });
      const message = configError({ env: {}, cwd });
      assert.ok(message.includes(`${file}: artifactRoot:`), message);
      assert.ok(message.includes(`${file}: temporalAddress:`), message);
      assert.match(message, /file:\/\/\/.*s3:\/\/bucket/);
      assert.doesNotMatch(message, /MLPIPE_ARTIFACT_ROOT/);
    });

    it('a misspelt key in the config file names the file and the key', () => {
      const file = writeConfigFile({ temporalAdress: 'temporal:7233' });
      const message = configError({ env: {}, cwd });
      assert.ok(message.includes(file), `names the file ${file}:\n${message}`);
      assert.match(message, /temporalAdress/);
    });

    it('a config file that is not JSON names the file', () => {
      const file = writeConfigFile('{ temporalAddress: nope');
      const message = configError({ env: {}, cwd });
      assert.ok(message.includes(file), message);
      assert.match(message, /not valid JSON/);
    });
  });

  describe('secrets', function () {
    it('redactConfig masks the S3 secret and a database password and keeps everything else', () => {
      const config = loadConfig({
        env: {
          MLPIPE_ARTIFACT_ROOT: 's3://ml-artifacts/prod',
          MLPIPE_S3_ENDPOINT: 'http://minio.internal:9000',
          MLPIPE_S3_ACCESS_KEY: 'pipelines',
          MLPIPE_S3_SECRET_KEY: 's3-secret-value-42',
          MLPIPE_METADATA_URL: 'postgres://mlpipe:db-password-99@db.internal:5432/mlpipe',
        },
        cwd,
      });
      const printed = JSON.stringify(redactConfig(config));
      assert.ok(!printed.includes('s3-secret-value-42'), printed);
      assert.ok(!printed.includes('db-password-99'), printed);
      assert.match(printed, /pipelines/);
      assert.match(printed, /postgres:\/\/mlpipe:\*+@db\.internal:5432\/mlpipe/);
      assert.match(printed, /http:\/\/minio\.internal:9000/);
      assert.equal(config.s3?.secretKey, 's3-secret-value-42', 'redaction works on a copy');
    });

    describe('mlpipe commands given a bad configuration exit 2, name the setting and never print the secret', function () {
      const SECRET = 'do-not-print-this-secret';
      const DB_PASSWORD = 'do-not-print-this-password';
      const badEnv = {
        MLPIPE_ARTIFACT_ROOT: 's3://ml-artifacts/prod',
        MLPIPE_S3_ENDPOINT: 'http://127.0.0.1:9',
        MLPIPE_S3_ACCESS_KEY: 'ab',
        MLPIPE_S3_SECRET_KEY: SECRET,
        MLPIPE_METADATA_URL: `mysql://mlpipe:${DB_PASSWORD}@db.internal/mlpipe`,
      };
      const commands = [
        ['run', path.join(__dirname, '..', 'fixtures', 'failing-pipeline.js'), '--json'],
        ['runs', 'list'],
        ['lineage', '1'],
        ['worker', '--queues', 'cpu'],
        ['schedule', 'list'],
        ['dev', '--port', '0', '--ui-port', '0'],
      ];
      for (const args of commands) {
        it(`mlpipe ${args[0] === 'run' ? 'run <module> --json' : args.join(' ')}`, async () => {
          const r = await runCli(args, { cwd, env: badEnv, timeoutMs: 30_000 });
          assert.equal(r.code, 2, describeResult(args, r));
          assert.match(r.stderr, /MLPIPE_S3_ACCESS_KEY/, describeResult(args, r));
          assert.match(r.stderr, /MLPIPE_METADATA_URL/, describeResult(args, r));
          const everything = r.stdout + r.stderr;
          assert.ok(!everything.includes(SECRET), `the S3 secret was printed:\n${everything}`);
          assert.ok(!everything.includes(DB_PASSWORD), `the database password was printed:\n${everything}`);
          assert.doesNotMatch(r.stderr, /^\s+at /m, `a configuration mistake is not a crash:\n${r.stderr}`);
        });
      }

      it('a bad config file named by MLPIPE_CONFIG: exit 2 naming the file and key', async () => {
        const file = writeConfigFile({ temporalAddress: 'no-port', s3: { endpoint: 'http://127.0.0.1:9', accessKey: 'pipelines', secretKey: SECRET } }, 'bad.json');
        const r = await runCli(['runs', 'list'], { cwd, env: { MLPIPE_CONFIG: file }, timeoutMs: 30_000 });
        assert.equal(r.code, 2, describeResult(['runs', 'list'], r));
        assert.ok(r.stderr.includes(`${file}: temporalAddress`), describeResult(['runs', 'list'], r));
        assert.ok(!(r.stdout + r.stderr).includes(SECRET), r.stderr);
      });
    });
  });
});
