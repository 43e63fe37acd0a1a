// The batcher on real models: merged runs give the same answers as unbatched runs (oracle rows),
// fewer TF runs than requests, padding to allowed_batch_sizes, deadlines while queued, queue
// full, and error isolation (a bad request fails alone; the others still get their answers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchScheduler, QUEUE_FULL_MESSAGE, ServableBatcher, type BatchingParameters } from '../../src/batching/index.js';
import { allocTensor, engineInfo, JetserveError, loadSavedModel, type Model, type Tensor } from '../../src/index.js';
import { expectTensorClose, loadOracle, type OracleCase } from '../helpers/oracle.js';

/** Rows [i, i + n) of a [N, ...] tensor as a fresh tensor in an aligned buffer (as a codec makes it). */
function rows(t: Tensor, i: number, n = 1): Tensor {
  const width = t.shape[0] === 0 ? 0 : t.data.length / t.shape[0]!;
  if (t.dtype === 'string') {
    return { dtype: 'string', shape: [n, ...t.shape.slice(1)], data: (t.data as Uint8Array[]).slice(i * width, (i + n) * width) };
  }
  const out = allocTensor(t.dtype, [n, ...t.shape.slice(1)]);
  (out.data as Float32Array).set((t.data as Float32Array).subarray(i * width, (i + n) * width));
  return out;
}

function biggest(cases: OracleCase[]): OracleCase {
  return cases.reduce((a, b) => (Object.values(b.inputs)[0]!.shape[0]! > Object.values(a.inputs)[0]!.shape[0]! ? b : a));
}

/** A batcher with its own scheduler (so tests do not share slots). */
function batcher(model: Model, parameters: Partial<BatchingParameters> = {}): ServableBatcher {
  return new ServableBatcher(model, { parameters, scheduler: new BatchScheduler(parameters.numBatchThreads ?? 0) });
}

async function rejection(p: Promise<unknown>): Promise<JetserveError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(JetserveError);
    return err as JetserveError;
  }
  throw new Error('expected a rejection');
}

let mlp: Model;
let conv: Model;
let multi: Model;
let hpt: Model;
let strings: Model;

beforeAll(async () => {
  [mlp, conv, multi, hpt, strings] = await Promise.all(
    ['mlp', 'conv', 'multi_sig', 'half_plus_two', 'strings'].map((m) => loadSavedModel(loadOracle(m).savedModelPath!)),
  );
});

afterAll(async () => {
  await Promise.all([mlp, conv, multi, hpt, strings].map((m) => m?.dispose()));
});

