// The result of a `jetserve perf` run, as --json writes it: the target, the settings, and one entry
// per load level with throughput_rps, latency_us {p50, p90, p95, p99, max, …}, errors by code,
// the load generator's own state and, for a jetserve target with metrics, the server-side split.

import type { LevelRun } from '../load/coordinator.js';
import type { ModelInfo } from '../model-info.js';
import type { PerfOptions } from '../options.js';
import type { ServerSplit } from '../server-metrics.js';
import { concatSamples, latencyHistogram, summarize, type Histogram, type LatencySummary } from '../stats.js';

export const RESULT_SCHEMA_VERSION = 1;

export interface LevelResult {
  concurrency?: number;
  request_rate?: number;
  /** Successful requests per second over the measured windows. */
  throughput_rps: number;
  /** throughput_rps × rows per request. */
  throughput_items_per_s: number;
  /** Successful requests in the measured windows. */
  requests: number;
  latency_us: LatencySummary;
  /** Failed requests by code ("HTTP 503", "UNAVAILABLE", "timeout", "connection", …). */
  errors: Record<string, number>;
  error_count: number;
  /** The first message seen for each error code. */
  error_messages: Record<string, string>;
  /** Open loop: requests sent per second (intended), to compare with request_rate. */
  achieved_rate_rps?: number;
  stable: boolean;
  /** Windows measured; the result is made of the last three. */
  windows: number;
  window_throughput_rps: number[];
  generator: { workers: number; max_event_loop_utilization: number; late_send_share?: number; saturated: boolean };
  server: ServerSplit | null;
  latency_histogram: Histogram;
}

export interface PerfResult {
  schema: number;
  tool: 'jetserve perf';
  date: string;
  target: {
    url: string;
    protocol: string;
    model: string;
    signature: string;
    model_version: number | null;
    batch_size: number;
    inputs: Record<string, { dtype: string; shape: number[] | null }>;
    input_data: string | null;
    metrics_url: string | null;
  };
  mode: 'concurrency' | 'request-rate';
  settings: { window_s: number; warmup_s: number; stability_percentage: number; max_windows: number; timeout_ms: number; request_distribution?: string };
  levels: LevelResult[];
  warnings: string[];
}

export function levelResult(level: number, opts: PerfOptions, run: LevelRun, server: ServerSplit | null): LevelResult {
  const measured = run.measured;
  const seconds = measured.reduce((a, w) => a + w.seconds, 0) || 1;
  const samples = concatSamples(measured.map((w) => w.samples));
  const latency = summarize(samples);
  const errors: Record<string, number> = {};
  const messages: Record<string, string> = {};
  let ok = 0;
  let due = 0;
  let late = 0;
  for (const w of measured) {
    ok += w.ok;
    due += w.due;
    late += w.late;
    for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(w.messages)) messages[k] ??= v;
  }
  const throughput = Math.round((ok / seconds) * 10) / 10;
  const open = opts.levels.kind === 'request-rate';
  return {
    ...(open ? { request_rate: level } : { concurrency: level }),
    throughput_rps: throughput,
    throughput_items_per_s: Math.round(throughput * opts.batchSize * 10) / 10,
    requests: ok,
    latency_us: latency,
    errors,
    error_count: Object.values(errors).reduce((a, b) => a + b, 0),
    error_messages: messages,
    ...(open ? { achieved_rate_rps: Math.round((due / seconds) * 10) / 10 } : {}),
    stable: run.stable,
    windows: run.windows.length,
    window_throughput_rps: run.windows.map((w) => Math.round(w.throughput * 10) / 10),
    generator: {
      workers: run.workers,
      max_event_loop_utilization: Math.round(Math.max(0, ...measured.map((w) => w.maxElu)) * 1000) / 1000,
      ...(open ? { late_send_share: due > 0 ? Math.round((late / due) * 1000) / 1000 : 0 } : {}),
      saturated: run.saturated,
    },
    server,
    latency_histogram: latencyHistogram(samples),
  };
}

export function newResult(opts: PerfOptions, info: ModelInfo, metricsUrl: string | undefined): PerfResult {
  return {
    schema: RESULT_SCHEMA_VERSION,
    tool: 'jetserve perf',
    date: new Date().toISOString(),
    target: {
      url: opts.protocol === 'in-process' ? `in-process:${opts.inProcess}` : opts.url,
      protocol: opts.protocol,
      model: info.name,
      signature: info.signature,
      model_version: opts.modelVersion || null,
      batch_size: opts.batchSize,
      inputs: Object.fromEntries(Object.entries(info.inputs).map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape }])),
      input_data: opts.inputData ?? null,
      metrics_url: metricsUrl ?? null,
    },
    mode: opts.levels.kind,
    settings: {
      window_s: opts.duration,
      warmup_s: opts.warmup,
      stability_percentage: opts.stabilityPercent,
      max_windows: opts.maxWindows,
      timeout_ms: opts.timeoutMs,
      ...(opts.levels.kind === 'request-rate' ? { request_distribution: opts.distribution } : {}),
    },
    levels: [],
    warnings: [],
  };
}

/** The level's load as a label: "concurrency 8" or "16 req/s". */
export function levelLabel(l: LevelResult): string {
  return l.request_rate !== undefined ? `${l.request_rate} req/s` : `concurrency ${l.concurrency}`;
}

/** The server's adaptive batching setting at the end of a level, for tables ("cap 24, timeout 0.35 ms"). */
export function adaptiveText(l: LevelResult): string | undefined {
  const a = l.server?.adaptive;
  if (!a) return undefined;
  return `cap ${a.max_batch_size}, timeout ${(a.batch_timeout_us / 1000).toFixed(2)} ms`;
}
