// SLO-driven adaptive batching: one controller per signature queue keeps the p99 of the time its
// requests spend in the batcher (queue + run) under a target by adjusting the queue's effective
// max_batch_size and batch_timeout_micros online, never past the static values (which become the
// upper bounds). The design, and why, is in src/batching/README.md ("Adaptive batching"); in short:
//
//   - the target the controller holds is 80 % of batching_target_p99_ms: the rest is left for what
//     happens outside the batcher (decoding, encoding, the network);
//   - a cost model (per batch-size bucket the fastest of its last 8 runs, extrapolated linearly
//     through the two largest buckets) sizes the cap: a request may wait for one batch running in its slot and then run in
//     its own, so the cap is the largest batch predicted to cost at most
//     (share · 0.8 · target − timeout) / 2;
//   - AIMD on `share` (1 at the start) corrects the model with what is measured: after every
//     decision window (≥ 100 requests and ≥ 20 ms, or 1 s and ≥ 8 requests for a slow model) a p99
//     over 0.8 · target multiplies it by 0.7 and halves the timeout, unless the batcher is
//     saturated (batches left full, or the slots were busy ≥ 85 % of the window) — then the queue,
//     not the batch size, makes the latency, a smaller cap would only cut throughput and lengthen
//     that queue, and the share grows back toward the cost model's cap instead; a p99 under
//     0.6 · target adds 0.05 (up to 1); in between it holds;
//   - the timeout (bounded by batch_timeout_micros; 0 stays 0) is an experiment both ways: tried an
//     eighth of its bound higher while the p99 has room and batches leave under-full, and kept only
//     when that window served ≥ 5 % more rows per second than the recent windows (else put back,
//     and not tried for 20 windows nor before 49× the trial's length: rejected trials take ≤ 2 % of
//     the time, since in a closed loop every one is rejected and runs at a fraction of the rate);
//     while one is in force, every 8th decision tries half of it,
//     kept unless rows per second fell ≥ 3 % (a shorter wait is less latency, so it wins ties, and
//     a timeout that stopped paying — or was kept on a lucky window — does not stay); a window that
//     judges a trial lasts ≥ 200 ms; a violation halves it;
//   - the samples of a window are dropped after every decision, so each judges the setting in force;
//   - the queue runs at most min(num_batch_threads, the model's parallel runs) of its batches at
//     once and holds a slow model's forming batch for its share (signature-queue.ts, busy-hold.ts).

import { performance } from 'node:perf_hooks';
import type { BatchingParameters } from './parameters.js';

/** Share of the target the batcher's own p99 may use (the rest is decode, encode, network). */
export const BATCHER_SHARE = 0.8;
/** Below this share of the target the controller grows the batch cap and the timeout. */
const GROW_BELOW = 0.6;
const DECREASE = 0.7;
const SHARE_STEP = 0.05;
/** A longer timeout is kept only when it serves this much more rows per second. */
const TIMEOUT_GAIN = 1.05;
/** A shorter timeout is kept unless rows per second fell below this share of the recent rate. */
const TIMEOUT_KEEP_SHORTER = 0.97;
/** Decisions between tries of a shorter timeout while one is in force. */
const SHORTER_EVERY = 8;
/** A window that judges a timeout trial lasts at least this long: a 20 ms window's rate is noise. */
const TRIAL_WINDOW_MS = 200;
/** Weight of the newest window in the recent rows-per-second rate trials are judged against. */
const RATE_ALPHA = 0.3;
const TIMEOUT_COOLDOWN = 20;
/**
 * Rejected trials of a longer timeout may take at most this share of the time: after one, the next
 * waits (1 / share − 1) × the trial's length (200 ms → ≥ 9.8 s), and at least TIMEOUT_COOLDOWN
 * windows. Why: in a closed loop every trial is rejected, and a trial runs at a fraction of the rate
 * (the MLP behind REST with 64 clients: 12.9k rows/s during a 625 µs trial, 37.5k without). With
 * only the 20-window cooldown (~0.4 s of 20 ms windows) a third of the time ran trials and adaptive
 * served 0.76× the best static configuration; at 2 % the trials cost ≤ ~1.5 % of the throughput.
 */
