// Small SVG chart primitives for the HTML report (no scripts, no external resources): a line /
// scatter chart with linear axes and a bar chart over labelled bins.

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number; label?: string }[];
}

const W = 560;
const H = 300;
const M = { left: 64, right: 16, top: 16, bottom: 44 };

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Round tick values covering [0, max]. */
function ticks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max * 1.0001 + step * 0.999; v += step) {
    out.push(Number(v.toPrecision(12)));
    if (v >= max) break;
  }
  return out;
}

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return Number(v.toPrecision(4)).toString();
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const all = series.flatMap((s) => s.points);
  const xt = ticks(Math.max(0, ...all.map((p) => p.x)));
  const yt = ticks(Math.max(0, ...all.map((p) => p.y)));
  const xMax = xt[xt.length - 1]!;
  const yMax = yt[yt.length - 1]!;
  const px = (x: number) => M.left + (x / xMax) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const parts: string[] = [];
  for (const t of yt) parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}" class="grid"/><text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  for (const t of xt) parts.push(`<text x="${px(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" class="axis"/><line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" class="axis"/>`);
  parts.push(`<text x="${(W + M.left) / 2}" y="${H - 6}" text-anchor="middle" class="label">${esc(xLabel)}</text>`);
  parts.push(`<text x="14" y="${(H - M.bottom + M.top) / 2}" text-anchor="middle" class="label" transform="rotate(-90 14 ${(H - M.bottom + M.top) / 2})">${esc(yLabel)}</text>`);
  series.forEach((s, k) => {
    // in the order given (load levels): a curve that turns back shows throughput falling with load
    const pts = s.points;
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}${p.label ? ` @ ${p.label}` : ''}: ${fmt(p.x)} ${xLabel}, ${fmt(p.y)} ${yLabel}`)}</title></circle>`);
    parts.push(`<rect x="${M.left + 10 + k * 90}" y="${M.top}" width="10" height="10" fill="${s.color}"/><text x="${M.left + 24 + k * 90}" y="${M.top + 9}">${esc(s.name)}</text>`);
  });
  return svg(title, parts, series.reduce((n, s) => n + s.points.length, 0));
}

export function barChart(title: string, xLabel: string, bins: { label: string; value: number }[], color = '#3b7dd8'): string {
  const yt = ticks(Math.max(0, ...bins.map((b) => b.value)));
  const yMax = yt[yt.length - 1]!;
  const plotW = W - M.left - M.right;
  const bw = plotW / Math.max(1, bins.length);
  const py = (y: number) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const parts: string[] = [];
  for (const t of yt) parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(t)}" y2="${py(t)}" class="grid"/><text x="${M.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  const labelEvery = Math.max(1, Math.ceil(bins.length / 8));
  bins.forEach((b, i) => {
    const x = M.left + i * bw;
    parts.push(`<rect x="${(x + 1).toFixed(1)}" y="${py(b.value).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${(H - M.bottom - py(b.value)).toFixed(1)}" fill="${color}"><title>${esc(`${b.label}: ${b.value}`)}</title></rect>`);
    if (i % labelEvery === 0) parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(b.label)}</text>`);
  });
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" class="axis"/>`);
  parts.push(`<text x="${(W + M.left) / 2}" y="${H - 6}" text-anchor="middle" class="label">${esc(xLabel)}</text>`);
  return svg(title, parts, bins.length);
}

function svg(title: string, parts: string[], points: number): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" data-points="${points}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg></figure>`;
}
