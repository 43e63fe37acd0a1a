// `node --import tsx bench/json-offload.ts`: where decoding a JSON request body on the piscina
// pool (src/server/http/json-offload.ts) starts to pay, and what it buys.
//
// Part 1 — threshold (tinybench, in process): for TF Serving predict bodies from 1 KiB to 4 MiB,
//   inline decode (decodeTfPredict on this thread, what the event loop does) against pool decode
//   (JsonOffload.decodeTfPredict: transfer the body, decode in a worker, transfer the tensors back).
//   Reported per size: latency of each, and the event-loop time an offloaded decode still costs
//   (eventLoopUtilization over sequential offloads: posting, the reply, rebuilding tensors). The
//   threshold is the smallest size from which on the pool's latency stays within 30% of inline
//   decoding while the event loop does at least 3× less work (below it the fixed round trip
//   dominates); its default is DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES.
// Part 2 — handing the decoded tensors to TF: the worker's tensors are plain ArrayBuffers, which
//   the addon copies once into TF memory; the alternative is copying them into an aligned
//   allocTensor block first (TF then adopts it). Measured with half_plus_two (the run is trivial).
// Part 3 — responsiveness: one jetserve process (in process, mlp + a large-body model, batching
//   on), one wrk sending large bodies on 4 connections, another sending tiny MLP predicts on 8
//   connections, same time; tiny-request latency (p50/p99/max) with offloading off, then on. Two
//   large-body models: conv (64 images, ~1.1 MiB of TF-JSON, heavy compute: the executor is the
//   contended resource) and half_plus_two on 262,144 floats (~2.7 MB, trivial compute: the event
//   loop is). Unpinned: the pool's worker runs wherever the OS puts it.
//
// Env: BENCH_QUICK=1 (shorter), BENCH_PARTS=1,2,3, BENCH_PIN=1 (part 3: wrk on CPU 1; with the
// bench under `taskset -c 0`, the one-CPU server of bench:rest). Results: bench/results/json-offload-<time>.json.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { Batching } from '../src/batching/index.js';
import { loadSavedModel } from '../src/engine/model.js';
import { allocTensor, plainTensor, type Tensor } from '../src/engine/tensor.js';
import { ModelManager } from '../src/models/manager.js';
import { decodeTfPredict } from '../src/server/http/codecs.js';
import { DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES, JsonOffload } from '../src/server/http/json-offload.js';
import { HttpServer } from '../src/server/http/server.js';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import { printTable, writeResults } from './lib/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PARTS = new Set((process.env.BENCH_PARTS ?? '1,2,3').split(',').map((s) => s.trim()));
const ROOT = join(import.meta.dirname, '..');

const fixtures = await ensureFixtures();
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: availableParallelism() };

// Python's json.dumps of float32 values turned into floats: up to 17 significant digits
let seed = 11;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

/** A TF Serving row-format body of about `bytes` bytes for an x [-1,4] float32 input. */
function mlpBody(bytes: number): Buffer {
  const rows: string[] = [];
  let size = 16;
  while (size < bytes) {
    const row = `[${[0, 1, 2, 3].map(() => String(Math.fround(rand() * 2 - 1))).join(', ')}]`;
    rows.push(row);
    size += row.length + 2;
  }
  if (rows.length === 0) rows.push('[0.5, 0.25, 0.125, 1.0]');
  return Buffer.from(`{"instances": [${rows.join(', ')}]}`);
}

const ms = (v: number | undefined) => (v === undefined ? NaN : v);
const us = (v: number) => Math.round(v * 1000 * 10) / 10;