describe('merged runs match unbatched results row by row', () => {
  it('mlp: 1000 concurrent single-row requests → 1000 correct answers in fewer than 1000 TF runs', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = c.inputs.x!.shape[0]!;
    const b = batcher(mlp);
    const which = Array.from({ length: 1000 }, (_, k) => k % n);
    const results = await Promise.all(which.map((i) => b.run({ x: rows(c.inputs.x!, i) })));
    results.forEach((out, k) => expectTensorClose(out.y!, rows(c.outputs.y!, which[k]!), 1e-5, 1e-6, `request ${k}`));
    expect(b.metrics.requests).toBe(1000);
    expect(b.metrics.tfRuns).toBeLessThan(1000);
    expect(b.metrics.batches).toBeLessThan(100);
    expect(b.metrics.mergedRequests).toBeGreaterThan(900);
    expect(b.metrics.rows).toBe(1000);
    expect(b.metrics.queuedRequests).toBe(0);
    expect(b.metrics.inFlightBatches).toBe(0);
    const histogramTotal = b.metrics.batchSizeHistogram.counts.reduce((x, y) => x + y, 0);
    expect(histogramTotal).toBe(b.metrics.batches);
  });

  it('runWith (callbacks): the same answers, merging and counters as run(); a bad request fails alone', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = c.inputs.x!.shape[0]!;
    const b = batcher(mlp, { numBatchThreads: 1 });
    const call = (inputs: Record<string, Tensor>) =>
      new Promise<{ err: unknown; out: Record<string, Tensor> | undefined }>((resolve) =>
        b.runWith(inputs, {}, (err, out) => resolve({ err, out })),
      );
    const which = Array.from({ length: 200 }, (_, k) => k % n);
    const pending = which.map((i) => call({ x: rows(c.inputs.x!, i) }));
    const bad = await call({ x: allocTensor('float32', [1, 5]) });
    expect((bad.err as JetserveError).code).toBe('INVALID_ARGUMENT');
    expect(bad.out).toBeUndefined();
    const results = await Promise.all(pending);
    results.forEach((r, k) => {
      expect(r.err).toBeUndefined();
      expectTensorClose(r.out!.y!, rows(c.outputs.y!, which[k]!), 1e-5, 1e-6, `request ${k}`);
    });
    expect(b.metrics.requests).toBe(200);
    expect(b.metrics.batches).toBeLessThan(10);
    expect(b.metrics.mergedRequests).toBeGreaterThan(190);
    expect(b.metrics.queuedRequests).toBe(0);
    expect(b.metrics.queuedRows).toBe(0);
    const expired = await call({ x: rows(c.inputs.x!, 0) }).then(() => new Promise<unknown>((resolve) => b.runWith({ x: rows(c.inputs.x!, 0) }, { deadline: Date.now() - 1 }, resolve)));
    expect((expired as JetserveError).code).toBe('DEADLINE_EXCEEDED');
  });

  it('conv: 200 concurrent single-image requests match the oracle', async () => {
    const c = biggest(loadOracle('conv').cases);
    const n = c.inputs.image!.shape[0]!;
    const b = batcher(conv);
    const which = Array.from({ length: 200 }, (_, k) => k % n);
    const results = await Promise.all(which.map((i) => b.run({ image: rows(c.inputs.image!, i) })));
    results.forEach((out, k) => expectTensorClose(out.logits!, rows(c.outputs.logits!, which[k]!), 1e-5, 1e-6, `request ${k}`));
    expect(b.metrics.tfRuns).toBeLessThan(200);
  });

  it('requests of several rows are merged and split back by their own row counts', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = Math.min(8, c.inputs.x!.shape[0]!);
    const b = batcher(mlp, { numBatchThreads: 1 });
    const spans = [
      [0, 1],
      [1, 3],
      [4, 2],
      [6, n - 6],
      [0, n],
    ] as const;
    const results = await Promise.all(spans.map(([i, k]) => b.run({ x: rows(c.inputs.x!, i, k) })));
    results.forEach((out, j) => expectTensorClose(out.y!, rows(c.outputs.y!, spans[j]![0], spans[j]![1]), 1e-5, 1e-6, `span ${j}`));
    // the first ran at once; the other four waited for the slot and ran as one batch
    expect(b.metrics.batches).toBe(2);
  });

  it('requests triggered by a batch’s results join the next batch instead of taking a free slot alone', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const b = batcher(mlp, { numBatchThreads: 2 });
    // 8 clients in a closed loop: each sends its next request as soon as its answer arrives
    const client = async (id: number) => {
      for (let k = 0; k < 20; k++) {
        const out = await b.run({ x: rows(c.inputs.x!, id) });
        expectTensorClose(out.y!, rows(c.outputs.y!, id), 1e-5, 1e-6);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, id) => client(id)));
    expect(b.metrics.requests).toBe(160);
    // without coalescing the first resubmission after each batch would run alone (≈ 2 rows per run)
    expect(b.metrics.requests / b.metrics.tfRuns).toBeGreaterThan(3.5);
  });

  it('gathers inputs with one copy into an aligned block and splits outputs as views (no copy)', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const b = batcher(mlp, { numBatchThreads: 1 });
    const before = engineInfo().stats;
    const [first, a, bb] = (await Promise.all([0, 1, 2].map((i) => b.run({ x: rows(c.inputs.x!, i) })))).map(
      (out) => out.y!.data as Float32Array,
    );
    const after = engineInfo().stats;
    // the merged input is an aligned block TF adopts: the gather is the only copy
    expect(after.bytesCopiedIn - before.bytesCopiedIn).toBe(0);
    expect(after.zeroCopyInputs - before.zeroCopyInputs).toBe(2);
    expect(first!.buffer).not.toBe(a!.buffer);
    expect(a!.buffer).toBe(bb!.buffer);
    expect(bb!.byteOffset - a!.byteOffset).toBe(3 * 4);
    expect(a!.length).toBe(3);
  });

  it('multi-input / multi-output signature (multi_sig serving_default) and output filters', async () => {
    const c = loadOracle('multi_sig').cases.find((x) => x.signature === 'serving_default')!;
    const n = c.inputs.a!.shape[0]!;
    const b = batcher(multi, { numBatchThreads: 1 });
    const req = (i: number) => ({ a: rows(c.inputs.a!, i), b: rows(c.inputs.b!, i) });
    const all = Array.from({ length: 3 * n }, (_, k) => b.run(req(k % n)));
    const filtered = Array.from({ length: 3 * n }, (_, k) => b.run(req(k % n), { outputs: ['norm'] }));
    const [full, only] = await Promise.all([Promise.all(all), Promise.all(filtered)]);
    full.forEach((out, k) => {
      for (const key of ['sum', 'product', 'norm']) expectTensorClose(out[key]!, rows(c.outputs[key]!, k % n), 1e-6, 1e-7, `${key} ${k}`);
    });
    only.forEach((out, k) => {
      expect(Object.keys(out)).toEqual(['norm']);
      expectTensorClose(out.norm!, rows(c.outputs.norm!, k % n), 1e-6, 1e-7, `norm ${k}`);
    });
    // two groups (two output filters) → at least 3 batches, far fewer than 6n
    expect(b.metrics.batches).toBeLessThan(2 * n);
  });

  it('strings concatenate and split (strings model)', async () => {
    const c = loadOracle('strings').cases.find((x) => x.inputs.text!.shape[0]! > 1)!;
    const n = c.inputs.text!.shape[0]!;
    const b = batcher(strings, { numBatchThreads: 1 });
    const results = await Promise.all(Array.from({ length: 4 * n }, (_, k) => b.run({ text: rows(c.inputs.text!, k % n) })));
    results.forEach((out, k) => {
      for (const key of Object.keys(c.outputs)) expectTensorClose(out[key]!, rows(c.outputs[key]!, k % n), 0, 0, `${key} ${k}`);
    });
    expect(b.metrics.batches).toBeLessThan(4 * n);
  });

  it('non-batchable signatures run each request alone: scalar output (count) and scalar input (scale)', async () => {
    const b = batcher(multi, { numBatchThreads: 1 });
    const counts = await Promise.all(
      [1, 2, 3, 4].map((k) =>
        b.run({ values: { dtype: 'int64', shape: [k], data: BigInt64Array.from({ length: k }, () => 5n) } }, { signature: 'count' }),
      ),
    );
    expect(counts.map((o) => (o.count!.data as Int32Array)[0])).toEqual([1, 2, 3, 4]);
    const scaled = await Promise.all(
      [2, 3].map((f) =>
        b.run(
          {
            x: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) },
            factor: { dtype: 'float32', shape: [], data: new Float32Array([f]) },
          },
          { signature: 'scale' },
        ),
      ),
    );
    expect(scaled.map((o) => Array.from(o.y!.data as Float32Array))).toEqual([
      [2, 4],
      [3, 6],
    ]);
    expect(b.metrics.mergedRequests).toBe(0);
    expect(b.metrics.tfRuns).toBe(6);
  });
});

