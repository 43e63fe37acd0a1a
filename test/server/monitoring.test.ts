// Prometheus monitoring (--monitoring_config_file) over real parts: a model manager over fixture
// SavedModels, the uWS REST server and the gRPC server sharing one ServingMetrics. Requests go in
// over REST (TF Serving and KServe) and gRPC (Predict, ModelInfer); the scrape page is parsed by
// the official Python client's parser (prometheus_client.parser), independently of jetserve's
// writer, and the counts must be exact: request_count per status, request_latency _count = the OK
// requests (TF Serving records latency for OK requests only), cumulative buckets, load, warmup and
// version-state metrics. Also: the MonitoringConfig text format and the route when disabled.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureVenv } from '../../scripts/python-env.mjs';
import { Batching } from '../../src/batching/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager } from '../../src/models/manager.js';
import { WARMUP_FILE } from '../../src/models/warmup.js';
import {
  DEFAULT_PROMETHEUS_PATH,
  exponentialBuckets,
  LATENCY_BUCKETS_MICROS,
  MAX_MODEL_NAMES,
  OTHER_MODEL_NAME,
  parseMonitoringConfig,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  ServingMetrics,
} from '../../src/observability/index.js';
import { encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { startGrpcServer, type GrpcServer } from '../../src/server/grpc/index.js';
import { HttpServer } from '../../src/server/http/server.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { fixturesDir } from '../helpers/oracle.js';
import { fixtureConfig } from './helpers.js';

interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const PARSE = `
import sys, json, math
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({'name': f.name, 'type': f.type, 'help': f.documentation,
                'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value if math.isfinite(s.value) else str(s.value)}
                            for s in f.samples]})
print(json.dumps(out))
`;
import { lenField, tfRecordFile } from '../helpers/tfrecord.js';

let python: string;
let tmp: string;
let metrics: ServingMetrics;
let manager: ModelManager;
let http: HttpServer;
let base: string;
let grpcServer: GrpcServer;
let client: grpc.Client;
let warmVersionDir: string;
let brokenVersionDir: string;

/** Parses an exposition page with prometheus_client (throws on anything it rejects). */
function parseWithPrometheusClient(text: string): ParsedFamily[] {
  const r = spawnSync(python, ['-c', PARSE], { input: text, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`prometheus_client rejected the page: ${r.stderr}\n--- page ---\n${text}`);
  return JSON.parse(r.stdout) as ParsedFamily[];
}

async function scrape(path = DEFAULT_PROMETHEUS_PATH): Promise<{ text: string; families: ParsedFamily[] }> {
  const r = await fetch(base + path);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
  const text = await r.text();
  return { text, families: parseWithPrometheusClient(text) };
}

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name} (families: ${families.map((x) => x.name).join(', ')})`);
  return f;
}

/** The samples named `name` whose labels include `labels`. */
function samples(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): ParsedSample[] {
  return families.flatMap((f) =>
    f.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)),
  );
}

/** One sample's value; undefined when there is none. A counter's samples end in _total once parsed. */
function value(families: ParsedFamily[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples(families, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

const counter = (families: ParsedFamily[], name: string, labels: Record<string, string>) => value(families, `${name}_total`, labels);

/** A histogram series: its buckets (le, cumulative count) in order, sum and count. */
function histogram(families: ParsedFamily[], name: string, labels: Record<string, string>) {
  const buckets = samples(families, `${name}_bucket`, labels).map((s) => ({ le: s.labels.le!, count: s.value }));
  return { buckets, sum: value(families, `${name}_sum`, labels), count: value(families, `${name}_count`, labels) };
}

/** Every histogram on the page is well formed: increasing le, monotone cumulative counts, +Inf = _count. */
function expectHistogramsValid(families: ParsedFamily[]): number {
  let series = 0;
  for (const f of families.filter((x) => x.type === 'histogram')) {
    const groups = new Map<string, ParsedSample[]>();
    for (const s of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      series++;
      const labels = JSON.parse(key) as Record<string, string>;
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      expect(les.at(-1), `${f.name} ${key} ends with +Inf`).toBe(Infinity);
      for (let i = 1; i < les.length; i++) {
        expect(les[i]!, `${f.name} ${key} le increasing`).toBeGreaterThan(les[i - 1]!);
        expect(buckets[i]!.value, `${f.name} ${key} cumulative`).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      }
      const count = samples([f], `${f.name}_count`, labels).find((s) => Object.keys(s.labels).length === Object.keys(labels).length);
      const sum = samples([f], `${f.name}_sum`, labels).find((s) => Object.keys(s.labels).length === Object.keys(labels).length);
      expect(count?.value, `${f.name} ${key} _count`).toBe(buckets.at(-1)!.value);
      expect(sum, `${f.name} ${key} _sum`).toBeDefined();
    }
  }
  return series;
}

// --- request builders --------------------------------------------------------------------------

function f32(shape: number[], values: number[]): Tensor {
  return { dtype: 'float32', shape, data: new Float32Array(values) };
}

function grpcCall(path: string, request: Buffer): Promise<{ ok: true } | { ok: false; code: number }> {
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, request, new grpc.Metadata(), {}, (err) =>
      resolve(err ? { ok: false, code: err.code } : { ok: true }),
    );
  });
}

const post = (path: string, body: string) => fetch(base + path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  python = await ensureVenv();
  tmp = mkdtempSync(join(tmpdir(), 'jetserve-monitoring-'));
  // "warm": half_plus_two with a warmup file of two predict logs
  warmVersionDir = join(tmp, 'warm', '1');
  cpSync(join(fixturesDir(), 'half_plus_two', '1'), warmVersionDir, { recursive: true });
  mkdirSync(join(warmVersionDir, 'assets.extra'), { recursive: true });
  const log = (x: number[]) => lenField(6, lenField(1, predictRequest('warm', { x: f32([x.length], x) })));
  writeFileSync(join(warmVersionDir, WARMUP_FILE), tfRecordFile([log([1, 2]), log([3])]));
  // "broken": a version whose saved_model.pb is not a SavedModel
  brokenVersionDir = join(tmp, 'broken', '1');
  mkdirSync(brokenVersionDir, { recursive: true });
  writeFileSync(join(brokenVersionDir, 'saved_model.pb'), 'not a protobuf');

  metrics = new ServingMetrics();
  // batching on, as the server's default
  const batching = new Batching();
  manager = await ModelManager.create(
    [fixtureConfig('half_plus_two'), fixtureConfig('mlp'), { name: 'warm', basePath: join(tmp, 'warm') }],
    metrics.instrument({ fileSystemPollWaitSeconds: 0, warmup: {}, batching }),
  );
  await expect(manager.addModel({ name: 'broken', basePath: join(tmp, 'broken') })).rejects.toThrow(/failed to load/);
  metrics.attachManager(manager);
  metrics.attachBatching(batching);
  http = new HttpServer(manager, { metrics, log: () => {} });
  base = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
  grpcServer = await startGrpcServer(manager, { port: 0, host: '127.0.0.1', metrics, reflection: false, log: () => {} });
  client = new grpc.Client(`127.0.0.1:${grpcServer.port}`, grpc.credentials.createInsecure());
}, 600_000);

afterAll(async () => {
  client?.close();
  await grpcServer?.close(1000);
  await http?.close(1000);
  await manager?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('GET /monitoring/prometheus/metrics', () => {
  it('counts N good and M bad REST predicts exactly; latency histograms count the OK ones', async () => {
    const N = 7;
    for (let i = 0; i < N; i++) {
      const r = await post('/v1/models/half_plus_two:predict', `{"instances": [${i}.0, 2.0]}`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ predictions: [i / 2 + 2, 3] });
    }
    const bad: [string, string, number][] = [
      ['/v1/models/half_plus_two:predict', '{"instances": [1.0,', 400], // malformed JSON
      ['/v1/models/half_plus_two:predict', '{"inputs": {"nope": [1.0]}}', 400], // unknown input
      ['/v1/models/half_plus_two/versions/9:predict', '{"instances": [1.0]}', 404], // no such version
    ];
    for (const [path, body, status] of bad) expect((await post(path, body)).status).toBe(status);
    expect((await post('/v1/models/no_such_model:predict', '{"instances": [1.0]}')).status).toBe(404);

    const { families } = await scrape();
    const rc = ':tensorflow:serving:request_count';
    expect(family(families, rc).type).toBe('counter');
    expect(counter(families, rc, { model_name: 'half_plus_two', status: 'OK' })).toBe(N);
    expect(counter(families, rc, { model_name: 'half_plus_two', status: 'INVALID_ARGUMENT' })).toBe(2);
    expect(counter(families, rc, { model_name: 'half_plus_two', status: 'NOT_FOUND' })).toBe(1);
    expect(samples(families, `${rc}_total`, { model_name: 'half_plus_two' })).toHaveLength(3);
    // a model that only ever failed: its failures, no OK sample and no latency series
    expect(counter(families, rc, { model_name: 'no_such_model', status: 'NOT_FOUND' })).toBe(1);
    expect(counter(families, rc, { model_name: 'no_such_model', status: 'OK' })).toBeUndefined();
    expect(samples(families, ':tensorflow:serving:request_latency_count', { model_name: 'no_such_model' })).toEqual([]);

    const latency = histogram(families, ':tensorflow:serving:request_latency', { model_name: 'half_plus_two', API: 'predict', entrypoint: 'REST' });
    expect(family(families, ':tensorflow:serving:request_latency').type).toBe('histogram');
    expect(latency.count).toBe(N);
    expect(latency.buckets).toHaveLength(LATENCY_BUCKETS_MICROS.length + 1);
    expect(latency.buckets.slice(0, 3).map((b) => b.le)).toEqual(['10', '18', '32.4']); // TF Serving's bounds
    expect(latency.buckets.at(-1)).toEqual({ le: '+Inf', count: N });
    for (let i = 1; i < latency.buckets.length; i++) expect(latency.buckets[i]!.count).toBeGreaterThanOrEqual(latency.buckets[i - 1]!.count);
    expect(latency.sum).toBeGreaterThan(0);

    // the model run itself (ServableVersion.run): every OK predict, API from the signature's method
    const runtime = histogram(families, ':tensorflow:serving:runtime_latency', { model_name: 'half_plus_two', API: 'Predict', runtime: 'TF1' });
    expect(runtime.count).toBe(N);
    expect(runtime.sum!).toBeLessThanOrEqual(latency.sum!);
    expect(expectHistogramsValid(families)).toBeGreaterThanOrEqual(2);
  });

  it('labels REST classify/regress/KServe infer by API, and the runtime by the signature method', async () => {
    const regress = await post('/v1/models/warm:regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": 5.0}]}');
    expect(regress.status).toBe(200);
    expect(await regress.json()).toEqual({ results: [2.5, 4.5] });
    for (let i = 0; i < 2; i++) {
      const infer = await post('/v2/models/warm/infer', '{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.0, 2.0]}]}');
      expect(infer.status).toBe(200);
    }
    expect((await post('/v2/models/warm/infer', '{"inputs": [{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 2]}]}')).status).toBe(400);

    const { families } = await scrape();
    const rl = ':tensorflow:serving:request_latency';
    expect(histogram(families, rl, { model_name: 'warm', API: 'regress', entrypoint: 'REST' }).count).toBe(1);
    expect(histogram(families, rl, { model_name: 'warm', API: 'infer', entrypoint: 'REST' }).count).toBe(2);
    expect(counter(families, ':tensorflow:serving:request_count', { model_name: 'warm', status: 'OK' })).toBe(3);
    expect(counter(families, ':tensorflow:serving:request_count', { model_name: 'warm', status: 'INVALID_ARGUMENT' })).toBe(1);
    const rt = ':tensorflow:serving:runtime_latency';
    expect(histogram(families, rt, { model_name: 'warm', API: 'Regress', runtime: 'TF1' }).count).toBe(1);
    expect(histogram(families, rt, { model_name: 'warm', API: 'Predict', runtime: 'TF1' }).count).toBe(2); // warmup runs are not counted
  });

  it('counts gRPC Predict and ModelInfer calls with entrypoint="GRPC"', async () => {
    const ok = predictRequest('mlp', { x: f32([1, 4], [1, 2, 3, 4]) });
    for (let i = 0; i < 3; i++) expect(await grpcCall('/tensorflow.serving.PredictionService/Predict', ok)).toEqual({ ok: true });
    const wrongInput = predictRequest('mlp', { nope: f32([1, 4], [1, 2, 3, 4]) });
    expect(await grpcCall('/tensorflow.serving.PredictionService/Predict', wrongInput)).toEqual({ ok: false, code: grpc.status.INVALID_ARGUMENT });
    expect(await grpcCall('/tensorflow.serving.PredictionService/Predict', predictRequest('ghost', {}))).toEqual({
      ok: false,
      code: grpc.status.NOT_FOUND,
    });
    const infer = encodeMessage('inference.ModelInferRequest', {
      model_name: 'mlp',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: [1, 2, 3, 4, 5, 6, 7, 8] } }],
    });
    for (let i = 0; i < 2; i++) expect(await grpcCall('/inference.GRPCInferenceService/ModelInfer', infer)).toEqual({ ok: true });

    const { families } = await scrape();
    const rc = ':tensorflow:serving:request_count';
    expect(counter(families, rc, { model_name: 'mlp', status: 'OK' })).toBe(5);
    expect(counter(families, rc, { model_name: 'mlp', status: 'INVALID_ARGUMENT' })).toBe(1);
    expect(counter(families, rc, { model_name: 'ghost', status: 'NOT_FOUND' })).toBe(1);
    const rl = ':tensorflow:serving:request_latency';
    expect(histogram(families, rl, { model_name: 'mlp', API: 'Predict', entrypoint: 'GRPC' }).count).toBe(3);
    expect(histogram(families, rl, { model_name: 'mlp', API: 'ModelInfer', entrypoint: 'GRPC' }).count).toBe(2);
    expect(samples(families, `${rl}_count`, { model_name: 'mlp', entrypoint: 'REST' })).toEqual([]);
    expect(histogram(families, ':tensorflow:serving:runtime_latency', { model_name: 'mlp', API: 'Predict', runtime: 'TF1' }).count).toBe(5);
  });

  it('exposes model loads, warmup and version states from the manager', async () => {
    const { families } = await scrape();
    const la = ':tensorflow:cc:saved_model:load_attempt_count';
    const hptPath = join(fixturesDir(), 'half_plus_two', '1');
    expect(counter(families, la, { model_path: hptPath, status: 'success' })).toBe(1);
    expect(counter(families, la, { model_path: warmVersionDir, status: 'success' })).toBe(1);
    expect(counter(families, la, { model_path: brokenVersionDir, status: 'fail' })).toBe(1);
    expect(counter(families, la, { model_path: brokenVersionDir, status: 'success' })).toBeUndefined();
    expect(counter(families, ':tensorflow:cc:saved_model:load_latency', { model_path: hptPath })).toBeGreaterThan(0);

    // only versions with a warmup file are timed, as TF Serving
    const warmup = histogram(families, ':tensorflow:serving:model_warmup_latency', { model_path: warmVersionDir, status: 'OK' });
    expect(warmup.count).toBe(1);
    expect(samples(families, ':tensorflow:serving:model_warmup_latency_count')).toHaveLength(1);

    const state = (model: string, s: string) => value(families, ':jetserve:model_version_state', { model_name: model, version: '1', state: s });
    expect(family(families, ':jetserve:model_version_state').type).toBe('gauge');
    expect(state('half_plus_two', 'AVAILABLE')).toBe(1);
    expect(state('half_plus_two', 'END')).toBe(0);
    expect(state('broken', 'END')).toBe(1);
    expect(state('broken', 'AVAILABLE')).toBe(0);

    // batching is on by default: the batcher's counters and batch-size histogram
    expect(counter(families, ':tensorflow:serving:batching_session:wrapped_run_count', {})).toBeGreaterThan(0);
    expect(family(families, ':jetserve:batching:batch_size').type).toBe('histogram');
    expect(value(families, ':jetserve:batching:queued_requests', {})).toBe(0);
  });

  it('writes a page prometheus_client parses losslessly: every family typed, escaped label values round-trip', async () => {
    const odd = metrics.registry.counter({ name: 'jetserve_test_escaping', help: 'help with \\ and\nnewline', labelNames: ['v'] });
    const tricky = 'quote " backslash \\ newline \n end';
    odd.labels(tricky).inc(3);
    const { text, families } = await scrape();
    expect(text.endsWith('\n')).toBe(true);
    for (const f of families) {
      expect(['counter', 'gauge', 'histogram']).toContain(f.type);
      expect(text).toContain(`# TYPE ${f.name} ${f.type}\n`);
    }
    expect(counter(families, 'jetserve_test_escaping', { v: tricky })).toBe(3);
    expect(family(families, 'jetserve_test_escaping').help).toBe('help with \\ and\nnewline');
    expectHistogramsValid(families);
  });

  it('answers other methods with 405', async () => {
    const r = await fetch(base + DEFAULT_PROMETHEUS_PATH, { method: 'POST', body: '' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
  });

  it('hot path: a (model, API, entrypoint) recorder and a label set are created once', () => {
    const a = metrics.request('half_plus_two', 'predict', 'REST');
    expect(metrics.request('half_plus_two', 'predict', 'REST')).toBe(a);
    expect(metrics.request('half_plus_two', 'predict', 'GRPC')).not.toBe(a);
    expect(metrics.requestCount.labels('m', 'OK')).toBe(metrics.requestCount.labels('m', 'OK'));
  });
});

