// `node --import tsx bench/perf-client.ts`: the HTTP client inside `jetserve perf`'s load loop
// (src/cli/perf/load/http1.ts, hand-written) against Node's own clients — node:http with a
// keep-alive Agent, and fetch (undici, bundled with Node) — sending the same TF-JSON predict to the
// same jetserve (the demo model half_plus_two, a child process) from one thread, 64 requests in
// flight, in alternating rounds. Client requests/s is what one load-generator thread can push; the
// ratios decide whether the hand-written client earns its place (the number is quoted where it is
// chosen). On 2+ CPUs the server runs on CPU 0 and this process on CPU 1.
//
// The same for gRPC (TF Serving Predict to the same jetserve's gRPC port): the sender inside
// `jetserve perf` (src/cli/perf/load/grpc.ts: node:http2, each request framed once) against
// @grpc/grpc-js with the request already serialized (identity serializers), 16 calls per
// connection in both.
//
// Env: BENCH_SECONDS (per run, default 3), BENCH_ROUNDS (default 3).

import { spawn, spawnSync } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { grpcSender } from '../src/cli/perf/load/grpc.js';
import { Http1Connection } from '../src/cli/perf/load/http1.js';
import { encodeMessage } from '../src/wire/protobuf/schemas.js';
import { printTable, writeResults } from './lib/report.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INFLIGHT = 64;
const ROOT = join(import.meta.dirname, '..');
const PIN = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const body = Buffer.from('{"signature_name":"serving_default","inputs":{"x":[0.4157]}}');
const path = '/v1/models/half_plus_two:predict';

type Client = { name: string; send: () => Promise<void>; close: () => void };

function hand(port: number): Client {
  const raw = Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
  const idle: Http1Connection[] = [];
  return {
    name: 'jetserve perf client (http1.ts)',
    async send() {
      const c = idle.pop() ?? new Http1Connection('127.0.0.1', port, false);
      const r = await c.send(raw);
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      idle.push(c);
    },
    close: () => idle.forEach((c) => c.close()),
  };
}

function nodeHttp(port: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: INFLIGHT });
  return {
    name: 'node:http, keep-alive Agent',
    send: () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function fetchClient(port: number): Client {
  const url = `http://127.0.0.1:${port}${path}`;
  return {
    name: 'fetch (undici, bundled)',
    async send() {
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    },
    close: () => {},
  };
}

const GRPC_PATH = '/tensorflow.serving.PredictionService/Predict';

function predictMessage(): Uint8Array {
  const x = new Float32Array([0.4157]);
  return encodeMessage('tensorflow.serving.PredictRequest', {
    model_spec: { name: 'half_plus_two', signature_name: 'serving_default' },
    inputs: { x: { dtype: 1, tensor_shape: { dim: [{ size: 1 }] }, tensor_content: new Uint8Array(x.buffer) } },
  });
}

function ownGrpc(port: number): Client {
  const sender = grpcSender({ address: `127.0.0.1:${port}`, path: GRPC_PATH, requests: [predictMessage()] }, 10_000);
  return {
    name: 'jetserve perf gRPC sender (grpc.ts)',
    async send() {
      const outcome = await sender.send(0);
      if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
    },
    close: () => void sender.close(),
  };
}

function grpcJs(port: number): Client {
  const message = Buffer.from(predictMessage());
  const identity = (b: Buffer) => b;
  const clients: grpc.Client[] = [];
  const active: number[] = [];
  return {
    name: '@grpc/grpc-js, pre-serialized',
    send() {
      let i = active.findIndex((n) => n < 16);
      if (i < 0) {
        clients.push(new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
        active.push(0);
        i = clients.length - 1;
      }
      active[i]!++;
      return new Promise<void>((resolve, reject) => {
        clients[i]!.makeUnaryRequest(GRPC_PATH, identity, identity, message, (err) => {
          active[i]!--;
          if (err) reject(err);
          else resolve();
        });
      });
    },
    close: () => clients.forEach((c) => c.close()),
  };
}

async function measure(client: Client): Promise<{ rps: number; cpuUsPerRequest: number }> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (performance.now() < end) {
        await client.send();
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { rps: (done * 1000) / (performance.now() - t0), cpuUsPerRequest: (cpu.user + cpu.system) / done };
}

async function main(): Promise<void> {
  if (PIN) spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)]);
  const port = await freePort();
  const grpcPort = await freePort();
  const args = [join(ROOT, 'bin', 'jetserve.js'), `--rest_api_port=${port}`, `--port=${grpcPort}`];
  const server = PIN ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: 'ignore' }) : spawn(process.execPath, args, { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/v1/models/half_plus_two`)).ok) break;
      } catch {
        // starting
      }
      if (i > 300) throw new Error('jetserve did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const sections = [
      { title: 'HTTP/1.1 (TF-JSON predict)', port, makers: [hand, nodeHttp, fetchClient] },
      { title: 'gRPC (TF Serving Predict)', port: grpcPort, makers: [ownGrpc, grpcJs] },
    ];
    const results: Record<string, unknown>[] = [];
    for (const section of sections) {
      const runs = new Map<string, { rps: number[]; cpu: number[] }>();
      for (let r = 0; r < ROUNDS; r++) {
        for (const make of r % 2 === 0 ? section.makers : [...section.makers].reverse()) {
          const client = make(section.port);
          const m = await measure(client);
          client.close();
          const entry = runs.get(client.name) ?? { rps: [], cpu: [] };
          entry.rps.push(m.rps);
          entry.cpu.push(m.cpuUsPerRequest);
          runs.set(client.name, entry);
        }
      }
      const best = (xs: number[]) => Math.max(...xs);
      const [ownName, ownRuns] = [...runs][0]!;
      const ownCpu = Math.min(...ownRuns.cpu);
      const rows = [...runs].map(([name, e]) => ({
        client: name,
        'best req/s': Math.round(best(e.rps)),
        rounds: e.rps.map(Math.round).join(' / '),
        'client CPU µs/request (min)': Math.min(...e.cpu),
        [`CPU per request: this / ${ownName.split(' (')[0]}`]: Math.min(...e.cpu) / ownCpu,
      }));
      console.log(`${section.title}: one client thread, ${INFLIGHT} in flight, ${ROUNDS} alternating rounds of ${SECONDS} s${PIN ? '; server on CPU 0, client on CPU 1' : ''}`);
      printTable(rows);
      results.push({ section: section.title, rows });
    }
    console.log(`results: ${writeResults('perf-client', { inflight: INFLIGHT, seconds: SECONDS, rounds: ROUNDS, pinned: PIN, sections: results })}`);
  } finally {
    server.kill('SIGTERM');
  }
}

await main();
