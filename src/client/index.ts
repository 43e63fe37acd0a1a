// `jetserve/client`: clients for apps talking to a jetserve (or any KServe v2) server over REST.
// They need neither the native addon nor TensorFlow: tensors are plain { dtype, shape, data }.
export { predictFlat, predictFlatDetailed, predictUrl } from './flatbuffers-client.js';
export type { PredictFlatOptions } from './flatbuffers-client.js';
export type { FlatPredictResponse } from '../wire/flatbuffers/flatbuffers.js';
export {
  inferKServe,
  inferKServeDetailed,
  inferUrl,
  encodeKServeBinaryRequest,
  decodeKServeResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
} from './kserve-client.js';
export type { InferKServeOptions, InferKServeResult } from './kserve-client.js';
export type { Tensor } from '../engine/tensor.js';
export type { DType, TensorData } from '../engine/dtypes.js';
export { JetserveError } from '../errors.js';
export type { ErrorCode } from '../errors.js';
