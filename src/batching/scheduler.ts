// The batch scheduler (TF Serving's SharedBatchScheduler): one per server, shared by every model
// version's queues. It runs at most num_batch_threads batches at once, picks the next ready group
// round-robin, never adds latency when idle (a lone request starts at once), gathers the requests
// of one event-loop turn into one batch while slots are busy, and fails queued requests at their
// deadlines with one timer.

import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { engineInfo } from '../engine/info.js';
import { asJetserveError, JetserveError } from '../errors.js';
import type { Group } from './group.js';
import { newMetrics, type BatchingMetrics } from './metrics.js';

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
   * Runs `work` in a slot now (the idle fast path); the slot frees when it settles (after
   * `settled`). It also opens
   * the coalescing window: requests that arrive in the rest of this event-loop turn (other sockets
   * read in the same poll phase) queue behind it and leave together at the check phase — one TF
   * run for all of them instead of one each while a slot happens to be free. A lone request is
   * unaffected (it started here, synchronously).
   */
  runNow<T>(work: () => Promise<T>, settled?: () => void): Promise<T> {
    this.acquire();
    this.coalesce();
    let result: Promise<T>;
    try {
      result = work();
    } catch (err) {
      result = Promise.reject(err);
    }
    // registered before the caller's continuation: the next batch starts before results are
    // delivered; `settled` first, so the queue's own accounting is current when the next is chosen
    const done = () => {
      settled?.();
      this.finished();
    };
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
