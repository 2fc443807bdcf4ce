import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { hashLocalFile } from '../../artifacts/manifest';
import { openMetadataStore } from '../../artifacts/metadata/metadata-store';
import { ComponentError, defineExecutor, UserInputError, type ExecutorInput } from '../../dsl/executor';
import { readJsonPayload } from '../data/json-payload';
import { BLESSED_PROPERTY, MODEL_CONTENT_PROPERTY } from '../evaluator/baseline';
import { BLESSING_FILE, CheckSchema } from '../evaluator/payload';
import { EXAMPLE_REQUEST_FILE, ExampleRequestSchema, type ExampleRequest } from '../infra-validator/example-request';
import { INFRA_CONFIG_FILE, INFRA_NOT_BLESSED_MARKER } from '../infra-validator/payload';
import { SERVING_CONFIG_FILE, SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE } from '../trainer/payload';
import {
  CONTENT_PROPERTY,
  MODEL_PROPERTY,
  NOT_PUSHED_MARKER,
  PUSH_FILE,
  PUSHED_AT_PROPERTY,
  PUSHED_PROPERTY,
  REPOSITORY_PROPERTY,
  VERSION_PROPERTY,
  type PushRecord,
} from './payload';
import { openModelRepository, publishNewVersion, putWarmupFiles, repositoryConfig, servedContentHash, warmupUploads } from './repository';
import { Pusher } from './spec';

/** What the Pusher reads of blessing.json: the verdict and the checks' values (the metrics it records). */
const BlessingSchema = z.object({ blessed: z.boolean(), verdict: z.string(), checks: z.array(CheckSchema) });

const exists = (file: string) => access(file).then(() => true, () => false);
const lineageOf = (input: ExecutorInput) => ({ uri: input.ref.uri, contentHash: input.ref.contentHash });

/** The InfraValidator's verdict, when wired: refused unless blessed; its config.json and example request, when it wrote them. */
async function infraFiles(infra: ExecutorInput | undefined): Promise<{ configFile?: string; exampleRequest?: ExampleRequest }> {
  if (!infra) return {};
  if (infra.ref.properties[BLESSED_PROPERTY] === false || (await exists(path.join(infra.localDir, INFRA_NOT_BLESSED_MARKER)))) {
    throw new UserInputError(`InfraBlessing ${infra.ref.uri} does not bless the model: the Pusher pushes only a model the InfraValidator blessed`);
  }
  const configFile = path.join(infra.localDir, INFRA_CONFIG_FILE);
  const requestFile = path.join(infra.localDir, EXAMPLE_REQUEST_FILE);
  return {
    ...((await exists(configFile)) ? { configFile } : {}),
    ...((await exists(requestFile)) ? { exampleRequest: await readJsonPayload(requestFile, ExampleRequestSchema, 'InfraValidator example request') } : {}),
  };
}

