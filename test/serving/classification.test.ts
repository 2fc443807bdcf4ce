import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildIdentityModel, buildMlpModel, OnnxElementType, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { floats, grpcClient, postJson, splitBinaryResponse, startTestServer, type ServerUnderTest } from './serving-fixture';

const ROWS = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];
const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'];

function inferBody(outputs: unknown[]): unknown {
  return { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: ROWS }], outputs };
}

/** The top-k "score:index[:label]" strings of each row, computed here from the plain scores. */
function expectedTopK(scores: number[], k: number, labels?: string[]): string[] {
  const out: string[] = [];
  for (let r = 0; r < 2; r++) {
    const row = scores.slice(r * 3, r * 3 + 3);
    const order = [0, 1, 2].sort((a, b) => row[b]! - row[a]! || a - b).slice(0, k);
    for (const i of order) out.push(`${Math.fround(row[i]!).toFixed(6)}:${i}${labels ? `:${labels[i]}` : ''}`);
  }
  return out;
}

/** BYTES tensor data of the binary extension: each element a 4-byte little-endian length, then its bytes. */
function decodeBytes(raw: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < raw.length; ) {
    const n = raw.readUInt32LE(at);
    out.push(raw.toString('utf8', at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

describe('serving: classification extension', function () {
  let t: ServerUnderTest;
  let scores: number[];

  before(async () => {
    t = await startTestServer(
      async (repo) => {
        await writeModelVersion(repo, 'penguins', 1, buildMlpModel(SMALL_MLP), {
          max_batch_size: 8,
          output: [{ name: 'probabilities', label_filename: 'species.txt' }],
        });
        await writeFile(path.join(repo, 'penguins', 'species.txt'), `${SPECIES.join('\n')}\n`);
        await writeModelVersion(repo, 'plain', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 });
        await writeModelVersion(repo, 'half', 1, buildIdentityModel([{ name: 'h', elemType: OnnxElementType.FLOAT16, dims: [3] }]), { max_batch_size: 4 });
      },
      { pollIntervalMs: 0 },
    );
    const plain = await postJson(`${t.http}/v2/models/penguins/infer`, inferBody([{ name: 'probabilities' }]));
    scores = (plain.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
  });
  after(() => t?.stop());

  it('answers the top classes with their labels over REST, as JSON and as binary BYTES', async () => {
    const json = await postJson(`${t.http}/v2/models/penguins/infer`, inferBody([{ name: 'probabilities', parameters: { classification: 2 } }]));
    assert.equal(json.status, 200, JSON.stringify(json.json));
    const out = (json.json as { outputs: Array<{ datatype: string; shape: number[]; data: string[] }> }).outputs[0]!;
    assert.equal(out.datatype, 'BYTES');
    assert.deepEqual(out.shape, [2, 2]);
    assert.deepEqual(out.data, expectedTopK(scores, 2, SPECIES));

    const binary = await postJson(
      `${t.http}/v2/models/penguins/infer`,
      inferBody([{ name: 'probabilities', parameters: { classification: 1, binary_data: true } }]),
    );
    assert.equal(binary.status, 200);
    assert.deepEqual(decodeBytes(splitBinaryResponse(binary).rest), expectedTopK(scores, 1, SPECIES));
  });

  it('returns every class when more are asked for, leaves out labels the config does not name, and refuses 0', async () => {
    const all = await postJson(`${t.http}/v2/models/penguins/infer`, inferBody([{ name: 'probabilities', parameters: { classification: 10 } }]));
    assert.deepEqual((all.json as { outputs: Array<{ shape: number[] }> }).outputs[0]!.shape, [2, 3]);
    const plain = await postJson(`${t.http}/v2/models/plain/infer`, inferBody([{ name: 'probabilities', parameters: { classification: 2 } }]));
    assert.deepEqual((plain.json as { outputs: Array<{ data: string[] }> }).outputs[0]!.data, expectedTopK(scores, 2));
    const zero = await postJson(`${t.http}/v2/models/plain/infer`, inferBody([{ name: 'probabilities', parameters: { classification: 0 } }]));
    assert.equal(zero.status, 400);
    assert.match(JSON.stringify(zero.json), /output 'probabilities': classification must be a positive whole number of classes, got 0/);
  });

  it('ranks FP16 outputs by value', async () => {
    const reply = await postJson(`${t.http}/v2/models/half/infer`, {
      inputs: [{ name: 'h', shape: [2, 3], datatype: 'FP16', data: [-2, 0.5, 1, 3, -1, -0.25] }],
      outputs: [{ name: 'h_out', parameters: { classification: 2 } }],
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.deepEqual((reply.json as { outputs: Array<{ data: string[] }> }).outputs[0]!.data, ['1.000000:2', '0.500000:1', '3.000000:0', '-0.250000:2']);
  });

  it('refuses a label_filename that is a path, naming the field', async () => {
    await writeModelVersion(t.repo, 'escaping', 1, buildMlpModel(SMALL_MLP), { output: [{ name: 'probabilities', label_filename: '../species.txt' }] });
    await t.server.repository.pollNow();
    const failed = t.events.find((e) => e.type === 'config-failed' && e.model === 'escaping');
    assert.ok(failed && failed.type === 'config-failed');
    assert.match(failed.error, /label_filename: expected a file name in the model directory \(no path\)/);
  });

  it('answers the top classes over gRPC', async () => {
    const client = grpcClient(t.grpcAddress);
    try {
      const res = (await client.call('ModelInfer')({
        model_name: 'penguins',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4] }],
        outputs: [{ name: 'probabilities', parameters: { classification: { int64_param: 1 } } }],
        raw_input_contents: [floats(ROWS)],
      })) as { outputs: Array<{ datatype: string; shape: number[] }>; raw_output_contents: Buffer[] };
      assert.equal(res.outputs[0]!.datatype, 'BYTES');
      assert.deepEqual(res.outputs[0]!.shape.map(Number), [2, 1]);
      assert.deepEqual(decodeBytes(res.raw_output_contents[0]!), expectedTopK(scores, 1, SPECIES));
    } finally {
      client.close();
    }
  });

  it('reloads when the label file changes, and fails a load whose label file is missing, naming it', async () => {
    await writeFile(path.join(t.repo, 'penguins', 'species.txt'), 'adelie\nchinstrap\ngentoo\n');
    await t.server.repository.pollNow();
    const relabelled = await postJson(`${t.http}/v2/models/penguins/infer`, inferBody([{ name: 'probabilities', parameters: { classification: 1 } }]));
    assert.deepEqual((relabelled.json as { outputs: Array<{ data: string[] }> }).outputs[0]!.data, expectedTopK(scores, 1, ['adelie', 'chinstrap', 'gentoo']));

    await writeModelVersion(t.repo, 'unlabelled', 1, buildMlpModel(SMALL_MLP), {
      max_batch_size: 8,
      output: [{ name: 'probabilities', label_filename: 'labels.txt' }],
    });
    await rm(path.join(t.repo, 'unlabelled', 'labels.txt'), { force: true });
    await t.server.repository.pollNow();
    const failed = t.events.find((e) => e.type === 'load-failed' && e.model === 'unlabelled');
    assert.ok(failed && failed.type === 'load-failed');
    assert.match(failed.error, /output 'probabilities': cannot read label_filename unlabelled\/labels\.txt/);
  });
});
