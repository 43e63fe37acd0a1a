// Request batching (see batcher.ts for the design): the manager installs a ServableBatcher per
// model version; one Batching (parameters + shared scheduler) per server.
export { Batching, BatchScheduler, ServableBatcher, paddedSize, QUEUE_FULL_MESSAGE } from './batcher.js';
export type { BatchRunOptions, ServableBatcherOptions, Outputs } from './batcher.js';
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
export type { BatchingFlags } from './flags.js';