const TRIAL_TIME_SHARE = 0.02;
const MIN_SHARE = 0.05;
/** Slots busy this share of a window or more: saturated. */
const SATURATED_BUSY = 0.85;
const MIN_SAMPLES = 100;
const MIN_WINDOW_MS = 20;
const MAX_WINDOW_MS = 1000;
const MIN_SLOW_SAMPLES = 8;
const RING = 512;

/** Recent runs kept per batch-size bucket; its cost is their minimum. */
const BUCKET_RUNS = 8;

interface Bucket {
  /** Mean rows of the bucket's recent runs (EWMA). */
  rows: number;
  /** The bucket's cost: the fastest of its recent runs (see observeRun). */
  micros: number;
  runs: number;
  recent: Float64Array;
}

export interface AdaptiveState {
  targetP99Micros: number;
  maxBatchSize: number;
  batchTimeoutMicros: number;
  /** Batches of the queue that may run at once: num_batch_threads, at most the model's parallel runs. */
  maxConcurrentBatches: number;
  /** p99 (µs) of the last decision window, in the batcher; null before the first decision. */
  lastP99Micros: number | null;
  /** Largest batch the cost model allows under the target (null until measured). */
  modelBound: number | null;
  /** The AIMD variable: share of the per-batch budget the cap is sized for (1 = trust the cost model). */
  budgetShare: number;
  decisions: number;
  decreases: number;
  increases: number;
}

export class AdaptiveBatchController {
  /** The parameters the queue and its groups read: the adapted cap and timeout, the rest static. */
  readonly effective: BatchingParameters;
  private readonly targetMicros: number;
  private readonly ring = new Float64Array(RING);
  private samples = 0;
  private windowStart: number;
  private readonly buckets = new Map<number, Bucket>();
  /** Largest batch rows seen since the last decision. */
  private peakRows = 0;
  private rowsSum = 0;
  private runMicros = 0;
  private batches = 0;
  private state: AdaptiveState;
  /** Share of the per-batch budget the cap is sized for: the AIMD variable (1 = the cost model's word). */
  private share = 1;
  /** A timeout change under trial: the value before it, the recent rows/s it is judged against, and its direction. */
  private trial: { from: number; baseline: number; shorter: boolean; startedAt: number } | undefined;
  /** Decisions left before the timeout may be tried higher again. */
  private cooldown = 0;
  /** now() before which the timeout is not tried higher again (after a rejected trial; TRIAL_TIME_SHARE). */
  private retryAt = -Infinity;
  /** Rows per second of recent windows without a trial (EWMA); undefined before the first. */
  private recentRate: number | undefined;
  /** Decisions since a shorter timeout was last tried. */
  private sinceShorter = 0;

  constructor(
    private readonly limits: BatchingParameters,
    targetP99Ms: number,
    /** The queue's batches that can run at once (see SignatureQueue). */
    private readonly slots: () => number = () => 1,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.targetMicros = targetP99Ms * 1000;
    // start at the static settings' throughput, without waiting: the cost model and the first
    // windows bring the cap down when it is too big for the target
    this.effective = { ...limits, allowedBatchSizes: [...limits.allowedBatchSizes], batchTimeoutMicros: 0 };
    this.windowStart = now();
    this.state = {
      targetP99Micros: this.targetMicros,
      maxBatchSize: limits.maxBatchSize,
      batchTimeoutMicros: 0,
      maxConcurrentBatches: slots(),
      lastP99Micros: null,
      modelBound: null,
      budgetShare: 1,
      decisions: 0,
      decreases: 0,
      increases: 0,
    };
  }

  snapshot(): AdaptiveState {
    return { ...this.state, maxBatchSize: this.effective.maxBatchSize, batchTimeoutMicros: this.effective.batchTimeoutMicros, maxConcurrentBatches: this.slots() };
  }

