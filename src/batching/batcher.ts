// Request batching between the model manager and the engine: the batcher of one model version
// (ServableBatcher, the version's runner) and Batching, the runner factory a server hands its model
// manager (the batching parameters plus the one scheduler every version shares). The parts:
//
//   ServableBatcher (batcher.ts: one per model version)
//     └─ SignatureQueue (signature-queue.ts: one per signature; admission, grouping)
//          └─ Group (group.ts: requests that can share a TF run: same output filter, same non-batch dims)
//   BatchScheduler (scheduler.ts: one per server, shared by every model): runs at most
//     numBatchThreads batches at once and picks the next group round-robin.
//   BatchRunner (batch-run.ts): gathers a batch, runs it once, splits the outputs, reruns on failure.
//
// Scheduling never adds latency when idle: while fewer than numBatchThreads batches run, a request
// is dispatched at once (and, when the scheduler is idle, handed to Model.run directly: no
// validation twice, no copy). When every slot is busy, requests accumulate per group and leave as
// one batch when a slot frees: its rows are gathered into one aligned buffer (the one copy), run
// once, and each output is split back into per-request subarray views. With batchTimeoutMicros > 0
// a group waits up to that long for a fuller batch (TF Serving semantics). jetserve's default (no
// parameters file) adds one wait for slow models: while another batch of the same signature runs,
// a forming batch waits briefly for its fair share of the queue (busy-hold.ts).
//
// Isolation: every request is validated (names, dtypes, shapes) before it is queued, so a bad
// request fails alone; if TF still fails a merged batch, its requests are rerun one by one so
// only the culprit fails.

import type { Model } from '../engine/model.js';
import { DEFAULT_SIGNATURE } from '../engine/signature.js';
import type { Tensor } from '../engine/tensor.js';
import { asJetserveError } from '../errors.js';
import type { AdaptiveState } from './adaptive.js';
import { MetricsSink, newMetrics, type BatchingMetrics } from './metrics.js';
import { resolveBatchingParameters, type BatchingParameters } from './parameters.js';
import { BatchScheduler } from './scheduler.js';
import { SignatureQueue } from './signature-queue.js';
import { cancelled, deadlineExceeded, type BatchRunOptions, type Outputs } from './task.js';

export interface ServableBatcherOptions {
  /** Batching parameters (defaults: TF's, with a 0 µs timeout). */
  parameters?: Partial<BatchingParameters>;
  /** Shared scheduler; default a new one sized by parameters.numBatchThreads. */
  scheduler?: BatchScheduler;
  /**
   * Refuse a request (UNAVAILABLE, TF Serving's message) that would make more than
   * max_enqueued_batches × max_batch_size rows wait in its queue. Default: when
   * parameters.maxEnqueuedBatches is given (see queueBounded).
   */
  boundedQueue?: boolean;
}

/**
 * Whether TF Serving's queue limit applies to these parameters: when max_enqueued_batches was given
 * (a --batching_parameters_file always gives it, TF's 10 when the file leaves it out). jetserve's
 * default batching gives none and refuses nothing: TF Serving's default is no batching at all, which
 * runs every request it decoded, so a queue limit would refuse what TF Serving serves. What bounds
 * the memory of waiting requests then is what bounds the requests themselves (the front ends'
 * body and message limits): a queued request holds only its already-decoded inputs.
 */
export function queueBounded(parameters: Partial<BatchingParameters>): boolean {
  return parameters.maxEnqueuedBatches !== undefined;
}

/**
 * The batching runner for one model version: `run()` has Model.run's contract plus an optional
 * deadline. Batching.runnerFor makes one per version the manager loads.
 */
export class ServableBatcher {
  readonly parameters: BatchingParameters;
  readonly scheduler: BatchScheduler;
  /** This version's batching metrics (the scheduler's metrics aggregate all versions). */
  readonly metrics: BatchingMetrics = newMetrics();
  private readonly queues = new Map<string, SignatureQueue>();
  private readonly sink: MetricsSink;
  /** Rows that may wait per signature queue (undefined: no limit). */
  private readonly queueLimit: number | undefined;

