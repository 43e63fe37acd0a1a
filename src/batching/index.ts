// Request batching (see batcher.ts for the design): one Batching (parameters + shared scheduler)
// per server, handed to the model manager as its runner factory; a ServableBatcher per version.
export { Batching, ServableBatcher } from './batcher.js';
export type { ServableBatcherOptions } from './batcher.js';
export { BatchScheduler } from './scheduler.js';
export { paddedSize } from './batch-run.js';
export { QUEUE_FULL_MESSAGE } from './signature-queue.js';
export type { BatchRunOptions, Outputs } from './task.js';
export {
  DEFAULT_BATCHING_PARAMETERS,
  loadBatchingParametersFile,
  parseBatchingParameters,
  resolveBatchingParameters,
} from './parameters.js';
export type { BatchingParameters } from './parameters.js';
export { BATCH_SIZE_BUCKETS, newMetrics } from './metrics.js';
export type { BatchingMetrics } from './metrics.js';
export { concatRows, sliceRows } from './concat.js';
export { batchingFromFlags, describeBatching } from './flags.js';
export { AdaptiveBatchController, BATCHER_SHARE } from './adaptive.js';
export type { AdaptiveState } from './adaptive.js';
export type { BatchingFlags } from './flags.js';
