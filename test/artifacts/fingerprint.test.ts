import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fingerprintBase, fingerprintWithVersion, hashFileContent, type FingerprintInput } from '../../artifacts/fingerprint';

const SHA_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The whole key, as the control step makes it: the versionless base, then the version. */
const computeFingerprint = ({ componentVersion, ...rest }: FingerprintInput) => fingerprintWithVersion(fingerprintBase(rest), componentVersion);

function base(): FingerprintInput {
  return {
    component: 'Trainer',
    componentVersion: '1.2.0',
    parameters: { epochs: 10, optimizer: { name: 'adam', lr: 0.001 }, features: ['a', 'b'] },
    inputs: { examples: [SHA_ABC], schema: [SHA_EMPTY] },
    resolved: { files: { module_file: [{ path: 'trainer.ts', contentHash: `sha256:${SHA_ABC}` }] }, artifacts: { baseline: [SHA_EMPTY] } },
  };
}

describe('the cache key (fingerprintBase, fingerprintWithVersion)', function () {
  it('is a sha256 hex digest that does not change between calls or releases', function () {
    const fp = computeFingerprint(base());
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(computeFingerprint(base()), fp);
    // Pinned, canonical form spelled out: a change here silently invalidates every user's cache.
    const canonical =
      `{"component":"Trainer","inputs":{"examples":["${SHA_ABC}"],"schema":["${SHA_EMPTY}"]},` +
      `"parameters":{"epochs":10,"features":["a","b"],"optimizer":{"lr":0.001,"name":"adam"}},` +
      `"resolved":{"artifacts":{"baseline":["${SHA_EMPTY}"]},"files":{"module_file":[{"contentHash":"sha256:${SHA_ABC}","path":"trainer.ts"}]}},` +
      `"scheme":"mlpipe-fingerprint/2"}`;
    const keyBase = createHash('sha256').update(canonical).digest('hex');
    const { componentVersion, ...versionless } = base();
    assert.equal(fingerprintBase(versionless), keyBase);
    assert.equal(fp, createHash('sha256').update(`mlpipe-fingerprint/2\0${keyBase}\0${componentVersion}`).digest('hex'));
    assert.equal(fp, fingerprintWithVersion(keyBase, componentVersion));
  });

  it('ignores key order everywhere', function () {
    const reordered: FingerprintInput = {
      resolved: { artifacts: { baseline: [SHA_EMPTY] }, files: { module_file: [{ contentHash: `sha256:${SHA_ABC}`, path: 'trainer.ts' }] } },
      inputs: { schema: [SHA_EMPTY], examples: [SHA_ABC] },
      parameters: { features: ['a', 'b'], optimizer: { lr: 0.001, name: 'adam' }, epochs: 10 },
      componentVersion: '1.2.0',
      component: 'Trainer',
    };
    assert.equal(computeFingerprint(reordered), computeFingerprint(base()));
  });

  it('depends on content, not on where an artifact lives', async function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlpipe-fp-'));
    try {
      const here = path.join(dir, 'run-1', 'examples.csv');
      const there = path.join(dir, 'run-2-examples.csv');
      mkdirSync(path.dirname(here));
      writeFileSync(here, 'species,island\nAdelie,Torgersen\n');
      writeFileSync(there, 'species,island\nAdelie,Torgersen\n');
      utimesSync(there, new Date(0), new Date(0));
      const fp = async (file: string) => computeFingerprint({ ...base(), inputs: { examples: [await hashFileContent(file)] } });
      assert.equal(await fp(here), await fp(there), 'same content under another name and mtime');
      writeFileSync(there, 'species,island\nGentoo,Biscoe\n');
      assert.notEqual(await fp(here), await fp(there));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('changes when anything that affects the result changes', function () {
    const fp = computeFingerprint(base());
    const variants: Array<[string, FingerprintInput]> = [
      ['a parameter', { ...base(), parameters: { ...base().parameters, epochs: 11 } }],
      ['a nested parameter', { ...base(), parameters: { ...base().parameters, optimizer: { name: 'adam', lr: 0.01 } } }],
      ['a parameter type', { ...base(), parameters: { ...base().parameters, epochs: '10' } }],
      ['list order in a parameter', { ...base(), parameters: { ...base().parameters, features: ['b', 'a'] } }],
      ['an added parameter', { ...base(), parameters: { ...base().parameters, seed: 1 } }],
      ['input content', { ...base(), inputs: { examples: [SHA_EMPTY], schema: [SHA_EMPTY] } }],
      ['input order within a key', { ...base(), inputs: { examples: [SHA_ABC, SHA_EMPTY], schema: [SHA_EMPTY] } }],
      ['the input key', { ...base(), inputs: { train: [SHA_ABC], schema: [SHA_EMPTY] } }],
      ['the executor version', { ...base(), componentVersion: '1.2.1' }],
      ['the component type', { ...base(), component: 'Tuner' }],
      ['a resolved file\'s content', { ...base(), resolved: { ...base().resolved!, files: { module_file: [{ path: 'trainer.ts', contentHash: `sha256:${SHA_EMPTY}` }] } } }],
      ['a resolved file\'s name', { ...base(), resolved: { ...base().resolved!, files: { module_file: [{ path: 'train.ts', contentHash: `sha256:${SHA_ABC}` }] } } }],
      ['an S3 object\'s ETag', { ...base(), resolved: { ...base().resolved!, files: { module_file: [{ path: 'trainer.ts', contentHash: 'etag:9b2cf535f27731c974343645a3985328' }] } } }],
      ['a resolved artifact', { ...base(), resolved: { ...base().resolved!, artifacts: { baseline: [SHA_ABC] } } }],
      ['nothing resolved', { ...base(), resolved: undefined }],
    ];
    const seen = new Map<string, string>([[fp, 'base']]);
    for (const [what, input] of variants) {
      const other = computeFingerprint(input);
      assert.ok(!seen.has(other), `changing ${what} gave the same fingerprint as ${seen.get(other)}`);
      seen.set(other, what);
    }
  });

  it('treats equal numbers alike and an absent parameter like an undefined one', function () {
    const withNumbers = (n: number) => computeFingerprint({ ...base(), parameters: { n } });
    assert.equal(withNumbers(1.0), withNumbers(1));
    assert.equal(withNumbers(-0), withNumbers(0));
    assert.equal(withNumbers(1e21), withNumbers(1000000000000000000000));
    assert.equal(
      computeFingerprint({ ...base(), parameters: { a: 1, b: undefined } }),
      computeFingerprint({ ...base(), parameters: { a: 1 } }),
    );
  });

  it('refuses values JSON cannot carry, naming the parameter', function () {
    assert.throws(() => computeFingerprint({ ...base(), parameters: { opt: { lr: Number.NaN } } }), /parameters\.opt\.lr is NaN; expected a finite number/);
    assert.throws(() => computeFingerprint({ ...base(), parameters: { x: Infinity } }), /parameters\.x is Infinity/);
    assert.throws(() => computeFingerprint({ ...base(), parameters: { when: new Date(0) } }), /parameters\.when is a Date; expected a plain JSON object/);
    assert.throws(() => computeFingerprint({ ...base(), parameters: { big: 1n } }), /parameters\.big is a bigint/);
    assert.throws(() => computeFingerprint({ ...base(), parameters: { list: [1, undefined] } }), /parameters\.list\[1\] is undefined/);
  });

  it('rejects malformed content hashes and empty names', function () {
    assert.throws(() => computeFingerprint({ ...base(), inputs: { examples: ['abc'] } }), /computeFingerprint: inputs\.examples\[0\]: expected a sha256 hex digest/);
    assert.throws(() => computeFingerprint({ ...base(), resolved: { files: {}, artifacts: { baseline: ['x'] } } }), /resolved\.artifacts\.baseline\[0\]: expected a sha256/);
    assert.throws(() => computeFingerprint({ ...base(), componentVersion: '' }), /componentVersion/);
  });
});

describe('hashFileContent', function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mlpipe-hash-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is the sha256 of the bytes', async function () {
    writeFileSync(path.join(dir, 'abc.txt'), 'abc');
    writeFileSync(path.join(dir, 'empty'), '');
    assert.equal(await hashFileContent(path.join(dir, 'abc.txt')), SHA_ABC);
    assert.equal(await hashFileContent(path.join(dir, 'empty')), SHA_EMPTY);
  });

  it('hashes a file larger than one read chunk', async function () {
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
    writeFileSync(path.join(dir, 'big.bin'), big);
    assert.equal(await hashFileContent(path.join(dir, 'big.bin')), createHash('sha256').update(big).digest('hex'));
  });

  it('names a missing file and refuses a directory', async function () {
    await assert.rejects(hashFileContent(path.join(dir, 'missing.py')), /cannot read .*missing\.py: no such file/);
    await assert.rejects(hashFileContent(dir), /is not a regular file/);
  });
});