describe('monitoring off / another path', () => {
  it('without metrics the path is an unknown route (404); prometheus_config.path moves it', async () => {
    const plain = new HttpServer(manager, { log: () => {} });
    const custom = new HttpServer(manager, { metrics, metricsPath: '/metrics', log: () => {} });
    try {
      const p1 = await plain.listen(0, '127.0.0.1');
      const p2 = await custom.listen(0, '127.0.0.1');
      const off = await fetch(`http://127.0.0.1:${p1}${DEFAULT_PROMETHEUS_PATH}`);
      expect(off.status).toBe(404);
      expect(((await off.json()) as { error: string }).error).toMatch(/^Not found: GET \/monitoring\/prometheus\/metrics/);
      expect((await fetch(`http://127.0.0.1:${p2}${DEFAULT_PROMETHEUS_PATH}`)).status).toBe(404);
      const moved = await fetch(`http://127.0.0.1:${p2}/metrics`);
      expect(moved.status).toBe(200);
      expect(await moved.text()).toContain(':tensorflow:serving:request_count{model_name="half_plus_two",status="OK"}');
    } finally {
      await plain.close(100);
      await custom.close(100);
    }
  });
});

describe('registry', () => {
  it('bounds the model_name label set: past MAX_MODEL_NAMES unknown names count as __other__', () => {
    const m = new ServingMetrics();
    for (let i = 0; i < MAX_MODEL_NAMES; i++) m.request(`m${i}`, 'predict', 'REST').failed('NOT_FOUND');
    m.request('one-too-many', 'predict', 'REST').failed('NOT_FOUND');
    m.request('and-another', 'predict', 'REST').failed('NOT_FOUND');
    expect(m.requestCount.children()).toHaveLength(MAX_MODEL_NAMES + 1);
    expect(m.requestCount.labels(OTHER_MODEL_NAME, 'NOT_FOUND').value).toBe(2);
    expect(m.registry.expose()).not.toContain('one-too-many');
  });

  it('refuses duplicate names, bad names and reserved labels; buckets are TF’s exponential ones', () => {
    const r = new Registry();
    r.counter({ name: ':a:b', help: 'x' });
    expect(() => r.gauge({ name: ':a:b', help: 'y' })).toThrow(/already registered/);
    expect(() => r.counter({ name: 'a-b', help: 'x' })).toThrow(/invalid metric name/);
    expect(() => r.counter({ name: 'c', help: 'x', labelNames: ['le'] })).toThrow(/reserved/);
    expect(() => r.counter({ name: 'd', help: 'x', labelNames: ['__x'] })).toThrow(/invalid label name/);
    expect(() => r.counter({ name: 'e', help: 'x', labelNames: ['a'] }).labels()).toThrow(/takes 1 label value/);
    expect(exponentialBuckets(10, 1.8, 5)).toEqual([10, 18, 32.4, 58.32, 104.976]);
    expect(LATENCY_BUCKETS_MICROS).toHaveLength(33);
    const h = r.histogram({ name: 'h', help: 'x', buckets: [1, 2] });
    for (const v of [0, 1, 1.5, 2, 3]) h.labels().observe(v);
    expect(r.expose()).toContain('h_bucket{le="1"} 2\nh_bucket{le="2"} 4\nh_bucket{le="+Inf"} 5\nh_sum 7.5\nh_count 5\n');
  });
});

