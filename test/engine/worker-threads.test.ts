// loadSavedModel, predict() and predictSync() work from worker threads, each with its own addon
// instance (executor, sessions), concurrently with the main thread and each other; outputs equal
// TF's. Ending a worker leaves the main thread's models serving (terminating one mid-run is in
// teardown.test.ts).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadSavedModel, type Tensor } from '../../src/index.js';
import type { ModelStats } from '../../src/engine/model.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

const ROUNDS = 5;

interface WorkerResult {
  results: Record<string, Record<string, Tensor>[]>;
  stats: Record<string, ModelStats>;
  code: number;
}

function runWorker(models: string[]): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
      workerData: { entry: new URL('./worker-predict.mts', import.meta.url).href, models, rounds: ROUNDS },
    });
    const stats: Record<string, ModelStats> = {};
    let results: WorkerResult['results'] | undefined;
    worker.on('message', (m: { kind: string; name?: string; stats?: ModelStats; results?: WorkerResult['results'] }) => {
      if (m.kind === 'stats') stats[m.name!] = m.stats!;
      else results = m.results;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (results ? resolve({ results, stats, code }) : reject(new Error(`worker exited ${code} without results`))));
  });
}

function expectOracle(name: string, outputs: Record<string, Tensor>[]): void {
  const oracle = loadOracle(name);
  expect(outputs.length).toBe(oracle.cases.length * (ROUNDS + 1));
  outputs.forEach((out, i) => {
    const c = oracle.cases[i % oracle.cases.length]!;
    for (const [key, expected] of Object.entries(c.outputs)) expectTensorClose(out[key]!, expected, 1e-6, 1e-9, `${name} ${c.name} ${key}`);
  });
}

describe('worker threads', () => {
  it('two workers and the main thread load and run models at once; outputs equal TF', async () => {
    const mlp = loadOracle('mlp');
    const main = await loadSavedModel(mlp.savedModelPath!);
    const mainRuns = (async () => {
      const outs: Record<string, Tensor>[] = [];
      for (let r = 0; r < 20; r++) for (const c of mlp.cases) outs.push(await main.predict(c.inputs));
      return outs;
    })();
    const [a, b, mainOuts] = await Promise.all([runWorker(['mlp', 'dtypes']), runWorker(['busy', 'strings']), mainRuns]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expectOracle('mlp', a.results.mlp!);
    expectOracle('dtypes', a.results.dtypes!);
    expectOracle('busy', b.results.busy!);
    expectOracle('strings', b.results.strings!);
    mainOuts.forEach((out, i) => expectTensorClose(out.y!, mlp.cases[i % mlp.cases.length]!.outputs.y!));
    // The placement policy works per worker too: warm-up on the worker's executor, then inline.
    const mlpCost = a.stats.mlp!.runs.find((r) => r.batchSizes[1] === 1)!;
    expect(mlpCost.offloadedRuns).toBeGreaterThanOrEqual(2);
    expect(mlpCost.inlineRuns).toBeGreaterThan(0);
    // The workers are gone; the main thread's model still serves.
    expectTensorClose((await main.predict(mlp.cases[0]!.inputs)).y!, mlp.cases[0]!.outputs.y!);
    await main.dispose();
  }, 60_000);
});
