// Label sets of a metric family: the label names, one child per distinct tuple of label values,
// and each child's label text rendered once for the exposition. `labels(...values)` walks a tree
// of Maps (one level per label), so finding an existing child builds no key string; callers on a
// hot path keep the child they got and never look it up again.

/** Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved). */
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Metric names: [a-zA-Z_:][a-zA-Z0-9_:]* (TF Serving's start with ':'). */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Escapes a label value for the text format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** `a="x",b="y"` (no braces); '' without labels. */
export function renderLabels(names: readonly string[], values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ',';
    out += `${names[i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return out;
}

export function checkMetricName(name: string): void {
  if (!METRIC_NAME_RE.test(name)) throw new Error(`invalid metric name '${name}': must match ${METRIC_NAME_RE.source}`);
}

export function checkLabelNames(metric: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (!LABEL_NAME_RE.test(n) || n.startsWith('__')) throw new Error(`metric ${metric}: invalid label name '${n}'`);
    if (n === 'le' || n === 'quantile') throw new Error(`metric ${metric}: label name '${n}' is reserved`);
    if (seen.has(n)) throw new Error(`metric ${metric}: label '${n}' is listed twice`);
    seen.add(n);
  }
}

/** What every child of a family carries: its label values and their rendered text. */
export interface LabelledChild {
  readonly labelValues: readonly string[];
  /** `a="x",b="y"` */
  readonly labelText: string;
}

/**
 * The children of one family. The tree has one Map level per label; leaves are children, so a
 * lookup of an existing label set allocates nothing.
 */
export class LabelTree<C extends LabelledChild> {
  private readonly root = new Map<string, unknown>();
  private readonly list: C[] = [];

  constructor(
    private readonly metric: string,
    readonly labelNames: readonly string[],
    private readonly make: (labelValues: readonly string[], labelText: string) => C,
  ) {}

  get(values: readonly string[]): C {
    const names = this.labelNames;
    if (values.length !== names.length) {
      throw new Error(`metric ${this.metric} takes ${names.length} label value(s) (${names.join(', ')}), got ${values.length}`);
    }
    if (names.length === 0) {
      let only = this.root.get('') as C | undefined;
      if (!only) {
        only = this.make([], '');
        this.root.set('', only);
        this.list.push(only);
      }
      return only;
    }
    let level: Map<string, unknown> = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const v = values[i]!;
      let next = level.get(v) as Map<string, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(v, next);
      }
      level = next;
    }
    const last = values[names.length - 1]!;
    let child = level.get(last) as C | undefined;
    if (!child) {
      const copy = values.map(String);
      child = this.make(copy, renderLabels(names, copy));
      level.set(last, child);
      this.list.push(child);
    }
    return child;
  }

  /** Every child, in creation order. */
  children(): readonly C[] {
    return this.list;
  }
}