// ---------------------------------------------------------------------------------------------
// part 1: threshold
// ---------------------------------------------------------------------------------------------
if (PARTS.has('1')) {
  const mlp = await loadSavedModel(join(fixtures, 'mlp', '1'));
  const offload = new JsonOffload({ thresholdBytes: 1, threads: 1 });
  // start the worker before measuring
  await offload.decodeTfPredict(mlpBody(1024), mlp);
  const sizes = QUICK ? [1024, 16384, 262144, 1048576] : [1024, 4096, 16384, 65536, 131072, 262144, 1048576, 4194304];
  const rows: Record<string, string | number>[] = [];
  const part1: Record<string, unknown>[] = [];
  for (const size of sizes) {
    const body = mlpBody(size);
    const time = QUICK ? 300 : size >= 1 << 20 ? 1500 : 800;
    const bench = new Bench({ time, warmupTime: 200 });
    let fresh: Buffer = Buffer.alloc(0);
    bench.add('inline', () => {
      decodeTfPredict(body, mlp);
    });
    bench.add(
      'pool',
      async () => {
        await offload.decodeTfPredict(fresh, mlp);
      },
      {
        // the body is transferred (detached) each time: a fresh copy outside the timed window,
        // as a server hands over the buffer it received
        beforeEach() {
          fresh = Buffer.from(body);
          // Buffer.from(big) is its own ArrayBuffer; small copies come from the Buffer pool and
          // are copied again by the offload (as the server's bodies would not be)
        },
      },
    );
    await bench.run();
    const [inline, pool] = bench.tasks.map((t) => t.result as unknown as { latency: { mean: number; p50: number; p99: number } });
    // event-loop time per offloaded decode: sequential offloads under eventLoopUtilization
    const n = size >= 1 << 20 ? 20 : 200;
    const copies = Array.from({ length: n }, () => Buffer.from(body));
    const elu0 = performance.eventLoopUtilization();
    for (const c of copies) await offload.decodeTfPredict(c, mlp);
    const elu = performance.eventLoopUtilization(elu0);
    const loopUs = (elu.active * 1000) / n;
    const row = {
      'body KiB': Math.round(body.length / 102.4) / 10,
      'inline p50 µs': us(ms(inline!.latency.p50)),
      'pool p50 µs': us(ms(pool!.latency.p50)),
      'inline mean µs': us(ms(inline!.latency.mean)),
      'pool mean µs': us(ms(pool!.latency.mean)),
      'pool event-loop µs': Math.round(loopUs * 10) / 10,
      'pool/inline': Math.round((ms(pool!.latency.mean) / ms(inline!.latency.mean)) * 100) / 100,
    };
    rows.push(row);
    part1.push({ bodyBytes: body.length, inline: inline!.latency, pool: pool!.latency, poolEventLoopMicros: loopUs });
    process.stderr.write(`  ${row['body KiB']} KiB done\n`);
  }
  await offload.close();
  await mlp.dispose();
  console.log('\nPart 1 — TF Serving predict JSON decode, inline vs piscina pool (1 worker), by body size');
  printTable(rows);
  // smallest size from which on every larger one keeps pool latency ≤ 1.3× inline and saves ≥ 3× event-loop time
  const pays = (r: Record<string, string | number>) =>
    (r['pool/inline'] as number) <= 1.3 && (r['inline mean µs'] as number) >= 3 * (r['pool event-loop µs'] as number);
  let from = rows.length;
  while (from > 0 && pays(rows[from - 1]!)) from--;
  const candidate = rows[from];
  console.log(
    candidate
      ? `offloading pays from ${candidate['body KiB']} KiB on (pool latency ≤ 1.3× inline, event loop ≥ 3× less busy); default threshold ${DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES / 1024} KiB`
      : 'offloading did not pay at any size measured',
  );
  results.threshold = {
    rows: part1,
    candidateBytes: candidate ? Math.round((candidate['body KiB'] as number) * 1024) : null,
    defaultBytes: DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES,
  };
}

// ---------------------------------------------------------------------------------------------
// part 2: plain tensors into TF — addon copy vs copy into allocTensor first
// ---------------------------------------------------------------------------------------------
if (PARTS.has('2')) {
  const hp2 = await loadSavedModel(join(fixtures, 'half_plus_two', '1'));
  const rows: Record<string, string | number>[] = [];
  const part2: Record<string, unknown>[] = [];
  for (const n of QUICK ? [65536, 1048576] : [16384, 262144, 1048576, 4194304]) {
    const plain = plainTensor('float32', [n]) as Tensor & { data: Float32Array };
    for (let i = 0; i < n; i++) plain.data[i] = i % 1000;
    const bench = new Bench({ time: QUICK ? 300 : 1000, warmupTime: 200 });
    bench.add('addon copies the plain buffer', async () => {
      await hp2.run({ x: plain });
    });
    bench.add('copy into allocTensor, TF adopts it', async () => {
      const t = allocTensor('float32', [n]);
      (t.data as Float32Array).set(plain.data);
      await hp2.run({ x: t });
    });
    await bench.run();
    const [a, b] = bench.tasks.map((t) => t.result as unknown as { latency: { mean: number; p50: number } });
    rows.push({
      'x float32': n,
      MiB: Math.round((n * 4) / 10485.76) / 100,
      'addon copy µs': us(a!.latency.mean),
      'allocTensor copy µs': us(b!.latency.mean),
    });
    part2.push({ elements: n, addonCopy: a!.latency, allocTensorCopy: b!.latency });
  }
  await hp2.dispose();
  console.log('\nPart 2 — half_plus_two run with a plain (worker-made) input: mean latency');
  printTable(rows);
  results.handOff = part2;
}

// ---------------------------------------------------------------------------------------------
// part 3: responsiveness
// ---------------------------------------------------------------------------------------------
interface WrkOut {
  requests: number;
  duration_us: number;
  status: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
}

