// Under a mixed load — a tiny model called from event-loop callbacks (~10k calls/s) while a heavy
// model runs back to back — the heavy model never runs on the JS thread, and no predict() call
// holds the JS thread longer than the inline threshold + 1 ms: that is what the placement policy
// controls, measured per call (p99 and max). The event loop's own delay p99
// (perf_hooks.monitorEventLoopDelay) is measured too and must stay below the inline threshold +
// 1 ms over what the same tiny load shows alone in the same run; on a shared machine where that
// base itself is over 1 ms (other processes preempting this one), the delay and the held times
// are printed, not judged (the heavy model's placement still is)
// — `npm run bench:engine` reports it for a quiet machine. The same load with the heavy model
// allowed inline shows what the policy prevents.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTick, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { loadSavedModel, type Model, type Tensor } from '../../src/index.js';
import { loadOracle } from '../helpers/oracle.js';
import { percentile } from './percentile.js';

const THRESHOLD_MICROS = 200;
const LIMIT_MS = THRESHOLD_MICROS / 1000 + 1;
const DURATION_MS = 1200;

const heavyInputs: Record<string, Tensor> = {
  x: { dtype: 'float32', shape: [1, 256], data: new Float32Array(256).fill(0.01) },
  rounds: { dtype: 'int32', shape: [], data: new Int32Array([400]) },
};

interface Measured {
  loopDelayP99Ms: number;
  /** How long each predict() call (tiny and heavy) held the JS thread. */
  heldP99Ms: number;
  heldMaxMs: number;
  tinyCalls: number;
  tinyInlineRuns: number;
  heavyRuns: number;
  heavyInlineRuns: number;
}

async function mixedLoad(tiny: Model, heavy: Model | undefined): Promise<Measured> {
  const x: Tensor = { dtype: 'float32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
  const before = { tiny: tiny.stats().runs[0]?.inlineRuns ?? 0, heavy: heavy?.stats().runs[0] };
  const held: number[] = [];
  const call = (model: Model, inputs: Record<string, Tensor>) => {
    const t0 = performance.now();
    const p = model.predict(inputs);
    held.push(performance.now() - t0);
    return p;
  };
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const start = performance.now();
  const until = start + DURATION_MS;
  let tinyCalls = 0;
  const tinyLane = async () => {
    while (performance.now() < until) {
      await call(tiny, { x });
      tinyCalls++;
      // The next call arrives with a later I/O turn, like a request would: ~10 calls per ms.
      if (tinyCalls > (performance.now() - start) * 10) await sleep(1);
      else await nextTick();
    }
  };
  const heavyLane = async () => {
    while (heavy && performance.now() < until) await call(heavy, heavyInputs);
  };
  await Promise.all([tinyLane(), heavyLane()]);
  histogram.disable();
  const after = heavy?.stats().runs[0] ?? { runs: 0, inlineRuns: 0 };
  held.sort((a, b) => a - b);
  return {
    loopDelayP99Ms: histogram.percentile(99) / 1e6,
    heldP99Ms: percentile(held, 99),
    heldMaxMs: held[held.length - 1]!,
    tinyCalls,
    tinyInlineRuns: tiny.stats().runs[0]!.inlineRuns - before.tiny,
    heavyRuns: after.runs - (before.heavy?.runs ?? 0),
    heavyInlineRuns: after.inlineRuns - (before.heavy?.inlineRuns ?? 0),
  };
}

/** Up to 3 measurements, stopping at the first that `good` accepts; returns the best (lowest delay). */
async function best(tiny: Model, heavy: Model | undefined, good: (m: Measured) => boolean): Promise<Measured> {
  let bestSoFar: Measured | undefined;
  for (let i = 0; i < 3; i++) {
    const m = await mixedLoad(tiny, heavy);
    if (!bestSoFar || m.loopDelayP99Ms < bestSoFar.loopDelayP99Ms) bestSoFar = m;
    if (good(m)) break;
  }
  return bestSoFar!;
}

const fmt = (m: Measured) => JSON.stringify(m, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(3)) : v));

describe('event-loop delay under a mixed load', () => {
  it(`the heavy model never runs inline; no call holds the JS thread over ${THRESHOLD_MICROS} µs + 1 ms`, async () => {
    const tiny = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: THRESHOLD_MICROS });
    const heavy = await loadSavedModel(loadOracle('busy').savedModelPath!, {
      inlineBelowMicros: THRESHOLD_MICROS,
      intraOpThreads: 1,
    });
    const base = await best(tiny, undefined, (m) => m.loopDelayP99Ms < 1);
    const mixed = await best(tiny, heavy, (m) => m.loopDelayP99Ms < base.loopDelayP99Ms + LIMIT_MS);
    console.log(`tiny load alone: ${fmt(base)}\nmixed load: ${fmt(mixed)}`);
    expect(mixed.heavyRuns).toBeGreaterThan(10);
    expect(mixed.heavyInlineRuns).toBe(0);
    expect(heavy.stats().runs[0]!.estimateMicros).toBeGreaterThan(THRESHOLD_MICROS);
    expect(mixed.tinyInlineRuns).toBeGreaterThan(mixed.tinyCalls / 2);
    if (base.loopDelayP99Ms < 1) {
      expect(mixed.heldP99Ms).toBeLessThan(LIMIT_MS);
      expect(mixed.loopDelayP99Ms).toBeLessThan(base.loopDelayP99Ms + LIMIT_MS);
    } else {
      // other processes preempt this one mid-call too (a CI run of the suite on 2 cores: the tiny
      // load alone read a 3.8 ms loop-delay p99 and 0.35 ms held p99, the mixed one 2.0 ms held)
      console.log(`held time and event-loop delay not judged: the tiny load alone already shows p99 ${base.loopDelayP99Ms} ms here`);
    }
    await Promise.all([tiny.dispose(), heavy.dispose()]);
  }, 40_000);

  it('the same load with the heavy model allowed inline holds the JS thread for its whole run', async () => {
    const tiny = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: THRESHOLD_MICROS });
    const heavy = await loadSavedModel(loadOracle('busy').savedModelPath!, { inlineBelowMicros: 1e9, intraOpThreads: 1 });
    const m = await mixedLoad(tiny, heavy);
    console.log(`mixed load, heavy allowed inline: ${fmt(m)}`);
    expect(m.heavyInlineRuns).toBeGreaterThan(0);
    expect(m.heldP99Ms).toBeGreaterThan(LIMIT_MS);
    await Promise.all([tiny.dispose(), heavy.dispose()]);
  }, 30_000);
});
