// A set of metric families with unique names, exposed together as one Prometheus text page.
//
// Why not prom-client: `npm run bench:metrics` (bench/metrics.ts) measures both on the same
// families and series in one process, alternating rounds. On a shared 2-core machine, 2 runs of 5
// rounds: recording one request (request_count +1 and a 33-bucket latency observation on label
// children kept from the first request) cost prom-client a median 9.9× and 10.1× this registry's
// time (rounds 6.6–13.0×: prom-client's children hash their label values on every call), and
// rendering a 750 KB page (20 models × 8 APIs of latency histograms) 3.0× and 4.3× (2.9–6.4×).
// Both costs sit on the serving path or the event loop, so the hand-written registry stays; the
// runtime metrics (runtime-metrics.ts) use prom-client's default metric names instead.

import { Counter, type MetricOptions } from './counter.js';
import { ExpositionWriter, type Collectable } from './exposition.js';
import { CollectedGauge, Gauge, type GaugeCollector } from './gauge.js';
import { CollectedHistogram, Histogram, type HistogramCollector, type HistogramOptions } from './histogram.js';

export class Registry {
  private readonly metrics = new Map<string, Collectable>();

  /** Adds a metric; names are unique within a registry. */
  register<M extends Collectable>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is already registered`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter(options: MetricOptions): Counter {
    return this.register(new Counter(options));
  }

  gauge(options: MetricOptions): Gauge {
    return this.register(new Gauge(options));
  }

  /** A gauge whose samples `collect` produces at scrape time. */
  collectedGauge(options: MetricOptions, collect: GaugeCollector): CollectedGauge {
    return this.register(new CollectedGauge(options, collect));
  }

  /** A counter whose samples `collect` produces at scrape time (a count kept by another module). */
  collectedCounter(options: MetricOptions, collect: GaugeCollector): CollectedGauge {
    return this.register(new CollectedGauge(options, collect, 'counter'));
  }

  histogram(options: HistogramOptions): Histogram {
    return this.register(new Histogram(options));
  }

  /** A histogram whose buckets `collect` produces at scrape time. */
  collectedHistogram(options: HistogramOptions, collect: HistogramCollector): CollectedHistogram {
    return this.register(new CollectedHistogram(options, collect));
  }

  get(name: string): Collectable | undefined {
    return this.metrics.get(name);
  }

  /** The text exposition (format 0.0.4) of every metric, in registration order. */
  expose(): string {
    const out = new ExpositionWriter();
    for (const m of this.metrics.values()) m.write(out);
    return out.text();
  }
}
