// `npm run bench:grpc`: gRPC Predict against REST predict on the same jetserve process, same run,
// driven by h2load (nghttp2-client) as the load generator for both protocols:
//   - tiny:  the MLP fixture, x float32 [1,4]          (protocol overhead dominates)
//   - 1 MB:  half_plus_two, x float32 [262144] = 1 MiB   (payload handling dominates)
// REST is TF Serving's JSON predict (/v1/models/m:predict) over HTTP/1.1 and, when the KServe binary
// tensor extension is available, KServe v2 REST with raw bytes. gRPC is measured both with one
// stream per connection (same shape as REST) and with streams multiplexed on few connections (how
// gRPC clients usually talk). Every request body is checked once with a real client before the load,
// and gRPC responses are checked by size during it (h2load sees grpc errors as HTTP 200).
//
// Three gRPC transports are measured, each on its own port of the same process next to the REST
// server: jetserve's own HTTP/2 layer (the default), a thin gRPC layer on node:http2 (nghttp2) and
// @grpc/grpc-js (also on node:http2). They run in BENCH_ROUNDS interleaved rounds (default 3) and
// the table ends with each transport's throughput as a ratio of the own transport's in the same
// round — the numbers behind the choice of the default transport (README, gRPC).
// Batching is on, as in a default server, with max_batch_size raised to 262144 rows and 64 queued
// batches so that a 1 MB request (262144 rows of half_plus_two) is admitted (TF Serving's default
// max_batch_size of 1000 would refuse it); BENCH_BATCHING=off runs without batching.
//
// On a machine with 2+ CPUs the server process (every thread) is pinned to CPU 0 and h2load to
// CPU 1 with taskset, so the load generator does not steal the server's CPU and each protocol is
// measured by what one server core sustains (BENCH_PIN=0 disables pinning).
//
// Env: BENCH_QUICK=1 (short runs, one round), BENCH_DURATION=seconds, BENCH_CONNECTIONS=n (default 16),
// BENCH_ROUNDS=n.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { encodeTensorProto } from '../src/wire/protobuf/tensorproto.js';
import { engineInfo } from '../src/engine/info.js';
import { Batching } from '../src/batching/index.js';
import { ModelManager } from '../src/models/manager.js';
import { encodeMessage, decodeMessage } from '../src/wire/protobuf/schemas.js';
import { startGrpcServer, type GrpcModelSource } from '../src/server/grpc/index.js';
import { HttpServer } from '../src/server/http/server.js';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import { median, printTable, writeResults } from './lib/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 3 : 10));
const WARMUP = QUICK ? 1 : 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Interleaved rounds of the three gRPC transports (each round: one ratio per transport vs the own one). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const OWN = 'gRPC own-h2';

interface H2loadResult {
  reqPerSec: number;
  succeeded: number;
  failed: number;
  meanMs: number;
  maxMs: number;
}

function requireH2load(): void {
  const probe = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error('h2load not found: install the Debian/Ubuntu package nghttp2-client (apt-get install nghttp2-client)');
  }
}

let pinned = false;

/** Pins this process (all threads) to CPU 0; h2load then runs on CPU 1. */
function pinServer(): void {
  if (process.env.BENCH_PIN === '0' || availableParallelism() < 2) return;
  const r = spawnSync('taskset', ['-a', '-cp', '0', String(process.pid)], { encoding: 'utf8' });
  pinned = r.status === 0;
  if (!pinned) console.error(`taskset unavailable (${r.error?.message ?? r.stderr.trim()}): running unpinned`);
}

function h2load(args: string[]): Promise<H2loadResult> {
  return new Promise((resolve, reject) => {
    const child = pinned
      ? spawn('taskset', ['-c', '1', 'h2load', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
      const reqs = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
      const time = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
      if (!rps || !reqs || !time) {
        reject(new Error(`could not parse h2load output:\n${out}`));
        return;
      }
      const ms = (v: string, unit: string) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
      const succeeded = Number(reqs[4]);
      resolve({
        reqPerSec: Number(rps[1]),
        succeeded,
        failed: Number(reqs[5]) + Number(reqs[6]),
        meanMs: ms(time[5]!, time[6]!),
        maxMs: ms(time[3]!, time[4]!),
      });
    });
  });
}