describe('MonitoringConfig text format', () => {
  it('reads prometheus_config { enable, path } (path defaults to TF Serving’s)', () => {
    expect(parseMonitoringConfig('prometheus_config { enable: true, path: "/m/x" }')).toEqual({ prometheus: { enable: true, path: '/m/x' } });
    expect(parseMonitoringConfig('prometheus_config {\n  enable: true\n}\n')).toEqual({
      prometheus: { enable: true, path: '/monitoring/prometheus/metrics' },
    });
    expect(parseMonitoringConfig('# nothing\n')).toEqual({ prometheus: { enable: false, path: DEFAULT_PROMETHEUS_PATH } });
    expect(parseMonitoringConfig('prometheus_config < enable: false >')).toEqual({ prometheus: { enable: false, path: DEFAULT_PROMETHEUS_PATH } });
  });

  it.each([
    ['prometheus_config {\n  enable: true\n  pth: "/m"\n}\n', /^mon\.config:3:3: unknown field 'pth' in PrometheusConfig \(known: enable, path\)$/],
    ['prometheus {\n enable: true }', /^mon\.config:1:1: unknown field 'prometheus' in MonitoringConfig \(known: prometheus_config\)$/],
    ['prometheus_config { enable: maybe }', /^mon\.config:1:29: field 'enable' takes true or false, not maybe$/],
    ['prometheus_config { enable: true path: "metrics" }', /prometheus_config\.path 'metrics' must be a URL path starting with '\/'/],
    ['prometheus_config { enable: true ', /missing '}' to close PrometheusConfig opened at line 1/],
  ])('%j → a clear error', (text, message) => {
    expect(() => parseMonitoringConfig(text, 'mon.config')).toThrow(message);
  });
});
