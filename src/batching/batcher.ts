// Request batching between the model manager and the engine.
//
//   ServableBatcher (one per model version; what the manager installs as the version's runner)
//     └─ SignatureQueue (one per signature)
//          └─ Group (requests that can share a TF run: same output filter, same non-batch dims)
//   BatchScheduler (one per server, shared by every model): runs at most numBatchThreads batches
//     at once and picks the next group round-robin.
//
// Scheduling never adds latency when idle: while fewer than numBatchThreads batches run, a request
// is dispatched at once (and, when the scheduler is idle, handed to Model.run directly: no
// validation twice, no copy). When every slot is busy, requests accumulate per group and leave as
// one batch when a slot frees: its rows are gathered into one aligned buffer (the one copy), run
// once, and each output is split back into per-request subarray views. With batchTimeoutMicros > 0
// a group waits up to that long for a fuller batch (TF Serving semantics).
//
// Isolation: every request is validated (names, dtypes, shapes) before it is queued, so a bad
// request fails alone; if TF still fails a merged batch, its requests are rerun one by one so
// only the culprit fails. Outputs without a batch dimension (dim 0 ≠ merged rows) cannot be split:
// those requests are rerun one by one and that output filter is never batched again.

import { availableParallelism } from 'node:os';
import { engineInfo } from '../engine/info.js';
import type { Model } from '../engine/model.js';
import { DEFAULT_SIGNATURE, type SignatureInfo } from '../engine/signature.js';
import { assertConsistent, type Tensor } from '../engine/tensor.js';
import { asJetserveError, JetserveError } from '../errors.js';
import { concatRows, sliceRows } from './concat.js';
import { MetricsSink, newMetrics, type BatchingMetrics } from './metrics.js';
import { resolveBatchingParameters, type BatchingParameters } from './parameters.js';

export type Outputs = Record<string, Tensor>;

/** What one request asks the batcher for (the manager's RunOptions). */
export interface BatchRunOptions {
  /** Default "serving_default". */
  signature?: string;
  /** Output filter; default all outputs. */
  outputs?: readonly string[];
  /** Absolute Date.now() ms. A request still queued at its deadline fails DEADLINE_EXCEEDED and never runs. */
  deadline?: number;
}

/** TF Serving's message for a full batching queue (UNAVAILABLE → HTTP 503). */
export const QUEUE_FULL_MESSAGE = 'The batch scheduling queue to which this task was submitted is full';

const QUEUED = 0;
const TAKEN = 1;
const EXPIRED = 2;

interface Task {
  inputs: Readonly<Record<string, Tensor>>;
  outputs: readonly string[] | undefined;
  rows: number;
  deadline: number | undefined;
  /** performance.now() at enqueue. */
  enqueuedAt: number;
  state: typeof QUEUED | typeof TAKEN | typeof EXPIRED;
  resolve: (outputs: Outputs) => void;
  reject: (err: unknown) => void;
}

function deadlineExceeded(): JetserveError {
  return new JetserveError('DEADLINE_EXCEEDED', 'Deadline exceeded while the request was waiting in the batching queue');
}

/** Requests that can share one TF run, in arrival order. */
class Group {
  private tasks: Task[] = [];
  private head = 0;
  /** Queued (not taken, not expired) tasks and their rows. */
  live = 0;
  rows = 0;
  /** In the scheduler's round-robin list. */
  scheduled = false;

  constructor(
    readonly queue: SignatureQueue,
    readonly key: string,
    /** Each task runs alone (not batchable). */
    public solo: boolean,
  ) {}

  push(task: Task): void {
    this.tasks.push(task);
    this.live++;
    this.rows += task.rows;
  }

  /** A queued task left without running (deadline). */
  drop(task: Task): void {
    this.live--;
    this.rows -= task.rows;
    if (this.live === 0) this.reset();
  }

  /** performance.now() time at which this group may be dispatched (-Infinity: now; Infinity: empty). */
  readyAt(): number {
    if (this.live === 0) return Infinity;
    const params = this.queue.params;
    if (this.solo || params.batchTimeoutMicros === 0 || this.rows >= params.maxBatchSize) return -Infinity;
    return this.oldest()!.enqueuedAt + params.batchTimeoutMicros / 1000;
  }

