// One signature of one model version inside the batcher: admits requests (the idle fast path
// straight to the engine, validation before queueing so a bad request fails alone, TF Serving's
// queue limit max_enqueued_batches × max_batch_size when it applies), plans which group a request joins (the batchability of
// its inputs and output filter), and keeps the queue's accounting as tasks leave.

import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Model } from '../engine/model.js';
import type { SignatureInfo } from '../engine/signature.js';
import { assertConsistent, elementCount, valueCount, type Tensor } from '../engine/tensor.js';
import { asJetserveError, JetserveError } from '../errors.js';
import { AdaptiveBatchController } from './adaptive.js';
import { BatchRunner } from './batch-run.js';
import { BusyHold } from './busy-hold.js';
import { Group, type GroupQueue } from './group.js';
import type { MetricsSink } from './metrics.js';
import type { BatchingParameters } from './parameters.js';
import type { BatchScheduler } from './scheduler.js';
import { cancelled, deadlineExceeded, EXPIRED, QUEUED, type Outputs, type Task } from './task.js';

/** TF Serving's message for a full batching queue (UNAVAILABLE → HTTP 503). */
export const QUEUE_FULL_MESSAGE = 'The batch scheduling queue to which this task was submitted is full';

/** One signature of one model version: its groups, queue limit and batchability facts. */
export class SignatureQueue implements GroupQueue {
  private readonly groups = new Map<string, Group>();
  private readonly solo: Group;
  /** Rows waiting (queued, not yet taken). */
  private pendingRows = 0;
  private readonly inputKeys: string[];
  /** Every input has a leading batch dimension (-1) in the signature. */
  private readonly inputsBatchable: boolean;
  /** Output filter key → its outputs all have a batch dimension (and splitting has not failed). */
  private readonly outputsBatchable = new Map<string, boolean>();
  private readonly runner: BatchRunner;
  /** With a p99 target: adapts `params` (the cap and timeout this queue and its groups read). */
  readonly adaptive: AdaptiveBatchController | undefined;
  /** The parameters in force: the static ones, or the adaptive controller's live copy. */
  readonly params: BatchingParameters;
  /** The group the previous batchable request joined, its output filter key and its dims (sameGroupAsLast). */
  private lastGroup: Group | undefined;
  private lastOutputsKey = '';
  private lastDims: number[] = [];
  /** jetserve's own modes: a slow model's forming batch waits for its share while another runs. */
  private readonly hold: BusyHold;
  /** This queue's batches that may run at once (unbounded but for the scheduler's slots without a target). */
  private readonly maxRunning: () => number;

  constructor(
    private readonly model: Model,
    private readonly scheduler: BatchScheduler,
    readonly signature: string,
    private readonly info: SignatureInfo,
    staticParams: BatchingParameters,
    /** Rows that may wait (queued, not yet taken) before a request is refused; undefined: no limit. */
    private readonly queueLimit: number | undefined,
    private readonly sink: MetricsSink,
  ) {
    const adaptive = staticParams.targetP99Ms > 0;
    // Under a p99 target the queue runs at most as many batches at once as the model can execute:
    // the scheduler's num_batch_threads bounds it, and so do the native executor's threads (one per
    // core). A batch formed beyond them waits in the executor's queue with the rows it left with,
    // while the requests arriving meanwhile could have joined it (ResNet50 with TF Serving's example
    // file, num_batch_threads 8, on 2 cores: 8 clients ran 497 of 497 batches with 1 image).
    const parallel = Math.max(1, typeof model.parallelRuns === 'number' ? model.parallelRuns : availableParallelism());
    this.maxRunning = adaptive ? () => Math.min(scheduler.numBatchThreads, parallel) : () => Infinity;
    const slots = adaptive ? this.maxRunning : () => scheduler.numBatchThreads;
    this.adaptive = adaptive ? new AdaptiveBatchController(staticParams, staticParams.targetP99Ms, slots) : undefined;
    this.params = this.adaptive?.effective ?? staticParams;
    // jetserve's own modes hold a slow model's forming batch for its share (busy-hold.ts); a
    // parameters file without a target keeps TF Serving's semantics
    this.hold = new BusyHold(staticParams.holdWhileBusy || adaptive, slots);
    this.solo = new Group(this, '', true);
    this.inputKeys = Object.keys(info.inputs).sort();
    this.inputsBatchable =
      this.inputKeys.length > 0 &&
      this.inputKeys.every((k) => {
        const shape = info.inputs[k]!.shape;
        return shape !== null && shape.length >= 1 && shape[0] === -1;
      });
    this.runner = new BatchRunner(model, signature, this.inputKeys, this.params, sink, this.outputsBatchable);
  }

  submit(
    inputs: Readonly<Record<string, Tensor>>,
    outputs: readonly string[] | undefined,
    deadline: number | undefined,
    signal?: AbortSignal,
    onStart?: () => void,
  ): Promise<Outputs> {
    const now = this.runAtOnce(inputs, outputs, onStart);
    if (now !== undefined) return now;
    const admitted = this.admit(inputs, outputs);
    if (admitted instanceof JetserveError) return Promise.reject(admitted);
    return new Promise<Outputs>((resolve, reject) => {
      this.enqueue(inputs, outputs, admitted, deadline, signal, onStart, resolve, reject);
    });
  }

