// Metrics without ceremony (issue 13 item 4): --enable_metrics / --metrics_path serve the same
// Prometheus page as TF Serving's --monitoring_config_file — the same family names either way —
// and the page carries process, event-loop, GC and heap metrics, per-model memory and in-flight
// gauges. The page is parsed by the official Python client's parser (prometheus_client), and the
// values are checked against what this process knows (its pid's RSS order, a forced GC, the model
// that is in flight while a batch waits).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureVenv } from '../../scripts/python-env.mjs';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { parseFlags } from '../../src/cli/index.js';

const PARSE = `
import sys, json, math
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({'name': f.name, 'type': f.type,
                'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

interface Family {
  name: string;
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

let python: string;
let dir: string;

beforeAll(async () => {
  python = await ensureVenv();
  dir = mkdtempSync(join(tmpdir(), 'jetserve-metrics-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function scrape(url: string): Promise<Family[]> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await r.text();
  const parsed = spawnSync(python, ['-c', PARSE], { input: text, encoding: 'utf8', timeout: 60_000 });
  if (parsed.status !== 0) throw new Error(`prometheus_client rejected the page: ${parsed.stderr}`);
  return JSON.parse(parsed.stdout) as Family[];
}

function sample(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

describe('--enable_metrics', () => {
  let server: JetserveServer;
  let base: string;

  beforeAll(async () => {
    server = await startServer({ enableMetrics: true, restApiPort: 0, port: false, log: false });
    base = `http://127.0.0.1:${server.http!.port}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  it("serves TF Serving's metrics at the default path without a monitoring config file", async () => {
    for (let i = 0; i < 3; i++) await fetch(`${base}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
    await fetch(`${base}/v1/models/nope:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
    const families = await scrape(`${base}/monitoring/prometheus/metrics`);
    expect(sample(families, ':tensorflow:serving:request_count_total', { model_name: 'half_plus_two', status: 'OK' })).toBe(3);
    expect(sample(families, ':tensorflow:serving:request_count_total', { model_name: 'nope', status: 'NOT_FOUND' })).toBe(1);
    expect(sample(families, ':tensorflow:serving:request_latency_count', { model_name: 'half_plus_two', API: 'predict', entrypoint: 'REST' })).toBe(3);
    expect(sample(families, ':tensorflow:cc:saved_model:load_attempt_count_total', { status: 'success' })).toBe(1);
  });

  it('process, event-loop, GC and heap metrics, under the names Node exporters use', async () => {
    // a forced collection is observed before the scrape
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 50));
    const families = await scrape(`${base}/monitoring/prometheus/metrics`);
    const rss = sample(families, 'process_resident_memory_bytes')!;
    expect(rss).toBeGreaterThan(50 * 1024 * 1024);
    expect(Math.abs(rss - process.memoryUsage.rss()) / rss).toBeLessThan(0.5);
    expect(sample(families, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(families, 'process_start_time_seconds')).toBeCloseTo(Date.now() / 1000 - process.uptime(), -1);
    expect(sample(families, 'process_open_fds')).toBeGreaterThan(3);
    expect(sample(families, 'process_max_fds')).toBeGreaterThan(0);
    expect(sample(families, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(sample(families, 'nodejs_heap_space_size_used_bytes', { space: 'old' })).toBeGreaterThan(0);
    const lag = sample(families, 'nodejs_eventloop_lag_seconds')!;
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThan(5);
    expect(sample(families, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(sample(families, 'nodejs_eventloop_lag_p50_seconds')!);
    expect(sample(families, 'nodejs_gc_duration_seconds_count', { kind: 'major' })).toBeGreaterThanOrEqual(1);
    expect(families.find((f) => f.name === 'nodejs_gc_duration_seconds')?.type).toBe('histogram');
    expect(sample(families, 'nodejs_version_info', { version: process.version })).toBe(1);
  });

  it('per-model memory and in-flight gauges, and the memory budget', async () => {
    const families = await scrape(`${base}/monitoring/prometheus/metrics`);
    const memory = sample(families, ':jetserve:model_memory_bytes', { model_name: 'half_plus_two', version: '1' })!;
    expect(memory).toBeGreaterThan(0);
    expect(sample(families, ':jetserve:model_memory_used_bytes')).toBe(memory);
    expect(sample(families, ':jetserve:model_memory_budget_bytes')).toBe(0);
    expect(sample(families, ':jetserve:model_inflight_requests', { model_name: 'half_plus_two' })).toBe(0);
    // queue depth: the batcher's gauges are on the page too
    expect(sample(families, ':jetserve:batching:queued_requests')).toBe(0);
  });
});

describe('the same page either way', () => {
  it('--metrics_path moves it; --monitoring_config_file gives the same families; REST off is refused', async () => {
    const config = join(dir, 'monitoring.conf');
    writeFileSync(config, 'prometheus_config { enable: true }\n');
    const a = await startServer({ enableMetrics: true, metricsPath: '/metrics', restApiPort: 0, port: false, log: false, maxInflightRequestsPerModel: 3, modelMemoryBudgetMb: 4096 });
    try {
      const b = await startServer({ monitoringConfigFile: config, restApiPort: 0, port: false, log: false });
      try {
        const viaFlag = await scrape(`http://127.0.0.1:${a.http!.port}/metrics`);
        expect((await fetch(`http://127.0.0.1:${a.http!.port}/monitoring/prometheus/metrics`)).status).toBe(404);
        const viaFile = await scrape(`http://127.0.0.1:${b.http!.port}/monitoring/prometheus/metrics`);
        expect(viaFlag.map((f) => f.name).sort()).toEqual(viaFile.map((f) => f.name).sort());
        expect(sample(viaFlag, ':jetserve:model_memory_budget_bytes')).toBe(4096 * 1024 * 1024);
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
    expect(() => parseFlags(['--enable_metrics', '--rest_api_port=0'])).toThrow(/--enable_metrics serves on the REST port, but --rest_api_port=0 disables REST/);
    expect(() => parseFlags(['--enable_metrics', '--metrics_path=metrics'])).toThrow(/--metrics_path 'metrics' must be a URL path starting with '\/'/);
  });
});