describe('coalescing requests of one event-loop turn', () => {
  it('with slots free, the first request starts at once and the rest of the turn shares one run', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = c.inputs.x!.shape[0]!;
    const b = batcher(mlp, { numBatchThreads: 2 });
    // ten requests in one synchronous burst, as sockets read in one poll phase arrive
    const results = await Promise.all(Array.from({ length: 10 }, (_, k) => b.run({ x: rows(c.inputs.x!, k % n) })));
    results.forEach((out, k) => expectTensorClose(out.y!, rows(c.outputs.y!, k % n), 1e-5, 1e-6, `request ${k}`));
    // one alone (the idle fast path), nine merged — not one run per free slot
    expect(b.metrics.tfRuns).toBe(2);
    expect(b.metrics.mergedRequests).toBe(9);
  });

  it('a request of max_batch_size rows or more still takes a free slot at once', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = c.inputs.x!.shape[0]!;
    const b = batcher(mlp, { numBatchThreads: 2, maxBatchSize: n, maxEnqueuedBatches: 1 });
    // queued, the second would fill the queue and a third would be refused; instead it runs
    const results = await Promise.all([0, 1, 2].map(() => b.run({ x: rows(c.inputs.x!, 0, n) })));
    results.forEach((out) => expectTensorClose(out.y!, c.outputs.y!, 1e-5, 1e-6));
    expect(b.metrics.rejectedQueueFull).toBe(0);
  });
});

