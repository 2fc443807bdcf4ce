import { UserInputError } from '../dsl/executor';
import type { onnx } from './graph';

/**
 * Whether a graph written for one opset of a domain means the same at a newer one. Composing two graphs
 * gives one opset per domain, the newer of the two, so the nodes of the graph that imported the older one
 * run under operator versions they were not written for. That is sound only where every version change
 * crossed leaves the node's meaning as it was: ONNX mostly adds types, or an attribute whose default keeps
 * the old behaviour. Each change after opset 13 of the default domain (and every change of ai.onnx.ml) was
 * reviewed against ONNX's Changelog.md and Changelog-ml.md; those that alter a node's meaning or make it
 * invalid are listed in BREAKING with the reason, and refused. Changes at or before 13 were not reviewed
 * and are refused too: mlpipe's own graphs and tfjs exports use 13, and skl2onnx writes the newest
 * version of each operator it uses.
 */

/** Each operator's versions (ONNX's since_version), default domain, from Changelog.md up to opset 28. */
const DEFAULT_DOMAIN_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  Abs: [1, 6, 13], Acos: [7, 22], Acosh: [9, 22], Add: [1, 6, 7, 13, 14], AffineGrid: [20], And: [1, 7],
  ArgMax: [1, 11, 12, 13], ArgMin: [1, 11, 12, 13], Asin: [7, 22], Asinh: [9, 22], Atan: [7, 22], Atanh: [9, 22],
  Attention: [23, 24, 25], AveragePool: [1, 7, 10, 11, 19, 22], BatchNormalization: [1, 6, 7, 9, 14, 15],
  Bernoulli: [15, 22], BitCast: [26], BitShift: [11], BitwiseAnd: [18], BitwiseNot: [18], BitwiseOr: [18],
  BitwiseXor: [18], BlackmanWindow: [17], Cast: [1, 6, 9, 13, 19, 21, 23, 24, 25],
  CastLike: [15, 19, 21, 23, 24, 25], CausalConvWithState: [27], Ceil: [1, 6, 13], Celu: [12, 28],
  CenterCropPad: [18], Clip: [1, 6, 11, 12, 13], Col2Im: [18], Compress: [9, 11], Concat: [1, 4, 11, 13],
  ConcatFromSequence: [11], Constant: [1, 9, 11, 12, 13, 19, 21, 23, 24, 25],
  ConstantOfShape: [9, 20, 21, 23, 24, 25], Conv: [1, 11, 22], ConvInteger: [10], ConvTranspose: [1, 11, 22],
  Cos: [7, 22], Cosh: [9, 22], CumProd: [26], CumSum: [11, 14], DFT: [17, 20], DeformConv: [19, 22],
  DepthToSpace: [1, 11, 13], DequantizeLinear: [10, 13, 19, 21, 23, 24, 25], Det: [11, 22], Div: [1, 6, 7, 13, 14],
  Dropout: [1, 6, 7, 10, 12, 13, 22], DynamicQuantizeLinear: [11], Einsum: [12], Elu: [1, 6, 22],
  Equal: [1, 7, 11, 13, 19], Erf: [9, 13], Exp: [1, 6, 13], Expand: [8, 13], EyeLike: [9, 22],
  Flatten: [1, 9, 11, 13, 21, 23, 24, 25], Floor: [1, 6, 13], GRU: [1, 3, 7, 14, 22], Gather: [1, 11, 13],
  GatherElements: [11, 13], GatherND: [11, 12, 13], Gelu: [20], Gemm: [1, 6, 7, 9, 11, 13],
  GlobalAveragePool: [1, 22], GlobalLpPool: [1, 2, 22], GlobalMaxPool: [1, 22], Greater: [1, 7, 9, 13],
  GreaterOrEqual: [12, 16], GridSample: [16, 20, 22], GroupNormalization: [18, 21], HammingWindow: [17],
  HannWindow: [17], HardSigmoid: [1, 6, 22], HardSwish: [14, 22], Hardmax: [1, 11, 13],
  Identity: [1, 13, 14, 16, 19, 21, 23, 24, 25], If: [1, 11, 13, 16, 19, 21, 23, 24, 25], ImageDecoder: [20],
  InstanceNormalization: [1, 6, 22], IsInf: [10, 20], IsNaN: [9, 13, 20], LRN: [1, 13], LSTM: [1, 7, 14, 22],
  LayerNormalization: [17], LeakyRelu: [1, 6, 16], Less: [1, 7, 9, 13], LessOrEqual: [12, 16], LinearAttention: [27],
  Log: [1, 6, 13], LogSoftmax: [1, 11, 13], Loop: [1, 11, 13, 16, 19, 21, 23, 24, 25], LpNormalization: [1, 22],
  LpPool: [1, 2, 11, 18, 22], MatMul: [1, 9, 13], MatMulInteger: [10], Max: [1, 6, 8, 12, 13],
  MaxPool: [1, 8, 10, 11, 12, 22], MaxRoiPool: [1, 22], MaxUnpool: [9, 11, 22], Mean: [1, 6, 8, 13],
  MeanVarianceNormalization: [9, 13], MelWeightMatrix: [17], Min: [1, 6, 8, 12, 13], Mish: [18, 22], Mod: [10, 13],
  Mul: [1, 6, 7, 13, 14], Multinomial: [7, 22], Neg: [1, 6, 13], NegativeLogLikelihoodLoss: [12, 13, 22],
  NonMaxSuppression: [10, 11], NonZero: [9, 13], Not: [1], OneHot: [9, 11], Optional: [15],
  OptionalGetElement: [15, 18], OptionalHasElement: [15, 18], Or: [1, 7], PRelu: [1, 6, 7, 9, 16],
  Pad: [1, 2, 11, 13, 18, 19, 21, 23, 24, 25], Pow: [1, 7, 12, 13, 15], QLinearConv: [10], QLinearMatMul: [10, 21],
  QuantizeLinear: [10, 13, 19, 21, 23, 24, 25], RMSNormalization: [23], RNN: [1, 7, 14, 22], RandomNormal: [1, 22],
  RandomNormalLike: [1, 22], RandomUniform: [1, 22], RandomUniformLike: [1, 22], Range: [11, 27],
  Reciprocal: [1, 6, 13], ReduceL1: [1, 11, 13, 18], ReduceL2: [1, 11, 13, 18], ReduceLogSum: [1, 11, 13, 18],
  ReduceLogSumExp: [1, 11, 13, 18], ReduceMax: [1, 11, 12, 13, 18, 20], ReduceMean: [1, 11, 13, 18],
  ReduceMin: [1, 11, 12, 13, 18, 20], ReduceProd: [1, 11, 13, 18], ReduceSum: [1, 11, 13],
  ReduceSumSquare: [1, 11, 13, 18], RegexFullMatch: [20], Relu: [1, 6, 13, 14],
  Reshape: [1, 5, 13, 14, 19, 21, 23, 24, 25], Resize: [10, 11, 13, 18, 19], ReverseSequence: [10],
  RoiAlign: [10, 16, 22], RotaryEmbedding: [23], Round: [11, 22], STFT: [17],
  Scan: [8, 9, 11, 16, 19, 21, 23, 24, 25], Scatter: [9, 11], ScatterElements: [11, 13, 16, 18],
  ScatterND: [11, 13, 16, 18], Selu: [1, 6, 22], SequenceAt: [11], SequenceConstruct: [11], SequenceEmpty: [11],
  SequenceErase: [11], SequenceInsert: [11], SequenceLength: [11], SequenceMap: [17],
  Shape: [1, 13, 15, 19, 21, 23, 24, 25], Shrink: [9], Sigmoid: [1, 6, 13], Sign: [9, 13], Sin: [7, 22],
  Sinh: [9, 22], Size: [1, 13, 19, 21, 23, 24, 25], Slice: [1, 10, 11, 13], Softmax: [1, 11, 13],
  SoftmaxCrossEntropyLoss: [12, 13], Softplus: [1, 22], Softsign: [1, 22], SpaceToDepth: [1, 13],
  Split: [1, 2, 11, 13, 18], SplitToSequence: [11, 24], Sqrt: [1, 6, 13], Squeeze: [1, 11, 13, 21, 23, 24, 25],
  StringConcat: [20], StringNormalizer: [10], StringSplit: [20], Sub: [1, 6, 7, 13, 14], Sum: [1, 6, 8, 13],
  SwiGLU: [28], Swish: [24], Tan: [7, 22], Tanh: [1, 6, 13], TensorScatter: [24], TfIdfVectorizer: [9],
  ThresholdedRelu: [10, 22], Tile: [1, 6, 13], TopK: [1, 10, 11, 24], Transpose: [1, 13, 21, 23, 24, 25],
  Trilu: [14], Unique: [11], Unsqueeze: [1, 11, 13, 21, 23, 24, 25], Upsample: [1, 7, 9, 10], Where: [9, 16],
  Xor: [1, 7],
};

