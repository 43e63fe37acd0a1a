// The placement policy: a run measured below inlineBelowMicros, while the model has nothing on the
// executor, executes on the calling thread and predict() returns an already-settled promise; the
// first runs of a (signature, batch bucket) and every heavy run go to the executor; a model that
// turns slow leaves the JS thread from its next run on. model.stats() shows where runs went.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetserveError, loadSavedModel, type Model, type Tensor } from '../../src/index.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

/**
 * True when `p` was already settled when returned (its reaction runs in the first microtask turn,
 * before an offloaded run could complete). Waits for `p` either way.
 */
async function settledAtOnce(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  const done = p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await Promise.resolve();
  const atOnce = settled;
  await done;
  return atOnce;
}

function busyInputs(batch: number, rounds: number): Record<string, Tensor> {
  return {
    x: { dtype: 'float32', shape: [batch, 256], data: new Float32Array(batch * 256).fill(0.01) },
    rounds: { dtype: 'int32', shape: [], data: new Int32Array([rounds]) },
  };
}

/** Calls until a call runs inline (at most 50); returns how many went to the executor first. */
async function untilInline(model: Model, inputs: Record<string, Tensor>): Promise<number> {
  for (let offloaded = 0; offloaded < 50; offloaded++) {
    if (await settledAtOnce(model.predict(inputs))) return offloaded;
  }
  throw new Error(`no inline run in 50 calls: ${JSON.stringify(model.stats())}`);
}

function costOf(model: Model, batch: number) {
  return model.stats().runs.find((r) => r.batchSizes[0] <= batch && batch <= r.batchSizes[1]);
}

const mlpCase = () => loadOracle('mlp').cases[0]!;
const models: Model[] = [];
afterAll(async () => {
  await Promise.all(models.map((m) => m.dispose()));
});

describe('inline placement of a tiny model', () => {
  // A threshold far above the tiny model's ~10-200 µs, so that a run slowed by a busy machine
  // (another process preempting this one) does not move the model off the JS thread mid-test.
  const THRESHOLD = 20_000;
  let mlp: Model;
  beforeAll(async () => {
    mlp = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: THRESHOLD });
    models.push(mlp);
  });

  it('defaults inlineBelowMicros to 200', async () => {
    const model = await loadSavedModel(loadOracle('mlp').savedModelPath!);
    models.push(model);
    expect(model.stats()).toMatchObject({ inlineBelowMicros: 200, inFlight: 0, runs: [] });
  });

  it('runs the first two calls of a bucket on the executor, then inline with an already-settled promise', async () => {
    const c = mlpCase();
    const first = mlp.predict(c.inputs);
    expect(await settledAtOnce(first)).toBe(false);
    await first;
    const second = mlp.predict(c.inputs);
    expect(await settledAtOnce(second)).toBe(false);
    await second;
    const warm = costOf(mlp, 1)!;
    expect(warm).toMatchObject({ signature: 'serving_default', batchSizes: [0, 1], runs: 2, inlineRuns: 0, offloadedRuns: 2 });
    expect(warm.estimateMicros).toBeGreaterThan(0);
    expect(warm.estimateMicros).toBeLessThan(THRESHOLD);

    for (let i = 0; i < 20; i++) {
      const p = mlp.predict(c.inputs);
      expect(await settledAtOnce(p), `call ${i}`).toBe(true);
      const out = await p;
      expectTensorClose(out.y!, c.outputs.y!);
    }
    expect(costOf(mlp, 1)).toMatchObject({ runs: 22, inlineRuns: 20, offloadedRuns: 2 });
  });

  it('keeps one cost per batch-size bucket: a new bucket warms up on the executor again', async () => {
    const x: Tensor = { dtype: 'float32', shape: [6, 4], data: new Float32Array(24).fill(0.5) };
    expect(await settledAtOnce(mlp.predict({ x }))).toBe(false);
    expect(await settledAtOnce(mlp.predict({ x }))).toBe(false);
    expect(await settledAtOnce(mlp.predict({ x }))).toBe(true);
    expect(costOf(mlp, 6)).toMatchObject({ batchSizes: [5, 8], runs: 3, inlineRuns: 1, offloadedRuns: 2 });
    expect(costOf(mlp, 1)!.runs).toBe(22);
  });

  it('an inline run rejects the same way an offloaded one does', async () => {
    const bad = mlp.predict({ x: { dtype: 'float32', shape: [1, 5], data: new Float32Array(5) } });
    const err = await bad.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JetserveError);
    expect((err as JetserveError).code).toBe('INVALID_ARGUMENT');
  });

  it('inlineBelowMicros: 0 never runs inline', async () => {
    const model = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: 0 });
    models.push(model);
    for (let i = 0; i < 10; i++) expect(await settledAtOnce(model.predict(mlpCase().inputs))).toBe(false);
    expect(costOf(model, 1)).toMatchObject({ runs: 10, inlineRuns: 0, offloadedRuns: 10 });
    expect(model.stats().inlineBelowMicros).toBe(0);
  });

  it('refuses a bad inlineBelowMicros naming the option', async () => {
    for (const bad of [-1, Number.NaN, '100' as unknown as number]) {
      const err = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: bad }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JetserveError);
      expect((err as JetserveError).code).toBe('INVALID_ARGUMENT');
      expect((err as JetserveError).message).toContain('inlineBelowMicros');
    }
  });
});

