/**
 * The files of the Trainer's artifacts.
 *
 * Model (`model`): `model.onnx` (the trained model alone: transformed features in), `metrics.json`
 * (per epoch, train and eval), `training.json` (backend and why, epochs run by each attempt), and the
 * executor's `executor.log`.
 * ServingModel (`servingModel`): `serving.onnx` (the transform's serving graph composed in front of the
 * model: raw features in, predictions out), `signature.json`, and `config.json` for `mlpipe serve`.
 */
export const MODEL_FILE = 'model.onnx';
export const METRICS_FILE = 'metrics.json';
export const TRAINING_FILE = 'training.json';
export const SERVING_MODEL_FILE = 'serving.onnx';
export const SERVING_SIGNATURE_FILE = 'signature.json';
export const SERVING_CONFIG_FILE = 'config.json';