const ML_DOMAIN_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  ArrayFeatureExtractor: [1], Binarizer: [1], CastMap: [1], CategoryMapper: [1], DictVectorizer: [1], FeatureVectorizer: [1],
  Imputer: [1], LabelEncoder: [1, 2, 4], LinearClassifier: [1], LinearRegressor: [1], Normalizer: [1], OneHotEncoder: [1],
  SVMClassifier: [1], SVMRegressor: [1], Scaler: [1], TreeEnsemble: [5], TreeEnsembleClassifier: [1, 3, 5],
  TreeEnsembleRegressor: [1, 3, 5], ZipMap: [1],
};

/** A version change that breaks a node, or breaks it only in some uses (then the test says whether this node is one). */
interface Breaking {
  reason: string;
  breaks?: (node: onnx.INodeProto) => boolean;
}

const hasAttribute = (name: string) => (node: onnx.INodeProto) => (node.attribute ?? []).some((a) => a.name === name);
const REDUCE_AXES: Breaking = { reason: 'its axes moved from an attribute to an input', breaks: hasAttribute('axes') };

interface DomainHistory {
  versions: Readonly<Record<string, readonly number[]>>;
  /** Changes after this opset were reviewed; crossing an earlier one is refused. */
  reviewedAfter: number;
  /** Newest opset the table knows; a newer target may have changed anything. */
  newest: number;
  breaking: Readonly<Record<string, Breaking>>;
}

