// `npm run bench:metrics`: jetserve's hand-written Prometheus registry (src/observability) against
// prom-client, on the two costs that matter to a server:
//
//   record  what one request costs the serving path: request_count{model_name,status} +1 and a
//           request_latency{model_name,API,entrypoint} observation (TF Serving's 33 buckets), on
//           label children looked up once and kept (both libraries' fastest use: jetserve's
//           RequestRecorder; prom-client's counter.labels(...) / histogram.labels(...) children).
//           prom-client's usual call, histogram.observe({labels}, v), is measured too.
//   scrape  rendering the whole text page, with the same families and series in both: 20 models ×
//           (4 REST + 4 gRPC APIs) latency series, runtime_latency per model, request_count per
//           model and 3 statuses, and one collected gauge of 100 series (version states).
//
// Both run in one process, alternating in rounds (tinybench), and each is reported as a ratio
// prom-client / jetserve measured in the same round; the median and the spread over the rounds
// are printed. The result decides whether prom-client replaces src/observability/ (see
// src/observability/registry.ts, where the numbers are recorded).
//
// Env: BENCH_ROUNDS (default 5), BENCH_QUICK=1. Results: bench/results/metrics-<time>.json.

import { availableParallelism } from 'node:os';
import client from 'prom-client';
import { Bench } from 'tinybench';
import { LATENCY_BUCKETS_MICROS, ServingMetrics } from '../src/observability/index.js';
import { printTable, writeResults } from './lib/report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUICK = process.env.BENCH_QUICK === '1';
const TIME_MS = QUICK ? 150 : 600;

const MODELS = Array.from({ length: 20 }, (_, i) => `model_${i}`);
const REST_APIS = ['predict', 'classify', 'regress', 'infer'];
const GRPC_APIS = ['Predict', 'Classify', 'Regress', 'ModelInfer'];
const STATES = ['START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END'];

// --- jetserve -------------------------------------------------------------------------------------

const jet = new ServingMetrics();
jet.registry.collectedGauge({ name: ':jetserve:model_version_state', help: 'state', labelNames: ['model_name', 'version', 'state'] }, (emit) => {
  for (const m of MODELS) for (const s of STATES) emit([m, '1', s], s === 'AVAILABLE' ? 1 : 0);
});
const jetRecorders = MODELS.flatMap((m) => [
  ...REST_APIS.map((api) => jet.request(m, api, 'REST')),
  ...GRPC_APIS.map((api) => jet.request(m, api, 'GRPC')),
]);

// --- prom-client ---------------------------------------------------------------------------------

const registry = new client.Registry();
const promCount = new client.Counter({ name: ':tensorflow:serving:request_count', help: 'The total number of requests.', labelNames: ['model_name', 'status'], registers: [registry] });
const promLatency = new client.Histogram({
  name: ':tensorflow:serving:request_latency',
  help: 'Distribution of wall time (in microseconds) for Tensorflow Serving request.',
  labelNames: ['model_name', 'API', 'entrypoint'],
  buckets: [...LATENCY_BUCKETS_MICROS],
  registers: [registry],
});
const promRuntime = new client.Histogram({
  name: ':tensorflow:serving:runtime_latency',
  help: 'Distribution of wall time (in microseconds) for Tensorflow runtime.',
  labelNames: ['model_name', 'API', 'runtime'],
  buckets: [...LATENCY_BUCKETS_MICROS],
  registers: [registry],
});
new client.Gauge({
  name: ':jetserve:model_version_state',
  help: 'state',
  labelNames: ['model_name', 'version', 'state'],
  registers: [registry],
  collect() {
    for (const m of MODELS) for (const s of STATES) this.set({ model_name: m, version: '1', state: s }, s === 'AVAILABLE' ? 1 : 0);
  },
});
interface PromRecorder {
  ok: client.Counter.Internal;
  latency: client.Histogram.Internal<string>;
  labels: Record<string, string>;
}
const promRecorders: PromRecorder[] = MODELS.flatMap((m) =>
  [...REST_APIS.map((api) => [api, 'REST']), ...GRPC_APIS.map((api) => [api, 'GRPC'])].map(([api, ep]) => ({
    ok: promCount.labels(m, 'OK'),
    latency: promLatency.labels(m, api!, ep!),
    labels: { model_name: m, API: api!, entrypoint: ep! },
  })),
);