  private oldest(): Task | undefined {
    while (this.head < this.tasks.length && this.tasks[this.head]!.state !== QUEUED) this.head++;
    return this.tasks[this.head];
  }

  /**
   * Removes the next batch: the oldest queued tasks while their rows fit maxBatchSize (the first
   * always goes, so an oversized request runs as a batch of its own). Tasks whose deadline passed
   * are rejected here and never run.
   */
  take(now: number): Task[] {
    const batch: Task[] = [];
    const max = this.solo ? 1 : this.queue.params.maxBatchSize;
    let rows = 0;
    const wallNow = Date.now();
    for (;;) {
      const task = this.oldest();
      if (!task) break;
      if (task.deadline !== undefined && wallNow >= task.deadline) {
        this.head++;
        this.live--;
        this.rows -= task.rows;
        this.queue.expire(task);
        continue;
      }
      if (batch.length > 0 && (this.solo || rows + task.rows > max)) break;
      this.head++;
      task.state = TAKEN;
      this.live--;
      this.rows -= task.rows;
      rows += task.rows;
      batch.push(task);
      this.queue.dequeued(task, now);
      if (rows >= max) break;
    }
    if (this.live === 0) this.reset();
    else if (this.head > 1024 && this.head * 2 > this.tasks.length) {
      this.tasks = this.tasks.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  /**
   * Fails the queued tasks whose deadline has passed (the scheduler's deadline sweep). Returns the
   * earliest deadline still queued (Infinity: none).
   */
  sweep(wallNow: number): number {
    let next = Infinity;
    const tasks = this.tasks;
    for (let i = this.head; i < tasks.length; i++) {
      const task = tasks[i]!;
      if (task.state !== QUEUED || task.deadline === undefined) continue;
      if (task.deadline <= wallNow) {
        this.drop(task);
        this.queue.expire(task);
      } else if (task.deadline < next) {
        next = task.deadline;
      }
    }
    return next;
  }

  private reset(): void {
    this.tasks = [];
    this.head = 0;
  }
}

/**
 * Runs at most `numBatchThreads` batches at once across every model it serves, choosing the next
 * group round-robin. One per server (TF Serving's SharedBatchScheduler).
 */
export class BatchScheduler {
  /** Aggregate metrics of every servable using this scheduler. */
  readonly metrics: BatchingMetrics = newMetrics();
  private slots: number;
  private running = 0;
  private groups: Group[] = [];
  private cursor = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  /**
   * One timer for the deadlines of every queued task (armed for the earliest one watched), instead
   * of a setTimeout/clearTimeout pair per request: a request that passes its deadline while queued
   * fails at that time; one taken earlier costs nothing.
   */
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private deadlineAt = Infinity;
  private readonly sweepDeadlines = () => {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const group of this.groups) next = Math.min(next, group.sweep(now));
    if (next !== Infinity) this.watchDeadline(next);
  };
  /**
   * True from a batch's completion, or from a request started on the idle fast path, until the
   * event loop's next check phase (setImmediate): the requests its results trigger (in-process
   * callers resubmitting) and those read from other sockets in the same poll phase are gathered
   * into the next batch instead of each taking a free slot alone. Never open when the scheduler
   * was idle, so a lone request still starts at once.
   */
  private coalescing = false;
  private readonly endCoalescing = () => {
    this.coalescing = false;
    this.pump();
  };

  /** `numBatchThreads` 0 = the native executor's thread count (= cores unless set otherwise). */
  constructor(numBatchThreads = 0) {
    if (!Number.isSafeInteger(numBatchThreads) || numBatchThreads < 0) {
      throw new JetserveError('INVALID_ARGUMENT', `num_batch_threads must be an integer >= 0, got ${numBatchThreads}`);
    }
    this.slots = numBatchThreads;
  }

  /** Batches allowed to run at once. */
  get numBatchThreads(): number {
    if (this.slots === 0) {
      let executor = 0;
      try {
        executor = engineInfo().stats.executorThreads;
      } catch {
        // no addon (tests with fake models): fall back to the core count
      }
      // the executor is created with the first model load; before that it reports 0
      if (executor > 0) this.slots = executor;
      return executor > 0 ? executor : availableParallelism();
    }
    return this.slots;
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.running;
  }

  /** True when a request could start right away with nothing else waiting. */
  idle(): boolean {
    return !this.coalescing && this.groups.length === 0 && this.running < this.numBatchThreads;
  }

  /** True when a batch slot is free (other work may be waiting for the coalescing window). */
  hasFreeSlot(): boolean {
    return this.running < this.numBatchThreads;
  }

  /**
   * Runs `work` in a slot now (the idle fast path); the slot frees when it settles. It also opens
   * the coalescing window: requests that arrive in the rest of this event-loop turn (other sockets
   * read in the same poll phase) queue behind it and leave together at the check phase — one TF
   * run for all of them instead of one each while a slot happens to be free. A lone request is
   * unaffected (it started here, synchronously).
   */
  runNow<T>(work: () => Promise<T>): Promise<T> {
    this.acquire();
    this.coalesce();
    let result: Promise<T>;
    try {
      result = work();
    } catch (err) {
      result = Promise.reject(err);
    }
    // registered before the caller's continuation: the next batch starts before results are delivered
    const done = () => this.finished();
    result.then(done, done);
    return result;
  }

  /** @internal A queued task has this deadline (Date.now() ms): fail it then if still queued. */
  watchDeadline(deadline: number): void {
    if (deadline >= this.deadlineAt) return;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineAt = deadline;
    // unref: queued work always has a running batch or a batch timer holding the loop open
    this.deadlineTimer = setTimeout(this.sweepDeadlines, Math.max(0, deadline - Date.now()));
    this.deadlineTimer.unref?.();
  }

  /** @internal A group got tasks: schedule it and dispatch what can go. */
  activate(group: Group): void {
    if (!group.scheduled) {
      group.scheduled = true;
      this.groups.push(group);
    }
    this.pump();
  }

  private acquire(): void {
    this.running++;
    this.metrics.inFlightBatches++;
  }

  /** A batch finished: start queued work, then open the coalescing window while results are delivered. */
  private finished(): void {
    this.running--;
    this.metrics.inFlightBatches--;
    this.pump(true);
    this.coalesce();
  }

  /** Holds queued work back until the event loop's next check phase (see `coalescing`). */
  private coalesce(): void {
    if (!this.coalescing) {
      this.coalescing = true;
      setImmediate(this.endCoalescing);
    }
  }

  /** Dispatches what can go. `force`: also inside the coalescing window (at a batch's completion). */
  private pump(force = false): void {
    if (this.coalescing && !force) return;
    const slots = this.numBatchThreads;
    while (this.running < slots && this.groups.length > 0) {
      const now = performance.now();
      let chosen = -1;
      let wake = Infinity;
      for (let i = 0; i < this.groups.length; i++) {
        const at = (this.cursor + i) % this.groups.length;
        const readyAt = this.groups[at]!.readyAt();
        if (readyAt <= now) {
          chosen = at;
          break;
        }
        wake = Math.min(wake, readyAt);
      }
      if (chosen === -1) {
        this.removeEmpty();
        if (wake !== Infinity) this.arm(wake);
        return;
      }
      const group = this.groups[chosen]!;
      const batch = group.take(now);
      if (group.live === 0) {
        this.groups.splice(chosen, 1);
        group.scheduled = false;
        group.queue.forget(group);
        this.cursor = chosen;
      } else {
        this.cursor = chosen + 1;
      }
      if (batch.length === 0) continue;
      this.acquire();
      group.queue.execute(group, batch).then(
        (deliver) => {
          this.finished();
          deliver();
        },
        (err: unknown) => {
          // execute() settles every task itself; reaching here is a bug, but never strand requests
          this.finished();
          for (const task of batch) task.reject(asJetserveError(err));
        },
      );
    }
  }

  private removeEmpty(): void {
    const kept: Group[] = [];
    for (const g of this.groups) {
      if (g.live > 0) kept.push(g);
      else {
        g.scheduled = false;
        g.queue.forget(g);
      }
    }
    this.groups = kept;
  }

  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - performance.now()),
    );
  }
}

