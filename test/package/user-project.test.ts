import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { expectNoProcessesMentioning } from '../cli/cli-process';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { vegaFile } from '../components/vega-data';

const run = promisify(execFile);

/**
 * The environment of a person's shell in their own project: none of the npm_* variables that
 * `npm test` sets for this process (they carry this repository's .npmrc), no MLPIPE_* settings.
 */
function userEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|MLPIPE_)/i.test(k)) env[k] = v;
  return { ...env, ...vars };
}

const USER_PIPELINE = `import path from 'node:path';
import { ExampleGen, StatisticsGen, pipeline } from 'mlpipe';

export default function createPipeline(params: Record<string, string>) {
  const input = path.resolve(params.input ?? 'data/penguins.json');
  const examples = ExampleGen('example_gen', { parameters: { input } });
  const stats = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
  return pipeline({ name: 'my-pipeline', nodes: [examples, stats] });
}
`;

describe('mlpipe from a user project: npm pack, install the tarball, npx mlpipe run my-pipeline.ts', function () {
  // npm installs every dependency (from its cache when it can) and builds better-sqlite3's native module.
  this.timeout(600_000);

  it("packs what a user needs, installs into a fresh project with the README's steps, and runs a TypeScript pipeline importing 'mlpipe'", async () => {
    const work = await tempDir('user-project');
    const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT, env: userEnv({}), maxBuffer: 64 << 20 });
    const [pack] = z.array(z.object({ filename: z.string(), files: z.array(z.object({ path: z.string() })) })).parse(JSON.parse(packed));
    const files = pack!.files.map((f) => f.path);
    for (const needed of ['dist/dsl/index.js', 'dist/dsl/index.d.ts', 'dist/cli/main.js', 'dist/workflows-bundle.js', 'scripts/build-servers.sh', 'serving/grpc/grpc_service.proto']) {
      assert.ok(files.includes(needed), `the tarball holds ${needed}`);
    }
    const stray = files.filter((f) => /^(dist\/(test|bench|examples)\/|node_modules\/|\.mlpipe\/)/.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    assert.deepEqual(stray, [], 'the tarball holds no tests, benches, examples, sources or state');

    const project = path.join(work, 'my-project');
    mkdirSync(path.join(project, 'data'), { recursive: true });
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'my-project', version: '1.0.0', private: true }));
    copyFileSync(vegaFile('penguins.json'), path.join(project, 'data', 'penguins.json'));
    writeFileSync(path.join(project, 'my-pipeline.ts'), USER_PIPELINE);
    // The README's step: onnxruntime-node's GPU download skipped by the environment variable.
    const env = userEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' });
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, pack!.filename)], { cwd: project, env, maxBuffer: 64 << 20 });

    // The package's types reach the user's editor and compiler through its exports map.
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, types: ['node'], typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')] }, files: ['my-pipeline.ts'] }),
    );
    await run(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, env }).catch((err: Error & { stdout?: string }) => {
      throw new Error(`the user's pipeline does not type-check against the installed package:\n${err.stdout ?? err.message}`);
    });

    const { stdout } = await run('npx', ['mlpipe', 'run', 'my-pipeline.ts', '--json'], { cwd: project, env, timeout: 180_000 });
    const result = z
      .object({ status: z.string(), nodes: z.record(z.string(), z.object({ status: z.string(), summary: z.record(z.string(), z.unknown()).nullable() })) })
      .parse(JSON.parse(stdout));
    assert.equal(result.status, 'succeeded', stdout);
    assert.equal(result.nodes.example_gen?.summary?.rows, 344, 'every penguin was read');
    assert.equal(result.nodes.statistics_gen?.status, 'succeeded');
    await expectNoProcessesMentioning(project, 5_000);
  });
});
