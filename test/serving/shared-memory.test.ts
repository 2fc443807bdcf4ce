import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { buildMlpModel, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { assertClose, float32s, mlpReference } from './mlp-reference';
import { floats, grpcClient, postJson, request, startTestServer, type ServerUnderTest } from './serving-fixture';

const X = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];
const expected = mlpReference(SMALL_MLP)(X);

/** A POSIX shared memory object as shm_open makes it on Linux: a file in /dev/shm. */
function shmObject(bytes: number): { key: string; file: string } {
  const key = `/mlpipe-test-${randomBytes(4).toString('hex')}`;
  const file = `/dev/shm${key}`;
  writeFileSync(file, Buffer.alloc(bytes));
  return { key, file };
}

describe('serving: system shared memory extension', function () {
  let t: ServerUnderTest;
  const objects: string[] = [];
  const object = (bytes: number) => {
    const o = shmObject(bytes);
    objects.push(o.file);
    return o;
  };

  before(async () => {
    t = await startTestServer((repo) => writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 }));
  });
  after(async () => {
    await t?.stop();
    for (const f of objects) rmSync(f, { force: true });
  });

  it('reads inputs from and writes outputs to registered regions over REST', async () => {
    const { key, file } = object(256);
    writeFileSync(file, Buffer.concat([Buffer.alloc(64), floats(X), Buffer.alloc(256 - 64 - 32)]));
    const reg = await postJson(`${t.http}/v2/systemsharedmemory/region/io/register`, { key, offset: 64, byte_size: 192 });
    assert.equal(reg.status, 200, JSON.stringify(reg.json));
    assert.deepEqual((await request(`${t.http}/v2/systemsharedmemory/status`)).json, [{ name: 'io', key, offset: 64, byte_size: 192 }]);

    const reply = await postJson(`${t.http}/v2/models/small/infer`, {
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', parameters: { shared_memory_region: 'io', shared_memory_byte_size: 32 } }],
      outputs: [{ name: 'probabilities', parameters: { shared_memory_region: 'io', shared_memory_byte_size: 24, shared_memory_offset: 100 } }],
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    const out = (reply.json as { outputs: Array<Record<string, unknown>> }).outputs[0]!;
    assert.deepEqual(out, { name: 'probabilities', datatype: 'FP32', shape: [2, 3] }, 'no data: it is in the region');
    assertClose(float32s(readFileSync(file).subarray(64 + 100, 64 + 124)), expected, 'the outputs written to the region');
  });

  it('answers bad registrations and references with the reason', async () => {
    const { key } = object(64);
    const missing = await postJson(`${t.http}/v2/systemsharedmemory/region/gone/register`, { key: '/mlpipe-test-does-not-exist', byte_size: 16 });
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(missing.json), /cannot open key '\/mlpipe-test-does-not-exist': ENOENT/);
    const escaping = await postJson(`${t.http}/v2/systemsharedmemory/region/up/register`, { key: '/../etc/passwd', byte_size: 16 });
    assert.equal(escaping.status, 400);
    assert.match(JSON.stringify(escaping.json), /not a POSIX shared memory name/);
    const tooBig = await postJson(`${t.http}/v2/systemsharedmemory/region/big/register`, { key, offset: 32, byte_size: 64 });
    assert.equal(tooBig.status, 400);
    assert.match(JSON.stringify(tooBig.json), /offset 32 \+ byte_size 64 exceeds the 64 bytes/);
    assert.equal((await postJson(`${t.http}/v2/systemsharedmemory/region/small/register`, { key, byte_size: 16 })).status, 200);
    const twice = await postJson(`${t.http}/v2/systemsharedmemory/region/small/register`, { key, byte_size: 16 });
    assert.equal(twice.status, 400);
    assert.match(JSON.stringify(twice.json), /'small' is already registered/);

    const unknown = await postJson(`${t.http}/v2/models/small/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { shared_memory_region: 'nope', shared_memory_byte_size: 16 } }],
    });
    assert.equal(unknown.status, 400);
    assert.match(JSON.stringify(unknown.json), /input 'input': no shared memory region 'nope' is registered/);
    const outputTooSmall = await postJson(`${t.http}/v2/models/small/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: X.slice(0, 4) }],
      outputs: [{ name: 'probabilities', parameters: { shared_memory_region: 'small', shared_memory_byte_size: 8 } }],
    });
    assert.equal(outputTooSmall.status, 400);
    assert.match(JSON.stringify(outputTooSmall.json), /output 'probabilities': 12 bytes do not fit the 8 bytes given/);
    const cuda = await postJson(`${t.http}/v2/cudasharedmemory/region/g/register`, { raw_handle: {}, device_id: 0, byte_size: 16 });
    assert.equal(cuda.status, 400);
    assert.match(JSON.stringify(cuda.json), /CUDA shared memory is not supported/);
    // As a Triton without GPU support: no CUDA regions, so clients that clean up all regions succeed.
    assert.deepEqual((await request(`${t.http}/v2/cudasharedmemory/status`)).json, []);
    assert.equal((await postJson(`${t.http}/v2/cudasharedmemory/unregister`, '')).status, 200);

    assert.equal((await postJson(`${t.http}/v2/systemsharedmemory/region/small/unregister`, '')).status, 200);
    assert.equal((await request(`${t.http}/v2/systemsharedmemory/region/small/status`)).status, 404);
  });

  it('reads and writes regions over gRPC, keeping raw_output_contents in output order', async () => {
    const { key, file } = object(64);
    writeFileSync(file, Buffer.concat([floats(X), Buffer.alloc(32)]));
    const client = grpcClient(t.grpcAddress);
    try {
      await client.call('SystemSharedMemoryRegister')({ name: 'g', key, offset: 0, byte_size: 64 });
      const status = (await client.call('SystemSharedMemoryStatus')({ name: 'g' })) as { regions: Record<string, { key: string; byte_size: number }> };
      assert.equal(status.regions['g']!.key, key);
      const res = (await client.call('ModelInfer')({
        model_name: 'small',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], parameters: { shared_memory_region: { string_param: 'g' }, shared_memory_byte_size: { int64_param: 32 } } }],
        outputs: [{ name: 'probabilities', parameters: { shared_memory_region: { string_param: 'g' }, shared_memory_byte_size: { int64_param: 24 }, shared_memory_offset: { int64_param: 32 } } }],
      })) as { outputs: Array<{ parameters: Record<string, { string_param?: string; int64_param?: number }> }>; raw_output_contents: Buffer[] };
      assert.equal(res.outputs[0]!.parameters['shared_memory_region']!.string_param, 'g');
      assert.equal(Number(res.outputs[0]!.parameters['shared_memory_byte_size']!.int64_param), 24);
      assert.deepEqual(res.raw_output_contents.map((b) => b.length), [0]);
      assertClose(float32s(readFileSync(file).subarray(32, 56)), expected, 'the outputs written to the region');
      await client.call('SystemSharedMemoryUnregister')({ name: '' });
      assert.deepEqual(await client.call('SystemSharedMemoryStatus')({ name: '' }), { regions: {} });

      // CUDA shared memory as over REST: nothing registered, registering refused, unregistering all succeeds.
      assert.deepEqual(await client.call('CudaSharedMemoryStatus')({ name: '' }), { regions: {} });
      await assert.rejects(client.call('CudaSharedMemoryStatus')({ name: 'gpu0' }), /NOT_FOUND|no CUDA shared memory region 'gpu0'/);
      await assert.rejects(
        client.call('CudaSharedMemoryRegister')({ name: 'gpu0', raw_handle: Buffer.alloc(0), device_id: 0, byte_size: 16 }),
        /CUDA shared memory is not supported/,
      );
      assert.deepEqual(await client.call('CudaSharedMemoryUnregister')({ name: '' }), {});
    } finally {
      client.close();
    }
  });
});
