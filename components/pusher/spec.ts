import { z } from 'zod';
import { defineComponent } from '../../dsl/component';

export const PusherParametersSchema = z
  .object({
    /** The model repository `mlpipe serve` serves: `file:///absolute/dir` or `s3://bucket[/prefix]`. */
    repository: z
      .string()
      .regex(/^(file:\/\/\/|s3:\/\/[^/]+)/, 'expected file:///absolute/path or s3://bucket[/prefix]')
      .transform((uri) => uri.replace(/\/+$/, '')),
    /** The model's directory in the repository, and the name clients ask the server for. */
    modelName: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "a model name: letters, digits, '_', '.' and '-', not starting with '.' or '-'"),
    /**
     * The S3 source an s3:// repository is written with: the name of an endpoint and keys in the
     * workers' configuration (`s3Sources`), never the keys themselves; the artifact store's by default.
     */
    s3Source: z.string().min(1).optional(),
  })
  .strict();
export type PusherParameters = z.output<typeof PusherParametersSchema>;

/**
 * Pusher: publishes a blessed (and, when wired, infra-blessed) ServingModel as the next version of a
 * model in a model repository (`<repo>/<model>/<version>/model.onnx`, `<repo>/<model>/config.json`),
 * the version number allocated in the metadata store; a running `mlpipe serve` picks it up. A
 * candidate identical to the newest version is not pushed again.
 */
export const Pusher = defineComponent({
  type: 'Pusher',
  version: '1',
  description: 'Publishes the blessed model as the next version in a model repository that mlpipe serve serves',
  parameters: PusherParametersSchema,
  inputs: {
    model: { type: 'ServingModel' },
    blessing: { type: 'ModelBlessing' },
    /** The InfraValidator's verdict; its config.json (with warm-up requests) replaces the Trainer's. */
    infraBlessing: { type: 'InfraBlessing', optional: true },
  },
  outputs: { pushedModel: 'PushedModel' },
  defaultResource: 'cpu',
  writesModelRegistry: true,
  executor: { module: require.resolve('./executor') },
});
