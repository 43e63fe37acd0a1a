// A histogram family: per label set, counts of observations per bucket (upper bounds, plus +Inf),
// their sum and their count; exposed as NAME_bucket{…,le="…"} (cumulative), NAME_sum, NAME_count.
// An observation is a binary search over the bounds and three additions: no allocation.

import { ExpositionWriter, formatValue, type Collectable } from './exposition.js';
import { checkLabelNames, checkMetricName, LabelTree, renderLabels, type LabelledChild } from './labels.js';
import type { MetricOptions } from './counter.js';

/**
 * `count` bounds: scale, scale·growth, scale·growth², … — TF's Buckets::Exponential (TF Serving's
 * latency histograms use (10, 1.8, 33): 10 µs to ~24 minutes). Each bound is rounded to 6
 * significant digits, so the bucket compares against exactly the number its `le` label shows.
 */
export function exponentialBuckets(scale: number, growth: number, count: number): number[] {
  if (!(scale > 0) || !(growth > 1) || !Number.isInteger(count) || count < 1) {
    throw new Error(`exponential buckets need scale > 0, growth > 1 and count >= 1 (got ${scale}, ${growth}, ${count})`);
  }
  const out: number[] = [];
  let bound = scale;
  for (let i = 0; i < count; i++) {
    out.push(Number(bound.toPrecision(6)));
    bound *= growth;
  }
  return out;
}

export class HistogramChild implements LabelledChild {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last one is (bounds[n-1], +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labelValues: readonly string[],
    readonly labelText: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const bounds = this.bounds;
    // first bound >= v (le is inclusive)
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]! >= v) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]!++;
    this.sum += v;
    this.count++;
  }
}

export interface HistogramOptions extends MetricOptions {
  /** Strictly increasing finite upper bounds (+Inf is implied). */
  buckets: readonly number[];
}

export class Histogram implements Collectable {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  private readonly tree: LabelTree<HistogramChild>;
  /** `le` label text per bucket, rendered once. */
  private readonly leText: string[];

  constructor(options: HistogramOptions) {
    checkMetricName(options.name);
    checkLabelNames(options.name, options.labelNames ?? []);
    const b = options.buckets;
    for (let i = 0; i < b.length; i++) {
      if (!Number.isFinite(b[i]!) || (i > 0 && !(b[i]! > b[i - 1]!))) {
        throw new Error(`histogram ${options.name}: buckets must be finite and strictly increasing`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.buckets = Object.freeze([...b]);
    this.leText = [...this.buckets.map((x) => `le="${formatValue(x)}"`), 'le="+Inf"'];
    this.tree = new LabelTree(options.name, options.labelNames ?? [], (v, t) => new HistogramChild(v, t, this.buckets));
  }

  labels(...values: string[]): HistogramChild {
    return this.tree.get(values);
  }

  children(): readonly HistogramChild[] {
    return this.tree.children();
  }

  write(out: ExpositionWriter): void {
    const name = this.name;
    out.family(name, 'histogram', this.help);
    const bucketName = `${name}_bucket`;
    for (const c of this.tree.children()) {
      const prefix = c.labelText ? `${c.labelText},` : '';
      let cumulative = 0;
      for (let i = 0; i < c.counts.length; i++) {
        cumulative += c.counts[i]!;
        out.sample(bucketName, prefix + this.leText[i]!, cumulative);
      }
      out.sample(`${name}_sum`, c.labelText, c.sum);
      out.sample(`${name}_count`, c.labelText, c.count);
    }
  }
}

/**
 * Called at scrape time: `emit(labelValues, counts, sum)` once per label set, where counts[i] is
 * the number of observations in bucket i (not cumulative; one more entry than there are bounds,
 * the last for +Inf).
 */
export type HistogramCollector = (emit: (labelValues: readonly string[], counts: ArrayLike<number>, sum: number) => void) => void;

/** A histogram kept elsewhere (e.g. the batcher's batch sizes), exposed in the same shape. */
export class CollectedHistogram implements Collectable {
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  private readonly leText: string[];

  constructor(
    options: HistogramOptions,
    private readonly collect: HistogramCollector,
  ) {
    checkMetricName(options.name);
    checkLabelNames(options.name, options.labelNames ?? []);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    this.leText = [...options.buckets.map((x) => `le="${formatValue(x)}"`), 'le="+Inf"'];
  }

  write(out: ExpositionWriter): void {
    const name = this.name;
    out.family(name, 'histogram', this.help);
    this.collect((values, counts, sum) => {
      if (counts.length !== this.leText.length) {
        throw new Error(`histogram ${name}: ${counts.length} bucket counts for ${this.leText.length} buckets`);
      }
      const labelText = renderLabels(this.labelNames, values);
      const prefix = labelText ? `${labelText},` : '';
      let cumulative = 0;
      for (let i = 0; i < counts.length; i++) {
        cumulative += counts[i]!;
        out.sample(`${name}_bucket`, prefix + this.leText[i]!, cumulative);
      }
      out.sample(`${name}_sum`, labelText, sum);
      out.sample(`${name}_count`, labelText, cumulative);
    });
  }
}