describe('heavy and slowing models', () => {
  let busy: Model;
  beforeAll(async () => {
    // One round of the busy model costs ~0.1-0.2 ms, 400 rounds several ms.
    busy = await loadSavedModel(loadOracle('busy').savedModelPath!, { inlineBelowMicros: 2000, intraOpThreads: 1 });
    models.push(busy);
  });

  it('a heavy run never executes inline', async () => {
    const heavy = busyInputs(64, 60);
    for (let i = 0; i < 8; i++) expect(await settledAtOnce(busy.predict(heavy)), `call ${i}`).toBe(false);
    const cost = costOf(busy, 64)!;
    expect(cost).toMatchObject({ runs: 8, inlineRuns: 0, offloadedRuns: 8 });
    expect(cost.estimateMicros).toBeGreaterThan(2000);
  });

  it('a model that turns slow leaves the JS thread from its next run on', async () => {
    const fast = busyInputs(1, 1);
    const slow = busyInputs(1, 400);
    await untilInline(busy, fast);
    const before = costOf(busy, 1)!;
    // The first slow run cannot be known in advance: it runs inline, and is measured.
    expect(await settledAtOnce(busy.predict(slow))).toBe(true);
    expect(costOf(busy, 1)!.lastMicros).toBeGreaterThan(2000);
    for (let i = 0; i < 5; i++) expect(await settledAtOnce(busy.predict(slow)), `slow call ${i}`).toBe(false);
    const after = costOf(busy, 1)!;
    expect(after.inlineRuns - before.inlineRuns).toBe(1);
    expect(after.offloadedRuns - before.offloadedRuns).toBe(5);
    expect(after.p99Micros).toBeGreaterThan(2000);
    // Fast again: measured on the executor, it comes back inline.
    expect(await untilInline(busy, fast)).toBeGreaterThan(0);
  });

  it('never runs inline while a run of the same model is on the executor', async () => {
    const fast = busyInputs(1, 1);
    await untilInline(busy, fast);
    const heavy = busy.predict(busyInputs(64, 60));
    expect(busy.inFlight).toBe(1);
    const meanwhile = busy.predict(fast);
    expect(await settledAtOnce(meanwhile)).toBe(false);
    await Promise.all([heavy, meanwhile]);
    expect(busy.inFlight).toBe(0);
    expect(await settledAtOnce(busy.predict(fast))).toBe(true);
  });
});

describe('predictSync', () => {
  it('returns the outputs on the calling thread, with predict()’s validation and errors', async () => {
    const oracle = loadOracle('mlp');
    const model = await loadSavedModel(oracle.savedModelPath!, { inlineBelowMicros: 0 });
    models.push(model);
    for (const c of oracle.cases) {
      const out = model.predictSync(c.inputs);
      expectTensorClose(out.y!, c.outputs.y!, 1e-6, 1e-9, c.name);
    }
    // Counted as inline runs even though the policy is off.
    const runs = model.stats().runs;
    expect(runs.reduce((n, r) => n + r.inlineRuns, 0)).toBe(oracle.cases.length);
    expect(runs.reduce((n, r) => n + r.offloadedRuns, 0)).toBe(0);
    const syncError = (() => {
      try {
        model.predictSync({ x: [[1, 2, 3]] });
      } catch (e) {
        return e;
      }
    })();
    const asyncError = await model.predict({ x: [[1, 2, 3]] }).catch((e: unknown) => e);
    expect(syncError).toBeInstanceOf(JetserveError);
    expect((syncError as JetserveError).code).toBe('INVALID_ARGUMENT');
    expect((syncError as JetserveError).message).toBe((asyncError as JetserveError).message);
    expect(() => model.predictSync({ nope: [1] })).toThrow(/unknown input 'nope'/);
    expect(() => model.predictSync(oracle.cases[0]!.inputs, { signature: 'nope' })).toThrow(JetserveError);
  });

  it('runs while predict() calls of the same model are on the executor', async () => {
    const busy = await loadSavedModel(loadOracle('busy').savedModelPath!, { inlineBelowMicros: 0 });
    models.push(busy);
    const c = loadOracle('busy').cases.find((k) => k.name === 'batch 2, 3 rounds')!;
    const pending = Array.from({ length: 4 }, () => busy.predict(busyInputs(64, 20)));
    expect(busy.inFlight).toBe(4);
    const out = busy.predictSync(c.inputs);
    expectTensorClose(out.y!, c.outputs.y!);
    await Promise.all(pending);
  });

  it('throws FAILED_PRECONDITION once the model is disposed', async () => {
    const model = await loadSavedModel(loadOracle('mlp').savedModelPath!);
    await model.dispose();
    expect(() => model.predictSync(mlpCase().inputs)).toThrow(/disposed/);
    expect(model.stats().runs).toEqual([]);
  });
});
