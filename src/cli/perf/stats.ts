// Latency statistics of merged windows: percentiles over every sample (exact, nearest-rank),
// and log-spaced histograms for the report's charts.

export interface LatencySummary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
}

export function concatSamples(parts: readonly Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Nearest-rank percentile of sorted values (p in 0-100). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Summary of latencies (µs); sorts `samples` in place. */
export function summarize(samples: Float64Array): LatencySummary {
  samples.sort();
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : 0);
  return {
    p50: round(percentile(samples, 50)),
    p90: round(percentile(samples, 90)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    max: round(samples.length ? samples[samples.length - 1]! : NaN),
    min: round(samples.length ? samples[0]! : NaN),
    mean: round(samples.length ? sum / samples.length : NaN),
  };
}

export interface Histogram {
  /** Upper bounds of the bins (the first bin starts at `from`). */
  le: number[];
  counts: number[];
  from: number;
}

/** Histogram of sorted latencies over `bins` log-spaced bins between the min and max. */
export function latencyHistogram(sorted: Float64Array, bins = 40): Histogram {
  if (sorted.length === 0) return { le: [], counts: [], from: 0 };
  const lo = Math.max(1, sorted[0]!);
  const hi = Math.max(lo * 1.0001, sorted[sorted.length - 1]!);
  const step = Math.log(hi / lo) / bins;
  const le = Array.from({ length: bins }, (_, i) => lo * Math.exp(step * (i + 1)));
  le[bins - 1] = hi;
  const counts = new Array<number>(bins).fill(0);
  let b = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    while (b < bins - 1 && v > le[b]!) b++;
    counts[b]!++;
  }
  return { le: le.map((v) => Math.round(v * 10) / 10), counts, from: Math.round(lo * 10) / 10 };
}

/** True when every value is within `percent` % of their mean (perf_analyzer's stability rule). */
export function withinPercent(values: readonly number[], percent: number): boolean {
  if (values.length === 0) return false;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean === 0) return values.every((v) => v === 0);
  return values.every((v) => Math.abs(v - mean) / mean <= percent / 100);
}
