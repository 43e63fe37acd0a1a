// `npm run bench:rest`: jetserve's REST front end under wrk, against a ceiling and a baseline,
// every server a child process on its own free loopback port, all in the same run.
//
// Payload sizes (TF-JSON predict and KServe v2 JSON infer at each):
//   tiny    mlp x float32 [1,4] → y [1,3], 64 connections; also the FlatBuffers protocol,
//           --enable_batching=false, the node:http fallback engine (UWS_USE_FALLBACK=1), and
//           the uWS echo ceiling (bench/servers/uws-echo.ts: the same uWebSockets.js package
//           reading the body and answering a fixed small JSON: the ceiling for any server on
//           this stack)
//   4096    half_plus_two x [4096] (~46 KB of JSON), 16 connections
//   262144  half_plus_two x [262144] (~2.9 MB of JSON), 4 connections; also KServe binary tensors
//           and FlatBuffers (the binary protocols must not regress)
//   conv    conv [32,28,28,1] (98 KiB raw, compute-heavy), 16 connections, all four encodings
// The baseline is FastAPI + uvicorn[standard] (uvloop, httptools) + orjson + Python TF 2.21 on the
// same SavedModels, same JSON shapes (bench/baselines/fastapi_tf.py). jetserve runs its CLI with
// default flags (batching on) for tiny, --enable_batching=false for the large sizes (each request
// is a batch already). BENCH_COMPARE_TS=1 adds jetserve with the TypeScript JSON codec
// (JETSERVE_JSON_CODEC=ts) at each size: the native codec's gain, same run.
//
// All servers start first and stay up; then every row is measured in turn, BENCH_ROUNDS times
// (default 1). Each measurement: a warm-up wrk run (discarded), then the measured run; wrk's own
// latency histogram gives p50/p99 (bench/lib/post.lua prints them as JSON). Every body is sent
// once with fetch first and its answer checked (status, and outputs equal across encodings and
// servers). Ratios are computed within each round and reported as median [min–max] over rounds.
// Results: bench/results/rest-<time>.json.
//
// CPU placement: on a machine with 2+ CPUs every server (all its threads) runs on CPU 0 and wrk on
// CPU 1 (taskset), so the load generator never competes with the server and every server gets
// the same single core: the ratios compare per-core throughput. BENCH_PIN=0 runs unpinned. Before
// each run the machine is checked for other load (warned about and recorded in the results).
//
// Env: BENCH_DURATION (s, default 8), BENCH_WARMUP (s, default 2), BENCH_ROUNDS (1),
// BENCH_CONNECTIONS (64, tiny), BENCH_QUICK=1 (3 s runs), BENCH_PIN=0, BENCH_ONLY=comma list of
// keys (echo, fastapi, batch, nobatch, fallback, kserve, flat, 4096, 262144, conv), BENCH_COMPARE_TS=1,
// BENCH_CPU_PROF=dir (jetserve children run with --cpu-prof into dir), BENCH_JETSERVE_ARGS (extra
// CLI flags for every jetserve child), BENCH_NODE_ARGS (node/V8 flags for them), BENCH_RUNTIME=tsx
// (run jetserve from src/ through tsx instead of rebuilding dist/ first),
// BENCH_COMPARE_CLI=path/to/bin/jetserve.js (another build's CLI: its tiny TF-JSON rows too).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFlatPredictRequest, decodeFlatPredictResponse, FLATBUFFERS_CONTENT_TYPE } from '../src/wire/flatbuffers/flatbuffers.js';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import { ensureVenv } from '../scripts/python-env.mjs';
import { median, printTable, writeResults } from './lib/report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 3 : 8));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 1 : 2));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const COMPARE_TS = process.env.BENCH_COMPARE_TS === '1';
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