  /**
   * submit() with callbacks instead of a promise (exactly one is called, once; `reject` may be
   * called before this returns): the REST route's path, which saves the promise and its reaction.
   */
  submitWith(
    inputs: Readonly<Record<string, Tensor>>,
    outputs: readonly string[] | undefined,
    deadline: number | undefined,
    signal: AbortSignal | undefined,
    onStart: (() => void) | undefined,
    resolve: (outputs: Outputs) => void,
    reject: (err: unknown) => void,
  ): void {
    const now = this.runAtOnce(inputs, outputs, onStart);
    if (now !== undefined) {
      now.then(resolve, reject);
      return;
    }
    const admitted = this.admit(inputs, outputs);
    if (admitted instanceof JetserveError) reject(admitted);
    else this.enqueue(inputs, outputs, admitted, deadline, signal, onStart, resolve, reject);
  }

  /**
   * Idle fast path: nothing waiting and a slot free → straight to the engine, zero added latency.
   * A request of max_batch_size rows or more cannot share a run anyway: it takes a free slot at
   * once too, instead of waiting out a coalescing window it could gain nothing from. Undefined
   * when the request must queue.
   */
  private runAtOnce(
    inputs: Readonly<Record<string, Tensor>>,
    outputs: readonly string[] | undefined,
    onStart: (() => void) | undefined,
  ): Promise<Outputs> | undefined {
    const params = this.params;
    const rows = leadingDim(inputs);
    const held = Math.max(1, rows);
    this.hold.arrived(held);
    // with another batch of this queue running, a slow model's request may be held (busy-hold.ts)
    // for the requests released with it: then it takes the queue like the rest
    if (
      !(
        params.batchTimeoutMicros === 0 &&
        params.allowedBatchSizes.length === 0 &&
        (this.scheduler.idle() || (this.scheduler.hasFreeSlot() && rows >= params.maxBatchSize)) &&
        this.mayStart() &&
        this.hold.holdMs(held, held) === 0
      )
    ) {
      return undefined;
    }
    this.sink.ranAtOnce(rows);
    onStart?.();
    const started = this.hold.started(rows);
    const run = this.scheduler.runNow(
      () => this.model.run(inputs, { signature: this.signature, outputs }),
      () => this.hold.finished(rows, started),
    );
    const adaptive = this.adaptive;
    if (adaptive) {
      const start = performance.now();
      const observe = () => {
        const micros = (performance.now() - start) * 1000;
        adaptive.observeRun(Math.max(1, rows), micros);
        adaptive.observeLatency(micros);
      };
      run.then(observe, observe);
    }
    return run;
  }

  /** Validation, the group and the queue limit of a request that must queue; the refusal as an error. */
  private admit(inputs: Readonly<Record<string, Tensor>>, outputs: readonly string[] | undefined): { rows: number; group: Group } | JetserveError {
    let plan: { rows: number; group: Group };
    try {
      this.model.validate(inputs, { signature: this.signature, outputs });
      plan = this.plan(inputs, outputs);
    } catch (err) {
      return asJetserveError(err);
    }
    const limit = this.queueLimit;
    if (limit !== undefined && this.pendingRows > 0 && this.pendingRows + plan.rows > limit) {
      this.sink.add('rejectedQueueFull');
      return new JetserveError('UNAVAILABLE', QUEUE_FULL_MESSAGE);
    }
    return plan;
  }