describe('padding to allowed_batch_sizes', () => {
  it('pads merged batches up to the next allowed size and drops the padding from outputs', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = c.inputs.x!.shape[0]!;
    const b = batcher(mlp, { numBatchThreads: 1, maxBatchSize: 8, allowedBatchSizes: [4, 8] });
    // first request: alone, padded 1 → 4; the next five wait and go together, padded 5 → 8
    const results = await Promise.all(Array.from({ length: 6 }, (_, k) => b.run({ x: rows(c.inputs.x!, k % n) })));
    results.forEach((out, k) => {
      expect(out.y!.shape).toEqual([1, 3]);
      expectTensorClose(out.y!, rows(c.outputs.y!, k % n), 1e-5, 1e-6, `request ${k}`);
    });
    expect(b.metrics.batches).toBe(2);
    expect(b.metrics.rows).toBe(12);
    expect(b.metrics.paddingRows).toBe(6);
    const { le, counts } = b.metrics.batchSizeHistogram;
    expect(counts[le.indexOf(4)]).toBe(1);
    expect(counts[le.indexOf(8)]).toBe(1);
  });

  it('splits batches at max_batch_size and runs an oversized request as its own batch', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = Math.min(8, c.inputs.x!.shape[0]!);
    const b = batcher(mlp, { numBatchThreads: 1, maxBatchSize: 4 });
    const sizes = [1, 1, 1, 1, 1, 1, n];
    const results = await Promise.all(sizes.map((k) => b.run({ x: rows(c.inputs.x!, 0, k) })));
    results.forEach((out, j) => expectTensorClose(out.y!, rows(c.outputs.y!, 0, sizes[j]!), 1e-5, 1e-6, `request ${j}`));
    // 1 at once, then [1,1,1,1], then [1], then [n]
    expect(b.metrics.batches).toBe(4);
  });
});

describe('deadlines and back-pressure', () => {
  it('a request whose deadline passes while queued fails DEADLINE_EXCEEDED and never runs', async () => {
    const c = biggest(loadOracle('mlp').cases);
    // a long batch timeout keeps a lone request waiting in the queue
    const b = batcher(mlp, { batchTimeoutMicros: 5_000_000, maxBatchSize: 64 });
    const started = Date.now();
    const err = await rejection(b.run({ x: rows(c.inputs.x!, 0) }, { deadline: Date.now() + 50 }));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(b.metrics.tfRuns).toBe(0);
    expect(b.metrics.expiredInQueue).toBe(1);
    expect(b.metrics.queuedRequests).toBe(0);
    expect(b.metrics.queuedRows).toBe(0);
  });

  it('an already expired deadline is rejected without queueing', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const b = batcher(mlp);
    const err = await rejection(b.run({ x: rows(c.inputs.x!, 0) }, { deadline: Date.now() - 1 }));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(b.metrics.tfRuns).toBe(0);
  });

  it('expired requests are dropped from a batch while the others run', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const b = batcher(mlp, { batchTimeoutMicros: 300_000, maxBatchSize: 64 });
    const soon = b.run({ x: rows(c.inputs.x!, 0) }, { deadline: Date.now() + 20 });
    const later = b.run({ x: rows(c.inputs.x!, 1) }, { deadline: Date.now() + 10_000 });
    const none = b.run({ x: rows(c.inputs.x!, 2) });
    expect((await rejection(soon)).code).toBe('DEADLINE_EXCEEDED');
    const [l, x] = await Promise.all([later, none]);
    expectTensorClose(l.y!, rows(c.outputs.y!, 1), 1e-5, 1e-6);
    expectTensorClose(x.y!, rows(c.outputs.y!, 2), 1e-5, 1e-6);
    expect(b.metrics.batches).toBe(1);
    expect(b.metrics.rows).toBe(2);
  });

  it('batch_timeout_micros waits to fill a batch, then sends it under-full', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const b = batcher(mlp, { batchTimeoutMicros: 30_000, maxBatchSize: 64 });
    const t0 = performance.now();
    const first = b.run({ x: rows(c.inputs.x!, 0) });
    await new Promise((r) => setTimeout(r, 5));
    const second = b.run({ x: rows(c.inputs.x!, 1) });
    await Promise.all([first, second]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(b.metrics.batches).toBe(1);
    expect(b.metrics.rows).toBe(2);
  });

  it('a full queue rejects with UNAVAILABLE and TF Serving’s message', async () => {
    const c = biggest(loadOracle('mlp').cases);
    // at most 1 × 2 rows may wait; the first request runs at once
    const b = batcher(mlp, { numBatchThreads: 1, maxBatchSize: 2, maxEnqueuedBatches: 1 });
    const ok = [0, 1, 2].map((i) => b.run({ x: rows(c.inputs.x!, i) }));
    const err = await rejection(b.run({ x: rows(c.inputs.x!, 3) }));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toBe(QUEUE_FULL_MESSAGE);
    expect(err.httpStatus).toBe(503);
    const done = await Promise.all(ok);
    done.forEach((out, i) => expectTensorClose(out.y!, rows(c.outputs.y!, i), 1e-5, 1e-6));
    expect(b.metrics.rejectedQueueFull).toBe(1);
    // once drained, requests are accepted again
    await b.run({ x: rows(c.inputs.x!, 3) });
  });
});

