// Any number of concurrent predicts are safe and each gets its own result; dispose() waits for
// in-flight runs, then frees the session; later calls reject clearly.
import { describe, expect, it } from 'vitest';
import { engineInfo, JetserveError, loadSavedModel, type Tensor } from '../../src/index.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

/** Row i of a [n, ...] tensor as its own [1, ...] tensor (copied). */
function row(t: Tensor, i: number): Tensor {
  const width = t.data.length / t.shape[0]!;
  const data = (t.data as Float32Array).slice(i * width, (i + 1) * width);
  return { dtype: t.dtype, shape: [1, ...t.shape.slice(1)], data };
}

describe('concurrency', () => {
  it('1,000 concurrent predicts each get their own correct result', async () => {
    const oracle = loadOracle('mlp');
    const big = oracle.rowByRowCases[0]!;
    const rows = big.inputs.x!.shape[0]!;
    expect(rows).toBe(1000);
    const model = await loadSavedModel(oracle.savedModelPath!);
    const requests = Array.from({ length: 1000 }, (_, k) => k % rows);
    const results = await Promise.all(requests.map((i) => model.predict({ x: row(big.inputs.x!, i) })));
    results.forEach((out, k) => expectTensorClose(out.y!, row(big.outputs.y!, requests[k]!), 1e-6, 1e-9, `request ${k}`));
    await model.dispose();
  });

  it('dispose() waits for in-flight runs, then rejects new ones with FAILED_PRECONDITION', async () => {
    const oracle = loadOracle('conv');
    const c = oracle.cases[0]!;
    const before = engineInfo().stats.liveSessions;
    const model = await loadSavedModel(oracle.savedModelPath!);
    expect(engineInfo().stats.liveSessions).toBe(before + 1);
    const inFlight = Array.from({ length: 50 }, () => model.predict(c.inputs));
    expect(model.inFlight).toBe(50);
    const disposed = model.dispose();
    expect(model.dispose()).toBe(disposed); // idempotent
    const late = model.predict(c.inputs).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    const results = await Promise.all(inFlight);
    for (const out of results) {
      for (const [key, expected] of Object.entries(c.outputs)) expectTensorClose(out[key]!, expected);
    }
    await disposed;
    expect(model.inFlight).toBe(0);
    expect(engineInfo().stats.liveSessions).toBe(before);
    const err = await late;
    expect(err).toBeInstanceOf(JetserveError);
    expect((err as JetserveError).code).toBe('FAILED_PRECONDITION');
    expect((err as JetserveError).message).toContain('disposed');
  });
});
