// `node --import tsx bench/tracing.ts`: what OpenTelemetry tracing costs a request — off (the
// default) and on — measured in one run.
//
// Part 1 (timed loops, no TF): ServableVersion.run (the harness every request's run goes through)
//   on a stub model that answers at once, so the harness's own work is all that is timed:
//   - tracing off: the path as served by default (one module-variable read for tracing);
//   - the check alone: a loop with it against the same loop without (what "off" adds, isolated);
//   - tracing on, request not traced (the SDK loaded; AsyncLocalStorage lookup finds nothing);
//   - tracing on, traced request: server span + decode/queue/run/encode spans (OTLP exporter behind
//     the BatchSpanProcessor, as served).
// Part 2: REST predict on the demo model (startServer in process, keep-alive client, sequential
//   requests), tracing off against tracing on, interleaved rounds: µs per request and the ratio.
//
// Env: BENCH_QUICK=1 (shorter). Results: bench/results/tracing-<time>.json.

import http from 'node:http';
import { availableParallelism } from 'node:os';
import type { Model } from '../src/engine/model.js';
import type { Tensor } from '../src/engine/tensor.js';
import { ServableVersion } from '../src/models/harness.js';
import { currentRunTracer } from '../src/models/run-trace.js';
import { startTracing } from '../src/observability/tracing/tracing.js';
import { DEMO_MODEL_PATH, startServer } from '../src/serve/start.js';
import { printTable, writeResults } from './lib/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: availableParallelism() };

// --- part 1: the harness ---
const outputs: Record<string, Tensor> = { y: { dtype: 'float32', shape: [1], data: new Float32Array(1) } };
const inputs: Record<string, Tensor> = { x: { dtype: 'float32', shape: [1], data: new Float32Array(1) } };
const stub = { run: () => Promise.resolve(outputs), dispose: () => Promise.resolve(), signatures: {} } as unknown as Model;
const version = new ServableVersion('bench', 1, '/nowhere');
await version.load({ loader: async () => stub, options: {}, runners: undefined, warmup: false, maxRetries: 0, retryMs: 0, signatureMethodNameCheck: false, log: () => {} });
const runOptions = { signature: 'serving_default' };

let sink = 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** ns per iteration of a loop with and without the off-path check, alternated in rounds. */
function checkCostNs(): { plainNs: number; checkedNs: number } {
  const n = QUICK ? 5_000_000 : 20_000_000;
  const plain: number[] = [];
  const checked: number[] = [];
  for (let r = 0; r < 7; r++) {
    let t = performance.now();
    for (let i = 0; i < n; i++) sink += i & 1;
    plain.push(((performance.now() - t) * 1e6) / n);
    t = performance.now();
    for (let i = 0; i < n; i++) {
      if (currentRunTracer !== undefined) sink--;
      sink += i & 1;
    }
    checked.push(((performance.now() - t) * 1e6) / n);
  }
  return { plainNs: median(plain), checkedNs: median(checked) };
}
async function harnessNs(count: number, traced?: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < count; i++) {
    if (traced) await traced();
    else await version.run(inputs, runOptions);
  }
  return ((performance.now() - t) * 1e6) / count;
}
const runs = QUICK ? 50_000 : 200_000;
for (let r = 0; r < 3; r++) await harnessNs(runs);
const harnessOff: number[] = [];
for (let r = 0; r < 5; r++) harnessOff.push(await harnessNs(runs));
const check = checkCostNs();

// production's path: the OTLP exporter behind a BatchSpanProcessor (to a closed port: exports fail
// in the background, off the request path, and the processor drops what it cannot send)
const DEAD_COLLECTOR = 'http://127.0.0.1:9/v1/traces';
const tracing = (await startTracing({ otlpEndpoint: DEAD_COLLECTOR }))!;
const harnessUntraced: number[] = [];
for (let r = 0; r < 5; r++) harnessUntraced.push(await harnessNs(runs));
let n = 0;
const tracedRun = async () => {
  const trace = tracing.startHttp('POST', '/v1/models/bench:predict', 'id', '', '');
  await tracing.run(trace, () => version.run(inputs, runOptions));
  trace.end(200);
  n++;
};
const harnessTraced: number[] = [];
for (let r = 0; r < 3; r++) harnessTraced.push(await harnessNs(QUICK ? 2000 : 10_000, tracedRun));
await tracing.shutdown();

const part1 = {
  harnessOffNs: median(harnessOff),
  offCheckNs: check.checkedNs - check.plainNs,
  loopNs: check,
  harnessOnUntracedNs: median(harnessUntraced),
  harnessTracedNs: median(harnessTraced),
};
results.part1 = { ...part1, harnessOff, harnessUntraced, harnessTraced };
printTable([
  { case: 'harness run, tracing off', 'ns/op': part1.harnessOffNs.toFixed(0) },
  { case: 'off-path check alone (loop with it minus loop without)', 'ns/op': part1.offCheckNs.toFixed(3) },
  { case: 'harness run, tracing on, request not traced', 'ns/op': part1.harnessOnUntracedNs.toFixed(0) },
  { case: 'harness run in a traced request (5 spans, BatchSpanProcessor + OTLP exporter)', 'ns/op': part1.harnessTracedNs.toFixed(0) },
]);

// --- part 2: REST predict end to end ---
const offServer = await startServer({ models: [{ name: 'hpt', basePath: DEMO_MODEL_PATH }], restApiPort: 0, port: false, host: '127.0.0.1', log: false });
const onServer = await startServer({
  models: [{ name: 'hpt', basePath: DEMO_MODEL_PATH }],
  restApiPort: 0,
  port: false,
  host: '127.0.0.1',
  log: false,
  tracingOtlpEndpoint: DEAD_COLLECTOR,
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = '{"instances": [1.0, 2.0, 5.0]}';
function predict(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/models/hpt:predict', agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
async function round(port: number, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await predict(port);
  return ((performance.now() - start) * 1000) / count;
}
const count = QUICK ? 500 : 3000;
await round(offServer.http!.port, 300);
await round(onServer.http!.port, 300);
const rounds: { offUs: number; onUs: number; ratio: number }[] = [];
for (let r = 0; r < (QUICK ? 3 : 5); r++) {
  const offUs = await round(offServer.http!.port, count);
  const onUs = await round(onServer.http!.port, count);
  rounds.push({ offUs, onUs, ratio: onUs / offUs });
}
agent.destroy();
await offServer.close();
await onServer.close();
results.part2 = rounds;
printTable(rounds.map((r, i) => ({ round: i + 1, 'off µs/req': r.offUs.toFixed(1), 'on µs/req': r.onUs.toFixed(1), 'on/off': r.ratio.toFixed(3) })));
const medianOff = rounds.map((r) => r.offUs).sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
console.log(
  `\noff-path tracing check: ${part1.offCheckNs.toFixed(3)} ns per run = ${((part1.offCheckNs / 1000 / medianOff) * 100).toFixed(5)}% of a REST predict (${medianOff.toFixed(1)} µs median, same run)`,
);
console.log(`results: ${writeResults('tracing', results)} (${n} traced runs, sink ${sink})`);
