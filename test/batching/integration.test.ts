// Batching behind the model manager (the server's path: the composition root hands the manager a
// Batching as its runner factory), and behaviours easiest to pin with a scripted model: outputs
// without a batch dimension, and the idle fast path.
import { describe, expect, it } from 'vitest';
import { Batching, BatchScheduler, ServableBatcher } from '../../src/batching/index.js';
import type { Model } from '../../src/engine/model.js';
import type { SignatureInfo } from '../../src/engine/signature.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager } from '../../src/models/manager.js';
import { allocTensor, loadSavedModel } from '../../src/index.js';
import { native } from '../../src/engine/native.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

function row(t: Tensor, i: number): Tensor {
  const width = t.data.length / t.shape[0]!;
  const out = allocTensor('float32', [1, ...t.shape.slice(1)]);
  (out.data as Float32Array).set((t.data as Float32Array).subarray(i * width, (i + 1) * width));
  return out;
}

describe('model manager integration', () => {
  it('a Batching handed in: concurrent requests through ServableVersion.run share TF runs', async () => {
    const oracle = loadOracle('mlp');
    const c = oracle.cases.reduce((a, b) => (b.inputs.x!.shape[0]! > a.inputs.x!.shape[0]! ? b : a));
    const n = c.inputs.x!.shape[0]!;
    const batching = new Batching();
    const manager = await ModelManager.create([{ name: 'mlp', basePath: oracle.basePath }], { batching });
    try {
      const servable = manager.resolve({ name: 'mlp' });
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, k) => servable.run({ x: row(c.inputs.x!, k % n) }, { signature: 'serving_default' })),
      );
      results.forEach((out, k) => expectTensorClose(out.y!, row(c.outputs.y!, k % n), 1e-5, 1e-6));
      const m = batching.metrics;
      expect(m.requests).toBe(300);
      expect(m.tfRuns).toBeLessThan(300);
      // deadlines pass through: an expired one is rejected and never runs
      const runs = m.tfRuns;
      await expect(
        servable.run({ x: row(c.inputs.x!, 0) }, { signature: 'serving_default', deadline: Date.now() - 1 }),
      ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      expect(m.tfRuns).toBe(runs);
      // the version's statistics count the batcher's TF runs as its executions
      expect(manager.modelStatistics('mlp', 1)[0]!.execution_count).toBe(m.tfRuns);
    } finally {
      await manager.close();
    }
  });

  it('without a runner factory (the manager default) each request runs directly: one execution per run', async () => {
    const oracle = loadOracle('mlp');
    const c = oracle.cases[0]!;
    const manager = await ModelManager.create([{ name: 'mlp', basePath: oracle.basePath }]);
    try {
      const runs = await Promise.all([0, 1, 2].map(() => manager.resolve({ name: 'mlp' }).run(c.inputs, { signature: 'serving_default' })));
      for (const out of runs) expectTensorClose(out.y!, c.outputs.y!, 1e-5, 1e-6);
      expect(manager.modelStatistics('mlp', 1)[0]!.execution_count).toBe(3);
    } finally {
      await manager.close();
    }
  });
});

/** A scripted model: y = per-request sum of x, but returned as ONE value per run (no batch dim). */
function reducingModel(): { model: Model; runs: number[] } {
  const runs: number[] = [];
  const info: SignatureInfo = {
    methodName: 'tensorflow/serving/predict',
    inputs: { x: { name: 'x:0', dtype: 'float32', tfDtype: 1, shape: [-1, 2] } },
    // declared with a batch dim, but the graph reduces over it
    outputs: { y: { name: 'y:0', dtype: 'float32', tfDtype: 1, shape: [-1] } },
  };
  const model = {
    signature: () => info,
    validate: () => {},
    async run(inputs: Readonly<Record<string, Tensor>>) {
      const x = inputs.x!.data as Float32Array;
      runs.push(inputs.x!.shape[0]!);
      await new Promise((r) => setTimeout(r, 2));
      return { y: { dtype: 'float32', shape: [1], data: new Float32Array([x.reduce((a, b) => a + b, 0)]) } as Tensor };
    },
  } as unknown as Model;
  return { model, runs };
}