export const executor = defineExecutor(Pusher, async (ctx) => {
  const params = ctx.parameters;
  const model = ctx.inputs.model[0]!;
  const blessingInput = ctx.inputs.blessing[0]!;
  const infra = ctx.inputs.infraBlessing[0];

  const blessing = await readJsonPayload(path.join(blessingInput.localDir, BLESSING_FILE), BlessingSchema, 'Pusher blessing');
  if (!blessing.blessed || blessingInput.ref.properties[BLESSED_PROPERTY] === false) {
    throw new UserInputError(`ModelBlessing ${blessingInput.ref.uri} does not bless the model (${blessing.verdict}): the Pusher pushes only a blessed model`);
  }
  const blessedContent = blessingInput.ref.properties[MODEL_CONTENT_PROPERTY];
  if (blessedContent !== undefined && blessedContent !== model.ref.contentHash) {
    throw new UserInputError(
      `ModelBlessing ${blessingInput.ref.uri} blesses the ServingModel with content ${String(blessedContent)}, not ${model.ref.uri} (content ${model.ref.contentHash}): wire the blessing of the model being pushed`,
    );
  }

  const validated = await infraFiles(infra);
  const configFile = validated.configFile ?? path.join(model.localDir, SERVING_CONFIG_FILE);
  const warmup = infra ? await warmupUploads(infra.localDir) : [];
  const config = repositoryConfig(await readFile(configFile, 'utf8'), params.modelName, configFile, warmup);
  const modelFile = path.join(model.localDir, SERVING_MODEL_FILE);
  const modelDigest = await hashLocalFile(modelFile, { fsync: false });
  const hash = servedContentHash(modelDigest, config);
  ctx.progress({ fraction: 0.1, message: `looking up ${params.modelName} in ${params.repository}` });

  const registry = ctx.modelRegistry;
  if (!registry) throw new ComponentError('the Pusher ran without the model registry: its spec must say writesModelRegistry');
  const metadata = await openMetadataStore(registry.metadataUrl);
  try {
    const [newest] = await metadata.listModelVersions({ repository: params.repository, model: params.modelName, publishedOnly: true });
    // The ServingModel's content too: the Evaluator's baseline resolver asks which models were pushed by it.
    const common = { [REPOSITORY_PROPERTY]: params.repository, [MODEL_PROPERTY]: params.modelName, [CONTENT_PROPERTY]: hash, [MODEL_CONTENT_PROPERTY]: model.ref.contentHash };
    if (newest && newest.servedContentHash === hash) {
      // Pushing it again would only make a copy the server reloads for nothing (TFX pushes it again).
      const said = `not pushed: ${params.repository}/${params.modelName} is already serving version ${newest.version}, whose model and config are identical`;
      await writeFile(path.join(ctx.outputDirs.pushedModel, NOT_PUSHED_MARKER), `${said}\n`);
      ctx.progress({ fraction: 1, message: said });
      return {
        properties: { pushedModel: { ...common, [PUSHED_PROPERTY]: false, [VERSION_PROPERTY]: newest.version, [PUSHED_AT_PROPERTY]: newest.publishedAt ?? newest.allocatedAt } },
        summary: { pushed: false, said, repository: params.repository, model: params.modelName, version: newest.version },
      };
    }

    const store = await openModelRepository(params.repository, params.s3Source, registry.s3Sources);
    let record: PushRecord;
    try {
      ctx.progress({ fraction: 0.3, message: `publishing ${params.modelName} to ${params.repository}` });
      await putWarmupFiles(store, params.modelName, warmup);
      record = await publishNewVersion(store, metadata, {
        repository: params.repository,
        model: params.modelName,
        modelFile: { localFile: modelFile },
        modelDigest,
        config,
        details: { kind: 'push', sourceUri: model.ref.uri, sourceContentHash: model.ref.contentHash },
        record: {
          version: 1,
          repository: params.repository,
          model: params.modelName,
          lineage: {
            servingModel: lineageOf(model),
            blessing: lineageOf(blessingInput),
            ...(infra ? { infraBlessing: lineageOf(infra) } : {}),
            node: ctx.nodeId,
            run: ctx.run,
          },
          evaluation: { verdict: blessing.verdict, metrics: blessing.checks.map((c) => ({ metric: c.metric, slice: c.slice, value: c.value })) },
          signature: await readJsonPayload(path.join(model.localDir, SERVING_SIGNATURE_FILE), z.unknown(), 'Pusher serving signature'),
          ...(validated.exampleRequest ? { exampleRequest: validated.exampleRequest } : {}),
        },
      });
    } finally {
      await store.close();
    }
    await writeFile(path.join(ctx.outputDirs.pushedModel, PUSH_FILE), `${JSON.stringify(record, null, 2)}\n`);
    ctx.progress({ fraction: 1, message: `pushed version ${record.modelVersion}` });
    return {
      properties: { pushedModel: { ...common, [PUSHED_PROPERTY]: true, [VERSION_PROPERTY]: record.modelVersion, [PUSHED_AT_PROPERTY]: record.pushedAt } },
      summary: { pushed: true, said: `pushed ${params.repository}/${params.modelName} version ${record.modelVersion}`, repository: params.repository, model: params.modelName, version: record.modelVersion },
    };
  } finally {
    await metadata.close();
  }
});
