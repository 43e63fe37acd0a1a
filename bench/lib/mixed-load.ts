// The mixed load of bench/engine.ts: a tiny model called as requests arrive (~10 calls per ms) while
// a heavy model runs back to back, with perf_hooks.monitorEventLoopDelay watching the loop (1 ms
// resolution).
//
// How the tiny calls arrive ('io' pacing, the one the floor is checked on): a worker thread posts
// the main thread a message every 0.1 ms, and each message makes one predict() call — the loop
// wakes for I/O (the message port's uv_async), as a server's loop wakes for its sockets. The
// 'timer' pacing is the older lane, kept as a row: bursts of calls between `setTimeout(1)` sleeps.
// Its sleeps alone — no predict() call at all, the 'pacing alone' rows — put ~0.8 ms into the
// monitor's p99: libuv keeps its clock in whole milliseconds, so a loop that goes to sleep at
// x.7 ms with a 1 ms timer due sleeps until (x+1).7 and the monitor's own timer runs ~0.7 ms late
// (idle, the loop always wakes on a millisecond edge and this never happens).
//
// What is measured, and why each:
// - held: how long each predict() call (tiny and heavy) kept the JS thread, timed around the call
//   itself — the direct measure of "an inline run never blocks the loop longer than the threshold".
//   Its max also catches a GC pause or a preemption that happened to fall inside a call; p99 is
//   what the placement policy controls.
// - loop delay: monitorEventLoopDelay records the time between two runs of its 1 ms repeating
//   timer (node's ELDHistogram::RecordDelta), so every sample holds the 1 ms interval itself; an
//   idle loop shows ~1 ms and more. The delay is the sample minus that resolution: how late the
//   timer ran. It also counts what is not a predict() call: GC pauses (reported alongside) and
//   the OS running other threads — TF's own intra-op threads of the heavy model among them — on
//   the JS thread's core.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { Model, Tensor } from '../../src/index.js';
import { percentile } from './report.js';

export const LOOP_RESOLUTION_MS = 1;

export interface MixedLoadResult {
  /** monitorEventLoopDelay's p99 minus its resolution: how late its timer ran (ms). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The histogram's p99 as node reports it (interval between timer runs, resolution included). */
  loopIntervalP99Ms: number;
  /** How long one tiny predict() call held the JS thread, ms. */
  tinyHeldP99Ms: number;
  tinyHeldMaxMs: number;
  /** How long one heavy predict() call held the JS thread (the hand-off to the executor), ms. */
  heavyHeldP99Ms: number;
  heavyHeldMaxMs: number;
  gcPauses: number;
  gcPauseMaxMs: number;
  tinyCalls: number;
  tinyInlineRuns: number;
  heavyRuns: number;
  heavyInlineRuns: number;
}

/** Durations in a fixed Float64Array (samples past its capacity are dropped). */
class Samples {
  private readonly values: Float64Array;
  private count = 0;
  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }
  push(value: number): void {
    if (this.count < this.values.length) this.values[this.count++] = value;
  }
  sorted(): number[] {
    return Array.from(this.values.subarray(0, this.count)).sort((a, b) => a - b);
  }
}

const sum = (model: Model, key: 'runs' | 'inlineRuns') => model.stats().runs.reduce((n, r) => n + r[key], 0);

export type Pacing = 'io' | 'timer';

/** Calls per ms the tiny lane makes. */
const TINY_RATE_PER_MS = 10;

