// The Prometheus text exposition format, version 0.0.4: per family `# HELP` and `# TYPE` lines,
// then one line per sample (`name{labels} value`). Values are written the way Prometheus reads
// them (+Inf, -Inf, NaN; integers without a decimal point).

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A number as the text format writes it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** HELP text escaping: backslash and newline. */
function escapeHelp(text: string): string {
  return /[\\\n]/.test(text) ? text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : text;
}

/** Accumulates one exposition page. */
export class ExpositionWriter {
  private readonly parts: string[] = [];

  family(name: string, type: MetricType, help: string): void {
    this.parts.push(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
  }

  /** One sample; `labelText` is `a="x",b="y"` (already escaped) or ''. */
  sample(name: string, labelText: string, value: number): void {
    this.parts.push(labelText ? `${name}{${labelText}} ${formatValue(value)}\n` : `${name} ${formatValue(value)}\n`);
  }

  text(): string {
    return this.parts.join('');
  }
}

/** Anything the registry can expose. */
export interface Collectable {
  readonly name: string;
  write(out: ExpositionWriter): void;
}