// --- the same series in both ---------------------------------------------------------------------

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
/** A latency in µs spread over the buckets (50 µs … ~50 ms). */
const latency = () => Math.round(50 * Math.exp(rand() * 7));

for (let i = 0; i < 200; i++) {
  for (let r = 0; r < jetRecorders.length; r++) {
    const v = latency();
    // performance.now() - v/1000 ms ago: RequestRecorder.ok measures from a start time
    jetRecorders[r]!.ok(performance.now() - v / 1000);
    promRecorders[r]!.ok.inc();
    promRecorders[r]!.latency.observe(v);
  }
}
for (const m of MODELS) {
  for (const status of ['NOT_FOUND', 'INVALID_ARGUMENT']) {
    jet.request(m, 'predict', 'REST').failed(status as 'NOT_FOUND');
    promCount.labels(m, status).inc();
  }
  const v = latency();
  jet.runtimeLatency.labels(m, 'Predict', 'TF1').observe(v);
  promRuntime.labels(m, 'Predict', 'TF1').observe(v);
}

// --- rounds --------------------------------------------------------------------------------------

let sink = 0;
let i = 0;
const rounds: Record<string, number>[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // a request start 200 µs ago, as far as the recorders can tell
  const t0 = performance.now() - 0.2;
  const bench = new Bench({ time: TIME_MS, warmupTime: 100 });
  bench
    .add('jetserve record', () => {
      const r = jetRecorders[i++ % jetRecorders.length]!;
      r.ok(t0);
    })
    .add('prom-client record (children)', () => {
      const r = promRecorders[i++ % promRecorders.length]!;
      // the same work RequestRecorder.ok does: read the clock, count, observe
      const micros = Math.round((performance.now() - t0) * 1000);
      r.ok.inc();
      r.latency.observe(micros);
    })
    .add('prom-client record (observe with labels)', () => {
      const r = promRecorders[i++ % promRecorders.length]!;
      const micros = Math.round((performance.now() - t0) * 1000);
      promCount.inc({ model_name: r.labels.model_name!, status: 'OK' });
      promLatency.observe(r.labels, micros);
    })
    .add('jetserve scrape', () => {
      sink += jet.registry.expose().length;
    })
    .add('prom-client scrape', async () => {
      sink += (await registry.metrics()).length;
    });
  await bench.run();
  const ns = (name: string) => {
    const task = bench.tasks.find((t) => t.name === name)!;
    const result = task.result as { latency?: { mean: number }; mean?: number } | undefined;
    const meanMs = result?.latency?.mean ?? result?.mean ?? NaN;
    return meanMs * 1e6;
  };
  rounds.push({
    round: round + 1,
    'jetserve record ns': ns('jetserve record'),
    'prom record ns': ns('prom-client record (children)'),
    'prom observe(labels) ns': ns('prom-client record (observe with labels)'),
    'record ratio prom/jet': ns('prom-client record (children)') / ns('jetserve record'),
    'jetserve scrape µs': ns('jetserve scrape') / 1000,
    'prom scrape µs': ns('prom-client scrape') / 1000,
    'scrape ratio prom/jet': ns('prom-client scrape') / ns('jetserve scrape'),
  });
}

printTable(rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary: Record<string, { median: number; min: number; max: number }> = {};
for (const key of ['record ratio prom/jet', 'scrape ratio prom/jet']) {
  const xs = rounds.map((r) => r[key]!);
  summary[key] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  console.log(`${key}: median ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}) over ${xs.length} rounds`);
}
const jetPage = jet.registry.expose();
const promPage = await registry.metrics();
console.log(`page sizes: jetserve ${jetPage.length} bytes, prom-client ${promPage.length} bytes (sink ${sink % 10})`);
const file = writeResults('metrics', { date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), rounds, summary });
console.log(`results: ${file}`);
