// KServe v2 model metadata (GET /v2/models/{m}[/versions/{v}]) and Triton's model-configuration
// extension (GET /v2/models/{m}/config), from a signature. Re-exported by kserve.ts.

import type { DType } from '../../engine/dtypes.js';
import type { SignatureInfo, TensorSpec } from '../../engine/signature.js';
import { KSERVE_DATATYPE } from '../kserve-binary.js';

export interface KServeModelMetadataArgs {
  name: string;
  versions: readonly (string | number)[];
  /** Default "tensorflow_savedmodel". */
  platform?: string;
  signature: SignatureInfo;
}

function tensorMetadata(name: string, spec: TensorSpec): object {
  return {
    name,
    datatype: spec.dtype ? (KSERVE_DATATYPE[spec.dtype] ?? 'INVALID') : 'INVALID',
    // unknown rank has no KServe form: one variable dim
    shape: spec.shape ?? [-1],
  };
}

/** GET /v2/models/{m}[/versions/{v}] body. */
export function encodeKServeModelMetadata(args: KServeModelMetadataArgs): string {
  return JSON.stringify({
    name: args.name,
    versions: args.versions.map(String),
    platform: args.platform ?? 'tensorflow_savedmodel',
    inputs: Object.entries(args.signature.inputs).map(([n, s]) => tensorMetadata(n, s)),
    outputs: Object.entries(args.signature.outputs).map(([n, s]) => tensorMetadata(n, s)),
  });
}

/** Triton's model-config data types. */
export const TRITON_DATA_TYPE: Record<DType, string> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  uint16: 'TYPE_UINT16',
  uint32: 'TYPE_UINT32',
  uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8',
  int16: 'TYPE_INT16',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  bfloat16: 'TYPE_BF16',
  float32: 'TYPE_FP32',
  float64: 'TYPE_FP64',
  string: 'TYPE_STRING',
  complex64: 'TYPE_INVALID',
  complex128: 'TYPE_INVALID',
};

export interface TritonModelConfigArgs {
  name: string;
  signature: SignatureInfo;
  /**
   * The batch size the server's batcher accepts (0: no batching). Only used when every input and
   * output has a variable leading dim, which Triton then leaves out of `dims`.
   */
  maxBatchSize?: number;
  /** Default "tensorflow_savedmodel". */
  platform?: string;
  /** Versions served: Triton's version_policy. Default: latest 1. */
  versionPolicy?: { latest: { num_versions: number } } | { all: Record<string, never> } | { specific: { versions: number[] } };
  /** Dynamic batching settings when the server batches this model. */
  dynamicBatching?: { preferredBatchSize?: number[]; maxQueueDelayMicroseconds?: number };
  /** Instances (concurrent runs) to report. Default 1. */
  instanceCount?: number;
}

/** GET /v2/models/{m}[/versions/{v}]/config body: a Triton ModelConfig as JSON. */
export function encodeTritonModelConfig(args: TritonModelConfigArgs): string {
  const sig = args.signature;
  const all = [...Object.values(sig.inputs), ...Object.values(sig.outputs)];
  const requested = args.maxBatchSize ?? 0;
  const batchable = requested > 0 && all.length > 0 && all.every((s) => s.shape !== null && s.shape.length > 0 && s.shape[0] === -1);
  const maxBatchSize = batchable ? requested : 0;
  const dims = (s: TensorSpec) => (s.shape === null ? [-1] : batchable ? s.shape.slice(1) : [...s.shape]);
  const dataType = (s: TensorSpec) => (s.dtype ? TRITON_DATA_TYPE[s.dtype] : 'TYPE_INVALID');
  const config: Record<string, unknown> = {
    name: args.name,
    platform: args.platform ?? 'tensorflow_savedmodel',
    backend: 'tensorflow',
    version_policy: args.versionPolicy ?? { latest: { num_versions: 1 } },
    max_batch_size: maxBatchSize,
    input: Object.entries(sig.inputs).map(([name, s]) => ({
      name,
      data_type: dataType(s),
      format: 'FORMAT_NONE',
      dims: dims(s),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
    })),
    output: Object.entries(sig.outputs).map(([name, s]) => ({
      name,
      data_type: dataType(s),
      dims: dims(s),
      label_filename: '',
      is_shape_tensor: false,
    })),
    instance_group: [{ name: args.name, kind: 'KIND_CPU', count: args.instanceCount ?? 1, gpus: [], profile: [] }],
    default_model_filename: 'model.savedmodel',
    parameters: {},
    model_warmup: [],
  };
  if (args.dynamicBatching && maxBatchSize > 0) {
    config.dynamic_batching = {
      preferred_batch_size: args.dynamicBatching.preferredBatchSize ?? [],
      max_queue_delay_microseconds: args.dynamicBatching.maxQueueDelayMicroseconds ?? 0,
    };
  }
  return JSON.stringify(config);
}
