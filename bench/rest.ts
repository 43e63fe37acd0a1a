// `npm run bench:rest`: jetserve's REST front end under wrk, against a ceiling and a baseline,
// every server a child process on its own free loopback port, all in the same run.
//
// Tiny MLP (x float32 [1,4] → y [1,3]), 64 connections, 1 wrk thread:
//   (a) uWS echo        — same uWebSockets.js package, reads the body, answers a fixed small JSON
//                         (bench/servers/uws-echo.ts): the ceiling for any server on this stack
//   (b) FastAPI + TF    — uvicorn (uvloop + httptools when installed) + Python TF 2.21 on the same
//                         SavedModel, same JSON shape (bench/baselines/fastapi_tf.py)
//   (c) jetserve        — `jetserve` CLI, batching on (the default)
//   (d) jetserve        — `--enable_batching=false`
//   plus KServe v2 JSON infer and the FlatBuffers protocol on (c).
// Large tensors, 16 connections, TF-JSON / KServe v2 JSON / KServe v2 binary tensors / FlatBuffers
// against the same jetserve, same run:
//   - conv model, 32 images [32,28,28,1] per request (98 KiB raw; the model's compute is large)
//   - half_plus_two, x [262144] float32 (1 MiB raw; payload handling dominates)
// (these servers run with --enable_batching=false: each request is a batch already)
//
// Each measurement: a warm-up wrk run (discarded), then the measured run; wrk's own latency
// histogram gives p50/p99 (bench/lib/post.lua prints them as JSON). Every body is sent once with
// fetch first and its answer checked (status, and outputs equal across encodings).
// Results: bench/results/rest-<time>.json.
//
// CPU placement: on a machine with 2+ CPUs every server (all its threads) runs on CPU 0 and wrk on
// CPU 1 (taskset), so the load generator never competes with the server and every server gets
// the same single core: the ratios compare per-core throughput. BENCH_PIN=0 runs unpinned (how
// reference/feasibility.md's calibration was measured; noisier, and a multi-threaded server can
// borrow wrk's core). Before each run the machine is checked for other load (warned about and
// recorded in the results).
//
// Env: BENCH_DURATION (s, default 8), BENCH_WARMUP (s, default 2), BENCH_CONNECTIONS (64),
// BENCH_LARGE_CONNECTIONS (16), BENCH_QUICK=1 (3 s runs), BENCH_PIN=0, BENCH_ONLY=comma list of
// row keys (echo,fastapi,batch,nobatch,kserve,flat,large,large1m), BENCH_CPU_PROF=dir (jetserve children run
// with --cpu-prof into dir), BENCH_JETSERVE_ARGS (extra CLI flags for every jetserve child), BENCH_NODE_ARGS (node/V8 flags for them),
// BENCH_RUNTIME=tsx (run jetserve from src/ through tsx instead of rebuilding dist/ first),
// BENCH_COMPARE_CLI=path/to/bin/jetserve.js (another build's CLI, e.g. an older commit's: its
// batching and no-batching TF-JSON rows are measured too, same run, marked "[compare]").

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFlatPredictRequest, decodeFlatPredictResponse, FLATBUFFERS_CONTENT_TYPE } from '../src/codec/flatbuffers/flatbuffers.js';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import { ensureVenv } from '../scripts/python-env.mjs';
import { printTable, writeResults } from './lib/report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 3 : 8));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 1 : 2));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const LARGE_CONNECTIONS = Number(process.env.BENCH_LARGE_CONNECTIONS ?? 16);
const PIN = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2;
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
const CPU_PROF = process.env.BENCH_CPU_PROF;
const EXTRA_ARGS = (process.env.BENCH_JETSERVE_ARGS ?? '').split(/\s+/).filter(Boolean);
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const COMPARE_CLI = process.env.BENCH_COMPARE_CLI;
const wanted = (key: string) => !ONLY || ONLY.has(key);

// ---------------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------------