const HISTORIES: Readonly<Record<string, DomainHistory>> = {
  '': {
    versions: DEFAULT_DOMAIN_VERSIONS,
    reviewedAfter: 13,
    newest: 28,
    breaking: {
      'ReduceL1-18': REDUCE_AXES,
      'ReduceL2-18': REDUCE_AXES,
      'ReduceLogSum-18': REDUCE_AXES,
      'ReduceLogSumExp-18': REDUCE_AXES,
      'ReduceMax-18': REDUCE_AXES,
      'ReduceMean-18': REDUCE_AXES,
      'ReduceMin-18': REDUCE_AXES,
      'ReduceProd-18': REDUCE_AXES,
      'ReduceSumSquare-18': REDUCE_AXES,
      'Split-18': {
        reason: 'without a split input it needs the num_outputs attribute',
        breaks: (node) => (node.input ?? [])[1] === undefined || node.input![1] === '',
      },
      'BatchNormalization-14': { reason: 'its training outputs changed', breaks: (node) => (node.output ?? []).length > 1 },
      'DFT-20': { reason: 'its axis moved from an attribute to an input' },
      'GridSample-20': { reason: 'its modes were renamed (bilinear is linear, bicubic is cubic)' },
      'GroupNormalization-21': { reason: 'its scale and bias became per channel instead of per group' },
      'RoiAlign-16': { reason: 'its default coordinate_transformation_mode became half_pixel' },
      'Range-27': { reason: 'float16 ranges are computed in float32 (stash_type)' },
      'Attention-24': { reason: 'its causal mask and inputs changed' },
      'Attention-25': { reason: 'its inputs changed' },
    },
  },
  'ai.onnx.ml': {
    versions: ML_DOMAIN_VERSIONS,
    reviewedAfter: 1,
    newest: 5,
    breaking: {
      'LabelEncoder-2': { reason: 'its keys and values attributes were renamed' },
      'TreeEnsembleClassifier-5': { reason: 'it is deprecated, replaced by TreeEnsemble' },
      'TreeEnsembleRegressor-5': { reason: 'it is deprecated, replaced by TreeEnsemble' },
    },
  },
};

/** The default domain has two names; ONNX treats them as one. */
export const canonicalDomain = (domain: string | null | undefined): string => (domain === 'ai.onnx' || !domain ? '' : domain);

/** Every node of the graph and of its subgraphs (If, Loop, Scan bodies). */
export function* allNodes(graph: onnx.IGraphProto): Generator<onnx.INodeProto> {
  for (const node of graph.node ?? []) {
    yield node;
    for (const a of node.attribute ?? []) {
      if (a.g) yield* allNodes(a.g);
      for (const g of a.graphs ?? []) yield* allNodes(g);
    }
  }
}

/**
 * Refuses, naming the operator and the change, when a node of `domain` in `graph` (written for opset `from`)
 * would mean something else, or be invalid, at opset `to`. `which` names the graph in the message.
 */
export function checkOpsetUpgrade(graph: onnx.IGraphProto, domain: string, from: number, to: number, which: string): void {
  const label = domain === '' ? 'the default ONNX domain' : `domain ${domain}`;
  const history = HISTORIES[domain];
  if (!history) {
    throw new UserInputError(`${which} imports ${label} at version ${from}, the other graph at ${to}; mlpipe knows no version history for ${label}, so it cannot tell whether the nodes keep their meaning (export both at the same version)`);
  }
  if (to > history.newest) {
    throw new UserInputError(`${which}: ${label} at version ${to} is newer than the operator versions mlpipe knows (up to ${history.newest})`);
  }
  for (const node of allNodes(graph)) {
    if (canonicalDomain(node.domain) !== domain) continue;
    const op = node.opType ?? '';
    const versions = history.versions[op];
    if (!versions) throw new UserInputError(`${which}: operator ${op} of ${label} is not one mlpipe knows, so it cannot be moved from version ${from} to ${to}`);
    for (const version of versions.filter((v) => v > from && v <= to)) {
      const where = `${which}: operator ${op} (node '${node.name ?? ''}') changed at ${label} version ${version}`;
      if (version <= history.reviewedAfter) {
        throw new UserInputError(`${where}, between the graph's version ${from} and ${to}; mlpipe upgrades only across changes after version ${history.reviewedAfter} (export the graph at ${history.reviewedAfter} or later)`);
      }
      const breaking = history.breaking[`${op}-${version}`];
      if (breaking && (breaking.breaks?.(node) ?? true)) {
        throw new UserInputError(`${where}: ${breaking.reason}, so the graph written for version ${from} cannot run at ${to} (export it at version ${to})`);
      }
    }
  }
}
