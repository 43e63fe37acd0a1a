// The hot-swap test (issue 5 §9): a load generator keeps predicting against a model over REST,
// over gRPC (TF Serving's PredictionService/Predict, latest and by version_label, and KServe's
// ModelInfer, on both gRPC transports) and in-process while version directories are added and
// removed (≥ 20 times), labels are moved, a corrupt version appears and is removed again.
// Required: 0 failed requests, and every response that names its version comes from a version
// that was AVAILABLE at some moment between the request being sent and its answer arriving (i.e.
// when the server took it); a request by label must be answered by a version the label named in
// that window. The request counts are printed for the closing note.

import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTensorProto } from '../../src/wire/protobuf/tensorproto.js';
import { allocTensor, type Tensor } from '../../src/engine/tensor.js';
import { ModelManager, type LifecycleEvent } from '../../src/models/manager.js';
import { decodeMessage, encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { startGrpcServer, type GrpcServer } from '../../src/server/grpc/index.js';
import { HttpServer } from '../../src/server/http/server.js';
import { fixturesDir } from '../helpers/oracle.js';

const SOURCE = join(fixturesDir(), 'half_plus_two', '1');
const SWAPS = 22;
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'jetserve-swap-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function x(values: number[]): Tensor {
  const t = allocTensor('float32', [values.length]);
  (t.data as Float32Array).set(values);
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

type Transport = 'jetserve' | 'grpc-js';

interface Sample {
  kind: 'rest-latest' | 'rest-label' | 'inproc-label' | 'grpc-predict-latest' | 'grpc-predict-label' | 'grpc-infer-latest';
  sent: number;
  received: number;
  version?: number;
  /** The version label the request named (checked against the label timeline when version is known). */
  label?: string;
  /** gRPC samples: which server transport answered. */
  transport?: Transport;
  ok: boolean;
  detail?: string;
}

const isGrpc = (s: Sample) => s.kind.startsWith('grpc-');

// ---- gRPC: a server per transport on loopback over the test's manager, raw grpc-js clients ----

interface GrpcFront {
  transport: Transport;
  server: GrpcServer;
  client: grpc.Client;
}

async function startGrpcFronts(manager: ModelManager): Promise<GrpcFront[]> {
  const fronts: GrpcFront[] = [];
  for (const transport of ['jetserve', 'grpc-js'] as const) {
    const server = await startGrpcServer(manager, { port: 0, host: '127.0.0.1', transport, log: () => {} });
    fronts.push({ transport, server, client: new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) });
  }
  return fronts;
}

async function closeGrpcFronts(fronts: GrpcFront[]): Promise<void> {
  for (const f of fronts) f.client.close();
  await Promise.all(fronts.map((f) => f.server.close(1000)));
}

const identity = (b: Buffer) => b;