function requireWrk(): string {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    process.stderr.write(
      'bench:rest needs wrk (the HTTP load generator), which is not installed.\n' +
        '  Debian/Ubuntu: apt-get update && apt-get install -y wrk\n',
    );
    process.exit(1);
  }
  return `${probe.stdout}${probe.stderr}`.split('\n')[0]!.trim();
}

interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  /** Non-2xx/3xx responses. */
  status: number;
  timeout: number;
  mean_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
}

interface Target {
  url: string;
  bodyFile: string;
  headers: string[];
}

function wrk(target: Target, seconds: number, connections: number): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    join(ROOT, 'bench', 'lib', 'post.lua'),
    target.url,
    '--',
    target.bodyFile,
    ...target.headers,
  ];
  return new Promise((resolve, reject) => {
    const child = PIN
      ? spawn('taskset', ['-c', '1', 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const line = /WRK_JSON (\{.*\})/.exec(out);
      if (!line) {
        reject(new Error(`could not parse wrk output:\n${out}`));
        return;
      }
      resolve(JSON.parse(line[1]!) as WrkResult);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// child servers
// ---------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Child {
  name: string;
  port: number;
  proc: ChildProcess;
  log: string[];
}

const children = new Set<Child>();

async function startChild(name: string, cmd: string, args: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const full = PIN ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args];
  const proc = spawn(full[0] as string, full[1] as string[], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, port, proc, log: [] };
  const keep = (d: Buffer) => {
    child.log.push(d.toString());
    if (child.log.length > 200) child.log.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  children.add(child);
  return child;
}

/** Polls until `probe` answers 200 (or the child dies / the time is up). */
async function waitReady(child: Child, probe: () => Promise<Response>, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited = false;
  child.proc.once('exit', () => (exited = true));
  while (Date.now() < until) {
    if (exited) throw new Error(`${child.name} exited during start-up:\n${child.log.join('')}`);
    try {
      const r = await probe();
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.log.join('')}`);
}

async function stopChild(child: Child): Promise<void> {
  children.delete(child);
  const proc = child.proc;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function killAll(): void {
  for (const c of children) c.proc.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * How jetserve children run: the compiled CLI (what `npx jetserve` runs), rebuilt from the current
 * sources first (`tsc -p tsconfig.build.json` into dist/). tsx is the fallback when the build fails:
 * its esbuild transform adds a __name() call per closure creation, which costs a few % on this path.
 */
let runtime: 'dist' | 'tsx' = 'dist';

function buildDist(notes: string[]): void {
  if (process.env.BENCH_RUNTIME === 'tsx') {
    runtime = 'tsx';
    return;
  }
  process.stderr.write('building dist/ (tsc -p tsconfig.build.json) so jetserve runs as compiled JS...\n');
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    runtime = 'tsx';
    const msg = `tsc failed (status ${r.status}); jetserve runs from src/ through tsx instead`;
    notes.push(msg);
    process.stderr.write(`${msg}:\n${(r.stdout + r.stderr).slice(0, 2000)}\n`);
  }
}

async function startJetserve(label: string, model: string, basePath: string, extra: string[] = [], cli?: string): Promise<Child> {
  const port = await freePort();
  const node = [
    ...NODE_ARGS,
    ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`] : []),
    ...(cli ? [cli] : runtime === 'dist' ? [join(ROOT, 'bin', 'jetserve.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')]),
    `--model_name=${model}`,
    `--model_base_path=${basePath}`,
    `--rest_api_port=${port}`,
    '--port=0',
    ...extra,
    ...EXTRA_ARGS,
  ];
  const child = await startChild(label, process.execPath, node, port);
  await waitReady(child, () => fetch(`http://127.0.0.1:${port}/v1/models/${model}`));
  return child;
}

// ---------------------------------------------------------------------------------------------
// request bodies
// ---------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'jetserve-bench-rest-'));
let fileCount = 0;
function bodyFile(body: string | Uint8Array): string {
  const file = join(dir, `body-${fileCount++}.bin`);
  writeFileSync(file, body);
  return file;
}

interface Encoded {
  /** URL path on the server. */
  path: string;
  body: string | Uint8Array;
  headers: Record<string, string>;
  /** Output values from a response (for the cross-encoding check). */
  outputs(res: Uint8Array, headers: Headers): Float32Array;
}

function nestRows(values: Float32Array, shape: number[]): unknown {
  const build = (dim: number, offset: number): unknown => {
    if (dim === shape.length) return values[offset];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

function flatNumbers(value: unknown, out: number[] = []): number[] {
  if (Array.isArray(value)) for (const v of value) flatNumbers(v, out);
  else out.push(value as number);
  return out;
}

function tfJson(model: string, values: Float32Array, shape: number[]): Encoded {
  return {
    path: `/v1/models/${model}:predict`,
    body: JSON.stringify({ instances: nestRows(values, shape) }),
    headers: { 'Content-Type': 'application/json' },
    outputs: (res) => Float32Array.from(flatNumbers((JSON.parse(Buffer.from(res).toString()) as { predictions: unknown }).predictions)),
  };
}

function kserveJson(model: string, input: string, values: Float32Array, shape: number[]): Encoded {
  return {
    path: `/v2/models/${model}/infer`,
    body: JSON.stringify({ inputs: [{ name: input, shape, datatype: 'FP32', data: Array.from(values) }] }),
    headers: { 'Content-Type': 'application/json' },
    outputs: (res) => {
      const j = JSON.parse(Buffer.from(res).toString()) as { outputs: { data: number[] }[] };
      return Float32Array.from(j.outputs[0]!.data);
    },
  };
}

function kserveBinary(model: string, input: string, output: string, values: Float32Array, shape: number[]): Encoded {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: input, shape, datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }],
      outputs: [{ name: output, parameters: { binary_data: true } }],
    }),
  );
  const body = Buffer.concat([header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
  return {
    path: `/v2/models/${model}/infer`,
    body,
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
    outputs: (res, headers) => {
      const jsonLength = Number(headers.get('inference-header-content-length'));
      const blob = res.slice(jsonLength);
      return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
    },
  };
}

function flat(model: string, input: string, values: Float32Array, shape: number[]): Encoded {
  return {
    path: `/v1/models/${model}:predict`,
    body: encodeFlatPredictRequest({ [input]: { dtype: 'float32', shape, data: values } }),
    headers: { 'Content-Type': FLATBUFFERS_CONTENT_TYPE },
    outputs: (res) => {
      const out = decodeFlatPredictResponse(res).outputs;
      return Float32Array.from(Object.values(out)[0]!.data as Float32Array);
    },
  };
}

/** Sends the body once with fetch; throws unless 200. Returns the output values. */
async function probeOnce(port: number, enc: Encoded): Promise<Float32Array> {
  const r = await fetch(`http://127.0.0.1:${port}${enc.path}`, { method: 'POST', body: enc.body, headers: enc.headers });
  const bytes = new Uint8Array(await r.arrayBuffer());
  if (r.status !== 200) throw new Error(`POST ${enc.path} → ${r.status}: ${Buffer.from(bytes).toString().slice(0, 300)}`);
  return enc.outputs(bytes, r.headers);
}

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} vs ${b.length} values`);
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > 1e-4 * Math.max(1, Math.abs(b[i]!))) throw new Error(`${what}: value ${i} ${a[i]} vs ${b[i]}`);
  }
}

function target(port: number, enc: Encoded): Target {
  return {
    url: `http://127.0.0.1:${port}${enc.path}`,
    bodyFile: bodyFile(enc.body),
    headers: Object.entries(enc.headers).map(([k, v]) => `${k}: ${v}`),
  };
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