  private enqueue(
    inputs: Readonly<Record<string, Tensor>>,
    outputs: readonly string[] | undefined,
    { rows, group }: { rows: number; group: Group },
    deadline: number | undefined,
    signal: AbortSignal | undefined,
    onStart: (() => void) | undefined,
    resolve: (outputs: Outputs) => void,
    reject: (err: unknown) => void,
  ): void {
    const task: Task = {
      inputs,
      outputs,
      rows,
      deadline,
      enqueuedAt: performance.now(),
      onStart,
      state: QUEUED,
      resolve,
      reject,
    };
    group.push(task);
    this.pendingRows += rows;
    this.sink.queued(rows);
    this.scheduler.activate(group);
    if (deadline !== undefined && task.state === QUEUED) this.scheduler.watchDeadline(deadline);
    if (signal && task.state === QUEUED) {
      // a queued request whose caller gave up leaves the queue and never runs
      const onAbort = () => {
        if (task.state !== QUEUED) return;
        group.drop(task);
        this.leave(task);
        task.reject(cancelled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      task.resolve = (out) => {
        signal.removeEventListener('abort', onAbort);
        resolve(out);
      };
      task.reject = (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      };
    }
  }

  /** Rows of a request and the group it joins (the solo group when it cannot share a run). */
  private plan(inputs: Readonly<Record<string, Tensor>>, outputs: readonly string[] | undefined): { rows: number; group: Group } {
    if (!this.inputsBatchable) return this.soloPlan(inputs);
    const outputsKey = outputs === undefined ? '*' : outputs.join('\u0001');
    if (!this.outputsCanSplit(outputsKey, outputs)) return this.soloPlan(inputs);
    let rows = -1;
    for (const k of this.inputKeys) {
      const t = inputs[k]!;
      if (t.shape.length === 0) return this.soloPlan(inputs);
      if (rows === -1) rows = t.shape[0]!;
      else if (t.shape[0] !== rows) return this.soloPlan(inputs); // no common batch dimension
      // the message (a template string per input) only when it is needed
      if (t.data.length !== (t.dtype === 'string' ? elementCount(t.shape) : valueCount(t.dtype, t.shape))) {
        assertConsistent(t, `input '${k}'`);
      }
    }
    if (rows <= 0) return this.soloPlan(inputs);
    const group = this.sameGroupAsLast(inputs, outputsKey) ?? this.groupOf(inputs, outputsKey);
    return { rows, group };
  }

  private soloPlan(inputs: Readonly<Record<string, Tensor>>): { rows: number; group: Group } {
    return { rows: Math.max(1, leadingDim(inputs)), group: this.solo };
  }

  /**
   * The group of the previous request when this one has the same group key (same output filter,
   * same non-batch dims): under load consecutive requests nearly always do, and comparing the dims
   * skips building the key string (a slice, a join and concatenations per input) and its map lookup.
   */
  private sameGroupAsLast(inputs: Readonly<Record<string, Tensor>>, outputsKey: string): Group | undefined {
    const last = this.lastGroup;
    if (last === undefined || outputsKey !== this.lastOutputsKey || this.groups.get(last.key) !== last) return undefined;
    const dims = this.lastDims;
    let at = 0;
    for (const k of this.inputKeys) {
      const shape = inputs[k]!.shape;
      if (this.params.padVariableLengthInputs) {
        if (dims[at++] !== shape.length) return undefined;
      } else {
        if (dims[at++] !== shape.length) return undefined;
        for (let d = 1; d < shape.length; d++) if (dims[at++] !== shape[d]) return undefined;
      }
    }
    return last;
  }

  private groupOf(inputs: Readonly<Record<string, Tensor>>, outputsKey: string): Group {
    let key = outputsKey;
    const dims: number[] = [];
    for (const k of this.inputKeys) {
      const shape = inputs[k]!.shape;
      key += this.params.padVariableLengthInputs ? `|${shape.length}` : `|${shape.slice(1).join(',')}`;
      dims.push(shape.length);
      if (!this.params.padVariableLengthInputs) for (let d = 1; d < shape.length; d++) dims.push(shape[d]!);
    }
    let group = this.groups.get(key);
    if (!group) {
      group = new Group(this, key, false);
      this.groups.set(key, group);
    }
    this.lastGroup = group;
    this.lastOutputsKey = outputsKey;
    this.lastDims = dims;
    return group;
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
    this.sink.dequeued(task.rows, Math.round((now - task.enqueuedAt) * 1000));
    task.onStart?.();
  }

  /** @internal A queued task's deadline passed: it fails and never runs. */
  expire(task: Task): void {
    this.leave(task);
    this.sink.add('expiredInQueue');
    task.reject(deadlineExceeded());
  }

  /** A queued task leaves without running (deadline or cancellation). */
  private leave(task: Task): void {
    task.state = EXPIRED;
    this.pendingRows -= task.rows;
    this.sink.add('queuedRequests', -1);
    this.sink.add('queuedRows', -task.rows);
  }

  /** @internal The scheduler dropped an empty group. */
  forget(group: Group): void {
    if (group !== this.solo && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /**
   * Runs one batch (batch-run.ts). Resolves to a function that delivers the results (the scheduler
   * calls it after starting the next batch). Never rejects: failures are delivered to their tasks.
   */
  execute(group: Group, batch: Task[]): Promise<() => void> {
    const adaptive = this.adaptive;
    let rows = 0;
    for (const task of batch) rows += task.rows;
    const start = this.hold.started(rows);
    return this.runner.execute(group, batch).then((deliver) => {
      this.hold.finished(rows, start);
      if (adaptive) {
        const now = performance.now();
        for (const task of batch) adaptive.observeLatency((now - task.enqueuedAt) * 1000);
        adaptive.observeRun(rows, (now - start) * 1000);
      }
      return deliver;
    });
  }

  /** @internal Another batch of this queue may start now (its bound on batches at once). */
  mayStart(): boolean {
    return this.hold.runningBatches < this.maxRunning();
  }

  /** @internal How long (ms) a forming batch of `rows` rows may still wait for company (busy-hold.ts). */
  holdMs(rows: number): number {
    return this.hold.holdMs(rows, this.pendingRows);
  }

  /** @internal A group's hold ran out. */
  holdExpired(): void {
    this.hold.expired();
  }
}

/** dim 0 of the first input with rank ≥ 1 (0 when there is none). */
function leadingDim(inputs: Readonly<Record<string, Tensor>>): number {
  for (const key in inputs) {
    const shape = inputs[key]!.shape;
    if (shape.length > 0) return shape[0]!;
  }
  return 0;
}
