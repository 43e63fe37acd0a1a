// Shared by the benchmarks that measure through `jetserve perf`: start a jetserve CLI child on free
// ports (optionally pinned to CPUs with taskset), wait until its model answers, run `jetserve perf`
// as a child with the given flags, and read its --json result.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PerfResult } from '../../src/cli/perf/index.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'jetserve.js');
const TMP = mkdtempSync(join(tmpdir(), 'jetserve-bench-perf-'));
export const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function command(cpus: string | undefined, args: string[]): [string, string[]] {
  return cpus && canPin ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
}

export interface Served {
  rest: string;
  grpc: string | undefined;
  log: () => string;
  stop(): Promise<void>;
}

/** `jetserve` with these flags (ports added); resolves when GET /v1/models/<model> answers 200. */
export async function serve(model: string, flags: string[], opts: { cpus?: string; grpc?: boolean } = {}): Promise<Served> {
  const rest = await freePort();
  const grpc = opts.grpc ? await freePort() : 0;
  const [cmd, argv] = command(opts.cpus, [CLI, ...flags, `--rest_api_port=${rest}`, `--port=${grpc}`]);
  const child: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  const base = `http://127.0.0.1:${rest}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`jetserve exited ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${base}/v1/models/${model}`)).ok) break;
    } catch {
      // starting
    }
    if (i > 1200) throw new Error(`jetserve did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    rest: base,
    grpc: opts.grpc ? `grpc://127.0.0.1:${grpc}` : undefined,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let runs = 0;

/** Runs `jetserve perf <args> --json <tmp>` as a child; returns its result. */
export async function perfCli(args: string[], opts: { cpus?: string; echo?: boolean } = {}): Promise<PerfResult> {
  const file = join(TMP, `perf-${++runs}.json`);
  const [cmd, argv] = command(opts.cpus, [CLI, 'perf', ...args, '--json', file, '--quiet']);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', opts.echo ? 'inherit' : 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`jetserve perf ${args.join(' ')} exited ${code}:\n${err}`))));
  });
  return JSON.parse(readFileSync(file, 'utf8')) as PerfResult;
}

/** perf_analyzer's --latency-threshold view: the best throughput among levels whose p99 meets the target. */
export function throughputAtSlo(result: PerfResult, targetMs: number): { rps: number; level: number | null; p99Ms: number | null } {
  let best = { rps: 0, level: null as number | null, p99Ms: null as number | null };
  for (const l of result.levels) {
    if (l.error_count > 0 || l.latency_us.p99 > targetMs * 1000) continue;
    if (l.throughput_items_per_s > best.rps) best = { rps: l.throughput_items_per_s, level: l.concurrency ?? l.request_rate ?? null, p99Ms: l.latency_us.p99 / 1000 };
  }
  return best;
}
