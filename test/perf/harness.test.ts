// `jetserve perf` end to end against a real jetserve (the mlp fixture, REST and gRPC on loopback,
// metrics on) over every protocol, and in-process: the JSON it writes has one entry per load level
// with throughput_rps, latency_us {p50, p90, p95, p99, max}, errors; the server-side split comes
// from the metrics page and matches the server's own request count; CSV and HTML carry the same
// levels. Usage mistakes and unusable targets get clear messages and exit codes.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perfMain, PerfUsageError, parsePerfArgs, type LevelResult, type PerfResult } from '../../src/cli/perf/index.js';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { mlpBasePath, perf } from './helpers.js';

let server: JetserveServer;
let rest: string;
let grpc: string;
let dir: string;

beforeAll(async () => {
  server = await startServer({ modelName: 'mlp', modelBasePath: mlpBasePath(), restApiPort: 0, port: 0, host: '127.0.0.1', enableMetrics: true, log: false });
  rest = `http://127.0.0.1:${server.http!.port}`;
  grpc = `grpc://127.0.0.1:${server.grpc!.port}`;
  dir = mkdtempSync(join(tmpdir(), 'jetserve-perf-'));
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const QUICK = ['--duration', '0.3', '--warmup', '0.2', '--max-windows', '3', '--quiet'];

function expectLevel(l: LevelResult): void {
  expect(l.throughput_rps).toBeGreaterThan(0);
  expect(l.requests).toBeGreaterThan(0);
  const { p50, p90, p95, p99, max, min } = l.latency_us;
  expect(min).toBeGreaterThan(0);
  expect(p50).toBeGreaterThanOrEqual(min);
  expect(p90).toBeGreaterThanOrEqual(p50);
  expect(p95).toBeGreaterThanOrEqual(p90);
  expect(p99).toBeGreaterThanOrEqual(p95);
  expect(max).toBeGreaterThanOrEqual(p99);
  expect(l.errors).toEqual({});
  expect(l.error_count).toBe(0);
  expect(l.windows).toBeGreaterThanOrEqual(1);
  expect(l.window_throughput_rps.length).toBe(l.windows);
  expect(l.generator.workers).toBeGreaterThanOrEqual(1);
  expect(l.latency_histogram.counts.reduce((a, b) => a + b, 0)).toBe(l.requests);
}

describe('jetserve perf against jetserve, every protocol', () => {
  const cases: [string, () => string][] = [
    ['tfserving-rest', () => rest],
    ['kserve-rest', () => rest],
    ['kserve-binary', () => rest],
    ['flatbuffers', () => rest],
    ['tfserving-grpc', () => grpc],
    ['kserve-grpc', () => grpc],
  ];
  for (const [protocol, url] of cases) {
    it(`${protocol}: one JSON entry per level with throughput, latency percentiles and errors`, async () => {
      const json = join(dir, `${protocol}.json`);
      const { result, out } = await perf(['--url', url(), '--model', 'mlp', '--protocol', protocol, '--concurrency', '1:2:x2', '--batch-size', '2', '--json', json, ...QUICK]);
      const written = JSON.parse(readFileSync(json, 'utf8')) as PerfResult;
      expect(written).toEqual(JSON.parse(JSON.stringify(result)));
      expect(written.schema).toBe(1);
      expect(written.mode).toBe('concurrency');
      expect(written.target).toMatchObject({ protocol, model: 'mlp', signature: 'serving_default', batch_size: 2, inputs: { x: { dtype: 'float32', shape: [-1, 4] } } });
      expect(written.levels.map((l) => l.concurrency)).toEqual([1, 2]);
      for (const l of written.levels) {
        expectLevel(l);
        expect(l.throughput_items_per_s).toBeCloseTo(l.throughput_rps * 2, 0);
      }
      expect(out).toMatch(/conc\s+req\/s\s+items\/s\s+p50 ms/);
    });
  }

  it('REST with metrics: the server-side split (queue, compute, codec) and batch sizes, counted as the server counted', async () => {
    const { result } = await perf(['--url', rest, '--model', 'mlp', '--concurrency', '4', ...QUICK]);
    const l = result.levels[0]!;
    expect(result.target.metrics_url).toBe(`${rest}/monitoring/prometheus/metrics`);
    expect(l.server).not.toBeNull();
    const s = l.server!;
    for (const v of [s.queue_us, s.compute_us, s.codec_us, s.request_us]) expect(v).toBeGreaterThanOrEqual(0);
    expect(s.request_us!).toBeGreaterThanOrEqual(s.compute_us!);
    // the server counted the requests of the measured windows (plus those around their edges)
    expect(s.requests).toBeGreaterThanOrEqual(l.requests * 0.9);
    expect(s.batch_size_histogram!.counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(s.mean_batch_size!).toBeGreaterThanOrEqual(1);
  });

  it('in-process: the SavedModel loaded in the worker, no server', async () => {
    const { result } = await perf(['--in-process', join(mlpBasePath(), '1'), '--concurrency', '2', ...QUICK]);
    expect(result.target.protocol).toBe('in-process');
    expect(result.levels).toHaveLength(1);
    expectLevel(result.levels[0]!);
    expect(result.levels[0]!.server).toBeNull();
  });

  it('CSV and HTML: the same levels; the HTML is one self-contained page with the three charts', async () => {
    const csv = join(dir, 'r.csv');
    const html = join(dir, 'r.html');
    const { result } = await perf(['--url', rest, '--model', 'mlp', '--concurrency', '1:4:x2', '--csv', csv, '--html', html, ...QUICK]);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^concurrency,request_rate,achieved_rate_rps,throughput_rps,/);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual([1, 2, 4]);
    expect(lines.slice(1).map((l) => Number(l.split(',')[3]))).toEqual(result.levels.map((l) => l.throughput_rps));
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).not.toMatch(/<script|src=|href=/); // nothing fetched, nothing run
    expect(page).toContain('Latency vs throughput');
    expect((page.match(/<figcaption>Latency histogram, concurrency/g) ?? []).length).toBe(4); // overview (peak level) + one per level
    expect((page.match(/<figcaption>Server batch sizes, concurrency/g) ?? []).length).toBe(4);
    expect((page.match(/<svg /g) ?? []).length).toBe(9);
  });
});

describe('usage and target errors', () => {
  it('refuses bad flags with a message naming the flag', () => {
    const bad: [string[], RegExp][] = [
      [['--concurrency', '0'], /--concurrency '0': values must be > 0/],
      [['--concurrency', '8:2'], /the end is below the start/],
      [['--concurrency', '1:8:x1'], /a factor must be > 1/],
      [['--concurrency', '4', '--request-rate', '100'], /not both/],
      [['--protocol', 'kserve-grpc', '--url', 'http://h:1'], /needs a grpc:\/\/host:port --url/],
      [['--protocol', 'soap'], /--protocol must be one of/],
      [['--batch-size', '0'], /--batch-size must be >= 1/],
      [['--in-process', '/m', '--protocol', 'kserve-rest'], /cannot be combined/],
      [['--concurency', '4'], /unknown flag --concurency/],
    ];
    for (const [args, message] of bad) {
      expect(() => parsePerfArgs(args), args.join(' ')).toThrow(PerfUsageError);
      expect(() => parsePerfArgs(args), args.join(' ')).toThrow(message);
    }
    expect(parsePerfArgs(['--concurrency', '1:64:x2']).levels).toEqual({ kind: 'concurrency', values: [1, 2, 4, 8, 16, 32, 64] });
    expect(parsePerfArgs(['--request-rate', '100:300:+100']).levels).toEqual({ kind: 'request-rate', values: [100, 200, 300] });
    expect(parsePerfArgs(['--url', 'grpc://h:9']).protocol).toBe('tfserving-grpc');
  });

  it('exit 1 naming the model when the target does not know it; exit 2 for a usage mistake', async () => {
    let err = '';
    const io = { out: () => {}, err: (t: string) => (err += t), tty: false };
    expect(await perfMain(['--url', rest, '--model', 'nope', ...QUICK], io)).toBe(1);
    expect(err).toMatch(/jetserve perf: GET .*\/v1\/models\/nope\/metadata answered 404/);
    err = '';
    expect(await perfMain(['--url', grpc, '--model', 'nope', '--protocol', 'kserve-grpc', ...QUICK], io)).toBe(1);
    expect(err).toMatch(/ModelMetadata .*nope/);
    expect(await perfMain(['--concurrency', 'x'], io)).toBe(2);
  });
});
