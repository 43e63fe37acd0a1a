// Gauges: values that go up and down. `Gauge` holds children that code sets; `CollectedGauge`
// asks a callback for its samples at scrape time (state that already lives elsewhere, e.g. the
// model manager's version states, or counters another module keeps), so nothing is kept in sync
// on the serving path. A collected metric may also be typed as a counter.

import { ExpositionWriter, type Collectable } from './exposition.js';
import { checkLabelNames, checkMetricName, LabelTree, renderLabels, type LabelledChild } from './labels.js';
import type { MetricOptions } from './counter.js';

export class GaugeChild implements LabelledChild {
  value = 0;
  constructor(
    readonly labelValues: readonly string[],
    readonly labelText: string,
  ) {}

  set(v: number): void {
    this.value = v;
  }

  inc(n = 1): void {
    this.value += n;
  }

  dec(n = 1): void {
    this.value -= n;
  }
}

export class Gauge implements Collectable {
  readonly name: string;
  readonly help: string;
  private readonly tree: LabelTree<GaugeChild>;

  constructor(options: MetricOptions) {
    checkMetricName(options.name);
    checkLabelNames(options.name, options.labelNames ?? []);
    this.name = options.name;
    this.help = options.help;
    this.tree = new LabelTree(options.name, options.labelNames ?? [], (v, t) => new GaugeChild(v, t));
  }

  labels(...values: string[]): GaugeChild {
    return this.tree.get(values);
  }

  write(out: ExpositionWriter): void {
    out.family(this.name, 'gauge', this.help);
    for (const c of this.tree.children()) out.sample(this.name, c.labelText, c.value);
  }
}

/** Called at scrape time: `emit(labelValues, value)` once per sample. */
export type GaugeCollector = (emit: (labelValues: readonly string[], value: number) => void) => void;

export class CollectedGauge implements Collectable {
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];

  constructor(
    options: MetricOptions,
    private readonly collect: GaugeCollector,
    /** 'counter' for a monotonic value kept elsewhere. */
    private readonly type: 'gauge' | 'counter' = 'gauge',
  ) {
    checkMetricName(options.name);
    checkLabelNames(options.name, options.labelNames ?? []);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
  }

  write(out: ExpositionWriter): void {
    out.family(this.name, this.type, this.help);
    this.collect((values, value) => {
      if (values.length !== this.labelNames.length) {
        throw new Error(`metric ${this.name} takes ${this.labelNames.length} label value(s), got ${values.length}`);
      }
      out.sample(this.name, renderLabels(this.labelNames, values), value);
    });
  }
}
