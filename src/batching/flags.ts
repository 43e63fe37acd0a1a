// TF Serving's batching flags → the manager's `batching` option, for the CLI:
//   --enable_batching (jetserve default: true) and --batching_parameters_file.
// TF Serving refuses a parameters file without batching enabled; so does jetserve.

import { invalidArgument } from '../errors.js';
import { Batching } from './batcher.js';
import { HOLD_MAX_MS, HOLD_SHARE_OF_COST } from './busy-hold.js';
import { loadBatchingParametersFile, type BatchingParameters } from './parameters.js';

export interface BatchingFlags {
  /** --enable_batching; jetserve's default is true (batch_timeout_micros 0 never adds idle latency). */
  enableBatching: boolean;
  /** --batching_parameters_file ('' or undefined: TF's defaults). */
  batchingParametersFile?: string;
  /** --batching_target_p99_ms (0 or undefined: the file's target_p99_ms, else static batching). */
  batchingTargetP99Ms?: number;
}

/**
 * What ModelManagerOptions.batching should be for these flags. Throws INVALID_ARGUMENT for a file
 * given with batching off, and for an unreadable or invalid file ("<file>:<line>:<col>: …").
 */
export function batchingFromFlags(flags: BatchingFlags): Batching | false {
  const file = flags.batchingParametersFile ?? '';
  const target = flags.batchingTargetP99Ms ?? 0;
  if (!flags.enableBatching) {
    if (file) {
      throw invalidArgument('--batching_parameters_file is set but batching is off (--enable_batching=false): enable batching or drop the file');
    }
    if (target > 0) throw invalidArgument('--batching_target_p99_ms is set but batching is off (--enable_batching=false): adaptive batching needs batching');
    return false;
  }
  const parameters: Partial<BatchingParameters> = file ? loadBatchingParametersFile(file) : {};
  return new Batching(target > 0 ? { ...parameters, targetP99Ms: target } : parameters);
}

/** One log line describing the batching in effect. */
export function describeBatching(batching: Batching | false | undefined): string {
  if (!batching) return 'batching: off';
  const p = batching.parameters;
  return (
    `batching: on (max_batch_size ${p.maxBatchSize}, batch_timeout_micros ${p.batchTimeoutMicros}, ` +
    `max_enqueued_batches ${batching.boundedQueue ? p.maxEnqueuedBatches : "unbounded (jetserve's default; a --batching_parameters_file sets TF Serving's limit)"}, ` +
    `num_batch_threads ${p.numBatchThreads || 'executor threads'}` +
    `${p.allowedBatchSizes.length ? `, allowed_batch_sizes [${p.allowedBatchSizes.join(', ')}]` : ''}` +
    `${p.padVariableLengthInputs ? ', pad_variable_length_inputs' : ''}` +
    `${p.holdWhileBusy && p.targetP99Ms === 0 && p.batchTimeoutMicros === 0 ? `; while a slow model's batch runs, its next waits for its share ≤ ${HOLD_SHARE_OF_COST * 100} % of a run, ≤ ${HOLD_MAX_MS} ms` : ''}` +
    `${p.targetP99Ms > 0 ? `; adaptive: p99 target ${p.targetP99Ms} ms, batch size and timeout adapt up to the values above, at most min(num_batch_threads, executor threads) batches run at once, a slow model's next waits for its share` : ''})`
  );
}
