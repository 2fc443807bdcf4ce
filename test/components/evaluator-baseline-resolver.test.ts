import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef, PropertyValue } from '../../artifacts/artifact-types';
import { fingerprintBase, fingerprintWithVersion } from '../../artifacts/fingerprint';
import { openMetadataStore, type MetadataStore } from '../../artifacts/metadata/metadata-store';
import { FileHashMemo, listInputFiles } from '../../artifacts/input-files';
import { BASELINE_KEY, BLESSED_PROPERTY, MODEL_CONTENT_PROPERTY, MODEL_URI_PROPERTY, resolveBaseline } from '../../components/evaluator/baseline';
import { tempDir } from '../support/tmp';

const hashOf = (text: string) => fingerprintWithVersion(fingerprintBase({ component: 'baseline-test', parameters: { text }, inputs: {} }), '1');

/**
 * The Evaluator's baseline resolver against a real metadata store: which ServingModel a candidate is
 * compared with, as ModelBlessings and PushedModels of the pipeline say.
 */
describe('Evaluator baseline resolver', function () {
  let store: MetadataStore;
  let root: string;
  let run = 0;

  beforeEach(async () => {
    store = await openMetadataStore('sqlite://:memory:');
    root = await tempDir('baseline-resolver');
  });
  afterEach(() => store.close());

  /** A ServingModel `name` on disk, recorded as a Trainer's output, with its blessing (and push) after it. */
  async function model(name: string, options: { blessed: boolean; pushed?: boolean }): Promise<ArtifactRef> {
    const dir = path.join(root, name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'serving.onnx'), name);
    await writeFile(path.join(dir, 'signature.json'), '{}');
    const runId = `run-${++run}`;
    const record = async (nodeId: string, component: string, inputs: Record<string, ArtifactRef[]>, outputs: Record<string, ArtifactRef[]>) => {
      const id = await store.startExecution({ pipeline: 'p', runId, nodeId, component, componentVersion: '1', fingerprint: hashOf(`${runId}/${nodeId}`), inputs });
      return store.finishExecution(id, { state: 'succeeded', outputs, worker: 'w', attempt: 1 });
    };
    const served: ArtifactRef = { type: 'ServingModel', uri: `file://${dir}`, contentHash: hashOf(name), properties: {} };
    const trained = (await record('trainer', 'Trainer', {}, { servingModel: [served] })).servingModel!;
    const about: Record<string, PropertyValue> = { [MODEL_URI_PROPERTY]: served.uri, [MODEL_CONTENT_PROPERTY]: served.contentHash };
    await record('evaluator', 'Evaluator', { model: trained }, {
      blessing: [{ type: 'ModelBlessing', uri: `file://${dir}-blessing`, contentHash: hashOf(`${name}-blessing`), properties: { ...about, [BLESSED_PROPERTY]: options.blessed } }],
    });
    if (options.pushed) {
      await record('pusher', 'Pusher', { model: trained }, {
        pushedModel: [{ type: 'PushedModel', uri: `file://${dir}-pushed`, contentHash: hashOf(`${name}-pushed`), properties: { pushed: true, [MODEL_CONTENT_PROPERTY]: served.contentHash } }],
      });
    }
    return served;
  }

  const resolve = (candidate: ArtifactRef, baseline = true) =>
    resolveBaseline({
      pipeline: 'p',
      nodeId: 'evaluator',
      parameters: { baseline },
      inputs: { model: [candidate] },
      listFiles: (location) => listInputFiles(location, { memo: new FileHashMemo() }),
      metadata: store,
    });
  const baselineOf = async (candidate: ArtifactRef) => (await resolve(candidate)).artifacts[BASELINE_KEY]?.[0]?.uri;

  it('takes the newest blessed model with other content, never the candidate itself nor an unblessed one', async () => {
    const a = await model('a', { blessed: true });
    const b = await model('b', { blessed: true });
    await model('c', { blessed: false });
    const d: ArtifactRef = { type: 'ServingModel', uri: `file://${root}/d`, contentHash: hashOf('d'), properties: {} };
    assert.equal(await baselineOf(d), b.uri, 'the newest blessed, passing over the unblessed c');
    assert.equal(await baselineOf({ ...b, uri: `file://${root}/b-again` }), a.uri, 'an identical candidate is compared with the previous different model');
    assert.equal(await baselineOf(a), b.uri);
    assert.deepEqual(await resolve(d, false), { files: {}, artifacts: {} }, 'baseline: false resolves nothing');
    const files = (await resolve(d)).files;
    assert.deepEqual(Object.values(files).map((set) => set.files.map((f) => f.path)), [['serving.onnx'], ['signature.json']]);
  });

  it('once the pipeline pushes, takes the newest blessed model that was pushed', async () => {
    const a = await model('a', { blessed: true, pushed: true });
    await model('b', { blessed: true });
    const candidate: ArtifactRef = { type: 'ServingModel', uri: `file://${root}/c`, contentHash: hashOf('c'), properties: {} };
    assert.equal(await baselineOf(candidate), a.uri, 'b was blessed but never pushed: the model in production is a');
  });

  it('finds none for a first model', async () => {
    const first = await model('first', { blessed: true });
    assert.deepEqual(await resolve(first), { files: {}, artifacts: {} });
  });
});
