// Batching counters and gauges: plain objects the server can expose (Prometheus, /monitoring)
// without knowing how the batcher works. Mirrors TF Serving's batching_session metrics
// (input/processed batch size histograms, padding, queuing) in a simpler shape.

/** Upper bounds of the batch-size histogram buckets: 1, 2, 4, … 8192, then +Inf (TF Serving's buckets). */
export const BATCH_SIZE_BUCKETS: readonly number[] = Array.from({ length: 14 }, (_, i) => 2 ** i);

export interface BatchingMetrics {
  /** Requests accepted into a queue (including those dispatched at once). */
  requests: number;
  /** Batches dispatched (each is one TF run unless it had to be rerun request by request). */
  batches: number;
  /** Model.run calls made: batches plus individual reruns. */
  tfRuns: number;
  /** Requests that shared a batch with at least one other request. */
  mergedRequests: number;
  /** Rows fed to TF by batches, padding included. */
  rows: number;
  /** Padding rows added for allowed_batch_sizes. */
  paddingRows: number;
  /**
   * Batch sizes in rows (padding included): counts[i] is the number of batches with
   * BATCH_SIZE_BUCKETS[i-1] < size ≤ BATCH_SIZE_BUCKETS[i]; the last count is > 8192.
   */
  batchSizeHistogram: { le: readonly number[]; counts: number[] };
  /** Merged batches TF failed: their requests were rerun one by one. */
  batchFailures: number;
  /** Merged batches whose outputs had no batch dimension to split: rerun one by one. */
  unsplittableBatches: number;
  /** Individual reruns done after a failed or unsplittable batch. */
  reruns: number;
  /** Requests rejected because their queue was full (UNAVAILABLE). */
  rejectedQueueFull: number;
  /** Requests whose deadline passed while queued (DEADLINE_EXCEEDED, never run). */
  expiredInQueue: number;
  /** Gauge: requests waiting in queues now. */
  queuedRequests: number;
  /** Gauge: rows waiting in queues now. */
  queuedRows: number;
  /** Gauge: batches running now. */
  inFlightBatches: number;
  /** Total time requests spent queued before their batch started, in µs (divide by requests). */
  queueTimeMicros: number;
}

export function newMetrics(): BatchingMetrics {
  return {
    requests: 0,
    batches: 0,
    tfRuns: 0,
    mergedRequests: 0,
    rows: 0,
    paddingRows: 0,
    batchSizeHistogram: { le: BATCH_SIZE_BUCKETS, counts: new Array<number>(BATCH_SIZE_BUCKETS.length + 1).fill(0) },
    batchFailures: 0,
    unsplittableBatches: 0,
    reruns: 0,
    rejectedQueueFull: 0,
    expiredInQueue: 0,
    queuedRequests: 0,
    queuedRows: 0,
    inFlightBatches: 0,
    queueTimeMicros: 0,
  };
}

export function bucketOf(rows: number): number {
  for (let i = 0; i < BATCH_SIZE_BUCKETS.length; i++) if (rows <= BATCH_SIZE_BUCKETS[i]!) return i;
  return BATCH_SIZE_BUCKETS.length;
}

type CounterKey = {
  [K in keyof BatchingMetrics]: BatchingMetrics[K] extends number ? K : never;
}[keyof BatchingMetrics];

/** Updates several metrics objects at once (a servable's own and the shared scheduler's). */
export class MetricsSink {
  constructor(private readonly targets: readonly BatchingMetrics[]) {}

  add(key: CounterKey, n = 1): void {
    for (const m of this.targets) m[key] += n;
  }

  /**
   * A request entered a queue (requests, queuedRequests, queuedRows), and one left it for a batch
   * (queuedRequests, queuedRows, queueTimeMicros): every queued request pays both, so they are
   * named property updates rather than three add() calls each (a keyed access by a variable name
   * is a megamorphic IC: ~1 % of a tiny predict's CPU under load in `perf`, bench:rest).
   */
  queued(rows: number): void {
    for (const m of this.targets) {
      m.requests++;
      m.queuedRequests++;
      m.queuedRows += rows;
    }
  }

  /** A request went straight to the engine (the idle fast path): one request, batch and run. */
  ranAtOnce(rows: number): void {
    const bucket = bucketOf(rows);
    for (const m of this.targets) {
      m.requests++;
      m.batches++;
      m.tfRuns++;
      m.rows += rows;
      m.batchSizeHistogram.counts[bucket]!++;
    }
  }

  dequeued(rows: number, queueMicros: number): void {
    for (const m of this.targets) {
      m.queuedRequests--;
      m.queuedRows -= rows;
      m.queueTimeMicros += queueMicros;
    }
  }

  batchSize(rows: number): void {
    const bucket = bucketOf(rows);
    for (const m of this.targets) m.batchSizeHistogram.counts[bucket]!++;
  }
}
