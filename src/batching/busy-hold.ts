// jetserve's default and adaptive batching on a slow model: while another batch of the same
// signature queue is running and a slot is free, a forming batch waits briefly for its fair share
// of the queue instead of leaving with the first request that finds the slot free.
//
// Why: with batch_timeout_micros 0 a free slot starts a batch at the first arrival. Under N
// closed-loop clients and a model whose run takes longer than the clients' round trip (ResNet50:
// ~0.5 s a batch on 2 cores, the clients re-send within a few ms), the clients of a finished batch
// come back one by one while the other slot is busy: the first starts a batch alone, the rest wait
// for the next slot, and the queue settles into fixed small-and-large batches (16 clients on 2
// slots: 1, 3 and 12 rows, round after round — test/batching/busy-hold.test.ts). Small batches
// waste what batching is for: TF's cost per image at batch 1-2 is well above that at 4-16.
//
// The rule, per signature queue, only while at least one of its batches is running (an idle queue
// keeps the zero-latency fast path) and only for jetserve's own modes — the default
// (`holdWhileBusy`) and a p99 target (adaptive.ts); a --batching_parameters_file without a target
// keeps TF Serving's semantics exactly:
//   - a group is ready once it holds its fair share: ceil((rows running + rows waiting + rows
//     expected back) / slots), where the rows expected back are those of the queue's finished
//     batches not yet matched by arrivals (closed-loop clients re-send what a batch released;
//     without them the share counts only who is already back, and 16 clients settle at 6 + 6 with 4
//     always waiting). A hold that runs out stops expecting them: they are not coming;
//   - otherwise it waits at most HOLD_SHARE_OF_COST × the queue's measured batch time (an EWMA of
//     its batches' wall time, first run left out) and never more than HOLD_MAX_MS, counted from when
//     a slot was first free for it;
//   - a batch that leaves takes every row waiting, as always: capping it at the share would
//     leave rows behind to wait a whole run for the next free slot (a burst of 4 behind a batch of
//     1 would run as 3, then 1 after a run);
//   - a hold under HOLD_MIN_MS is no hold: a fast model (the MLP: tens of µs a batch) is never held,
//     since a timer cannot wait less than ~1 ms and the event-loop coalescing already batches it.
// The wait costs at most a few % of one slot's time, while the other batch keeps the cores busy (one
// ResNet50 batch alone already runs on both: TF's intra-op pool has a thread per core).

import { performance } from 'node:perf_hooks';

/** A hold is at most this share of the queue's measured batch time. */
export const HOLD_SHARE_OF_COST = 0.05;
/** A hold never lasts longer than this (ms), however slow the model. */
export const HOLD_MAX_MS = 25;
/** Holds shorter than this (ms) are not made: a timer cannot wait less. */
export const HOLD_MIN_MS = 1;
/** Weight of the newest batch in the cost EWMA. */
const COST_WEIGHT = 1 / 8;

/** One signature queue's running batches and measured batch time, and the hold they allow. */
export class BusyHold {
  /** This queue's batches running now, and their rows. */
  private running = 0;
  private runningRows = 0;
  /** EWMA of a batch's wall time (ms); 0 until two batches finished (the first, cold, left out). */
  private costMs = 0;
  private finishedBatches = 0;
  /** Rows released by finished batches and not yet matched by arrivals. */
  private expectedRows = 0;

  constructor(
    /** jetserve's default batching (no parameters file), or a p99 target (adaptive.ts). */
    private readonly enabled: boolean,
    /** The queue's batches that can run at once (the scheduler's num_batch_threads; under a target, also the model's parallel runs). */
    private readonly slots: () => number,
  ) {}

  /** This queue's batches running now. */
  get runningBatches(): number {
    return this.running;
  }

  /** A batch of `rows` started (the fast path or the queue). Returns its start time for finished(). */
  started(rows: number): number {
    this.running++;
    this.runningRows += rows;
    return performance.now();
  }

  /** The batch started at `startedAt` with `rows` rows finished (or failed). */
  finished(rows: number, startedAt: number): void {
    this.running--;
    this.runningRows -= rows;
    if (!this.enabled) return;
    this.expectedRows += rows;
    const ms = performance.now() - startedAt;
    if (++this.finishedBatches === 2) this.costMs = ms;
    else if (this.finishedBatches > 2) this.costMs += COST_WEIGHT * (ms - this.costMs);
  }

  /** A request of `rows` rows arrived (perhaps one of those a finished batch released). */
  arrived(rows: number): void {
    this.expectedRows = Math.max(0, this.expectedRows - rows);
  }

  /** A hold ran out: the rows still expected back did not come within it. */
  expired(): void {
    this.expectedRows = 0;
  }

  /**
   * How long (ms) a forming batch of `rows` rows may still wait for company now, `waitingRows` rows
   * waiting in the queue in all (its own included). 0: it goes now.
   */
  holdMs(rows: number, waitingRows: number): number {
    const hold = this.holdBound();
    if (hold === 0) return 0;
    return rows >= this.fairShare(waitingRows) ? 0 : hold;
  }

  /** The longest hold (ms) allowed now; 0: none (disabled, the queue idle, or a fast model). */
  private holdBound(): number {
    if (!this.enabled || this.running === 0) return 0;
    const hold = Math.min(HOLD_MAX_MS, HOLD_SHARE_OF_COST * this.costMs);
    return hold < HOLD_MIN_MS ? 0 : hold;
  }

  private fairShare(waitingRows: number): number {
    return Math.max(1, Math.ceil((this.runningRows + waitingRows + this.expectedRows) / Math.max(1, this.slots())));
  }
}
