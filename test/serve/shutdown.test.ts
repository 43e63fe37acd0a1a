// Lossless shutdown under load (issue 13 item 1): the real `jetserve` command gets SIGTERM while
// REST clients (a new connection per request, and keep-alive) and gRPC clients (one channel each)
// send predict requests without pause, before, during and after the shutdown. Every request must
// be answered 200 / OK or refused before a connection existed (ECONNREFUSED): no reset, no broken
// pipe, no cut-off answer. Repeated on both gRPC transports. During the lame-duck period the
// readiness endpoint answers 400 while predicts still succeed, and the command exits 0.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { freePort } from '../helpers/net.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'index.ts');
const GRACE_SECONDS = 0.5;
const LOAD_BEFORE_SIGNAL_MS = 700;
/** Clients keep going this long after the process exited (they must all be refused cleanly). */
const LOAD_AFTER_EXIT_MS = 300;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Tally {
  ok: number;
  /** OK answers received after SIGTERM was sent. */
  okAfterSignal: number;
  refused: number;
  failures: Record<string, number>;
}

const tally = (): Tally => ({ ok: 0, okAfterSignal: 0, refused: 0, failures: {} });
const fail = (t: Tally, what: string) => (t.failures[what] = (t.failures[what] ?? 0) + 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const BODY = JSON.stringify({ instances: Array.from({ length: 4000 }, (_, i) => i * 0.25) });
const EXPECTED_FIRST = 0.5 * 0 + 2;
const EXPECTED_LAST = 0.5 * (3999 * 0.25) + 2;

function restPredict(port: number, agent: http.Agent, t: Tally, signalled: () => boolean): Promise<void> {
  return new Promise((done) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/models/half_plus_two:predict', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let predictions: number[] | undefined;
          try {
            predictions = (JSON.parse(text) as { predictions: number[] }).predictions;
          } catch {
            // counted below
          }
          if (res.statusCode === 200 && predictions?.length === 4000 && predictions[0] === EXPECTED_FIRST && predictions[3999] === EXPECTED_LAST) {
            t.ok++;
            if (signalled()) t.okAfterSignal++;
          } else {
            fail(t, `status ${res.statusCode} ${text.slice(0, 80)}`);
          }
          done();
        });
        res.on('error', (e: NodeJS.ErrnoException) => {
          fail(t, `response ${e.code ?? e.message}`);
          done();
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') t.refused++;
      else fail(t, `request ${e.code ?? e.message}`);
      done();
    });
    req.end(BODY);
  });
}

const GRPC_REQUEST = predictRequest('half_plus_two', {
  x: { dtype: 'float32', shape: [4000], data: Float32Array.from({ length: 4000 }, (_, i) => i * 0.25) },
});
const identity = (b: Buffer) => b;

function grpcPredict(client: grpc.Client, t: Tally, signalled: () => boolean): Promise<void> {
  return new Promise((done) => {
    client.makeUnaryRequest(
      '/tensorflow.serving.PredictionService/Predict',
      identity,
      identity,
      GRPC_REQUEST,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        if (!err && res && res.length > 16_000) {
          t.ok++;
          if (signalled()) t.okAfterSignal++;
        } else if (err && err.code === grpc.status.UNAVAILABLE && /ECONNREFUSED/.test(err.details)) {
          t.refused++;
        } else {
          fail(t, err ? `${grpc.status[err.code]} ${err.details}` : `short answer ${res?.length}`);
        }
        done();
      },
    );
  });
}

async function loop(stop: () => boolean, t: Tally, one: () => Promise<void>): Promise<void> {
  while (!stop()) {
    const refusedBefore = t.refused;
    await one();
    // a refused client retries after a short pause, as a real one would, instead of spinning
    if (t.refused !== refusedBefore) await sleep(5);
  }
}