interface Row {
  key: string;
  server: string;
  encoding: string;
  connections: number;
  bodyBytes: number;
  wrk: WrkResult;
  rps: number;
  /** Share of the machine busy with other work just before the run. */
  otherLoadBefore: number | undefined;
  /**
   * Server CPU time per request during the measured run (all threads, and the main/JS thread alone),
   * from /proc: unlike req/s it barely moves when other work shares the machine.
   */
  cpuUsPerRequest: number | undefined;
  mainThreadUsPerRequest: number | undefined;
}

/** CPU seconds (user+system) of a process (all threads) and of its main thread, from /proc. */
function cpuSeconds(pid: number): { all: number; main: number } | undefined {
  const ticks = (file: string) => {
    // the command name (field 2) may hold spaces: count fields after its closing parenthesis
    const f = readFileSync(file, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
  };
  try {
    return { all: ticks(`/proc/${pid}/stat`) / 100, main: ticks(`/proc/${pid}/task/${pid}/stat`) / 100 };
  } catch {
    return undefined;
  }
}

/** Share of all CPUs busy (user+system+irq) over `ms`, from /proc/stat (undefined off Linux). */
async function machineBusy(ms: number): Promise<number | undefined> {
  const read = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const idle = f[3]! + (f[4] ?? 0);
      return { idle, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (!a || !b || b.total === a.total) return undefined;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

async function measure(key: string, server: string, encoding: string, t: Target, bodyBytes: number, connections: number): Promise<Row> {
  process.stderr.write(`  ${server} / ${encoding}: warm-up ${WARMUP}s, run ${DURATION}s @ ${connections} connections\n`);
  // the server under test is idle now: anything busy is someone else
  const busy = await machineBusy(1000);
  if (busy !== undefined && busy > 0.1) {
    process.stderr.write(`    ! the machine is ${(busy * 100).toFixed(0)}% busy with other work before this run: numbers will be low/noisy\n`);
  }
  if (WARMUP > 0) await wrk(t, WARMUP, connections);
  const pid = [...children].find((c) => t.url.startsWith(`http://127.0.0.1:${c.port}/`))?.proc.pid;
  const cpuBefore = pid ? cpuSeconds(pid) : undefined;
  const w = await wrk(t, DURATION, connections);
  const cpuAfter = pid ? cpuSeconds(pid) : undefined;
  const rps = w.requests / (w.duration_us / 1e6);
  const perRequest = (k: 'all' | 'main') =>
    cpuBefore && cpuAfter && w.requests > 0 ? ((cpuAfter[k] - cpuBefore[k]) * 1e6) / w.requests : undefined;
  const errors = w.connect + w.read + w.write + w.status + w.timeout;
  if (errors > 0) process.stderr.write(`    ! ${errors} errors (non-2xx ${w.status}, timeout ${w.timeout}, read ${w.read})\n`);
  return {
    key,
    server,
    encoding,
    connections,
    bodyBytes,
    wrk: w,
    rps,
    otherLoadBefore: busy,
    cpuUsPerRequest: perRequest('all'),
    mainThreadUsPerRequest: perRequest('main'),
  };
}

function tableRow(r: Row): Record<string, string | number> {
  return {
    server: r.server,
    encoding: r.encoding,
    conns: r.connections,
    'body B': r.bodyBytes,
    'req/s': Math.round(r.rps),
    'p50 ms': r.wrk.p50_us / 1000,
    'p99 ms': r.wrk.p99_us / 1000,
    'mean ms': r.wrk.mean_us / 1000,
    'MB/s in': Math.round((r.rps * r.bodyBytes) / 1e6),
    'CPU µs/req': r.cpuUsPerRequest === undefined ? '-' : Number(r.cpuUsPerRequest.toFixed(1)),
    'main µs/req': r.mainThreadUsPerRequest === undefined ? '-' : Number(r.mainThreadUsPerRequest.toFixed(1)),
    errors: r.wrk.connect + r.wrk.read + r.wrk.write + r.wrk.status + r.wrk.timeout,
  };
}

async function main(): Promise<void> {
  const wrkVersion = requireWrk();
  const fixtures = await ensureFixtures();
  const mlpBase = join(fixtures, 'mlp');
  const rows: Row[] = [];
  const notes: string[] = [];
  console.error(`bench:rest — ${wrkVersion}; ${cpus().length} CPUs; ${PIN ? 'servers pinned to CPU 0, wrk to CPU 1' : 'unpinned'}`);
  if (wanted('batch') || wanted('nobatch') || wanted('kserve') || wanted('flat') || wanted('large')) buildDist(notes);

  // ---- tiny MLP ----
  const x = new Float32Array([0.12, -0.34, 0.56, 0.78]);
  const tiny = tfJson('mlp', x, [1, 4]);
  const tinyBody = Buffer.byteLength(tiny.body);
  let reference: Float32Array | undefined;

  if (wanted('echo')) {
    const port = await freePort();
    const echo = await startChild('uws-echo', process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'uws-echo.ts'), String(port)], port);
    await waitReady(echo, () => fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }));
    rows.push(await measure('echo', 'uWS echo (ceiling)', 'TF-JSON body', target(port, tiny), tinyBody, CONNECTIONS));
    await stopChild(echo);
  }

  if (wanted('fastapi')) {
    const python = await ensureVenv();
    const fast = spawnSync(python, ['-c', 'import uvloop, httptools'], { encoding: 'utf8' });
    const loopArgs = fast.status === 0 ? ['--loop', 'uvloop', '--http', 'httptools'] : ['--loop', 'asyncio', '--http', 'h11'];
    const stack = fast.status === 0 ? 'uvicorn (uvloop, httptools)' : 'uvicorn (asyncio, h11: uvloop/httptools not installed)';
    if (fast.status !== 0) notes.push('FastAPI baseline ran without uvloop/httptools (slower than uvicorn[standard])');
    const port = await freePort();
    const py = await startChild(
      'fastapi',
      python,
      ['-m', 'uvicorn', 'fastapi_tf:app', '--app-dir', join(ROOT, 'bench', 'baselines'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning', '--no-access-log', ...loopArgs],
      port,
      { MODEL_DIR: join(mlpBase, '1'), TF_CPP_MIN_LOG_LEVEL: '2' },
    );
    await waitReady(py, () => fetch(`http://127.0.0.1:${port}/v1/models/mlp`));
    reference = await probeOnce(port, tiny);
    rows.push(await measure('fastapi', `FastAPI + ${stack} + TF`, 'TF-JSON', target(port, tiny), tinyBody, CONNECTIONS));
    await stopChild(py);
  }

  if (wanted('batch') || wanted('kserve') || wanted('flat')) {
    const js = await startJetserve('jetserve-batching', 'mlp', mlpBase);
    const got = await probeOnce(js.port, tiny);
    if (reference) assertClose(got, reference, 'jetserve vs FastAPI+TF (tiny MLP)');
    reference ??= got;
    if (wanted('batch')) rows.push(await measure('batch', 'jetserve (batching)', 'TF-JSON', target(js.port, tiny), tinyBody, CONNECTIONS));
    if (wanted('kserve')) {
      const enc = kserveJson('mlp', 'x', x, [1, 4]);
      assertClose(await probeOnce(js.port, enc), reference, 'KServe JSON (tiny MLP)');
      rows.push(await measure('kserve', 'jetserve (batching)', 'KServe v2 JSON', target(js.port, enc), Buffer.byteLength(enc.body), CONNECTIONS));
    }
    if (wanted('flat')) {
      const enc = flat('mlp', 'x', x, [1, 4]);
      assertClose(await probeOnce(js.port, enc), reference, 'FlatBuffers (tiny MLP)');
      rows.push(await measure('flat', 'jetserve (batching)', 'FlatBuffers', target(js.port, enc), (enc.body as Uint8Array).byteLength, CONNECTIONS));
    }
    await stopChild(js);
  }

  if (wanted('nobatch')) {
    const js = await startJetserve('jetserve-nobatch', 'mlp', mlpBase, ['--enable_batching=false']);
    const got = await probeOnce(js.port, tiny);
    if (reference) assertClose(got, reference, 'jetserve --enable_batching=false (tiny MLP)');
    rows.push(await measure('nobatch', 'jetserve (--enable_batching=false)', 'TF-JSON', target(js.port, tiny), tinyBody, CONNECTIONS));
    await stopChild(js);
  }

  if (COMPARE_CLI) {
    for (const [key, label, extra] of [
      ['batch', 'jetserve (batching) [compare]', []],
      ['nobatch', 'jetserve (--enable_batching=false) [compare]', ['--enable_batching=false']],
    ] as const) {
      if (!wanted(key)) continue;
      const js = await startJetserve(`compare-${key}`, 'mlp', mlpBase, [...extra], COMPARE_CLI);
      const got = await probeOnce(js.port, tiny);
      if (reference) assertClose(got, reference, `${label} (tiny MLP)`);
      rows.push(await measure(`${key}-compare`, label, 'TF-JSON', target(js.port, tiny), tinyBody, CONNECTIONS));
      await stopChild(js);
    }
  }

  // ---- large tensors ----
  const large: Row[] = [];
  const largeScenarios: { key: string; title: string; model: string; input: string; output: string; shape: number[]; fill: (i: number) => number }[] = [
    {
      key: 'large',
      title: 'conv [32,28,28,1]',
      model: 'conv',
      input: 'image',
      output: 'logits',
      shape: [32, 28, 28, 1],
      // pixel-like values k/255, as a client scaling uint8 images sends them
      fill: (i) => ((i * 7919) % 256) / 255,
    },
    {
      key: 'large1m',
      title: 'half_plus_two [262144]',
      model: 'half_plus_two',
      input: 'x',
      output: 'y',
      shape: [262144],
      fill: (i) => ((i * 7919) % 2000) / 100 - 10,
    },
  ];
  for (const sc of largeScenarios) {
    if (!wanted(sc.key)) continue;
    const n = sc.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = sc.fill(i);
    // batching off: each request already carries a batch (a 262144-row request would not even fit
    // TF Serving's default max_batch_size / queue), so this compares the encodings' own costs
    const js = await startJetserve(`jetserve-${sc.model}`, sc.model, join(fixtures, sc.model), ['--enable_batching=false']);
    const encodings: [string, Encoded][] = [
      ['TF-JSON', tfJson(sc.model, values, sc.shape)],
      ['KServe v2 JSON', kserveJson(sc.model, sc.input, values, sc.shape)],
      ['KServe v2 binary', kserveBinary(sc.model, sc.input, sc.output, values, sc.shape)],
      ['FlatBuffers', flat(sc.model, sc.input, values, sc.shape)],
    ];
    let ref: Float32Array | undefined;
    for (const [name, enc] of encodings) {
      const out = await probeOnce(js.port, enc);
      if (ref) assertClose(out, ref, `${sc.title} ${name} vs TF-JSON`);
      ref ??= out;
    }
    for (const [name, enc] of encodings) {
      const bytes = typeof enc.body === 'string' ? Buffer.byteLength(enc.body) : enc.body.byteLength;
      large.push(await measure(sc.key, `jetserve ${sc.title}`, name, target(js.port, enc), bytes, LARGE_CONNECTIONS));
    }
    await stopChild(js);
  }

  // ---- report ----
  console.log(`\nREST predict, tiny MLP x[1,4] (wrk -t1 -c${CONNECTIONS} -d${DURATION}s after ${WARMUP}s warm-up${PIN ? ', pinned' : ''})`);
  printTable(rows.map(tableRow));
  const by = (key: string) => rows.find((r) => r.key === key);
  const ratios: Record<string, number> = {};
  const ratioLines: string[] = [];
  const echo = by('echo');
  const fastapi = by('fastapi');
  for (const key of ['batch', 'nobatch', 'kserve', 'flat', 'batch-compare', 'nobatch-compare']) {
    const r = by(key);
    if (!r) continue;
    const name = `${r.server} ${r.encoding}`;
    const parts: string[] = [];
    if (fastapi) {
      ratios[`${key}/fastapi`] = r.rps / fastapi.rps;
      parts.push(`${(r.rps / fastapi.rps).toFixed(1)}× FastAPI+TF`);
    }
    if (echo) {
      ratios[`${key}/echo`] = r.rps / echo.rps;
      // the server's own cost per request above the echo ceiling's, in µs of wall time per request
      const overheadUs = 1e6 / r.rps - 1e6 / echo.rps;
      ratios[`${key}_overhead_us_vs_echo`] = overheadUs;
      parts.push(`${(r.rps / echo.rps).toFixed(2)}× echo (+${overheadUs.toFixed(1)} µs/req over echo)`);
      if (r.cpuUsPerRequest !== undefined && echo.cpuUsPerRequest !== undefined) {
        // CPU time per request is steadier than req/s when the machine is shared
        ratios[`${key}/echo_cpu`] = echo.cpuUsPerRequest / r.cpuUsPerRequest;
        parts.push(`CPU per request ${(echo.cpuUsPerRequest / r.cpuUsPerRequest).toFixed(2)}× echo's`);
      }
    }
    ratioLines.push(`  ${name}: ${parts.join(', ')}`);
  }
  if (ratioLines.length) {
    console.log('\nratios (req/s):');
    for (const l of ratioLines) console.log(l);
    const goals: string[] = [];
    if (ratios['batch/fastapi'] !== undefined) goals.push(`≥ 10× FastAPI+TF: ${ratios['batch/fastapi'] >= 10 ? 'met' : 'NOT met'}`);
    if (ratios['batch/echo'] !== undefined) goals.push(`≥ 0.5× echo with batching: ${ratios['batch/echo'] >= 0.5 ? 'met' : 'NOT met'}`);
    if (ratios['batch/echo_cpu'] !== undefined) goals.push(`(by CPU per request: ${ratios['batch/echo_cpu'] >= 0.5 ? 'met' : 'NOT met'})`);
    if (goals.length) console.log(`goals: ${goals.join('; ')}`);
  }
  for (const sc of largeScenarios) {
    const rowsOf = large.filter((r) => r.key === sc.key);
    if (rowsOf.length === 0) continue;
    const raw = (sc.shape.reduce((a, b) => a * b, 1) * 4) / 1024;
    console.log(`\nlarge tensor: ${sc.model} ${JSON.stringify(sc.shape)} float32 (${raw} KiB raw) per request, wrk -t1 -c${LARGE_CONNECTIONS}`);
    printTable(rowsOf.map(tableRow));
    const fb = rowsOf.find((r) => r.encoding === 'FlatBuffers');
    if (!fb) continue;
    for (const r of rowsOf) {
      if (r === fb) continue;
      const k = `${sc.key}:flatbuffers/${r.encoding.replace(/\s+/g, '-').toLowerCase()}`;
      ratios[k] = fb.rps / r.rps;
      console.log(`  FlatBuffers / ${r.encoding}: ${(fb.rps / r.rps).toFixed(2)}× req/s`);
    }
  }
  for (const n of notes) console.log(`note: ${n}`);
  const file = writeResults('rest', {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    wrk: wrkVersion,
    config: {
      compareCli: COMPARE_CLI,
      duration: DURATION,
      warmup: WARMUP,
      connections: CONNECTIONS,
      largeConnections: LARGE_CONNECTIONS,
      pinned: PIN,
      jetserveRuntime: runtime,
      extraJetserveArgs: EXTRA_ARGS,
    },
    tiny: rows,
    large,
    ratios,
    notes,
  });
  console.log(`\nresults: ${file}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of [...children]) await stopChild(c);
    rmSync(dir, { recursive: true, force: true });
  });
