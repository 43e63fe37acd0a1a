// The server's batcher runs each batch with the engine's placement policy (it calls Model.run): a
// tiny model's merged batch runs inline, between the I/O callbacks that delivered its requests; a
// heavy model's batch goes to the native executor. Outputs are each request's own.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Batching } from '../../src/batching/index.js';
import { loadSavedModel, type Model, type Tensor } from '../../src/index.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

function row(t: Tensor, i: number): Tensor {
  const width = t.data.length / t.shape[0]!;
  return { dtype: t.dtype, shape: [1, ...t.shape.slice(1)], data: (t.data as Float32Array).slice(i * width, (i + 1) * width) };
}

/**
 * `rounds` times: in one event-loop turn `perTurn` requests arrive (as from sockets read in one
 * poll phase), and their callers wait for all the answers before sending again.
 */
async function traffic(run: (i: number) => Promise<unknown>, rounds: number, perTurn: number): Promise<unknown[]> {
  const all: unknown[] = [];
  for (let r = 0; r < rounds; r++) {
    await nextTurn();
    const turn: Promise<unknown>[] = [];
    for (let k = 0; k < perTurn; k++) turn.push(run(r * perTurn + k));
    all.push(...(await Promise.all(turn)));
  }
  return all;
}

const bucketOf = (model: Model, rows: number) =>
  model.stats().runs.find((r) => r.batchSizes[0] <= rows && rows <= r.batchSizes[1]);

describe('batcher placement', () => {
  it("a tiny model's merged batches run inline once measured; results stay per request", async () => {
    const oracle = loadOracle('mlp');
    const big = oracle.rowByRowCases[0]!;
    const model = await loadSavedModel(oracle.savedModelPath!, { inlineBelowMicros: 20_000 });
    const batching = new Batching({ numBatchThreads: 1, maxBatchSize: 32 });
    const runner = batching.runnerFor(model);
    const outs = (await traffic((i) => runner.run({ x: row(big.inputs.x!, i % 1000) }), 20, 8)) as Record<string, Tensor>[];
    outs.forEach((out, i) => expectTensorClose(out.y!, row(big.outputs.y!, i % 1000), 1e-6, 1e-9, `request ${i}`));
    // Per turn: the first request starts alone (idle fast path), the other 7 leave as one batch.
    const merged = bucketOf(model, 7)!;
    expect(merged.runs).toBe(20);
    expect(merged.offloadedRuns).toBe(2); // warm-up
    expect(merged.inlineRuns).toBe(18);
    expect(batching.metrics.mergedRequests).toBeGreaterThanOrEqual(20 * 7);
    await model.dispose();
  });

  it("a heavy model's batches go to the executor", async () => {
    const model = await loadSavedModel(loadOracle('busy').savedModelPath!, { inlineBelowMicros: 200, intraOpThreads: 1 });
    const batching = new Batching({ numBatchThreads: 1, maxBatchSize: 32 });
    const runner = batching.runnerFor(model);
    const rounds: Tensor = { dtype: 'int32', shape: [], data: new Int32Array([100]) };
    await traffic(() => runner.run({ x: { dtype: 'float32', shape: [1, 256], data: new Float32Array(256).fill(0.01) }, rounds }), 6, 4);
    const runs = model.stats().runs;
    expect(runs.reduce((n, r) => n + r.runs, 0)).toBeGreaterThanOrEqual(6);
    expect(runs.reduce((n, r) => n + r.inlineRuns, 0)).toBe(0);
    await model.dispose();
  });
});