// The pacer: once told to start, posts 0 every 1/TINY_RATE_PER_MS ms (sleeping in Atomics.wait
// between), 1 at the end.
const PACER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.once('message', () => {
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const period = 1 / workerData.ratePerMs;
const start = performance.now();
let next = start + period;
for (;;) {
  const now = performance.now();
  if (now - start >= workerData.durationMs) break;
  if (now < next) {
    Atomics.wait(sleeper, 0, 0, next - now);
    continue;
  }
  next = Math.max(next + period, now);
  parentPort.postMessage(0);
}
parentPort.postMessage(1);
});
`;

/**
 * `tiny` undefined: the pacing alone (the same lane calling nothing), the instrument's reading of
 * the lane itself.
 */
export async function mixedLoad(
  tiny: { model: Model; inputs: Record<string, Tensor> } | undefined,
  heavy: { model: Model; inputs: Record<string, Tensor> } | undefined,
  durationMs: number,
  pacing: Pacing = 'io',
): Promise<MixedLoadResult> {
  const before = {
    tinyInline: tiny ? sum(tiny.model, 'inlineRuns') : 0,
    heavyRuns: heavy ? sum(heavy.model, 'runs') : 0,
    heavyInline: heavy ? sum(heavy.model, 'inlineRuns') : 0,
  };
  const gcPauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  // Preallocated: a growing JS array of samples is garbage (and old-space growth) the bench would
  // add to the load it measures.
  const tinyHeld = new Samples(Math.ceil(durationMs * TINY_RATE_PER_MS * 1.5) + 16);
  const heavyHeld = new Samples(Math.ceil(durationMs) + 16);
  // Started (and its thread up) before the loop is watched: creating a worker is not the load.
  const pacer = pacing === 'io' ? new Worker(PACER_SOURCE, { eval: true, workerData: { durationMs, ratePerMs: TINY_RATE_PER_MS } }) : undefined;
  if (pacer) await new Promise((resolve) => pacer.once('online', resolve));
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  const start = performance.now();
  const until = start + durationMs;
  let tinyCalls = 0;
  const tinyCall = () => {
    if (!tiny) return undefined;
    const t0 = performance.now();
    const pending = tiny.model.predict(tiny.inputs);
    tinyHeld.push(performance.now() - t0);
    return pending;
  };
  const timerLane = async () => {
    while (performance.now() < until) {
      await tinyCall();
      tinyCalls++;
      if (tinyCalls > (performance.now() - start) * TINY_RATE_PER_MS) await sleep(1);
      else await nextTurn();
    }
  };
  const ioLane = (pacer: Worker) =>
    new Promise<void>((resolve, reject) => {
      pacer.on('error', reject);
      pacer.on('message', (message: number) => {
        if (message === 1) {
          void pacer.terminate().then(() => resolve());
          return;
        }
        tinyCalls++;
        tinyCall()?.catch(reject);
      });
      pacer.postMessage('start');
    });
  const heavyLane = async () => {
    while (heavy && performance.now() < until) {
      const t0 = performance.now();
      const pending = heavy.model.predict(heavy.inputs);
      heavyHeld.push(performance.now() - t0);
      await pending;
    }
  };
  await Promise.all([pacer ? ioLane(pacer) : timerLane(), heavyLane()]);
  histogram.disable();
  for (const entry of gc.takeRecords()) gcPauses.push(entry.duration);
  gc.disconnect();
  const tinySorted = tinyHeld.sorted();
  const heavySorted = heavyHeld.sorted();
  const lateness = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  return {
    loopDelayP99Ms: lateness(histogram.percentile(99)),
    loopDelayMaxMs: lateness(histogram.max),
    loopIntervalP99Ms: histogram.percentile(99) / 1e6,
    tinyHeldP99Ms: tinySorted.length ? percentile(tinySorted, 99) : 0,
    tinyHeldMaxMs: tinySorted[tinySorted.length - 1] ?? 0,
    heavyHeldP99Ms: heavySorted.length ? percentile(heavySorted, 99) : 0,
    heavyHeldMaxMs: heavySorted[heavySorted.length - 1] ?? 0,
    gcPauses: gcPauses.length,
    gcPauseMaxMs: gcPauses.reduce((m, d) => Math.max(m, d), 0),
    tinyCalls,
    tinyInlineRuns: tiny ? sum(tiny.model, 'inlineRuns') - before.tinyInline : 0,
    heavyRuns: heavy ? sum(heavy.model, 'runs') - before.heavyRuns : 0,
    heavyInlineRuns: heavy ? sum(heavy.model, 'inlineRuns') - before.heavyInline : 0,
  };
}

/** The instrument alone: monitorEventLoopDelay's delay (p99, max) on a loop with nothing to do. */
export async function idleLoop(
  durationMs: number,
): Promise<{ loopDelayP99Ms: number; loopDelayMaxMs: number; loopIntervalP99Ms: number }> {
  const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  histogram.enable();
  await sleep(durationMs);
  histogram.disable();
  return {
    loopDelayP99Ms: Math.max(0, histogram.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    loopDelayMaxMs: Math.max(0, histogram.max / 1e6 - LOOP_RESOLUTION_MS),
    loopIntervalP99Ms: histogram.percentile(99) / 1e6,
  };
}