/** One signature of one model version: its groups, queue limit and batchability facts. */
class SignatureQueue {
  private readonly groups = new Map<string, Group>();
  private readonly solo: Group;
  /** Rows waiting (queued, not yet taken). */
  private pendingRows = 0;
  private readonly inputKeys: string[];
  /** Every input has a leading batch dimension (-1) in the signature. */
  private readonly inputsBatchable: boolean;
  /** Output filter key → its outputs all have a batch dimension (and splitting has not failed). */
  private readonly outputsBatchable = new Map<string, boolean>();

  constructor(
    private readonly batcher: ServableBatcher,
    readonly signature: string,
    private readonly info: SignatureInfo,
    readonly params: BatchingParameters,
    private readonly sink: MetricsSink,
  ) {
    this.solo = new Group(this, '', true);
    this.inputKeys = Object.keys(info.inputs).sort();
    this.inputsBatchable =
      this.inputKeys.length > 0 &&
      this.inputKeys.every((k) => {
        const shape = info.inputs[k]!.shape;
        return shape !== null && shape.length >= 1 && shape[0] === -1;
      });
  }

  private get model(): Model {
    return this.batcher.model;
  }

  private get scheduler(): BatchScheduler {
    return this.batcher.scheduler;
  }

  submit(inputs: Readonly<Record<string, Tensor>>, outputs: readonly string[] | undefined, deadline: number | undefined): Promise<Outputs> {
    const params = this.params;
    // Idle fast path: nothing waiting and a slot free → straight to the engine, zero added latency.
    // A request of max_batch_size rows or more cannot share a run anyway: it takes a free slot at
    // once too, instead of waiting out a coalescing window it could gain nothing from.
    if (
      params.batchTimeoutMicros === 0 &&
      params.allowedBatchSizes.length === 0 &&
      (this.scheduler.idle() || (this.scheduler.hasFreeSlot() && leadingDim(inputs) >= params.maxBatchSize))
    ) {
      this.sink.add('requests');
      this.sink.add('batches');
      this.sink.add('tfRuns');
      const rows = leadingDim(inputs);
      this.sink.add('rows', rows);
      this.sink.batchSize(rows);
      return this.scheduler.runNow(() => this.model.run(inputs, { signature: this.signature, outputs }));
    }

    let rows: number;
    let group: Group;
    try {
      this.model.validate(inputs, { signature: this.signature, outputs });
      const plan = this.plan(inputs, outputs);
      rows = plan.rows;
      group = plan.group;
    } catch (err) {
      return Promise.reject(asJetserveError(err));
    }
    const limit = params.maxEnqueuedBatches * params.maxBatchSize;
    if (this.pendingRows > 0 && this.pendingRows + rows > limit) {
      this.sink.add('rejectedQueueFull');
      return Promise.reject(new JetserveError('UNAVAILABLE', QUEUE_FULL_MESSAGE));
    }
    return new Promise<Outputs>((resolve, reject) => {
      const task: Task = {
        inputs,
        outputs,
        rows,
        deadline,
        enqueuedAt: performance.now(),
        state: QUEUED,
        resolve,
        reject,
      };
      group.push(task);
      this.pendingRows += rows;
      this.sink.add('requests');
      this.sink.add('queuedRequests');
      this.sink.add('queuedRows', rows);
      this.scheduler.activate(group);
      if (deadline !== undefined && task.state === QUEUED) this.scheduler.watchDeadline(deadline);
    });
  }

