import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { REPO_ROOT } from '../support/repo-root';
import { checkDeployment, type DeploymentFiles } from './compose-check';

function repoFile(name: string): string {
  return readFileSync(path.join(REPO_ROOT, name), 'utf8');
}

const PackageJsonSchema = z.object({ bin: z.object({ mlpipe: z.string() }) });

function actualFiles(): DeploymentFiles {
  return {
    compose: repoFile('docker-compose.yml'),
    dockerfile: repoFile('Dockerfile'),
    binPath: PackageJsonSchema.parse(JSON.parse(repoFile('package.json'))).bin.mlpipe,
  };
}

type Services = Record<string, Record<string, unknown>>;

/** The repository's compose file with one edit applied, written back as YAML (anchors expanded). */
function withCompose(edit: (services: Services) => void): DeploymentFiles {
  const files = actualFiles();
  const doc = parse(files.compose, { merge: true }) as { services: Services };
  edit(doc.services);
  return { ...files, compose: stringify(doc) };
}

function env(services: Services, name: string): Record<string, string> {
  return services[name]!.environment as Record<string, string>;
}

function assertProblem(files: DeploymentFiles, pattern: RegExp): void {
  const problems = checkDeployment(files);
  assert.ok(problems.some((p) => pattern.test(p)), `expected a problem matching ${pattern}, got:\n  ${problems.join('\n  ') || '(none)'}`);
}

describe('deployment: docker-compose.yml and Dockerfile', () => {
  it('are consistent with the config schema, the CLI and each other', () => {
    assert.deepEqual(checkDeployment(actualFiles()), []);
  });

  it('still finds no problem after a YAML round trip, so the edits below test the checks and not the rewrite', () => {
    assert.deepEqual(checkDeployment(withCompose(() => {})), []);
  });

  it('rejects an MLPIPE_ variable that mlpipe does not read', () => {
    const files = withCompose((s) => {
      const e = env(s, 'worker-cpu');
      e.MLPIPE_S3_ENDPIONT = e.MLPIPE_S3_ENDPOINT!;
      delete e.MLPIPE_S3_ENDPOINT;
    });
    assertProblem(files, /worker-cpu: environment MLPIPE_S3_ENDPIONT is not an mlpipe setting/);
  });

  it('rejects a worker environment that loadConfig refuses, naming the setting', () => {
    const files = withCompose((s) => {
      env(s, 'worker-control').MLPIPE_ARTIFACT_ROOT = 'mlpipe/artifacts';
    });
    assertProblem(files, /worker-control: its environment is rejected by loadConfig:[\s\S]*MLPIPE_ARTIFACT_ROOT/);
  });

  it('rejects credentials that do not match the servers they are for', () => {
    const files = withCompose((s) => {
      env(s, 'model-server').MLPIPE_S3_SECRET_KEY = 'not-the-minio-secret';
    });
    assertProblem(files, /model-server: MLPIPE_S3_ACCESS_KEY\/MLPIPE_S3_SECRET_KEY differ/);
  });

  it('rejects addresses that point at no service of the stack', () => {
    const files = withCompose((s) => {
      env(s, 'worker-cpu').MLPIPE_TEMPORAL_ADDRESS = 'temporal-frontend:7233';
    });
    assertProblem(files, /worker-cpu MLPIPE_TEMPORAL_ADDRESS: host 'temporal-frontend' is not a service/);
  });

  it('rejects depends_on naming a service that does not exist', () => {
    const files = withCompose((s) => {
      s['worker-cpu']!.depends_on = { 'temporal-setpu': { condition: 'service_completed_successfully' } };
    });
    assertProblem(files, /worker-cpu: depends_on 'temporal-setpu', which is not a service/);
  });

  it('requires the gpu worker to reserve an NVIDIA device', () => {
    const files = withCompose((s) => {
      delete s['worker-gpu']!.deploy;
    });
    assertProblem(files, /worker-gpu: reserves no NVIDIA device/);
  });

  it('requires each worker to poll its own queue', () => {
    const files = withCompose((s) => {
      s['worker-cpu']!.command = ['worker', '--queues', 'cpus'];
      s['worker-control']!.command = ['worker', '--queues', 'cpu'];
    });
    assertProblem(files, /worker-cpu: --queues 'cpus' is not a list of control, cpu, gpu/);
    assertProblem(files, /worker-control: polls --queues cpu, expected control/);
  });

  it('requires the documented ports and services', () => {
    const files = withCompose((s) => {
      s['temporal-ui']!.ports = ['8088:8080'];
      delete s['minio-setup'];
    });
    assertProblem(files, /temporal-ui: port 8080 is not published as 8080:8080/);
    assertProblem(files, /service 'minio-setup' is missing/);
  });

  it('requires the control worker to keep its metadata in a store this build opens, on a volume', () => {
    const postgres = withCompose((s) => {
      env(s, 'worker-control').MLPIPE_METADATA_URL = 'postgres://postgres:secret@postgres:5432/mlpipe';
    });
    assertProblem(postgres, /worker-control: MLPIPE_METADATA_URL postgres:\/\/ cannot be opened by this build/);
    const noVolume = withCompose((s) => {
      delete s['worker-control']!.volumes;
    });
    assertProblem(noVolume, /worker-control: the metadata database \/var\/lib\/mlpipe\/metadata\.db is not on a volume/);
  });

  it('requires the model server to listen on every interface of its container', () => {
    const files = withCompose((services) => {
      const command = services['model-server']!.command as string[];
      services['model-server']!.command = command.filter((a, i) => a !== '--host' && command[i - 1] !== '--host');
    });
    assertProblem(files, /model-server: needs --host 0\.0\.0\.0/);
  });

  it('requires the search attribute the pipeline workflow sets', () => {
    const files = withCompose((s) => {
      s['temporal-setup']!.command = ['true'];
    });
    assertProblem(files, /temporal-setup: does not register the MlpipePipeline Keyword search attribute/);
  });

  it('requires the image to build dist and run mlpipe', () => {
    const files = actualFiles();
    assertProblem({ ...files, dockerfile: files.dockerfile.replace(/^ENTRYPOINT .*$/m, 'ENTRYPOINT ["node"]') }, /ENTRYPOINT is \["node"\], expected \["mlpipe"\]/);
    assertProblem({ ...files, dockerfile: files.dockerfile.replace(/npm run build/g, 'true') }, /no RUN step builds dist/);
    assertProblem({ ...files, binPath: 'dist/cli/index.js' }, /not linked to the package bin dist\/cli\/index.js/);
  });

  it('reports YAML that is not a compose file', () => {
    assertProblem({ ...actualFiles(), compose: 'services:\n  - postgres\n' }, /docker-compose.yml services/);
  });
});
