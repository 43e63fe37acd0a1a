// The load generator is not the bottleneck: `jetserve perf` and wrk (C, epoll, one thread) load
// the same server (TF-JSON predict, the same request body, 16 connections) in back-to-back pairs
// of rounds of the same run, and perf's throughput is within 15 % of wrk's. One thread each
// (wrk -t1, perf --workers 1): on the one CPU a generator gets here, perf's automatic second worker
// would only share that CPU. The suite runs this file after all others (vitest.config.ts, project
// "quiet"), alone on the machine. On a machine with 2+ CPUs the server runs on CPU 0 and each load
// generator on CPU 1 (taskset), so neither generator competes with the server.
//
// The server is a fixed-cost stand-in (fixed-cost-server.mjs) answering with a real jetserve's
// bytes, not jetserve itself: jetserve is saturated under both generators (100 % of CPU 0,
// measured with /proc), and then its throughput depends on how quickly the client turns 16
// answers into 16 new requests — with batching, a quicker client makes larger batches; without,
// a different interleaving of the event loop and TF's threads on the one CPU. wrk's C loop and
// Node's (perf, or a 40-line raw-socket Node client) differ there, and the measured pair ratios
// spread over 0.72–1.69 in the same run, whichever server configuration, so a comparison on
// jetserve measured its sensitivity to the client, not the clients' counts. On a server whose every
// request costs the same, most pair ratios fall within ±10 % and the medians of three runs were
// 1.015–1.043. A round now and then still runs slow, so the test judges the median of the pair
// ratios, with the order flipping each pair (neither side always runs on a warmer server).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerfResult } from '../../src/cli/perf/index.js';
import { mlpBasePath } from './helpers.js';
import { freePort } from '../helpers/net.js';

const HERE = import.meta.dirname;

const ROOT = join(HERE, '..', '..');
const CLI = join(ROOT, 'bin', 'jetserve.js');
const PIN = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const CONNECTIONS = 16;
const PAIRS = 8;
const SECONDS = 2;
/** CPU per predict of the stand-in server: ~14k req/s with node:http's own cost, ~30 % of what perf can send. */
const COST_MICROS = 40;
const BODY = { x: [[0.4157, 0.8126, 0.2201, 0.6723]] };

let server: ChildProcess;
let url: string;
let dir: string;

function pinned(cpu: number, command: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = pinned(1, command, args);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}:\n${out}`))));
  });
}

async function untilAnswers(probe: string, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(probe)).ok) return;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** A real jetserve's answers to the two requests perf and wrk send, for the stand-in to replay. */
async function recordJetserveAnswers(): Promise<{ metadata: string; predict: string }> {
  const port = await freePort();
  const jetserve = spawn(process.execPath, [CLI, '--model_name=mlp', `--model_base_path=${mlpBasePath()}`, `--rest_api_port=${port}`, '--port=0'], { stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}/v1/models/mlp`;
    await untilAnswers(base, 'jetserve');
    const metadata = join(dir, 'metadata.json');
    const predict = join(dir, 'predict.json');
    writeFileSync(metadata, await (await fetch(`${base}/metadata`)).text());
    const answer = await fetch(`${base}:predict`, { method: 'POST', body: JSON.stringify({ signature_name: 'serving_default', inputs: BODY }) });
    expect(answer.status).toBe(200);
    writeFileSync(predict, await answer.text());
    return { metadata, predict };
  } finally {
    await stop(jetserve);
  }
}

beforeAll(async () => {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed: apt-get install wrk (.ci/run installs it)');
  dir = mkdtempSync(join(tmpdir(), 'jetserve-perf-wrk-'));
  const { metadata, predict } = await recordJetserveAnswers();
  const port = await freePort();
  const [cmd, argv] = pinned(0, process.execPath, [join(HERE, 'fixed-cost-server.mjs'), String(port), String(COST_MICROS), metadata, predict]);
  server = spawn(cmd, argv, { stdio: 'ignore' });
  url = `http://127.0.0.1:${port}`;
  await untilAnswers(`${url}/v1/models/mlp/metadata`, 'the fixed-cost server');
}, 120_000);

afterAll(async () => {
  if (server) await stop(server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function wrk(seconds: number): Promise<number> {
  const body = join(dir, 'body.json');
  writeFileSync(body, JSON.stringify({ signature_name: 'serving_default', inputs: BODY }));
  const out = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', join(ROOT, 'bench', 'lib', 'post.lua'), `${url}/v1/models/mlp:predict`, '--', body, 'Content-Type: application/json']);
  const json = JSON.parse(/WRK_JSON (\{.*\})/.exec(out)![1]!) as { requests: number; duration_us: number; status: number; connect: number; read: number; write: number; timeout: number };
  expect(json.status + json.connect + json.read + json.write + json.timeout).toBe(0);
  return json.requests / (json.duration_us / 1e6);
}

async function perfRps(round: number): Promise<number> {
  const file = join(dir, `perf-${round}.json`);
  const input = join(dir, 'input.json');
  writeFileSync(input, JSON.stringify({ data: [BODY] }));
  await run(process.execPath, [CLI, 'perf', '--url', url, '--model', 'mlp', '--concurrency', String(CONNECTIONS), '--workers', '1', '--input-data', input, '--duration', String(SECONDS), '--warmup', '0.5', '--max-windows', '1', '--json', file, '--quiet']);
  const result = JSON.parse(readFileSync(file, 'utf8')) as PerfResult;
  expect(result.levels[0]!.error_count).toBe(0);
  return result.levels[0]!.throughput_rps;
}

describe('jetserve perf against wrk on the same fixed-cost server', () => {
  it(`throughput within 15 % of wrk's (${CONNECTIONS} connections, median of ${PAIRS} back-to-back pairs)`, async () => {
    await wrk(2); // warm-up: the server's JIT
    const w: number[] = [];
    const p: number[] = [];
    for (let r = 0; r < PAIRS; r++) {
      if (r % 2 === 0) {
        w.push(await wrk(SECONDS));
        p.push(await perfRps(r));
      } else {
        p.push(await perfRps(r));
        w.push(await wrk(SECONDS));
      }
    }
    const ratios = p.map((v, i) => v / w[i]!).sort((a, b) => a - b);
    const ratio = (ratios[PAIRS / 2 - 1]! + ratios[PAIRS / 2]!) / 2; // median of an even count
    console.log(
      `wrk ${w.map((v) => v.toFixed(0)).join(' / ')} req/s; perf ${p.map((v) => v.toFixed(0)).join(' / ')} req/s; ` +
        `pair ratios ${ratios.map((v) => v.toFixed(3)).join(' ')}; median ${ratio.toFixed(3)}${PIN ? ' (server on CPU 0, generators on CPU 1)' : ' (unpinned)'}`,
    );
    expect(ratio).toBeGreaterThanOrEqual(0.85);
    expect(ratio).toBeLessThanOrEqual(1.15);
  }, 240_000);
});
