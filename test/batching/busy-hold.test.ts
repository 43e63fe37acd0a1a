// jetserve's default batching on a slow model (busy-hold.ts): while another batch of the same
// signature runs, a forming batch waits briefly for its fair share of the queue instead of leaving
// with the first request that finds a free slot. Checked on synthetic models (a timer as the run:
// no CPU, a cost the batcher measures) by the batch sizes formed and by whether a request starts
// synchronously — never by timing: 16 closed-loop clients on 2 slots form batches of about 8; an
// idle queue, a fast model and a TF Serving batching parameters file still start a request at once.
import { describe, expect, it } from 'vitest';
import { BatchScheduler, parseBatchingParameters, ServableBatcher, type BatchingParameters } from '../../src/batching/index.js';
import type { Model } from '../../src/engine/model.js';
import { syntheticModel } from './synthetic-model.js';
import { allocTensor } from '../../src/engine/tensor.js';


function batcher(model: Model, parameters: Partial<BatchingParameters> = {}): ServableBatcher {
  return new ServableBatcher(model, { parameters, scheduler: new BatchScheduler(2) });
}

const request = (rows = 1) => ({ x: allocTensor('float32', [rows, 4]) });

/**
 * `clients` closed-loop clients sharing a budget of `total` requests; after each answer a client
 * sends its next request 0-3 ms later (the network and the client's own work), from a fixed
 * pseudo-random sequence so every run of the test sees the same gaps. Every client stays until the
 * budget is spent, so the load is `clients` requests throughout; resolves to the number of runs
 * the model had made by then (later runs carry the last requests of a thinning crowd).
 */
async function closedLoop(b: ServableBatcher, clients: number, total: number, runs: number[]): Promise<number> {
  let seed = 12345;
  const gapMs = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % 4;
  };
  let sent = 0;
  let runsWhileFull = -1;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (sent < total) {
        sent++;
        const out = await b.run(request());
        expect(out.y!.shape).toEqual([1, 4]);
        if (sent >= total && runsWhileFull === -1) runsWhileFull = runs.length;
        await new Promise((r) => setTimeout(r, gapMs()));
      }
    }),
  );
  return runsWhileFull;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('a slow model under 16 closed-loop clients on 2 slots (default batching, no parameters file)', () => {
  it('forms batches of about half the clients, not of whoever found a slot free first', async () => {
    const runs: number[] = [];
    const b = batcher(syntheticModel(60, 2, (rows) => runs.push(rows)));
    const full = await closedLoop(b, 16, 16 * 24, runs);
    expect(b.metrics.requests).toBe(16 * 24);
    // after the start (cold: the first request runs alone, the cost is not yet measured) the two
    // slots share the 16 clients: batches of 8 each (16 / 2), a straggler now and then
    const late = runs.slice(Math.floor(full / 3), full);
    expect(mean(late), JSON.stringify(runs)).toBeGreaterThanOrEqual(7);
    expect(late.filter((r) => r <= 2).length, JSON.stringify(runs)).toBeLessThanOrEqual(late.length / 10);
  }, 30_000);

  it('a request that finds the queue idle still starts at once (no hold without another batch of the queue running)', async () => {
    const runs: number[] = [];
    const b = batcher(syntheticModel(60, 2, (rows) => runs.push(rows)));
    await closedLoop(b, 4, 12, runs); // the cost is measured
    const before = runs.length;
    const p = b.run(request());
    expect(runs).toHaveLength(before + 1); // started synchronously: the idle fast path
    await p;
  });

  it('while a batch runs and a slot is free, a request short of its share waits (default) but starts at once with a parameters file', async () => {
    const heldRuns: number[] = [];
    const held = batcher(syntheticModel(60, 2, (rows) => heldRuns.push(rows)));
    await closedLoop(held, 4, 12, heldRuns);
    const before = heldRuns.length;
    const first = held.run(request(4));
    const second = held.run(request(1));
    // past the event-loop turn both arrived in: the 4 rows run, the 1 row waits (its fair share is
    // ceil(5 / 2) = 3 rows) although the other slot is free — for 5 % of a 60 ms batch ≈ 3 ms
    await new Promise((r) => setImmediate(r));
    expect(heldRuns.slice(before)).toEqual([4]);
    await Promise.all([first, second]);
    expect(heldRuns.slice(before)).toEqual([4, 1]);

    const tfsRuns: number[] = [];
    const tfs = batcher(syntheticModel(60, 2, (rows) => tfsRuns.push(rows)), parseBatchingParameters('max_batch_size { value: 64 }\nbatch_timeout_micros { value: 0 }'));
    await closedLoop(tfs, 4, 12, tfsRuns);
    const tfsBefore = tfsRuns.length;
    const a = tfs.run(request(4));
    const c = tfs.run(request(1));
    // TF Serving's semantics: a free slot with batch_timeout_micros 0 starts the batch now
    await new Promise((r) => setImmediate(r));
    expect(tfsRuns.slice(tfsBefore)).toEqual([4, 1]);
    await Promise.all([a, c]);
  });

  it('a fast model (5 ms a batch) is never held: with a batch running and a slot free, a request starts at once', async () => {
    const runs: number[] = [];
    const b = batcher(syntheticModel(5, 0, (rows) => runs.push(rows)));
    await closedLoop(b, 4, 20, runs);
    const before = runs.length;
    const first = b.run(request(4));
    const second = b.run(request(1));
    await new Promise((r) => setImmediate(r));
    expect(runs.slice(before)).toEqual([4, 1]);
    await Promise.all([first, second]);
  });
});