describe('error isolation', () => {
  it('a request with a wrong non-batch dim fails alone (validated before queueing); the rest merge', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const n = c.inputs.x!.shape[0]!;
    const b = batcher(mlp, { numBatchThreads: 1 });
    const good = Array.from({ length: 10 }, (_, k) => b.run({ x: rows(c.inputs.x!, k % n) }));
    const bad = b.run({ x: allocTensor('float32', [1, 5]) });
    const err = await rejection(bad);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/input 'x' expects shape \[-1,4\] but got \[1,5\]/);
    const results = await Promise.all(good);
    results.forEach((out, k) => expectTensorClose(out.y!, rows(c.outputs.y!, k % n), 1e-5, 1e-6));
    expect(b.metrics.batches).toBe(2);
    expect(b.metrics.batchFailures).toBe(0);
  });

  it('a request TF fails at run time fails alone; the others in its batch still succeed', async () => {
    const c = loadOracle('half_plus_two').cases.find((x) => x.signature === 'classify_x_to_y')!;
    const n = c.inputs.inputs!.shape[0]!;
    const b = batcher(hpt, { numBatchThreads: 1 });
    const opts = { signature: 'classify_x_to_y' };
    const requests = Array.from({ length: 9 }, (_, k) => b.run({ inputs: rows(c.inputs.inputs!, k % n) }, opts));
    // not a serialized tf.Example: ParseExample fails inside TF
    const culprit = b.run({ inputs: { dtype: 'string', shape: [1], data: [new Uint8Array([0xff, 0x01, 0x02])] } }, opts);
    requests.splice(5, 0, culprit);
    const settled = await Promise.allSettled(requests);
    settled.forEach((s, k) => {
      if (k === 5) {
        expect(s.status).toBe('rejected');
        const e = (s as PromiseRejectedResult).reason as JetserveError;
        expect(e.code).toBe('INVALID_ARGUMENT');
        expect(e.message).toMatch(/parse example/i);
        return;
      }
      expect(s.status, `request ${k}`).toBe('fulfilled');
      const i = k < 5 ? k : k - 1;
      expectTensorClose((s as PromiseFulfilledResult<Record<string, Tensor>>).value.scores!, rows(c.outputs.scores!, i % n), 1e-6, 1e-7);
    });
    expect(b.metrics.batchFailures).toBe(1);
    expect(b.metrics.reruns).toBe(9); // the 9 queued requests of the failed batch, one by one
  });

  it('unknown signatures, inputs and output filters are rejected per request', async () => {
    const c = biggest(loadOracle('mlp').cases);
    const b = batcher(mlp);
    expect((await rejection(b.run({ x: rows(c.inputs.x!, 0) }, { signature: 'nope' }))).message).toMatch(/Serving signature name: "nope" not found/);
    expect((await rejection(b.run({ z: rows(c.inputs.x!, 0) }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(b.run({ x: rows(c.inputs.x!, 0) }, { outputs: ['nope'] }))).message).toMatch(/output filter 'nope'/);
  });
});
