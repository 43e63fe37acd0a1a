// jetserve's public in-process API.
export { loadSavedModel, loadGraphDef, Model } from './engine/model.js';
export type { LoadSavedModelOptions, LoadGraphDefOptions, PredictOptions, PlacementOptions, ValidationOptions, ModelStats, RunCost } from './engine/model.js';
export type { SessionOptions, GpuOptions } from './engine/session-config.js';
export { allocTensor, toTensor, elementCount } from './engine/tensor.js';
export type { Tensor, TensorLike } from './engine/tensor.js';
export { DTYPES } from './engine/dtypes.js';
export type { DType, TensorData, NumericData } from './engine/dtypes.js';
export type { SignatureInfo, TensorSpec } from './engine/signature.js';
export { JetserveError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { engineInfo } from './engine/info.js';