async function shutdownUnderLoad(transport: 'jetserve' | 'grpc-js', env: NodeJS.ProcessEnv = {}) {
  const restPort = await freePort();
  const grpcPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      `--rest_api_port=${restPort}`,
      `--port=${grpcPort}`,
      `--grpc_transport=${transport}`,
      `--drain_grace_seconds=${GRACE_SECONDS}`,
      '--drain_timeout_seconds=10',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!/jetserve ready/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ready banner\n${out}\n${err}`);
    await sleep(50);
  }

  let exitedAt = 0;
  let signalledAt = 0;
  void exited.then(() => (exitedAt = Date.now()));
  const stop = () => exitedAt > 0 && Date.now() - exitedAt > LOAD_AFTER_EXIT_MS;
  const signalled = () => signalledAt > 0;
  const fresh = tally();
  const keepAlive = tally();
  const viaGrpc = tally();
  const loops: Promise<void>[] = [];
  // two clients of each kind: steady load that leaves the other test files running beside this one
  // their share of the machine's two cores
  for (let i = 0; i < 2; i++) {
    const agent = new http.Agent({ keepAlive: false });
    loops.push(loop(stop, fresh, () => restPredict(restPort, agent, fresh, signalled)));
  }
  const agents: http.Agent[] = [];
  for (let i = 0; i < 2; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    loops.push(loop(stop, keepAlive, () => restPredict(restPort, agent, keepAlive, signalled)));
  }
  const clients: grpc.Client[] = [];
  for (let i = 0; i < 2; i++) {
    // a channel each: every client has its own HTTP/2 connection to drain
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    clients.push(client);
    loops.push(loop(stop, viaGrpc, () => grpcPredict(client, viaGrpc, signalled)));
  }
  // readiness, polled as a load balancer would
  const readiness: number[] = [];
  const probe = (async () => {
    while (!stop()) {
      const status = await new Promise<number>((done) => {
        const req = http.get({ host: '127.0.0.1', port: restPort, path: '/v2/health/ready', agent: false }, (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode ?? 0));
        });
        req.on('error', () => done(-1));
      });
      if (signalled()) readiness.push(status);
      await sleep(50);
    }
  })();

  await sleep(LOAD_BEFORE_SIGNAL_MS);
  signalledAt = Date.now();
  child.kill('SIGTERM');
  const code = await exited;
  await Promise.all([...loops, probe]);
  for (const c of clients) c.close();
  for (const a of agents) a.destroy();
  return { code, fresh, keepAlive, viaGrpc, readiness, stderr: err, lameDuckMs: exitedAt - signalledAt };
}

describe('SIGTERM under load: nothing reset, everything answered or refused before connecting', () => {
  // the last try runs REST on the node:http fallback engine (what Node versions without a native
  // uWebSockets.js binary use)
  const tries = (['jetserve', 'grpc-js', 'jetserve', 'grpc-js', 'jetserve', 'grpc-js', 'jetserve'] as const).map(
    (t, i) => [i + 1, t, i === 6 ? 'node:http fallback' : 'uWebSockets.js'] as const,
  );
  it.each(tries)('try %i (gRPC transport %s, REST on %s)', async (_n, transport, engine) => {
    const r = await shutdownUnderLoad(transport, engine === 'node:http fallback' ? { UWS_USE_FALLBACK: '1' } : {});
    const report = JSON.stringify({ fresh: r.fresh, keepAlive: r.keepAlive, grpc: r.viaGrpc }, null, 1);
    console.log(`shutdown try ${_n} (${transport}, ${engine}): ${JSON.stringify({ rest_new_connection: r.fresh, rest_keep_alive: r.keepAlive, grpc: r.viaGrpc })}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.fresh.failures, report).toEqual({});
    expect(r.keepAlive.failures, report).toEqual({});
    expect(r.viaGrpc.failures, report).toEqual({});
    // served before and during the lame duck, refused once the listeners closed
    for (const t of [r.fresh, r.keepAlive, r.viaGrpc]) {
      expect(t.okAfterSignal, report).toBeGreaterThan(0);
      expect(t.refused, report).toBeGreaterThan(0);
    }
    // readiness went false (400) before the listener closed (-1: refused)
    expect(r.readiness).toContain(400);
    expect(r.readiness.slice(r.readiness.indexOf(400))).not.toContain(200);
    expect(r.lameDuckMs).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000);
    expect(r.stderr).toMatch(/SIGTERM: shutting down/);
    expect(r.stderr).toMatch(/"msg":"stopped"/);
  });
});

describe('JetserveServer.close({ graceSeconds }): the same sequence from a program', () => {
  it('not ready but serving during the grace period, then refused; gRPC health NOT_SERVING', async () => {
    const { startServer } = await import('../../src/serve/start.js');
    const { DEMO_MODEL_PATH } = await import('../../src/serve/start.js');
    const server = await startServer({ models: [{ name: 'half_plus_two', basePath: DEMO_MODEL_PATH }], restApiPort: 0, port: 0, host: '127.0.0.1', log: false });
    const rest = `http://127.0.0.1:${server.http!.port}`;
    const health = new grpc.Client(`127.0.0.1:${server.grpc!.port}`, grpc.credentials.createInsecure());
    const check = () =>
      new Promise<number>((resolve, reject) =>
        health.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err, res) =>
          err ? reject(err) : resolve(res!.length === 0 ? 0 : res![1]!),
        ),
      );
    expect((await fetch(`${rest}/v2/health/ready`)).status).toBe(200);
    expect(await check()).toBe(1); // SERVING
    // a grace period long enough for the checks below on a busy machine
    const closing = server.close({ graceSeconds: 3 });
    const [ready, during, status] = await Promise.all([
      fetch(`${rest}/v2/health/ready`),
      fetch(`${rest}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": [1.0]}' }),
      check(),
    ]);
    expect(ready.status).toBe(400);
    expect(await during.json()).toEqual({ predictions: [2.5] });
    expect(during.headers.get('connection')).toBe('close');
    expect(status).toBe(2); // NOT_SERVING
    health.close();
    await closing;
    await expect(fetch(`${rest}/v2/health/ready`)).rejects.toThrow();
  });
});
