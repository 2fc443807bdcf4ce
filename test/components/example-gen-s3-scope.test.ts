import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { s3Client, type S3Settings } from '../../artifacts/s3-client';
import { s3SourcesFor, type S3Sources } from '../../artifacts/s3-sources';
import { ExampleGen } from '../../components/example-gen/spec';
import { defineComponent } from '../../dsl/component';
import type { ExecutorContext } from '../../dsl/executor';
import { runExecutorForTest } from '../support/executor-harness';
import { testMinio } from '../support/servers';

/** The spy's executor: reports what it was given of the worker's S3 sources. */
export const reportSources = async (ctx: ExecutorContext) => ({ summary: { s3Sources: ctx.s3Sources } });

/** ExampleGen's parameters and resolve step, with the spy as its executor (this module). */
const SourcesSpy = defineComponent({
  ...ExampleGen.spec,
  type: 'S3SourcesSpy',
  executor: { module: __filename, export: 'reportSources' },
});

describe('ExampleGen gets the keys of the S3 sources it names, no others', function () {
  let sources: S3Sources;
  let bucket: string;
  const secretOfB = `b-${randomUUID()}`;

  before(async function () {
    const minio = await testMinio();
    const settings: S3Settings = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    sources = { store: settings, named: { a: settings, b: { ...settings, secretKey: secretOfB } } };
    bucket = `scope-${randomUUID().slice(0, 8)}`;
    await s3Client(settings).makeBucket(bucket);
    await s3Client(settings).putObject(bucket, 'in/rows.csv', 'x,y\n1,a\n2,b\n3,c\n');
  });

  it("an executor whose input names source a is given a's keys alone: neither b's nor the store's", async function () {
    const run = await runExecutorForTest(SourcesSpy, { parameters: { input: `s3://${bucket}/in/*.csv`, s3Source: 'a' }, s3Sources: sources });
    assert.deepEqual(run.result.summary?.s3Sources, { named: { a: sources.named.a } });
    assert.ok(!JSON.stringify(run.result.summary).includes(secretOfB));
    const real = await runExecutorForTest(ExampleGen, { parameters: { input: `s3://${bucket}/in/*.csv`, s3Source: 'a' }, s3Sources: sources });
    assert.equal(real.result.properties?.examples?.num_examples, 3);
  });

  it("an input naming no source is given the store's keys alone; a local input none", async function () {
    const run = await runExecutorForTest(SourcesSpy, { parameters: { input: `s3://${bucket}/in/*.csv` }, s3Sources: sources });
    assert.deepEqual(run.result.summary?.s3Sources, { named: {}, store: sources.store });
    const local = { location: '/data/x.csv', root: '/data', files: [] };
    assert.deepEqual(s3SourcesFor(sources, [local]), { named: {} });
  });
});
