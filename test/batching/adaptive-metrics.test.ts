// Adaptive batching's choices on the Prometheus page: a server started with
// --batching_target_p99_ms exposes, per AVAILABLE version and signature it has batched, the cap and
// timeout the controller has settled on, its target and the p99 it last judged by — the same values
// the version's batcher holds, within the static limits. Without a target there are none.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { fixturesDir, loadOracle } from '../helpers/oracle.js';
import { perf } from '../perf/helpers.js';

let server: JetserveServer | undefined;
let dir: string;
let parametersFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jetserve-adaptive-metrics-'));
  parametersFile = join(dir, 'batching.txt');
  // the static limits the controller must stay within
  writeFileSync(parametersFile, 'max_batch_size { value: 24 }\nbatch_timeout_micros { value: 3000 }\nnum_batch_threads { value: 2 }\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const serve = (extra: Record<string, unknown>) =>
  startServer({
    modelName: 'mlp',
    modelBasePath: join(fixturesDir(), 'mlp'),
    restApiPort: 0,
    port: false,
    host: '127.0.0.1',
    enableMetrics: true,
    enableBatching: true,
    batchingParametersFile: parametersFile,
    log: false,
    ...extra,
  });

const ADAPTIVE = /^:jetserve:batching:adaptive_(\w+)\{(.*)\} (\S+)$/gm;

async function scrape(s: JetserveServer): Promise<Map<string, { labels: string; value: number }>> {
  const text = await (await fetch(`http://127.0.0.1:${s.http!.port}/monitoring/prometheus/metrics`)).text();
  return new Map([...text.matchAll(ADAPTIVE)].map((m) => [m[1]!, { labels: m[2]!, value: Number(m[3]) }]));
}

/** 600 predicts, 32 at a time, each checked against TF's answer. */
async function load(s: JetserveServer): Promise<void> {
  const oracle = loadOracle('mlp');
  const one = oracle.cases[0]!;
  const body = JSON.stringify({ instances: [Array.from(one.inputs.x!.data as Float32Array)] });
  const expected = Array.from(one.outputs.y!.data as Float32Array);
  const url = `http://127.0.0.1:${s.http!.port}/v1/models/mlp:predict`;
  for (let round = 0; round < 600 / 32; round++) {
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        const r = await fetch(url, { method: 'POST', body });
        expect(r.status).toBe(200);
        const got = ((await r.json()) as { predictions: number[][] }).predictions[0]!;
        got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
      }),
    );
  }
}

describe(':jetserve:batching:adaptive_* gauges', () => {
  it('show what the controller settled on, per version and signature, within the static limits', async () => {
    server = await serve({ batchingTargetP99Ms: 50 });
    // nothing batched yet: no series
    expect((await scrape(server)).size).toBe(0);
    await load(server);
    const gauges = await scrape(server);
    const state = server.manager.resolve({ name: 'mlp' }).adaptiveState!()['serving_default']!;
    const labels = 'model_name="mlp",version="1",signature="serving_default"';
    expect(gauges.get('target_p99_microseconds')).toEqual({ labels, value: 50_000 });
    expect(gauges.get('max_batch_size')).toEqual({ labels, value: state.maxBatchSize });
    expect(gauges.get('batch_timeout_microseconds')).toEqual({ labels, value: state.batchTimeoutMicros });
    // the file's num_batch_threads (2), at most the executor's threads (one per core)
    expect(gauges.get('max_concurrent_batches')).toEqual({ labels, value: Math.min(2, availableParallelism()) });
    // 600 requests made decisions (each needs 100 latencies): the last window's p99 is there
    expect(state.lastP99Micros).not.toBeNull();
    expect(gauges.get('observed_p99_microseconds')).toEqual({ labels, value: state.lastP99Micros });
    // within the static parameters of the file
    expect(state.maxBatchSize).toBeGreaterThanOrEqual(1);
    expect(state.maxBatchSize).toBeLessThanOrEqual(24);
    expect(state.batchTimeoutMicros).toBeGreaterThanOrEqual(0);
    expect(state.batchTimeoutMicros).toBeLessThanOrEqual(3000);
  }, 60_000);

  it('jetserve perf reports the setting the level ended with (JSON, table, CSV)', async () => {
    server = await serve({ batchingTargetP99Ms: 50 });
    const base = `http://127.0.0.1:${server.http!.port}`;
    const csv = join(dir, 'adaptive.csv');
    const { result, out } = await perf(['--url', base, '--model', 'mlp', '--concurrency', '16', '--duration', '0.5', '--warmup', '0.3', '--max-windows', '2', '--csv', csv, '--quiet']);
    const state = server.manager.resolve({ name: 'mlp' }).adaptiveState!()['serving_default']!;
    const level = result.levels[0]!;
    expect(level.error_count).toBe(0);
    expect(level.server!.adaptive).toEqual({
      max_batch_size: state.maxBatchSize,
      batch_timeout_us: state.batchTimeoutMicros,
      target_p99_us: 50_000,
      observed_p99_us: Math.round(state.lastP99Micros! * 10) / 10,
    });
    expect(out).toContain(`cap ${state.maxBatchSize}, timeout ${(state.batchTimeoutMicros / 1000).toFixed(2)} ms`);
    const [header, row] = readFileSync(csv, 'utf8').trim().split('\n');
    const cells = Object.fromEntries(header!.split(',').map((h, i) => [h, row!.split(',')[i]]));
    expect(Number(cells.server_adaptive_max_batch_size)).toBe(state.maxBatchSize);
    expect(Number(cells.server_adaptive_batch_timeout_us)).toBe(state.batchTimeoutMicros);
  }, 60_000);

  it('are absent without a p99 target', async () => {
    server = await serve({});
    await load(server);
    expect((await scrape(server)).size).toBe(0);
    const { result } = await perf(['--url', `http://127.0.0.1:${server.http!.port}`, '--model', 'mlp', '--concurrency', '4', '--duration', '0.3', '--warmup', '0.2', '--max-windows', '1', '--quiet']);
    expect(result.levels[0]!.server!.adaptive).toBeNull();
    expect(server.manager.resolve({ name: 'mlp' }).adaptiveState!()).toEqual({});
  }, 60_000);
});
