// Terminal table and CSV of a perf result: one row per load level.

import { adaptiveText, type LevelResult, type PerfResult } from './result.js';

function ms(us: number): string {
  return us >= 100_000 ? (us / 1000).toFixed(0) : us >= 10_000 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2);
}

function errorsText(l: LevelResult): string {
  const entries = Object.entries(l.errors);
  return entries.length === 0 ? '0' : entries.map(([k, v]) => `${v} ${k}`).join(', ');
}

export function formatTable(result: PerfResult): string {
  const open = result.mode === 'request-rate';
  const hasServer = result.levels.some((l) => l.server);
  const hasAdaptive = result.levels.some((l) => l.server?.adaptive);
  const header = [
    open ? 'rate/s' : 'conc',
    ...(open ? ['sent/s'] : []),
    'req/s',
    ...(result.target.batch_size > 1 ? ['items/s'] : []),
    'p50 ms',
    'p90 ms',
    'p95 ms',
    'p99 ms',
    'max ms',
    'errors',
    ...(hasServer ? ['srv queue ms', 'srv compute ms', 'srv codec ms', 'batch'] : []),
    ...(hasAdaptive ? ['adaptive batching'] : []),
    'stable',
  ];
  const rows = result.levels.map((l) => [
    String(open ? l.request_rate : l.concurrency),
    ...(open ? [String(l.achieved_rate_rps)] : []),
    l.throughput_rps.toFixed(1),
    ...(result.target.batch_size > 1 ? [l.throughput_items_per_s.toFixed(1)] : []),
    ms(l.latency_us.p50),
    ms(l.latency_us.p90),
    ms(l.latency_us.p95),
    ms(l.latency_us.p99),
    ms(l.latency_us.max),
    errorsText(l),
    ...(hasServer
      ? [
          l.server?.queue_us != null ? ms(l.server.queue_us) : '-',
          l.server?.compute_us != null ? ms(l.server.compute_us) : '-',
          l.server?.codec_us != null ? ms(l.server.codec_us) : '-',
          l.server?.mean_batch_size != null ? l.server.mean_batch_size.toFixed(1) : '-',
        ]
      : []),
    ...(hasAdaptive ? [adaptiveText(l) ?? '-'] : []),
    `${l.stable ? 'yes' : 'no'}${l.generator.saturated ? ' (client saturated)' : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const CSV_COLUMNS = [
  'concurrency',
  'request_rate',
  'achieved_rate_rps',
  'throughput_rps',
  'throughput_items_per_s',
  'requests',
  'p50_us',
  'p90_us',
  'p95_us',
  'p99_us',
  'max_us',
  'mean_us',
  'error_count',
  'errors',
  'stable',
  'generator_saturated',
  'server_queue_us',
  'server_compute_us',
  'server_codec_us',
  'server_mean_batch_size',
  'server_adaptive_max_batch_size',
  'server_adaptive_batch_timeout_us',
] as const;

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(result: PerfResult): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const l of result.levels) {
    const row: Record<(typeof CSV_COLUMNS)[number], unknown> = {
      concurrency: l.concurrency,
      request_rate: l.request_rate,
      achieved_rate_rps: l.achieved_rate_rps,
      throughput_rps: l.throughput_rps,
      throughput_items_per_s: l.throughput_items_per_s,
      requests: l.requests,
      p50_us: l.latency_us.p50,
      p90_us: l.latency_us.p90,
      p95_us: l.latency_us.p95,
      p99_us: l.latency_us.p99,
      max_us: l.latency_us.max,
      mean_us: l.latency_us.mean,
      error_count: l.error_count,
      errors: Object.entries(l.errors)
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
      stable: l.stable,
      generator_saturated: l.generator.saturated,
      server_queue_us: l.server?.queue_us,
      server_compute_us: l.server?.compute_us,
      server_codec_us: l.server?.codec_us,
      server_mean_batch_size: l.server?.mean_batch_size,
      server_adaptive_max_batch_size: l.server?.adaptive?.max_batch_size,
      server_adaptive_batch_timeout_us: l.server?.adaptive?.batch_timeout_us,
    };
    lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  }
  return `${lines.join('\n')}\n`;
}