  constructor(
    readonly model: Model,
    options: ServableBatcherOptions = {},
  ) {
    this.parameters = resolveBatchingParameters(options.parameters);
    const bounded = options.boundedQueue ?? queueBounded(options.parameters ?? {});
    this.queueLimit = bounded ? this.parameters.maxEnqueuedBatches * this.parameters.maxBatchSize : undefined;
    this.scheduler = options.scheduler ?? new BatchScheduler(this.parameters.numBatchThreads);
    this.sink = new MetricsSink([this.metrics, this.scheduler.metrics]);
  }

  run(inputs: Readonly<Record<string, Tensor>>, options: BatchRunOptions = {}): Promise<Outputs> {
    const { deadline, signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    if (deadline !== undefined && Date.now() >= deadline) return Promise.reject(deadlineExceeded());
    let queue: SignatureQueue;
    try {
      queue = this.queue(options.signature ?? DEFAULT_SIGNATURE);
    } catch (err) {
      return Promise.reject(asJetserveError(err));
    }
    return queue.submit(inputs, options.outputs, deadline, signal, options.onStart);
  }

  /** run() with a callback instead of a promise (ServableRunner.runWith): called once, maybe before this returns. */
  runWith(inputs: Readonly<Record<string, Tensor>>, options: BatchRunOptions, done: (err: unknown, outputs: Outputs | undefined) => void): void {
    const { deadline, signal } = options;
    if (signal?.aborted) return done(cancelled(), undefined);
    if (deadline !== undefined && Date.now() >= deadline) return done(deadlineExceeded(), undefined);
    let queue: SignatureQueue;
    try {
      queue = this.queue(options.signature ?? DEFAULT_SIGNATURE);
    } catch (err) {
      return done(asJetserveError(err), undefined);
    }
    queue.submitWith(
      inputs,
      options.outputs,
      deadline,
      signal,
      options.onStart,
      (outputs) => done(undefined, outputs),
      (err) => done(err, undefined),
    );
  }

  /** Adaptive batching's state per signature (empty without a p99 target). */
  adaptiveState(): Record<string, AdaptiveState> {
    const out: Record<string, AdaptiveState> = {};
    for (const [signature, queue] of this.queues) if (queue.adaptive) out[signature] = queue.adaptive.snapshot();
    return out;
  }

  private queue(signature: string): SignatureQueue {
    let queue = this.queues.get(signature);
    if (!queue) {
      // throws INVALID_ARGUMENT naming the known signatures
      const info = this.model.signature(signature);
      queue = new SignatureQueue(this.model, this.scheduler, signature, info, this.parameters, this.queueLimit, this.sink);
      this.queues.set(signature, queue);
    }
    return queue;
  }
}

/**
 * Batching for a whole server: the parameters plus the one scheduler every model version shares.
 * The manager calls `runnerFor(model)` for each version it loads.
 */
export class Batching {
  readonly parameters: BatchingParameters;
  readonly scheduler: BatchScheduler;
  /** TF Serving's queue limit applies (queueBounded: max_enqueued_batches was given). */
  readonly boundedQueue: boolean;

  constructor(parameters: Partial<BatchingParameters> = {}) {
    this.parameters = resolveBatchingParameters(parameters);
    this.boundedQueue = queueBounded(parameters);
    this.scheduler = new BatchScheduler(this.parameters.numBatchThreads);
  }

  runnerFor(model: Model): ServableBatcher {
    return new ServableBatcher(model, { parameters: this.parameters, scheduler: this.scheduler, boundedQueue: this.boundedQueue });
  }

  /** Aggregate metrics of every version batched by this server. */
  get metrics(): BatchingMetrics {
    return this.scheduler.metrics;
  }
}