function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

function grpcCall(target: string, path: string, request: Buffer): Promise<Buffer> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, request, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

interface Scenario {
  name: string;
  model: string;
  values: Float32Array;
  shape: number[];
  expected: (x: Float32Array) => Float32Array | undefined;
}

async function main(): Promise<void> {
  requireH2load();
  const cpus = availableParallelism();
  const fixtures = await ensureFixtures();
  const manager = await ModelManager.create(
    [
      { name: 'mlp', basePath: join(fixtures, 'mlp') },
      { name: 'half_plus_two', basePath: join(fixtures, 'half_plus_two') },
    ],
    process.env.BENCH_BATCHING === 'off'
      ? { batching: false }
      : { batching: new Batching({ maxBatchSize: 262144, maxEnqueuedBatches: 64 }) },
  );
  const http = new HttpServer(manager, { log: () => {} });
  const restPort = await http.listen(0, '127.0.0.1');
  // gRPC answers errors with HTTP 200 (grpc-status in trailers), so h2load cannot tell failures:
  // count the runs that succeeded behind the gRPC front end and compare
  let grpcOk = 0;
  const counting: GrpcModelSource = {
    resolve(spec) {
      const s = manager.resolve(spec);
      return {
        name: s.name,
        version: s.version,
        model: s.model,
        run: (inputs, options) =>
          s.run(inputs, options).then((out) => {
            grpcOk++;
            return out;
          }),
      };
    },
    status: (name, version) => manager.status(name, version),
    modelNames: () => manager.modelNames(),
    labels: (name) => manager.labels(name),
    ready: () => manager.ready(),
    modelStatistics: (name, version) => manager.modelStatistics(name, version),
    repositoryIndex: () => manager.repositoryIndex(),
    repositoryLoad: (name, parameterNames) => manager.repositoryLoad(name, parameterNames),
    repositoryUnload: (name) => manager.repositoryUnload(name),
    reloadConfig: (config) => manager.reloadConfig(config),
  };
  const grpcServers = [
    { label: OWN, server: await startGrpcServer(counting, { port: 0, host: '127.0.0.1', log: () => {}, transport: 'jetserve' }) },
    {
      label: 'gRPC node:http2',
      server: await startGrpcServer(counting, { port: 0, host: '127.0.0.1', log: () => {}, transport: 'http2' }),
    },
    {
      label: 'gRPC grpc-js',
      server: await startGrpcServer(counting, { port: 0, host: '127.0.0.1', log: () => {}, transport: 'grpc-js' }),
    },
  ];
  const grpcTarget = `127.0.0.1:${grpcServers[0]!.server.port}`;
  const dir = mkdtempSync(join(tmpdir(), 'jetserve-bench-grpc-'));
  pinServer();

  const tinyX = new Float32Array([0.1, -0.2, 0.3, 0.4]);
  const bigN = 262144;
  const bigX = new Float32Array(bigN);
  for (let i = 0; i < bigN; i++) bigX[i] = ((i * 7919) % 2000) / 100 - 10;
  const scenarios: Scenario[] = [
    { name: 'tiny MLP [1,4]', model: 'mlp', values: tinyX, shape: [1, 4], expected: () => undefined },
    {
      name: '1 MB half_plus_two [262144]',
      model: 'half_plus_two',
      values: bigX,
      shape: [bigN],
      expected: (x) => x.map((v) => Math.fround(Math.fround(0.5 * v) + 2)),
    },
  ];

  const rows: Record<string, string | number>[] = [];
  const transportRatios: Record<string, unknown>[] = [];
  const results: Record<string, unknown>[] = [];
  const run = async (scenario: string, protocol: string, args: string[], check?: (r: H2loadResult, okDelta: number) => void) => {
    const before = grpcOk;
    const r = await h2load([...args, '-D', String(DURATION), '--warm-up-time', String(WARMUP)]);
    check?.(r, grpcOk - before);
    rows.push({
      scenario,
      protocol,
      'req/s': Math.round(r.reqPerSec),
      'mean ms': r.meanMs,
      'max ms': r.maxMs,
      ok: r.succeeded,
      failed: r.failed,
    });
    results.push({ scenario, protocol, ...r });
    return r;
  };

  try {
    for (const s of scenarios) {
      // --- request bodies, each verified once with a real client
      const tensor = { dtype: 'float32' as const, shape: s.shape, data: s.values };
      const predict = encodeMessage('tensorflow.serving.PredictRequest', {
        model_spec: { name: s.model },
        inputs: { x: decodeMessage('tensorflow.TensorProto', encodeTensorProto(tensor)) },
      });
      const grpcResponse = await grpcCall(grpcTarget, '/tensorflow.serving.PredictionService/Predict', predict);
      const grpcBodyFile = join(dir, `${s.model}.grpc`);
      writeFileSync(grpcBodyFile, frame(predict));

      const json = JSON.stringify({ instances: s.shape.length === 1 ? Array.from(s.values) : [Array.from(s.values)] });
      const restUrl = `http://127.0.0.1:${restPort}/v1/models/${s.model}:predict`;
      const restCheck = await fetch(restUrl, { method: 'POST', body: json });
      const restText = await restCheck.text();
      if (restCheck.status !== 200) throw new Error(`REST predict ${s.model}: ${restCheck.status} ${restText.slice(0, 200)}`);
      // both protocols must agree with each other (and with the closed form where there is one)
      const restValues = Float32Array.from((JSON.parse(restText) as { predictions: number[] | number[][] }).predictions.flat());
      const grpcOut = decodeMessage<{ outputs: Record<string, { tensor_content: Buffer }> }>(
        'tensorflow.serving.PredictResponse',
        grpcResponse,
      ).outputs.y!.tensor_content;
      const grpcValues = new Float32Array(grpcOut.buffer.slice(grpcOut.byteOffset, grpcOut.byteOffset + grpcOut.byteLength));
      const want = s.expected(s.values) ?? grpcValues;
      for (const [what, got] of [['REST', restValues], ['gRPC', grpcValues]] as const) {
        if (got.length !== want.length || got.some((v, i) => v !== want[i])) throw new Error(`${what} predict ${s.model} returned wrong values`);
      }
      const jsonFile = join(dir, `${s.model}.json`);
      writeFileSync(jsonFile, json);

      // KServe v2 binary tensor extension (raw bytes over REST), if the HTTP server has it
      const header = JSON.stringify({
        inputs: [{ name: 'x', shape: s.shape, datatype: 'FP32', parameters: { binary_data_size: s.values.byteLength } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      });
      const binaryBody = Buffer.concat([Buffer.from(header), Buffer.from(s.values.buffer, s.values.byteOffset, s.values.byteLength)]);
      const binaryUrl = `http://127.0.0.1:${restPort}/v2/models/${s.model}/infer`;
      const binaryCheck = await fetch(binaryUrl, {
        method: 'POST',
        headers: { 'Inference-Header-Content-Length': String(Buffer.byteLength(header)), 'Content-Type': 'application/octet-stream' },
        body: binaryBody,
      });
      await binaryCheck.arrayBuffer();
      const binaryFile = join(dir, `${s.model}.bin`);
      writeFileSync(binaryFile, binaryBody);

      const grpcArgs = (target: string, c: number, m: number) => [
        '-c', String(c), '-m', String(m), '-t', '1',
        '-H', 'content-type: application/grpc', '-H', 'te: trailers',
        '-d', grpcBodyFile,
        `http://${target}/tensorflow.serving.PredictionService/Predict`,
      ];
      const checkGrpc = (r: H2loadResult, okDelta: number) => {
        // the server also counts warm-up requests, h2load does not
        if (okDelta < r.succeeded) {
          throw new Error(`h2load saw ${r.succeeded} responses but only ${okDelta} gRPC calls succeeded: calls are failing`);
        }
      };

      const rest = await run(s.name, 'REST JSON (h1)', ['--h1', '-c', String(CONNECTIONS), '-t', '1', '-d', jsonFile, '-H', 'content-type: application/json', restUrl]);
      if (binaryCheck.status === 200) {
        await run(s.name, 'REST KServe binary (h1)', [
          '--h1', '-c', String(CONNECTIONS), '-t', '1', '-d', binaryFile,
          '-H', `inference-header-content-length: ${Buffer.byteLength(header)}`,
          '-H', 'content-type: application/octet-stream',
          binaryUrl,
        ]);
      } else {
        rows.push({ scenario: s.name, protocol: `REST KServe binary: n/a (${binaryCheck.status})`, 'req/s': 0, 'mean ms': 0, 'max ms': 0, ok: 0, failed: 0 });
      }
      const muxConns = 2;
      // the transports are measured in interleaved rounds (own, node:http2, grpc-js, own, ...) so
      // that load from elsewhere on a shared machine hits each alike; each round gives one ratio
      // per transport against the own transport
      const perRound: Record<string, { single: number[]; mux: number[] }> = {};
      const firstRound: Record<string, { single: number; mux: number }> = {};
      for (let round = 1; round <= ROUNDS; round++) {
        const own: { single: number; mux: number } = { single: 0, mux: 0 };
        for (const { label, server } of grpcServers) {
          const target = `127.0.0.1:${server.port}`;
          const tag = ROUNDS > 1 ? ` #${round}` : '';
          const perConn = await run(s.name, `${label} (${CONNECTIONS} conn x 1 stream)${tag}`, grpcArgs(target, CONNECTIONS, 1), checkGrpc);
          const mux = await run(
            s.name,
            `${label} (${muxConns} conn x ${CONNECTIONS / muxConns} streams)${tag}`,
            grpcArgs(target, muxConns, CONNECTIONS / muxConns),
            checkGrpc,
          );
          if (round === 1) firstRound[label] = { single: perConn.reqPerSec, mux: mux.reqPerSec };
          if (label === OWN) {
            own.single = perConn.reqPerSec;
            own.mux = mux.reqPerSec;
          } else {
            perRound[label] ??= { single: [], mux: [] };
            perRound[label]!.single.push(perConn.reqPerSec / own.single);
            perRound[label]!.mux.push(mux.reqPerSec / own.mux);
          }
        }
      }
      const ratios = Object.entries(firstRound).map(
        ([label, r]) => `${label}: ${(r.single / rest.reqPerSec).toFixed(2)}x / ${(r.mux / rest.reqPerSec).toFixed(2)}x`,
      );
      rows.push({ scenario: s.name, protocol: 'ratio vs REST JSON (1 stream / multiplexed), round 1', 'req/s': ratios.join(', '), 'mean ms': '', 'max ms': '', ok: '', failed: '' });
      for (const [label, r] of Object.entries(perRound)) {
        for (const shape of ['single', 'mux'] as const) {
          const values = r[shape];
          const text = `median ${median(values).toFixed(2)}x (rounds: ${values.map((v) => v.toFixed(2)).join(', ')})`;
          rows.push({ scenario: s.name, protocol: `${label} / ${OWN}, ${shape === 'single' ? '1 stream' : 'multiplexed'}`, 'req/s': text, 'mean ms': '', 'max ms': '', ok: '', failed: '' });
          transportRatios.push({ scenario: s.name, transport: label, shape, ratios: values, median: median(values) });
        }
      }
    }
  } finally {
    for (const { server } of grpcServers) await server.close(1000);
    await http.close(1000);
    await manager.close();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `\njetserve gRPC vs REST — h2load, ${DURATION}s per run after ${WARMUP}s warm-up, ${CONNECTIONS} concurrent requests, ` +
      `${cpus} CPUs${pinned ? ' (server pinned to CPU 0, h2load to CPU 1)' : ''}, ` +
      `batching ${process.env.BENCH_BATCHING === 'off' ? 'off' : 'on'}, TF ${engineInfo().tfVersion}, node ${process.version}\n`,
  );
  printTable(rows);
  const file = writeResults('grpc', {
    date: new Date().toISOString(),
    duration: DURATION,
    connections: CONNECTIONS,
    pinned,
    batching: process.env.BENCH_BATCHING !== 'off',
    rounds: ROUNDS,
    transportRatios,
    results,
  });
  console.log(`\nresults: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