function wrk(url: string, bodyFile: string, connections: number, seconds: number, pin: boolean): Promise<WrkOut> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '20s', '-s', join(ROOT, 'bench', 'lib', 'post.lua'), url, '--', bodyFile, 'Content-Type: application/json'];
  return new Promise((resolve, reject) => {
    const child = pin ? spawn('taskset', ['-c', '1', 'wrk', ...args]) : spawn('wrk', args);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    // 'close', not 'exit': the process can exit before its output has been read
    child.on('close', (code, signal) => {
      const m = /WRK_JSON (\{.*\})/.exec(out);
      if (!m) reject(new Error(`wrk ${args.join(" ")} (exit ${code ?? signal}) output:\n${out}`));
      else resolve(JSON.parse(m[1]!) as WrkOut);
    });
  });
}

if (PARTS.has('3')) {
  if (spawnSync('wrk', ['--version']).error) {
    console.log('\nPart 3 skipped: wrk is not installed (apt-get install -y wrk)');
  } else {
    // unpinned by default: the pool's worker must be free to run on another core than the event
    // loop. BENCH_PIN=1 pins wrk to CPU 1; run the bench itself under `taskset -c 0` to measure a
    // server that has one CPU (the bench:rest placement)
    const pin = process.env.BENCH_PIN === '1';
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-bench-offload-'));
    const tinyFile = join(dir, 'tiny.json');
    writeFileSync(tinyFile, '{"instances": [[0.12, -0.34, 0.56, 0.78]]}');
    // 64 images of 28x28x1 written as Python's json.dumps writes float32 data (~1.8 MB)
    const images = 64;
    const img: string[] = [];
    for (let k = 0; k < images; k++) {
      const rowsOf: string[] = [];
      for (let y = 0; y < 28; y++) rowsOf.push(`[${Array.from({ length: 28 }, () => `[${String(Math.fround(rand()))}]`).join(', ')}]`);
      img.push(`[${rowsOf.join(', ')}]`);
    }
    const convBody = `{"instances": [${img.join(', ')}]}`;
    // payload-heavy, compute-light: half_plus_two on 262,144 floats (~2.7 MB of JSON)
    const h2Body = JSON.stringify({ instances: Array.from({ length: 262144 }, (_, i) => Number((((i * 7919) % 20011) / 10005.5 - 1).toFixed(7))) });
    const seconds = QUICK ? 4 : 10;
    const rows: Record<string, string | number>[] = [];
    const part3: Record<string, unknown>[] = [];
    for (const [bigModel, bigBody] of [['conv', convBody], ['half_plus_two', h2Body]] as const) {
    const bigFile = join(dir, `big-${bigModel}.json`);
    writeFileSync(bigFile, bigBody);
    for (const threshold of [0, DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES]) {
      const manager = await ModelManager.create(
        [
          { name: 'mlp', basePath: join(fixtures, 'mlp') },
          { name: bigModel, basePath: join(fixtures, bigModel) },
        ],
        { batching: new Batching({}) },
      );
      // threads given: the pool runs even on one CPU (where the server's default skips it)
      const threads = Math.max(1, availableParallelism() - 1);
      const server = new HttpServer(manager, { log: () => {}, jsonOffloadThresholdBytes: threshold, jsonOffloadThreads: threads });
      const port = await server.listen(0, '127.0.0.1');
      const base = `http://127.0.0.1:${port}`;
      // warm both paths (and the pool)
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${base}/v1/models/${bigModel}:predict`, { method: 'POST', body: bigBody });
        if (r.status !== 200) throw new Error(`${bigModel} predict → ${r.status}: ${await r.text()}`);
      }
      const [big, tiny] = await Promise.all([
        wrk(`${base}/v1/models/${bigModel}:predict`, bigFile, 4, seconds, pin),
        wrk(`${base}/v1/models/mlp:predict`, tinyFile, 8, seconds, pin),
      ]);
      const offloaded = server.jsonOffload?.offloaded ?? 0;
      await server.close(1000);
      await manager.close();
      const row = {
        'large bodies': `${bigModel} (${(bigBody.length / 1048576).toFixed(1)} MiB)`,
        offload: threshold === 0 ? 'off (inline)' : `≥ ${threshold / 1024} KiB`,
        'big req/s': Math.round((big.requests / big.duration_us) * 1e6 * 10) / 10,
        'tiny req/s': Math.round((tiny.requests / tiny.duration_us) * 1e6),
        'tiny p50 ms': tiny.p50_us / 1000,
        'tiny p99 ms': tiny.p99_us / 1000,
        'tiny max ms': tiny.max_us / 1000,
        'big p50 ms': big.p50_us / 1000,
        errors: big.status + tiny.status,
        offloaded,
      };
      rows.push(row);
      part3.push({ bigModel, bigBodyBytes: bigBody.length, thresholdBytes: threshold, big, tiny, offloaded });
    }
    }
    rmSync(dir, { recursive: true, force: true });
    console.log(`\nPart 3 — responsiveness: tiny MLP predicts (8 connections) while large bodies arrive (4 connections), ${seconds} s each`);
    printTable(rows);
    results.responsiveness = { rows: part3 };
  }
}

console.log(`\nresults: ${writeResults('json-offload', results)}`);