describe('outputs that cannot be split', () => {
  it('reruns the batch request by request, then stops batching that output filter', async () => {
    const { model, runs } = reducingModel();
    const b = new ServableBatcher(model, { scheduler: new BatchScheduler(1) });
    const req = (v: number) => b.run({ x: { dtype: 'float32', shape: [1, 2], data: new Float32Array([v, v]) } });
    const first = await Promise.all([1, 2, 3, 4].map(req));
    expect(first.map((o) => (o.y!.data as Float32Array)[0])).toEqual([2, 4, 6, 8]);
    // 1 alone (idle), [2,3,4] merged → dim 0 is 1, not 3 → rerun 2, 3, 4 alone
    expect(runs).toEqual([1, 3, 1, 1, 1]);
    expect(b.metrics.unsplittableBatches).toBe(1);
    expect(b.metrics.reruns).toBe(3);
    runs.length = 0;
    const again = await Promise.all([5, 6, 7].map(req));
    expect(again.map((o) => (o.y!.data as Float32Array)[0])).toEqual([10, 12, 14]);
    expect(runs).toEqual([1, 1, 1]);
  });

  it('the idle fast path adds no queueing: a lone request starts synchronously', async () => {
    const { model, runs } = reducingModel();
    const b = new ServableBatcher(model, { scheduler: new BatchScheduler(2) });
    const p = b.run({ x: { dtype: 'float32', shape: [1, 2], data: new Float32Array([1, 1]) } });
    expect(runs).toEqual([1]); // model.run was called before run() returned
    await p;
    expect(b.metrics.queueTimeMicros).toBe(0);
  });
});

describe('gathered batch inputs', () => {
  it('are given back as soon as their run settles, not left to the GC; request inputs stay intact', async () => {
    const oracle = loadOracle('mlp');
    const c = oracle.cases.reduce((a, b) => (b.inputs.x!.shape[0]! > a.inputs.x!.shape[0]! ? b : a));
    const n = c.inputs.x!.shape[0]!;
    const real = await loadSavedModel(oracle.savedModelPath!);
    try {
      const seen: Tensor[] = [];
      const spy = Object.create(real) as Model;
      spy.run = (inputs, options) => {
        seen.push(inputs.x!);
        return real.run(inputs, options);
      };
      const b = new ServableBatcher(spy, { scheduler: new BatchScheduler(1) });
      // the first request takes the idle slot alone; the other 99 wait and run as one batch of
      // 99 × 4 floats (1,584 bytes: a block of its own, not a small-tensor slab region)
      const inputs = Array.from({ length: 100 }, (_, k) => row(c.inputs.x!, k % n));
      const blocksBefore = native().stats().liveBlocks;
      const results = await Promise.all(inputs.map((x) => b.run({ x })));
      results.forEach((out, k) => expectTensorClose(out.y!, row(c.outputs.y!, k % n), 1e-5, 1e-6));
      expect(seen.map((t) => t.shape[0])).toEqual([1, 99]);
      // the request's own tensor went to TF as it was (not gathered): untouched
      expect(seen[0]!.data).toBe(inputs[0]!.data);
      expect(seen[0]!.data.length).toBe(4);
      // the gathered copy is released (detached): its view is empty ...
      expect(seen[1]!.data.length).toBe(0);
      expect((seen[1]!.data as Float32Array).buffer.byteLength).toBe(0);
      // ... every request's input is still readable
      inputs.forEach((x, k) => expectTensorClose(x, row(c.inputs.x!, k % n), 0, 0));
      // and its native block is freed without a GC (Node runs the finalizer on the next turn)
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(native().stats().liveBlocks).toBeLessThanOrEqual(blocksBefore + 1);
    } finally {
      await real.dispose();
    }
  });
});
