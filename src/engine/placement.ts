// Where a run executes. Model.run() asks the addon to run a signature on the calling (JS) thread
// when its measured cost is below `inlineBelowMicros` and the session has no run on the native
// executor; otherwise the run goes to the executor. The cost is measured per (signature, batch-size
// bucket) by the addon (native/cost_model.h); this module names the slots.

/**
 * Default threshold, µs. Measured (src/engine/README.md, `npm run bench:engine`): handing a run to
 * the executor and back costs ~15-19 µs on the 2-core dev machine: under 10 % of a 200 µs run, most
 * of a 20 µs one. Above the threshold the event loop gains the whole run for that small price.
 * It is also the longest a measured-fast run may hold the event loop.
 */
export const DEFAULT_INLINE_BELOW_MICROS = 200;

/** Native placement codes (see NativeSession.run). */
export const PLACE_INLINE_ALWAYS = -1;
export const PLACE_EXECUTOR_ALWAYS = 0;

/** Must equal CostModel::kBatchBuckets in native/cost_model.h. */
export const BATCH_BUCKETS = 32;

/** Bucket of a batch of n rows: ceil(log2 n), 0 for n <= 1 (1 | 2 | 3-4 | 5-8 | …). */
export function batchBucket(rows: number): number {
  if (rows <= 1) return 0;
  return Math.min(BATCH_BUCKETS - 1, 32 - Math.clz32(rows - 1));
}

/** The batch sizes a bucket covers, [min, max]. */
export function bucketRange(bucket: number): [number, number] {
  if (bucket === 0) return [0, 1];
  return [2 ** (bucket - 1) + 1, 2 ** bucket];
}

export function costSlot(signatureIndex: number, rows: number): number {
  return signatureIndex * BATCH_BUCKETS + batchBucket(rows);
}

/** Checks a user-given threshold; returns the error message naming the option, or undefined. */
export function inlineBelowMicrosProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    return `inlineBelowMicros must be a non-negative number of microseconds (0 disables inline runs), got ${String(value)}`;
  }
  return undefined;
}
