// `node --import tsx bench/batching.ts`: throughput of 64-way concurrent single-row predicts on
// the mlp fixture, with the batcher (ServableBatcher, default parameters: timeout 0, slots =
// executor threads) against plain Model.run (what the manager does with --enable_batching=false),
// measured in the same run.
//
// Two views of "64 concurrent clients":
//   1. tinybench: one iteration = 64 single-row requests issued together and awaited together
//      (rounds with a barrier; pessimistic for batching, since each round starts with idle slots).
//   2. closed loop: 64 clients, each sends its next request as soon as its previous one answered,
//      for a fixed time (steady state, how a loaded server sees traffic). Alternated A/B/A/B.
// Every request builds its own [1,4] input in an aligned buffer (what a codec does), in both modes.
//
// Env: BENCH_QUICK=1 shortens every measurement (smoke run).

import { Bench } from 'tinybench';
import { ServableBatcher, type BatchingMetrics } from '../src/batching/index.js';
import { allocTensor, engineInfo, loadSavedModel, type Model, type Tensor } from '../src/index.js';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import { printTable, writeResults } from './lib/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const CONCURRENCY = 64;

type Run = (inputs: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

let seed = 1;
function input(): Record<string, Tensor> {
  const x = allocTensor('float32', [1, 4]);
  for (let i = 0; i < 4; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    x.data[i] = seed / 0x7fffffff - 0.5;
  }
  return { x };
}

async function round(run: Run): Promise<void> {
  const pending: Promise<unknown>[] = new Array(CONCURRENCY);
  for (let i = 0; i < CONCURRENCY; i++) pending[i] = run(input());
  await Promise.all(pending);
}

/** 64 clients in a closed loop for `ms`; returns requests per second. */
async function closedLoop(run: Run, ms: number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const client = async () => {
    while (performance.now() < end) {
      await run(input());
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return (done * 1000) / (performance.now() - t0);
}

function snapshot(m: BatchingMetrics): { requests: number; tfRuns: number } {
  return { requests: m.requests, tfRuns: m.tfRuns };
}

async function main(): Promise<void> {
  const fixtures = await ensureFixtures();
  const model: Model = await loadSavedModel(`${fixtures}/mlp/1`);
  const batcher = new ServableBatcher(model);
  const direct: Run = (inputs) => model.run(inputs);
  const batched: Run = (inputs) => batcher.run(inputs);

  // warm up both paths (TF graph optimisation happens on the first runs)
  for (let i = 0; i < 50; i++) {
    await round(direct);
    await round(batched);
  }
  const threads = engineInfo().stats.executorThreads;
  console.log(`mlp fixture, ${CONCURRENCY} concurrent single-row predicts; executor threads ${threads}, batch slots ${batcher.scheduler.numBatchThreads}`);

  // 1. tinybench rounds
  const bench = new Bench({ time: QUICK ? 300 : 3000, warmupTime: QUICK ? 100 : 500 });
  bench.add('no batching (Model.run)', () => round(direct));
  bench.add('batching (ServableBatcher)', () => round(batched));
  const before = snapshot(batcher.metrics);
  await bench.run();
  const after = snapshot(batcher.metrics);
  const rows: Record<string, string | number>[] = [];
  const rps: Record<string, number> = {};
  for (const task of bench.tasks) {
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
    const perRound = r.latency.mean; // ms per round of 64
    rps[task.name] = (CONCURRENCY * 1000) / perRound;
    rows.push({
      mode: task.name,
      'rounds': r.latency.samplesCount,
      'round mean ms': perRound,
      'round p99 ms': r.latency.p99,
      'req/s': Math.round(rps[task.name]!),
      'µs/request': (perRound * 1000) / CONCURRENCY,
    });
  }
  console.log('\n1) tinybench: rounds of 64 concurrent requests (barrier per round)');
  printTable(rows);
  const roundRatio = rps['batching (ServableBatcher)']! / rps['no batching (Model.run)']!;
  const tfRunsPerReq = (after.tfRuns - before.tfRuns) / Math.max(1, after.requests - before.requests);
  console.log(`batching / no batching throughput: ${roundRatio.toFixed(2)}x  (TF runs per batched request: ${tfRunsPerReq.toFixed(3)})`);

  // 2. closed loop, alternated
  const ms = QUICK ? 300 : 2000;
  const reps = QUICK ? 1 : 3;
  const loop = { direct: [] as number[], batched: [] as number[] };
  const loopBefore = snapshot(batcher.metrics);
  for (let i = 0; i < reps; i++) {
    loop.direct.push(await closedLoop(direct, ms));
    loop.batched.push(await closedLoop(batched, ms));
  }
  const loopAfter = snapshot(batcher.metrics);
  const best = (xs: number[]) => Math.max(...xs);
  console.log(`\n2) closed loop: ${CONCURRENCY} clients, ${reps} × ${ms} ms each, alternated (best of ${reps})`);
  printTable([
    { mode: 'no batching (Model.run)', 'req/s': Math.round(best(loop.direct)), 'µs/request': 1e6 / best(loop.direct), runs: loop.direct.map(Math.round).join(' / ') },
    { mode: 'batching (ServableBatcher)', 'req/s': Math.round(best(loop.batched)), 'µs/request': 1e6 / best(loop.batched), runs: loop.batched.map(Math.round).join(' / ') },
  ]);
  const loopRatio = best(loop.batched) / best(loop.direct);
  const loopRows = (loopAfter.requests - loopBefore.requests) / Math.max(1, loopAfter.tfRuns - loopBefore.tfRuns);
  console.log(`batching / no batching throughput: ${loopRatio.toFixed(2)}x  (mean rows per TF run with batching: ${loopRows.toFixed(1)})`);

  const file = writeResults('batching', {
    date: new Date().toISOString(),
    concurrency: CONCURRENCY,
    executorThreads: threads,
    tinybench: { rows, ratio: roundRatio },
    closedLoop: { ...loop, ratio: loopRatio, rowsPerRun: loopRows },
  });
  console.log(`\nresults: ${file}`);
  await model.dispose();
}

await main();
