// Shared pieces of the abuse suite (test/abuse/*.test.ts): a real `jetserve` child process on
// loopback, a sampler of its resident memory, a well-behaved client whose latency is measured
// while an attacker runs, and the summary row every probe prints.
//
// Scale: `npm test` runs every probe at a light scale (seconds each). `npm run test:abuse` sets
// JETSERVE_ABUSE_FULL=1: the probes run at the issue's full scale and the summary table is
// printed at the end (also written to build/abuse-summary.json).

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/net.js';
export { freePort };

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FULL = process.env.JETSERVE_ABUSE_FULL === '1';
export const SUMMARY_FILE = join(ROOT, 'build', 'abuse-summary.jsonl');

/** light value in `npm test`, full value under `npm run test:abuse` */
export function scale<T>(light: T, full: T): T {
  return FULL ? full : light;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  restPort: number;
  grpcPort: number;
  /** everything the server wrote to stderr so far */
  stderr(): string;
  /** true while the process is running */
  alive(): boolean;
  /** resolves with the exit code (or signal name) once the process ended */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

/**
 * Starts `jetserve` (the CLI from src/ through tsx) with the demo model unless flags name one,
 * and resolves once both ports answer. `extraFlags` are appended as given.
 */
export async function startServerProcess(extraFlags: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const restPort = await freePort();
  const grpcPort = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src', 'cli', 'index.ts'), `--rest_api_port=${restPort}`, `--port=${grpcPort}`, ...extraFlags],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  let running = true;
  void exited.then(() => (running = false));
  const deadline = Date.now() + 60_000;
  while (!out.includes('jetserve ready')) {
    if (!running) throw new Error(`jetserve exited during start-up:\n${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`jetserve did not start within 60 s:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    pid: child.pid!,
    restPort,
    grpcPort,
    stderr: () => err,
    alive: () => running,
    exited,
    async stop() {
      if (!running) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the peak growth over the start. */
export function sampleRss(pid: number, intervalMs = 25): { stop(): { startBytes: number; peakBytes: number; growthBytes: number } } {
  const startBytes = rssBytes(pid);
  let peakBytes = startBytes;
  const timer = setInterval(() => {
    try {
      peakBytes = Math.max(peakBytes, rssBytes(pid));
    } catch {
      /* process gone */
    }
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peakBytes = Math.max(peakBytes, rssBytes(pid));
      } catch {
        /* process gone */
      }
      return { startBytes, peakBytes, growthBytes: peakBytes - startBytes };
    },
  };
}

export interface ClientLatency {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * A well-behaved client: calls `call` one request after another until `stop()` and reports its
 * latency. A call that throws counts as an error (and is retried after 10 ms).
 */
export function normalClient(call: () => Promise<void>): { stop(): Promise<ClientLatency> } {
  const times: number[] = [];
  let errors = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        await call();
        times.push(performance.now() - t0);
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      times.sort((a, b) => a - b);
      const at = (q: number) => (times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))]! : NaN);
      return { requests: times.length, errors, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: times.length ? times[times.length - 1]! : NaN };
    },
  };
}

export interface ProbeRow {
  /** e.g. "REST: 100 MB TF-JSON predict" */
  probe: string;
  /** "rest", "grpc:jetserve", "grpc:grpc-js", "grpc:http2", "native", … */
  target: string;
  /** what the attacker got back: "413 …", "GOAWAY ENHANCE_YOUR_CALM", "RESOURCE_EXHAUSTED …" */
  attackerGot: string;
  rssGrowthMiB?: number;
  normalClient?: ClientLatency;
  serverAlive: boolean;
  notes?: string;
}

/** Prints one summary row and appends it to build/abuse-summary.jsonl. */
export function report(row: ProbeRow): void {
  mkdirSync(dirname(SUMMARY_FILE), { recursive: true });
  appendFileSync(SUMMARY_FILE, `${JSON.stringify({ ...row, full: FULL, time: new Date().toISOString() })}\n`);
  const client = row.normalClient
    ? `normal client p99 ${row.normalClient.p99Ms.toFixed(1)} ms (${row.normalClient.requests} ok, ${row.normalClient.errors} errors)`
    : '';
  const rss = row.rssGrowthMiB !== undefined ? `RSS +${row.rssGrowthMiB.toFixed(1)} MiB` : '';
  console.log(
    `ABUSE | ${row.target} | ${row.probe} | attacker: ${row.attackerGot} | ${rss} | ${client} | server ${row.serverAlive ? 'alive' : 'DOWN'}${row.notes ? ` | ${row.notes}` : ''}`,
  );
}

export const MiB = 1024 * 1024;