  /**
   * A batch of `rows` rows ran in `micros` µs. A bucket's cost is the fastest of its last 8 runs:
   * what slows a run down (TF's one-time work on a new shape, a GC pause, another process on the
   * core) only ever adds time, and an average would keep one such outlier for many runs — enough,
   * above the cap, to pin the cap below that bucket forever, since a bucket the cap excludes never
   * runs again to correct it. What the minimum misses, the AIMD share corrects from the latency.
   */
  observeRun(rows: number, micros: number): void {
    const key = rows <= 1 ? 1 : 2 ** Math.ceil(Math.log2(rows));
    let b = this.buckets.get(key);
    if (!b) {
      b = { rows, micros, runs: 0, recent: new Float64Array(BUCKET_RUNS) };
      this.buckets.set(key, b);
    }
    const alpha = b.runs < 8 ? 1 / (b.runs + 1) : 0.125;
    b.rows += alpha * (rows - b.rows);
    b.recent[b.runs % BUCKET_RUNS] = micros;
    b.runs++;
    b.micros = Math.min(...b.recent.subarray(0, Math.min(b.runs, BUCKET_RUNS)));
    this.peakRows = Math.max(this.peakRows, rows);
    this.rowsSum += rows;
    this.runMicros += micros;
    this.batches++;
  }

  /** A request left the batcher `micros` µs after it entered it (queue + run). */
  observeLatency(micros: number): void {
    this.ring[this.samples % RING] = micros;
    this.samples++;
    const elapsed = this.now() - this.windowStart;
    const minWindowMs = this.trial ? TRIAL_WINDOW_MS : MIN_WINDOW_MS;
    if ((this.samples >= MIN_SAMPLES && elapsed >= minWindowMs) || (elapsed >= Math.max(MAX_WINDOW_MS, minWindowMs) && this.samples >= MIN_SLOW_SAMPLES)) {
      this.decide();
    }
  }

  /** Predicted run time (µs) of a batch of `rows`: linear through the two largest measured buckets. */
  predict(rows: number): number | null {
    const measured = [...this.buckets.values()].filter((b) => b.runs >= 2).sort((a, b) => a.rows - b.rows);
    if (measured.length === 0) return null;
    const hi = measured[measured.length - 1]!;
    if (measured.length === 1 || hi.rows - measured[measured.length - 2]!.rows < 0.5) {
      // one size seen: proportional (an upper bound whenever a run has a fixed cost)
      return (hi.micros * rows) / Math.max(1, hi.rows);
    }
    const lo = measured[measured.length - 2]!;
    const slope = Math.max(0, (hi.micros - lo.micros) / (hi.rows - lo.rows));
    return Math.max(hi.micros * Math.min(1, rows / hi.rows), hi.micros + slope * (rows - hi.rows));
  }