  /** Rows of a request and the group it joins (the solo group when it cannot share a run). */
  private plan(inputs: Readonly<Record<string, Tensor>>, outputs: readonly string[] | undefined): { rows: number; group: Group } {
    const solo = { rows: Math.max(1, leadingDim(inputs)), group: this.solo };
    if (!this.inputsBatchable) return solo;
    const outputsKey = outputs === undefined ? '*' : outputs.join('\u0001');
    if (!this.outputsCanSplit(outputsKey, outputs)) return solo;
    let rows = -1;
    let key = outputsKey;
    for (const k of this.inputKeys) {
      const t = inputs[k]!;
      if (t.shape.length === 0) return solo;
      if (rows === -1) rows = t.shape[0]!;
      else if (t.shape[0] !== rows) return solo; // no common batch dimension
      assertConsistent(t, `input '${k}'`);
      key += this.params.padVariableLengthInputs ? `|${t.shape.length}` : `|${t.shape.slice(1).join(',')}`;
    }
    if (rows <= 0) return solo;
    let group = this.groups.get(key);
    if (!group) {
      group = new Group(this, key, false);
      this.groups.set(key, group);
    }
    return { rows, group };
  }

  private outputsCanSplit(outputsKey: string, outputs: readonly string[] | undefined): boolean {
    let ok = this.outputsBatchable.get(outputsKey);
    if (ok === undefined) {
      const keys = outputs ?? Object.keys(this.info.outputs);
      ok = keys.every((k) => {
        const shape = this.info.outputs[k]?.shape;
        return shape === null || (shape !== undefined && shape.length >= 1 && shape[0] === -1);
      });
      this.outputsBatchable.set(outputsKey, ok);
    }
    return ok;
  }

