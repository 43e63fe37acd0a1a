// TF Serving's batching flags → the manager's `batching` option, for the CLI:
//   --enable_batching (jetserve default: true) and --batching_parameters_file.
// TF Serving refuses a parameters file without batching enabled; so does jetserve.

import { invalidArgument } from '../errors.js';
import { Batching } from './batcher.js';
import { loadBatchingParametersFile } from './parameters.js';

export interface BatchingFlags {
  /** --enable_batching; jetserve's default is true (batch_timeout_micros 0 never adds idle latency). */
  enableBatching: boolean;
  /** --batching_parameters_file ('' or undefined: TF's defaults). */
  batchingParametersFile?: string;
}

/**
 * What ModelManagerOptions.batching should be for these flags. Throws INVALID_ARGUMENT for a file
 * given with batching off, and for an unreadable or invalid file ("<file>:<line>:<col>: …").
 */
export function batchingFromFlags(flags: BatchingFlags): Batching | false {
  const file = flags.batchingParametersFile ?? '';
  if (!flags.enableBatching) {
    if (file) {
      throw invalidArgument('--batching_parameters_file is set but batching is off (--enable_batching=false): enable batching or drop the file');
    }
    return false;
  }
  return new Batching(file ? loadBatchingParametersFile(file) : {});
}

/** One log line describing the batching in effect. */
export function describeBatching(batching: Batching | false | undefined): string {
  if (!batching) return 'batching: off';
  const p = batching.parameters;
  return (
    `batching: on (max_batch_size ${p.maxBatchSize}, batch_timeout_micros ${p.batchTimeoutMicros}, ` +
    `max_enqueued_batches ${p.maxEnqueuedBatches}, num_batch_threads ${p.numBatchThreads || 'executor threads'}` +
    `${p.allowedBatchSizes.length ? `, allowed_batch_sizes [${p.allowedBatchSizes.join(', ')}]` : ''}` +
    `${p.padVariableLengthInputs ? ', pad_variable_length_inputs' : ''})`
  );
}