  /** Largest batch whose predicted cost fits the per-batch budget (within the static cap). */
  private modelBound(): number | null {
    const budget = (this.share * BATCHER_SHARE * this.targetMicros - this.effective.batchTimeoutMicros) / 2;
    if (this.predict(1) === null) return null;
    let lo = 1;
    let hi = this.limits.maxBatchSize;
    if ((this.predict(hi) ?? 0) <= budget) return hi;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((this.predict(mid) ?? Infinity) <= budget) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The timeout is an experiment, both ways: raised by an eighth of its bound while batches leave
   * under-full, kept only if that window served clearly more rows per second than the recent ones
   * (waiting gathered requests that would otherwise have run alone), else put back and left alone
   * for a while; and while one is in force, regularly halved, the shorter one kept unless it served
   * clearly fewer rows. Closed-loop clients that wait for their answer, or a rate the server
   * already keeps up with, gain nothing from waiting: there it returns to 0.
   */
  private tuneTimeout(rowsPerSecond: number, meanRows: number): void {
    const e = this.effective;
    const trial = this.trial;
    this.trial = undefined;
    if (trial) {
      const kept = rowsPerSecond >= trial.baseline * (trial.shorter ? TIMEOUT_KEEP_SHORTER : TIMEOUT_GAIN);
      if (kept) {
        this.recentRate = rowsPerSecond; // the setting in force from now on
      } else {
        e.batchTimeoutMicros = trial.from;
        if (!trial.shorter) this.rejected(trial);
      }
      return;
    }
    this.recentRate = this.recentRate === undefined ? rowsPerSecond : this.recentRate + RATE_ALPHA * (rowsPerSecond - this.recentRate);
    if (e.batchTimeoutMicros > 0 && ++this.sinceShorter >= SHORTER_EVERY) {
      this.sinceShorter = 0;
      this.trial = { from: e.batchTimeoutMicros, baseline: this.recentRate, shorter: true, startedAt: this.now() };
      // below an eighth of the bound, the next step down is no wait at all
      e.batchTimeoutMicros = e.batchTimeoutMicros <= Math.ceil(this.limits.batchTimeoutMicros / 8) ? 0 : Math.floor(e.batchTimeoutMicros / 2);
      return;
    }
    if (this.cooldown > 0 || this.now() < this.retryAt || meanRows >= e.maxBatchSize / 2) return;
    const next = Math.min(this.limits.batchTimeoutMicros, e.batchTimeoutMicros + Math.max(1, Math.ceil(this.limits.batchTimeoutMicros / 8)));
    if (next === e.batchTimeoutMicros) return;
    this.trial = { from: e.batchTimeoutMicros, baseline: this.recentRate, shorter: false, startedAt: this.now() };
    e.batchTimeoutMicros = next;
  }

  /** A longer timeout did not pay: not tried again for 20 windows, nor before TRIAL_TIME_SHARE allows. */
  private rejected(trial: { startedAt: number }): void {
    this.cooldown = TIMEOUT_COOLDOWN;
    this.retryAt = this.now() + (this.now() - trial.startedAt) * (1 / TRIAL_TIME_SHARE - 1);
  }

  private decide(): void {
    const n = Math.min(this.samples, RING);
    const window = this.ring.slice(0, n).sort();
    const p99 = window[Math.min(n - 1, Math.ceil(0.99 * n) - 1)]!;
    const e = this.effective;
    const timeoutCap = this.limits.batchTimeoutMicros;
    const before = { size: e.maxBatchSize, timeout: e.batchTimeoutMicros, share: this.share };
    const elapsedMs = Math.max(1, this.now() - this.windowStart);
    // saturated: batches left full, or the slots ran batches nearly all the window. Requests then
    // queue behind whole batches, and the latency is the queue's: a smaller cap would only lower
    // throughput and lengthen that queue, so the cap goes to what the cost model allows instead
    const busy = this.runMicros / (elapsedMs * 1000 * Math.max(1, this.slots()));
    const saturated = this.peakRows >= e.maxBatchSize || busy >= SATURATED_BUSY;
    const meanRows = this.batches > 0 ? this.rowsSum / this.batches : 0;
    const rowsPerSecond = (this.rowsSum * 1000) / elapsedMs;
    if (p99 > BATCHER_SHARE * this.targetMicros) {
      e.batchTimeoutMicros = Math.floor(e.batchTimeoutMicros / 2);
      // a longer timeout that ended in a violation did not pay either: put back, and not soon again
      if (this.trial && !this.trial.shorter) {
        e.batchTimeoutMicros = Math.min(e.batchTimeoutMicros, this.trial.from);
        this.rejected(this.trial);
      }
      this.trial = undefined;
      if (saturated) this.share = Math.min(1, this.share + SHARE_STEP);
      else this.share = Math.max(MIN_SHARE, this.share * DECREASE);
      this.state.decreases++;
    } else if (p99 < GROW_BELOW * this.targetMicros) {
      this.share = Math.min(1, this.share + SHARE_STEP);
      if (timeoutCap > 0) this.tuneTimeout(rowsPerSecond, meanRows);
    }
    if (this.cooldown > 0) this.cooldown--;
    const bound = this.modelBound();
    e.maxBatchSize = bound ?? this.limits.maxBatchSize;
    if (this.share > before.share || e.batchTimeoutMicros > before.timeout) this.state.increases++;
    this.state.decisions++;
    this.state.lastP99Micros = Math.round(p99);
    this.state.modelBound = bound;
    this.state.budgetShare = Math.round(this.share * 1000) / 1000;
    // every decision judges a window of its own (after a change: the setting now in force)
    this.samples = 0;
    this.windowStart = this.now();
    this.peakRows = 0;
    this.rowsSum = 0;
    this.runMicros = 0;
    this.batches = 0;
  }
}
