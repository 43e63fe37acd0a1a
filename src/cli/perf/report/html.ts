// The --html report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
// with the target, a latency-vs-throughput curve, a latency histogram and a server batch-size
// histogram per load level, the results table and the warnings.

import { barChart, esc, lineChart } from './svg.js';
import { adaptiveText, levelLabel, type LevelResult, type PerfResult } from './result.js';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}.sub{color:#5a6272}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:right;white-space:nowrap}
th{background:#f3f5f9}td:first-child,th:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #e3e6ec;border-radius:6px;padding:8px;flex:1 1 380px;max-width:600px}
figure svg{width:100%;height:auto;display:block}
figcaption{font-weight:600;margin-bottom:4px}svg text{font-size:11px;fill:#444}svg .label{font-size:12px;fill:#222}
svg .grid{stroke:#eceef3}svg .axis{stroke:#888}.warn{color:#9a4a00}code{background:#f3f5f9;padding:1px 4px;border-radius:3px}`;

const ms = (us: number) => (us / 1000).toFixed(us >= 10_000 ? 1 : 2);

function curve(result: PerfResult): string {
  const pts = (key: 'p50' | 'p90' | 'p99') => result.levels.map((l) => ({ x: l.throughput_rps, y: l.latency_us[key] / 1000, label: levelLabel(l) }));
  return lineChart('Latency vs throughput', 'requests/s', 'latency ms', [
    { name: 'p50', color: '#3b7dd8', points: pts('p50') },
    { name: 'p90', color: '#e0a100', points: pts('p90') },
    { name: 'p99', color: '#d64545', points: pts('p99') },
  ]);
}

function latencyHistogram(l: LevelResult): string {
  const h = l.latency_histogram;
  const bins = h.counts.map((c, i) => ({ label: ms(h.le[i]!), value: c }));
  return barChart(`Latency histogram, ${levelLabel(l)} (${l.requests} requests)`, 'latency ms (upper bound of bin, log-spaced)', bins);
}

function batchHistogram(l: LevelResult): string {
  const h = l.server?.batch_size_histogram;
  if (!h) return '';
  let last = h.counts.length - 1;
  while (last > 0 && h.counts[last] === 0) last--;
  const bins = h.counts.slice(0, last + 1).map((c, i) => ({ label: h.le[i] === Infinity ? `>${h.le[i - 1]}` : `≤${h.le[i]}`, value: c }));
  return barChart(`Server batch sizes, ${levelLabel(l)} (mean ${l.server?.mean_batch_size ?? '-'})`, 'rows per batch', bins, '#2f9e6e');
}

function table(result: PerfResult): string {
  const hasServer = result.levels.some((l) => l.server);
  const hasAdaptive = result.levels.some((l) => l.server?.adaptive);
  const head = [
    ...['load', 'req/s', 'items/s', 'p50 ms', 'p90 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors'],
    ...(hasServer ? ['server queue ms', 'compute ms', 'codec ms', 'mean batch'] : []),
    ...(hasAdaptive ? ['adaptive batching'] : []),
    'stable',
  ];
  const rows = result.levels.map((l) => [
    levelLabel(l),
    l.throughput_rps.toFixed(1),
    l.throughput_items_per_s.toFixed(1),
    ms(l.latency_us.p50),
    ms(l.latency_us.p90),
    ms(l.latency_us.p95),
    ms(l.latency_us.p99),
    ms(l.latency_us.max),
    Object.entries(l.errors).map(([k, v]) => `${v} ${k}`).join(', ') || '0',
    ...(hasServer ? [l.server?.queue_us, l.server?.compute_us, l.server?.codec_us].map((v) => (v == null ? '-' : ms(v))).concat([String(l.server?.mean_batch_size ?? '-')]) : []),
    ...(hasAdaptive ? [adaptiveText(l) ?? '-'] : []),
    l.stable ? 'yes' : 'no',
  ]);
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function renderHtml(result: PerfResult): string {
  const t = result.target;
  const inputs = Object.entries(t.inputs).map(([k, v]) => `${k}: ${v.dtype} [${v.shape?.join(',') ?? '?'}]`).join('; ');
  const batches = result.levels.map(batchHistogram).filter(Boolean);
  // the overview shows the histograms of the level with the highest throughput
  const peak = result.levels.reduce<LevelResult | undefined>((a, l) => (!a || l.throughput_rps > a.throughput_rps ? l : a), undefined);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jetserve perf: ${esc(t.model)}</title><style>${STYLE}</style></head>
<body>
<h1>jetserve perf — ${esc(t.model)}</h1>
<div class="sub">${esc(t.protocol)} · <code>${esc(t.url)}</code> · signature ${esc(t.signature)} · batch size ${t.batch_size} · ${esc(inputs)}<br>
${result.mode === 'concurrency' ? 'closed loop (concurrency)' : `open loop (${esc(result.settings.request_distribution ?? 'constant')} request rate; latency from intended send times)`} ·
${result.settings.warmup_s} s warm-up, ${result.settings.window_s} s windows, stable within ${result.settings.stability_percentage} % · ${esc(result.date)}</div>
<h2>Results</h2>
${table(result)}
${result.warnings.length ? `<h2>Warnings</h2><ul>${result.warnings.map((w) => `<li class="warn">${esc(w)}</li>`).join('')}</ul>` : ''}
<h2>Charts</h2>
<div class="charts">${curve(result)}${peak ? latencyHistogram(peak) + batchHistogram(peak) : ''}</div>
<h2>Latency histograms by level</h2>
<div class="charts">${result.levels.map(latencyHistogram).join('')}</div>
<h2>Server batch sizes by level</h2>
${batches.length ? `<div class="charts">${batches.join('')}</div>` : '<p class="sub">No server metrics: the target serves no jetserve metrics page (start jetserve with --enable_metrics, or pass --metrics-url).</p>'}
</body></html>
`;
}
