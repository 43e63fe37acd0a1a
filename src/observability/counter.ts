// A counter family: monotonically increasing values, one per label set.

import { ExpositionWriter, type Collectable } from './exposition.js';
import { checkLabelNames, checkMetricName, LabelTree, type LabelledChild } from './labels.js';

export class CounterChild implements LabelledChild {
  value = 0;
  constructor(
    readonly labelValues: readonly string[],
    readonly labelText: string,
  ) {}

  inc(n = 1): void {
    if (!(n >= 0)) throw new Error(`a counter only goes up (got ${n})`);
    this.value += n;
  }
}

export interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

export class Counter implements Collectable {
  readonly name: string;
  readonly help: string;
  private readonly tree: LabelTree<CounterChild>;

  constructor(options: MetricOptions) {
    checkMetricName(options.name);
    checkLabelNames(options.name, options.labelNames ?? []);
    this.name = options.name;
    this.help = options.help;
    this.tree = new LabelTree(options.name, options.labelNames ?? [], (v, t) => new CounterChild(v, t));
  }

  /** The child for these label values (created on first use, then the same object). */
  labels(...values: string[]): CounterChild {
    return this.tree.get(values);
  }

  children(): readonly CounterChild[] {
    return this.tree.children();
  }

  write(out: ExpositionWriter): void {
    out.family(this.name, 'counter', this.help);
    for (const c of this.tree.children()) out.sample(this.name, c.labelText, c.value);
  }
}