async function startJetserve(
  label: string,
  model: string,
  basePath: string,
  extra: string[] = [],
  cli?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const port = await freePort();
  const node = [
    ...NODE_ARGS,
    ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=${label}-${Date.now()}.cpuprofile`] : []),
    ...(cli ? [cli] : runtime === 'dist' ? [join(ROOT, 'bin', 'jetserve.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'index.ts')]),
    `--model_name=${model}`,
    `--model_base_path=${basePath}`,
    `--rest_api_port=${port}`,
    '--port=0',
    ...extra,
    ...EXTRA_ARGS,
  ];
  const child = await startChild(label, process.execPath, node, port, env);
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

function nestRows(values: ArrayLike<number>, shape: number[]): unknown {
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

function tfJson(model: string, values: ArrayLike<number>, shape: number[]): Encoded {
  return {
    path: `/v1/models/${model}:predict`,
    body: JSON.stringify({ instances: nestRows(values, shape) }),
    headers: { 'Content-Type': 'application/json' },
    outputs: (res) => Float32Array.from(flatNumbers((JSON.parse(Buffer.from(res).toString()) as { predictions: unknown }).predictions)),
  };
}

function kserveJson(model: string, input: string, values: ArrayLike<number>, shape: number[]): Encoded {
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
  size: string;
  round: number;
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

/** One row to measure: a server, an encoding, a body. */
interface Case {
  key: string;
  size: string;
  server: string;
  encoding: string;
  child: Child;
  enc: Encoded;
  target: Target;
  bodyBytes: number;
  connections: number;
}

async function measure(c: Case, round: number): Promise<Row> {
  process.stderr.write(`  [round ${round + 1}/${ROUNDS}] ${c.size} ${c.server} / ${c.encoding}: warm-up ${WARMUP}s, run ${DURATION}s @ ${c.connections} connections\n`);
  // the server under test is idle now: anything busy is someone else
  const busy = await machineBusy(1000);
  if (busy !== undefined && busy > 0.1) {
    process.stderr.write(`    ! the machine is ${(busy * 100).toFixed(0)}% busy with other work before this run: numbers will be low/noisy\n`);
  }
  if (WARMUP > 0) await wrk(c.target, WARMUP, c.connections);
  const pid = c.child.proc.pid;
  const cpuBefore = pid ? cpuSeconds(pid) : undefined;
  const w = await wrk(c.target, DURATION, c.connections);
  const cpuAfter = pid ? cpuSeconds(pid) : undefined;
  const rps = w.requests / (w.duration_us / 1e6);
  const perRequest = (k: 'all' | 'main') =>
    cpuBefore && cpuAfter && w.requests > 0 ? ((cpuAfter[k] - cpuBefore[k]) * 1e6) / w.requests : undefined;
  const errors = w.connect + w.read + w.write + w.status + w.timeout;
  if (errors > 0) process.stderr.write(`    ! ${errors} errors (non-2xx ${w.status}, timeout ${w.timeout}, read ${w.read})\n`);
  return {
    key: c.key,
    size: c.size,
    round,
    server: c.server,
    encoding: c.encoding,
    connections: c.connections,
    bodyBytes: c.bodyBytes,
    wrk: w,
    rps,
    otherLoadBefore: busy,
    cpuUsPerRequest: perRequest('all'),
    mainThreadUsPerRequest: perRequest('main'),
  };
}


function spread(xs: number[], digits = 2): string {
  if (xs.length === 1) return xs[0]!.toFixed(digits);
  return `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
}

function tableRow(rows: Row[]): Record<string, string | number> {
  const r = rows[0]!;
  const med = (f: (x: Row) => number | undefined) => {
    const xs = rows.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  const rps = rows.map((x) => x.rps);
  const cpu = med((x) => x.cpuUsPerRequest);
  const main = med((x) => x.mainThreadUsPerRequest);
  return {
    server: r.server,
    encoding: r.encoding,
    conns: r.connections,
    'body B': r.bodyBytes,
    'req/s': Math.round(median(rps)),
    ...(rows.length > 1 ? { 'req/s min–max': `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}` } : {}),
    'p50 ms': med((x) => x.wrk.p50_us / 1000)!,
    'p99 ms': med((x) => x.wrk.p99_us / 1000)!,
    'MB/s in': Math.round((median(rps) * r.bodyBytes) / 1e6),
    'CPU µs/req': cpu === undefined ? '-' : Number(cpu.toFixed(1)),
    'main µs/req': main === undefined ? '-' : Number(main.toFixed(1)),
    errors: rows.reduce((a, x) => a + x.wrk.connect + x.wrk.read + x.wrk.write + x.wrk.status + x.wrk.timeout, 0),
  };
}

/**
 * Values with 7 decimals in [-1, 1) (~11 bytes of JSON each, as the issue's bodies: 46 KB for
 * 4,096 floats, 2.9 MB for 262,144); the binary encodings carry the same values as float32.
 */
function floats(n: number): number[] {
  return Array.from({ length: n }, (_, i) => Number((((i * 7919) % 20011) / 10005.5 - 1).toFixed(7)));
}

async function main(): Promise<void> {
  const wrkVersion = requireWrk();
  const fixtures = await ensureFixtures();
  const notes: string[] = [];
  console.error(`bench:rest — ${wrkVersion}; ${cpus().length} CPUs; ${PIN ? 'servers pinned to CPU 0, wrk to CPU 1' : 'unpinned'}`);
  const jetserveRows = ['batch', 'nobatch', 'fallback', 'kserve', 'flat', '4096', '262144', 'conv'];
  if (jetserveRows.some(wanted)) buildDist(notes);
  const sizes = [
    { size: '4096', n: 4096, connections: 16 },
    { size: '262144', n: 262144, connections: 4 },
  ].filter((s) => wanted(s.size));
  const cases: Case[] = [];
  const add = (key: string, size: string, server: string, encoding: string, child: Child, enc: Encoded, connections: number) => {
    const bodyBytes = typeof enc.body === 'string' ? Buffer.byteLength(enc.body) : enc.body.byteLength;
    cases.push({ key, size, server, encoding, child, enc, target: target(child.port, enc), bodyBytes, connections });
  };

  // ---- servers ----
  const x = new Float32Array([0.12, -0.34, 0.56, 0.78]);
  const tiny = tfJson('mlp', x, [1, 4]);
  const tinyKServe = kserveJson('mlp', 'x', x, [1, 4]);
  const mlpBase = join(fixtures, 'mlp');
  const h2Base = join(fixtures, 'half_plus_two');
  if (wanted('echo')) {
    const port = await freePort();
    const echo = await startChild('uws-echo', process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'uws-echo.ts'), String(port)], port);
    await waitReady(echo, () => fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' }));
    add('echo', 'tiny', 'uWS echo (ceiling)', 'TF-JSON body', echo, tiny, CONNECTIONS);
  }
  let fastapiStack = '';
  const startFastapi = async (model: string, base: string): Promise<Child> => {
    const python = await ensureVenv();
    const fast = spawnSync(python, ['-c', 'import uvloop, httptools'], { encoding: 'utf8' });
    const loopArgs = fast.status === 0 ? ['--loop', 'uvloop', '--http', 'httptools'] : ['--loop', 'asyncio', '--http', 'h11'];
    fastapiStack = fast.status === 0 ? 'uvicorn (uvloop, httptools)' : 'uvicorn (asyncio, h11: uvloop/httptools not installed)';
    if (fast.status !== 0) notes.push('FastAPI baseline ran without uvloop/httptools (slower than uvicorn[standard])');
    const port = await freePort();
    const py = await startChild(
      `fastapi-${model}`,
      python,
      ['-m', 'uvicorn', 'fastapi_tf:app', '--app-dir', join(ROOT, 'bench', 'baselines'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning', '--no-access-log', ...loopArgs],
      port,
      { MODEL_DIR: join(base, '1'), TF_CPP_MIN_LOG_LEVEL: '2' },
    );
    await waitReady(py, () => fetch(`http://127.0.0.1:${port}/v1/models/${model}`));
    return py;
  };
  if (wanted('fastapi')) {
    const py = await startFastapi('mlp', mlpBase);
    add('fastapi', 'tiny', `FastAPI + ${fastapiStack} + TF`, 'TF-JSON', py, tiny, CONNECTIONS);
    add('fastapi-kserve', 'tiny', `FastAPI + ${fastapiStack} + TF`, 'KServe v2 JSON', py, tinyKServe, CONNECTIONS);
  }
  const tsEnv = { JETSERVE_JSON_CODEC: 'ts' };
  if (wanted('batch') || wanted('kserve') || wanted('flat')) {
    const js = await startJetserve('jetserve-batching', 'mlp', mlpBase);
    if (wanted('batch')) add('batch', 'tiny', 'jetserve (batching)', 'TF-JSON', js, tiny, CONNECTIONS);
    if (wanted('kserve')) add('kserve', 'tiny', 'jetserve (batching)', 'KServe v2 JSON', js, tinyKServe, CONNECTIONS);
    if (wanted('flat')) add('flat', 'tiny', 'jetserve (batching)', 'FlatBuffers', js, flat('mlp', 'x', x, [1, 4]), CONNECTIONS);
    if (COMPARE_TS) {
      const ts = await startJetserve('jetserve-batching-ts', 'mlp', mlpBase, [], undefined, tsEnv);
      if (wanted('batch')) add('batch-ts', 'tiny', 'jetserve (batching) [TS codec]', 'TF-JSON', ts, tiny, CONNECTIONS);
      if (wanted('kserve')) add('kserve-ts', 'tiny', 'jetserve (batching) [TS codec]', 'KServe v2 JSON', ts, tinyKServe, CONNECTIONS);
    }
  }
  if (wanted('nobatch')) {
    const js = await startJetserve('jetserve-nobatch', 'mlp', mlpBase, ['--enable_batching=false']);
    add('nobatch', 'tiny', 'jetserve (--enable_batching=false)', 'TF-JSON', js, tiny, CONNECTIONS);
  }
  if (wanted('fallback')) {
    // the node:http fallback: what serves REST where no uWebSockets.js binary loads (same model,
    // same body, default flags)
    const js = await startJetserve('jetserve-fallback', 'mlp', mlpBase, [], undefined, { UWS_USE_FALLBACK: '1' });
    add('fallback', 'tiny', 'jetserve (batching), node:http fallback', 'TF-JSON', js, tiny, CONNECTIONS);
  }
  if (COMPARE_CLI && (wanted('batch') || wanted('nobatch'))) {
    const js = await startJetserve('compare-batch', 'mlp', mlpBase, [], COMPARE_CLI);
    add('batch-compare', 'tiny', 'jetserve (batching) [compare]', 'TF-JSON', js, tiny, CONNECTIONS);
  }
  if (sizes.length > 0) {
    // the baseline of every large size
    const py = await startFastapi('half_plus_two', h2Base);
    // batching off: each request already carries a batch (a 262144-row request would not even fit
    // TF Serving's default max_batch_size / queue), so this compares the encodings' own costs
    const js = await startJetserve('jetserve-half_plus_two', 'half_plus_two', h2Base, ['--enable_batching=false']);
    const ts = COMPARE_TS ? await startJetserve('jetserve-half_plus_two-ts', 'half_plus_two', h2Base, ['--enable_batching=false'], undefined, tsEnv) : undefined;
    for (const { size, n, connections } of sizes) {
      const values = floats(n);
      const tf = tfJson('half_plus_two', values, [n]);
      const ks = kserveJson('half_plus_two', 'x', values, [n]);
      add(`fastapi-${size}`, size, `FastAPI + ${fastapiStack} + TF`, 'TF-JSON', py, tf, connections);
      add(`fastapi-kserve-${size}`, size, `FastAPI + ${fastapiStack} + TF`, 'KServe v2 JSON', py, ks, connections);
      add(`tfjson-${size}`, size, 'jetserve', 'TF-JSON', js, tf, connections);
      add(`kserve-${size}`, size, 'jetserve', 'KServe v2 JSON', js, ks, connections);
      if (size === '262144') {
        const f32 = Float32Array.from(values);
        add(`binary-${size}`, size, 'jetserve', 'KServe v2 binary', js, kserveBinary('half_plus_two', 'x', 'y', f32, [n]), connections);
        add(`flat-${size}`, size, 'jetserve', 'FlatBuffers', js, flat('half_plus_two', 'x', f32, [n]), connections);
      }
      if (ts) {
        add(`tfjson-${size}-ts`, size, 'jetserve [TS codec]', 'TF-JSON', ts, tf, connections);
        add(`kserve-${size}-ts`, size, 'jetserve [TS codec]', 'KServe v2 JSON', ts, ks, connections);
      }
    }
  }
  if (wanted('conv')) {
    const shape = [32, 28, 28, 1];
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    // pixel-like values k/255, as a client scaling uint8 images sends them
    for (let i = 0; i < n; i++) values[i] = ((i * 7919) % 256) / 255;
    const js = await startJetserve('jetserve-conv', 'conv', join(fixtures, 'conv'), ['--enable_batching=false']);
    add('conv-tfjson', 'conv', 'jetserve', 'TF-JSON', js, tfJson('conv', values, shape), 16);
    add('conv-kserve', 'conv', 'jetserve', 'KServe v2 JSON', js, kserveJson('conv', 'image', values, shape), 16);
    add('conv-binary', 'conv', 'jetserve', 'KServe v2 binary', js, kserveBinary('conv', 'image', 'logits', values, shape), 16);
    add('conv-flat', 'conv', 'jetserve', 'FlatBuffers', js, flat('conv', 'image', values, shape), 16);
  }

  // ---- every body once: 200, and the same outputs across servers and encodings ----
  const references = new Map<string, Float32Array>();
  for (const c of cases) {
    if (c.key === 'echo') continue;
    const out = await probeOnce(c.child.port, c.enc);
    const ref = references.get(c.size);
    if (ref) assertClose(out, ref, `${c.size}: ${c.server} ${c.encoding}`);
    else references.set(c.size, out);
  }

  // ---- rounds ----
  const rows: Row[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) rows.push(await measure(c, round));
  }

  // ---- report ----
  const ratios: Record<string, number[]> = {};
  const ratio = (name: string, key: string, baseKey: string, by: (r: Row) => number = (r) => r.rps) => {
    const values: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = rows.find((r) => r.key === key && r.round === round);
      const b = rows.find((r) => r.key === baseKey && r.round === round);
      if (a && b) values.push(by(a) / by(b));
    }
    if (values.length) ratios[name] = values;
    return values;
  };
  const floorLines: string[] = [];
  const floor = (what: string, values: number[], min: number, goal?: number) => {
    if (values.length === 0) return;
    const m = median(values);
    floorLines.push(
      `  ${what}: ${spread(values)}× — floor ${min}×: ${m >= min ? 'met' : 'NOT met'}` +
        (goal !== undefined ? `; goal ${goal}×: ${m >= goal ? 'met' : 'not met'}` : ''),
    );
  };
  for (const size of ['tiny', '4096', '262144', 'conv']) {
    const ofSize = cases.filter((c) => c.size === size);
    if (ofSize.length === 0) continue;
    const title =
      size === 'tiny'
        ? `tiny: mlp x[1,4], wrk -t1 -c${CONNECTIONS}`
        : size === 'conv'
          ? 'conv [32,28,28,1] float32 (98 KiB raw), wrk -t1 -c16, --enable_batching=false'
          : `${size} floats: half_plus_two x[${size}], wrk -t1 -c${ofSize[0]!.connections}, jetserve --enable_batching=false`;
    console.log(`\n${title} (${DURATION}s runs after ${WARMUP}s warm-up${PIN ? ', pinned' : ''}${ROUNDS > 1 ? `, median of ${ROUNDS} rounds` : ''})`);
    printTable(ofSize.map((c) => tableRow(rows.filter((r) => r.key === c.key))));
    const lines: string[] = [];
    for (const c of ofSize) {
      if (c.key === 'echo' || c.key.startsWith('fastapi')) continue;
      const parts: string[] = [];
      if (size === 'tiny') {
        const e = ratio(`${c.key}/echo`, c.key, 'echo');
        if (e.length) parts.push(`${spread(e)}× echo`);
        const ec = ratio(`${c.key}/echo_cpu`, 'echo', c.key, (r) => r.cpuUsPerRequest ?? NaN);
        if (ec.length && !ec.some(Number.isNaN)) parts.push(`CPU per request ${spread(ec)}× echo's`);
      }
      const fastKey = size === 'tiny' ? (c.encoding === 'KServe v2 JSON' ? 'fastapi-kserve' : 'fastapi') : c.encoding === 'KServe v2 JSON' ? `fastapi-kserve-${size}` : `fastapi-${size}`;
      if (c.encoding === 'TF-JSON' || c.encoding === 'KServe v2 JSON') {
        const f = ratio(`${c.key}/fastapi`, c.key, fastKey);
        if (f.length) parts.push(`${spread(f, 1)}× FastAPI (${c.encoding})`);
      }
      if (c.key === 'fallback') {
        const nat = ratio('fallback/native', 'fallback', 'batch');
        if (nat.length) parts.push(`${spread(nat)}× the same server on native uWebSockets.js`);
      }
      if (c.key.endsWith('-ts')) {
        const nat = ratio(`${c.key.slice(0, -3)}/ts`, c.key.slice(0, -3), c.key);
        if (nat.length) parts.push(`native codec ${spread(nat)}× the TS codec`);
      }
      if (parts.length) lines.push(`  ${c.server} ${c.encoding}: ${parts.join(', ')}`);
    }
    if (lines.length) {
      console.log('ratios (req/s, same round):');
      for (const l of lines) console.log(l);
    }
  }
  floor('tiny TF-JSON (batching) / uWS echo', ratios['batch/echo'] ?? [], 0.65, 0.8);
  for (const [size, min, goal] of [['4096', 2, undefined], ['262144', 3, 5]] as const) {
    floor(`${size} floats TF-JSON / FastAPI`, ratios[`tfjson-${size}/fastapi`] ?? [], min, goal);
    floor(`${size} floats KServe JSON / FastAPI`, ratios[`kserve-${size}/fastapi`] ?? [], min, goal);
  }
  if (floorLines.length) {
    console.log('\nfloors (issue 11), median [min–max] over rounds:');
    for (const l of floorLines) console.log(l);
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
      compareTs: COMPARE_TS,
      duration: DURATION,
      warmup: WARMUP,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      pinned: PIN,
      jetserveRuntime: runtime,
      extraJetserveArgs: EXTRA_ARGS,
    },
    rows,
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