function unaryCall(client: grpc.Client, path: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // a deadline so that a hung call is a failed sample, not a hung test
    client.makeUnaryRequest(path, identity, identity, request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => {
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

const PREDICT = '/tensorflow.serving.PredictionService/Predict';
const MODEL_INFER = '/inference.GRPCInferenceService/ModelInfer';

/** A PredictRequest (built with protobufjs; the input TensorProto by jetserve's codec: tensor_content). */
function predictRequest(model: string, values: number[], label?: string): Buffer {
  return encodeMessage('tensorflow.serving.PredictRequest', {
    model_spec: { name: model, ...(label === undefined ? {} : { version_label: label }) },
    inputs: { x: decodeMessage('tensorflow.TensorProto', encodeTensorProto(x(values))) },
  });
}

/** A ModelInferRequest with the input as raw_input_contents or as typed fp32_contents. */
function inferRequest(model: string, values: number[], raw: boolean): Buffer {
  const input = { name: 'x', datatype: 'FP32', shape: [values.length] };
  return encodeMessage(
    'inference.ModelInferRequest',
    raw
      ? { model_name: model, inputs: [input], raw_input_contents: [Buffer.from(new Float32Array(values).buffer)] }
      : { model_name: model, inputs: [{ ...input, contents: { fp32_contents: values } }] },
  );
}

const floats = (bytes: Uint8Array) => Array.from(new Float32Array(Uint8Array.from(bytes).buffer));

interface TensorProtoMessage {
  float_val: number[];
  tensor_content: Buffer;
}
interface PredictResponseMessage {
  outputs: Record<string, TensorProtoMessage>;
  model_spec: { name: string; version: { value: number } | null; signature_name: string } | null;
}
interface InferResponseMessage {
  model_name: string;
  model_version: string;
  outputs: { name: string; contents: { fp32_contents: number[] } | null }[];
  raw_output_contents: Buffer[];
}

/** Predict → [y values, the answering version (undefined if the response does not say)]. */
async function grpcPredict(client: grpc.Client, request: Buffer, model: string): Promise<[string, number | undefined]> {
  const res = decodeMessage<PredictResponseMessage>('tensorflow.serving.PredictResponse', await unaryCall(client, PREDICT, request));
  const y = res.outputs['y'];
  const values = y === undefined ? [] : y.tensor_content.length > 0 ? floats(y.tensor_content) : y.float_val;
  const version = res.model_spec?.name === model ? res.model_spec.version?.value : undefined;
  return [values.join(), version];
}

/** ModelInfer → [first output's values, the answering version (undefined if not an integer)]. */
async function grpcInfer(client: grpc.Client, request: Buffer, model: string): Promise<[string, number | undefined]> {
  const res = decodeMessage<InferResponseMessage>('inference.ModelInferResponse', await unaryCall(client, MODEL_INFER, request));
  const raw = res.raw_output_contents[0];
  const values = raw !== undefined ? floats(raw) : (res.outputs[0]?.contents?.fp32_contents ?? []);
  const version = Number(res.model_version);
  return [values.join(), res.model_name === model && Number.isInteger(version) && version > 0 ? version : undefined];
}

/**
 * A gRPC load worker: alternates between the transports (and whatever `call` varies with i) until
 * stopped. A response must carry the expected values and name its version.
 */
async function grpcWorker(
  kind: Sample['kind'],
  fronts: GrpcFront[],
  samples: Sample[],
  stopped: () => boolean,
  call: (client: grpc.Client, i: number) => Promise<[string, number | undefined]>,
  expected: string,
  label?: string,
): Promise<void> {
  for (let i = 0; !stopped(); i++) {
    const front = fronts[i % fronts.length]!;
    const base = { kind, transport: front.transport, ...(label === undefined ? {} : { label }) };
    const sent = performance.now();
    try {
      const [values, version] = await call(front.client, i);
      const received = performance.now();
      const ok = values === expected && version !== undefined;
      samples.push({
        ...base,
        sent,
        received,
        ...(version === undefined ? {} : { version }),
        ok,
        ...(ok ? {} : { detail: `values [${values}], version ${version}` }),
      });
    } catch (err) {
      samples.push({ ...base, sent, received: performance.now(), ok: false, detail: String(err) });
    }
  }
}

/** Availability intervals per version ([AVAILABLE, UNLOADING]) from the event log. */
function availabilityIntervals(events: LifecycleEvent[], model: string): Map<number, [number, number][]> {
  const intervals = new Map<number, [number, number][]>();
  for (const e of events) {
    if (e.model !== model || e.kind !== 'state' || e.version === undefined) continue;
    const list = intervals.get(e.version) ?? [];
    if (e.state === 'AVAILABLE') list.push([e.time, Infinity]);
    if (e.state === 'UNLOADING' && list.length > 0) list[list.length - 1]![1] = e.time;
    intervals.set(e.version, list);
  }
  return intervals;
}

/** Label assignments over time: [from, to, labels], starting with the configured labels. */
function labelTimeline(events: LifecycleEvent[], model: string, initial: Record<string, number>): [number, number, Record<string, number>][] {
  const timeline: [number, number, Record<string, number>][] = [[-Infinity, Infinity, initial]];
  for (const e of events) {
    if (e.model !== model || e.kind !== 'labels' || e.labels === undefined) continue;
    timeline[timeline.length - 1]![1] = e.time;
    timeline.push([e.time, Infinity, e.labels]);
  }
  return timeline;
}

describe('hot swap under load', () => {
  it(`adds/removes version directories ${SWAPS}+ times and moves labels with 0 failed requests`, async () => {
    const base = join(root, 'm');
    mkdirSync(base);
    cpSync(SOURCE, join(base, '1'), { recursive: true });
    cpSync(SOURCE, join(base, '2'), { recursive: true });

    const events: LifecycleEvent[] = [];
    const manager = new ModelManager({
      fileSystemPollWaitSeconds: 0.05,
      numLoadThreads: 2,
      onEvent: (e) => events.push(e),
    });
    await manager.applyConfig([
      { name: 'm', basePath: base, versionPolicy: { kind: 'latest', numVersions: 2 }, versionLabels: { stable: 1, canary: 2 } },
    ]);
    const server = new HttpServer(manager, { log: () => {} });
    const port = await server.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    const fronts = await startGrpcFronts(manager);

    const samples: Sample[] = [];
    let stop = false;
    const kserveBody = JSON.stringify({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 5] }] });
    const tfBody = JSON.stringify({ instances: [1, 2, 5] });

    async function restLatest(): Promise<void> {
      while (!stop) {
        const sent = performance.now();
        try {
          const res = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: kserveBody, headers: { 'content-type': 'application/json' } });
          const text = await res.text();
          const received = performance.now();
          const body = JSON.parse(text) as { model_version?: string; outputs?: { data: number[] }[]; error?: string };
          const ok = res.status === 200 && JSON.stringify(body.outputs?.[0]?.data) === '[2.5,3,4.5]';
          samples.push({ kind: 'rest-latest', sent, received, version: Number(body.model_version), ok, ...(ok ? {} : { detail: `${res.status} ${text}` }) });
        } catch (err) {
          samples.push({ kind: 'rest-latest', sent, received: performance.now(), ok: false, detail: String(err) });
        }
      }
    }
    async function restLabel(label: string): Promise<void> {
      while (!stop) {
        const sent = performance.now();
        try {
          const res = await fetch(`${url}/v1/models/m/labels/${label}:predict`, { method: 'POST', body: tfBody });
          const text = await res.text();
          const ok = res.status === 200 && text.replace(/\s/g, '') === '{"predictions":[2.5,3.0,4.5]}';
          samples.push({ kind: 'rest-label', sent, received: performance.now(), ok, ...(ok ? {} : { detail: `${res.status} ${text}` }) });
        } catch (err) {
          samples.push({ kind: 'rest-label', sent, received: performance.now(), ok: false, detail: String(err) });
        }
      }
    }
    async function inprocLabel(label: string): Promise<void> {
      while (!stop) {
        const sent = performance.now();
        try {
          const servable = manager.resolve({ name: 'm', label });
          const out = await servable.run({ x: x([1, 2, 5]) }, { signature: 'serving_default' });
          const ok = Array.from(out.y!.data as Float32Array).join() === '2.5,3,4.5';
          samples.push({ kind: 'inproc-label', sent, received: performance.now(), version: servable.version, label, ok });
        } catch (err) {
          samples.push({ kind: 'inproc-label', sent, received: performance.now(), ok: false, detail: String(err) });
        }
        await sleep(1);
      }
    }

    const stopped = () => stop;
    const predictLatest = predictRequest('m', [1, 2, 5]);
    const predictLabel = { stable: predictRequest('m', [1, 2, 5], 'stable'), canary: predictRequest('m', [1, 2, 5], 'canary') };
    const infer = [inferRequest('m', [1, 2, 5], true), inferRequest('m', [1, 2, 5], false)];
    const want = '2.5,3,4.5';
    const workers = [
      restLatest(),
      restLatest(),
      restLatest(),
      restLabel('stable'),
      restLabel('canary'),
      inprocLabel('canary'),
      grpcWorker('grpc-predict-latest', fronts, samples, stopped, (c) => grpcPredict(c, predictLatest, 'm'), want),
      grpcWorker('grpc-predict-label', fronts, samples, stopped, (c) => grpcPredict(c, predictLabel.stable, 'm'), want, 'stable'),
      grpcWorker('grpc-predict-label', fronts, samples, stopped, (c) => grpcPredict(c, predictLabel.canary, 'm'), want, 'canary'),
      // raw_input_contents and typed contents, each on both transports
      grpcWorker('grpc-infer-latest', fronts, samples, stopped, (c, i) => grpcInfer(c, infer[(i >> 1) % 2]!, 'm'), want),
    ];
    const state = (v: number) => manager.model('m')!.versions.get(v)?.state;
    let adds = 0;
    let removals = 0;
    let labelMoves = 0;
    let rollbacks = 0;

    // Served: {k-1, k}; labels stable=k-1, canary=k.
    let k = 2;
    await sleep(100);
    for (let step = 0; step < SWAPS; step++) {
      // Move both labels off the version about to be retired, then add k+1.
      manager.setLabels('m', { stable: k, canary: k });
      labelMoves++;
      cpSync(SOURCE, join(base, String(k + 1)), { recursive: true });
      adds++;
      await until(`version ${k + 1} AVAILABLE`, () => state(k + 1) === 'AVAILABLE');
      await until(`version ${k - 1} retired`, () => state(k - 1) === 'END' || state(k - 1) === undefined);
      manager.setLabels('m', { stable: k, canary: k + 1 });
      labelMoves++;
      rmSync(join(base, String(k - 1)), { recursive: true, force: true });
      removals++;
      k++;
      if (step % 5 === 4) {
        // Roll back: canary back to k-1, remove version k's directory; k-1 keeps serving alone.
        manager.setLabels('m', { stable: k - 1, canary: k - 1 });
        labelMoves++;
        rmSync(join(base, String(k)), { recursive: true, force: true });
        removals++;
        rollbacks++;
        await until(`version ${k} retired after rollback`, () => state(k) === 'END' || state(k) === undefined);
        // Roll forward again with a fresh version number.
        cpSync(SOURCE, join(base, String(k + 1)), { recursive: true });
        adds++;
        await until(`version ${k + 1} AVAILABLE`, () => state(k + 1) === 'AVAILABLE');
        manager.setLabels('m', { stable: k - 1, canary: k + 1 });
        labelMoves++;
        k++;
        // now served {k-2 (old stable), k}: restore the {k-1, k} invariant by naming k-2 as k-1's role
        manager.setLabels('m', { stable: k, canary: k });
        labelMoves++;
        rmSync(join(base, String(k - 2)), { recursive: true, force: true });
        removals++;
        await until(`version ${k - 2} retired`, () => state(k - 2) === 'END' || state(k - 2) === undefined);
        // Latest 2 has only {k} on disk now; add k+1 so the loop invariant {k-1, k} holds.
        cpSync(SOURCE, join(base, String(k + 1)), { recursive: true });
        adds++;
        await until(`version ${k + 1} AVAILABLE`, () => state(k + 1) === 'AVAILABLE');
        manager.setLabels('m', { stable: k, canary: k + 1 });
        labelMoves++;
        k++;
      }
      await sleep(30);
    }

    // A corrupt version: error state, the served versions keep serving.
    const bad = k + 1;
    mkdirSync(join(base, String(bad)));
    writeFileSync(join(base, String(bad), 'saved_model.pb'), 'this is not a SavedModel');
    await until(`corrupt version ${bad} in END with an error`, () => state(bad) === 'END');
    const badStatus = manager.status('m', bad)[0]!;
    expect(badStatus.error).not.toBeNull();
    expect(state(k)).toBe('AVAILABLE');
    expect(state(k - 1)).toBe('AVAILABLE');
    await sleep(300);
    expect(state(k)).toBe('AVAILABLE');
    rmSync(join(base, String(bad)), { recursive: true, force: true });
    await until('corrupt version forgotten', () => state(bad) === undefined);

    stop = true;
    await Promise.all(workers);
    await closeGrpcFronts(fronts);
    await server.close(1000);
    await manager.close();

    // Availability intervals per version and the label assignments over time, from the event log.
    const intervals = availabilityIntervals(events, 'm');
    const labels = labelTimeline(events, 'm', { stable: 1, canary: 2 });
    const wasAvailable = (s: Sample) =>
      s.version === undefined ||
      (intervals.get(s.version) ?? []).some(([from, to]) => from <= s.received && to >= s.sent);
    const labelNamedIt = (s: Sample) =>
      s.version === undefined ||
      s.label === undefined ||
      labels.some(([from, to, l]) => l[s.label!] === s.version && from <= s.received && to >= s.sent);

    const failed = samples.filter((s) => !s.ok);
    const outside = samples.filter((s) => s.ok && !wasAvailable(s));
    const wrongLabel = samples.filter((s) => s.ok && !labelNamedIt(s));
    const versions = new Set(samples.map((s) => s.version).filter((v) => v !== undefined));
    const grpcSamples = samples.filter(isGrpc);
    const grpcVersions = new Set(grpcSamples.map((s) => s.version).filter((v) => v !== undefined));
    const count = (kind: Sample['kind']) => samples.filter((s) => s.kind === kind).length;
    const counts = {
      total: samples.length,
      restLatest: count('rest-latest'),
      restLabel: count('rest-label'),
      inprocLabel: count('inproc-label'),
      grpc: grpcSamples.length,
      grpcPredictLatest: count('grpc-predict-latest'),
      grpcPredictLabel: count('grpc-predict-label'),
      grpcInferLatest: count('grpc-infer-latest'),
      grpcJetserveTransport: grpcSamples.filter((s) => s.transport === 'jetserve').length,
      grpcGrpcJsTransport: grpcSamples.filter((s) => s.transport === 'grpc-js').length,
      failed: failed.length,
      grpcFailed: grpcSamples.filter((s) => !s.ok).length,
      fromUnavailableVersion: outside.length,
      grpcFromUnavailableVersion: outside.filter(isGrpc).length,
      labelNotOnVersion: wrongLabel.length,
      distinctVersionsAnswering: versions.size,
      distinctVersionsAnsweringGrpc: grpcVersions.size,
      versionDirAdds: adds,
      versionDirRemovals: removals,
      rollbacks,
      labelMoves,
      corruptVersionState: `${badStatus.state} (${badStatus.error?.code})`,
    };
    console.log(`SWAP TEST COUNTS ${JSON.stringify(counts)}`);
    expect(failed.slice(0, 5)).toEqual([]);
    expect(outside.slice(0, 5)).toEqual([]);
    expect(wrongLabel.slice(0, 5)).toEqual([]);
    expect(adds + removals).toBeGreaterThanOrEqual(40);
    expect(versions.size).toBeGreaterThanOrEqual(20);
    expect(samples.length).toBeGreaterThan(500);
    // the gRPC load ran throughout: every kind on both transports, answered by most versions
    for (const kind of ['grpc-predict-latest', 'grpc-predict-label', 'grpc-infer-latest'] as const) {
      for (const transport of ['jetserve', 'grpc-js'] as const) {
        const n = grpcSamples.filter((s) => s.kind === kind && s.transport === transport).length;
        expect(n, `${kind} requests on the ${transport} transport`).toBeGreaterThan(20);
      }
    }
    expect(grpcVersions.size).toBeGreaterThanOrEqual(20);
  }, 180_000);

  it('latest { num_versions: 1 } (the default): 20 one-version swaps under load, 0 failed requests', async () => {
    const base = join(root, 'single');
    mkdirSync(base);
    cpSync(SOURCE, join(base, '1'), { recursive: true });
    const events: LifecycleEvent[] = [];
    const manager = new ModelManager({ fileSystemPollWaitSeconds: 0.05, onEvent: (e) => events.push(e) });
    await manager.addModel({ name: 's', basePath: base });
    const server = new HttpServer(manager, { log: () => {} });
    const port = await server.listen(0, '127.0.0.1');
    const fronts = await startGrpcFronts(manager);
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [4] }] });
    const samples: Sample[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const sent = performance.now();
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v2/models/s/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
          const text = await res.text();
          const parsed = JSON.parse(text) as { model_version?: string; outputs?: { data: number[] }[] };
          const ok = res.status === 200 && parsed.outputs?.[0]?.data[0] === 4;
          samples.push({ kind: 'rest-latest', sent, received: performance.now(), version: Number(parsed.model_version), ok, ...(ok ? {} : { detail: text }) });
        } catch (err) {
          samples.push({ kind: 'rest-latest', sent, received: performance.now(), ok: false, detail: String(err) });
        }
      }
    };
    const stopped = () => stop;
    const predict = predictRequest('s', [4]);
    const infer = inferRequest('s', [4], true);
    const workers = [
      worker(),
      worker(),
      worker(),
      grpcWorker('grpc-predict-latest', fronts, samples, stopped, (c) => grpcPredict(c, predict, 's'), '4'),
      grpcWorker('grpc-infer-latest', fronts, samples, stopped, (c) => grpcInfer(c, infer, 's'), '4'),
    ];
    const state = (v: number) => manager.model('s')!.versions.get(v)?.state;
    for (let v = 2; v <= 21; v++) {
      cpSync(SOURCE, join(base, String(v)), { recursive: true });
      await until(`version ${v} AVAILABLE`, () => state(v) === 'AVAILABLE');
      await until(`version ${v - 1} retired`, () => state(v - 1) === 'END');
      rmSync(join(base, String(v - 1)), { recursive: true, force: true });
      await sleep(20);
    }
    stop = true;
    await Promise.all(workers);
    await closeGrpcFronts(fronts);
    await server.close(1000);
    await manager.close();
    const availableFrom = new Map<number, number>();
    const unloadingFrom = new Map<number, number>();
    for (const e of events) {
      if (e.kind === 'state' && e.version !== undefined && e.state === 'AVAILABLE') availableFrom.set(e.version, e.time);
      if (e.kind === 'state' && e.version !== undefined && e.state === 'UNLOADING') unloadingFrom.set(e.version, e.time);
    }
    const failed = samples.filter((s) => !s.ok);
    const outside = samples.filter(
      (s) => s.ok && !((availableFrom.get(s.version!) ?? Infinity) <= s.received && (unloadingFrom.get(s.version!) ?? Infinity) >= s.sent),
    );
    const versions = new Set(samples.map((s) => s.version));
    const grpcSamples = samples.filter(isGrpc);
    const grpcVersions = new Set(grpcSamples.map((s) => s.version).filter((v) => v !== undefined));
    const counts = {
      total: samples.length,
      rest: samples.filter((s) => s.kind === 'rest-latest').length,
      grpcPredictLatest: samples.filter((s) => s.kind === 'grpc-predict-latest').length,
      grpcInferLatest: samples.filter((s) => s.kind === 'grpc-infer-latest').length,
      failed: failed.length,
      grpcFailed: grpcSamples.filter((s) => !s.ok).length,
      fromUnavailableVersion: outside.length,
      grpcFromUnavailableVersion: outside.filter(isGrpc).length,
      distinctVersionsAnswering: versions.size,
      distinctVersionsAnsweringGrpc: grpcVersions.size,
      swaps: 20,
    };
    console.log(`SWAP TEST (latest 1) COUNTS ${JSON.stringify(counts)}`);
    expect(failed.slice(0, 5)).toEqual([]);
    expect(outside.slice(0, 5)).toEqual([]);
    expect(versions.size).toBeGreaterThanOrEqual(15);
    expect(grpcSamples.length).toBeGreaterThan(100);
    expect(grpcVersions.size).toBeGreaterThanOrEqual(15);
  }, 180_000);
});