  /** @internal A task left the queue for a batch. */
  dequeued(task: Task, now: number): void {
    this.pendingRows -= task.rows;
    this.sink.add('queuedRequests', -1);
    this.sink.add('queuedRows', -task.rows);
    this.sink.add('queueTimeMicros', Math.round((now - task.enqueuedAt) * 1000));
  }

  /** @internal A queued task's deadline passed: it fails and never runs. */
  expire(task: Task): void {
    task.state = EXPIRED;
    this.pendingRows -= task.rows;
    this.sink.add('queuedRequests', -1);
    this.sink.add('queuedRows', -task.rows);
    this.sink.add('expiredInQueue');
    task.reject(deadlineExceeded());
  }

  /** @internal The scheduler dropped an empty group. */
  forget(group: Group): void {
    if (group !== this.solo && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /**
   * Runs one batch. Resolves to a function that delivers the results (the scheduler calls it
   * after starting the next batch). Never rejects: failures are delivered to their tasks.
   */
  async execute(group: Group, batch: Task[]): Promise<() => void> {
    const outputs = batch[0]!.outputs;
    const options = { signature: this.signature, outputs };
    let rows = 0;
    for (const t of batch) rows += t.rows;
    const padded = group.solo ? rows : paddedSize(rows, this.params.allowedBatchSizes);
    this.sink.add('batches');
    this.sink.add('tfRuns');
    this.sink.add('rows', padded);
    this.sink.add('paddingRows', padded - rows);
    this.sink.batchSize(padded);

    if (batch.length === 1 && padded === rows) {
      const task = batch[0]!;
      try {
        const out = await this.model.run(task.inputs, options);
        return () => task.resolve(out);
      } catch (err) {
        return () => task.reject(err);
      }
    }

    this.sink.add('mergedRequests', batch.length > 1 ? batch.length : 0);
    let merged: Outputs;
    try {
      merged = await this.model.run(this.gather(batch, padded), options);
    } catch {
      this.sink.add('batchFailures');
      await this.runEach(batch, options);
      return noop;
    }
    const results: Outputs[] = batch.map(() => ({}));
    for (const [key, tensor] of Object.entries(merged)) {
      if (tensor.shape.length === 0 || tensor.shape[0] !== padded) {
        // no batch dimension to split along: never batch this output filter again
        this.sink.add('unsplittableBatches');
        this.outputsBatchable.set(outputs === undefined ? '*' : outputs.join('\u0001'), false);
        group.solo = true;
        await this.runEach(batch, options);
        return noop;
      }
      let offset = 0;
      for (let i = 0; i < batch.length; i++) {
        const n = batch[i]!.rows;
        results[i]![key] = sliceRows(tensor, offset, n);
        offset += n;
      }
    }
    return () => {
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
    };
  }

  /** The one gather copy: each input's rows from every task, concatenated (and padded). */
  private gather(batch: Task[], padded: number): Record<string, Tensor> {
    const merged: Record<string, Tensor> = {};
    for (const key of this.inputKeys) {
      const parts = batch.map((t) => t.inputs[key]!);
      let padTo: number[] | undefined;
      if (this.params.padVariableLengthInputs) {
        const inner = parts[0]!.shape.slice(1);
        let differs = false;
        for (const p of parts) {
          for (let d = 0; d < inner.length; d++) {
            const size = p.shape[d + 1]!;
            if (size !== inner[d]) differs = true;
            if (size > inner[d]!) inner[d] = size;
          }
        }
        if (differs) padTo = inner;
      }
      merged[key] = concatRows(parts, padded, padTo);
    }
    return merged;
  }

  /** Reruns each task alone (after a failed or unsplittable batch), settling each as it finishes. */
  private async runEach(batch: Task[], options: { signature: string; outputs: readonly string[] | undefined }): Promise<void> {
    for (const task of batch) {
      if (task.deadline !== undefined && Date.now() >= task.deadline) {
        this.sink.add('expiredInQueue');
        task.reject(deadlineExceeded());
        continue;
      }
      this.sink.add('reruns');
      this.sink.add('tfRuns');
      try {
        task.resolve(await this.model.run(task.inputs, options));
      } catch (err) {
        task.reject(err);
      }
    }
  }
}

function noop(): void {}

/** dim 0 of the first input with rank ≥ 1 (0 when there is none). */
function leadingDim(inputs: Readonly<Record<string, Tensor>>): number {
  for (const key in inputs) {
    const shape = inputs[key]!.shape;
    if (shape.length > 0) return shape[0]!;
  }
  return 0;
}

/** The smallest allowed batch size ≥ rows (rows itself when none is set or rows exceeds them all). */
export function paddedSize(rows: number, allowed: readonly number[]): number {
  for (const size of allowed) if (size >= rows) return size;
  return rows;
}

export interface ServableBatcherOptions {
  /** Batching parameters (defaults: TF's, with a 0 µs timeout). */
  parameters?: Partial<BatchingParameters>;
  /** Shared scheduler; default a new one sized by parameters.numBatchThreads. */
  scheduler?: BatchScheduler;
}

/**
 * The batching runner for one model version: `run()` has Model.run's contract plus an optional
 * deadline. The manager installs one per version (ServableVersion.setRunner).
 */
export class ServableBatcher {
  readonly parameters: BatchingParameters;
  readonly scheduler: BatchScheduler;
  /** This version's batching metrics (the scheduler's metrics aggregate all versions). */
  readonly metrics: BatchingMetrics = newMetrics();
  private readonly queues = new Map<string, SignatureQueue>();
  private readonly sink: MetricsSink;

  constructor(
    readonly model: Model,
    options: ServableBatcherOptions = {},
  ) {
    this.parameters = resolveBatchingParameters(options.parameters);
    this.scheduler = options.scheduler ?? new BatchScheduler(this.parameters.numBatchThreads);
    this.sink = new MetricsSink([this.metrics, this.scheduler.metrics]);
  }

  run(inputs: Readonly<Record<string, Tensor>>, options: BatchRunOptions = {}): Promise<Outputs> {
    const { deadline } = options;
    if (deadline !== undefined && Date.now() >= deadline) return Promise.reject(deadlineExceeded());
    let queue: SignatureQueue;
    try {
      queue = this.queue(options.signature ?? DEFAULT_SIGNATURE);
    } catch (err) {
      return Promise.reject(asJetserveError(err));
    }
    return queue.submit(inputs, options.outputs, deadline);
  }

  private queue(signature: string): SignatureQueue {
    let queue = this.queues.get(signature);
    if (!queue) {
      // throws INVALID_ARGUMENT naming the known signatures
      const info = this.model.signature(signature);
      queue = new SignatureQueue(this, signature, info, this.parameters, this.sink);
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

  constructor(parameters: Partial<BatchingParameters> = {}) {
    this.parameters = resolveBatchingParameters(parameters);
    this.scheduler = new BatchScheduler(this.parameters.numBatchThreads);
  }

  runnerFor(model: Model): ServableBatcher {
    return new ServableBatcher(model, { parameters: this.parameters, scheduler: this.scheduler });
  }

  /** Aggregate metrics of every version batched by this server. */
  get metrics(): BatchingMetrics {
    return this.scheduler.metrics;
  }
}
