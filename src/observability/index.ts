// Monitoring: a small Prometheus registry (counters, gauges, histograms with labels; the text
// exposition format) and the TF Serving metric set jetserve fills (ServingMetrics), enabled by
// --monitoring_config_file.
export { Registry } from './registry.js';
export { Counter, CounterChild, type MetricOptions } from './counter.js';
export { Gauge, GaugeChild, CollectedGauge, type GaugeCollector } from './gauge.js';
export { Histogram, HistogramChild, CollectedHistogram, exponentialBuckets, type HistogramOptions, type HistogramCollector } from './histogram.js';
export { PROMETHEUS_CONTENT_TYPE, ExpositionWriter, formatValue, type Collectable, type MetricType } from './exposition.js';
export {
  ServingMetrics,
  RequestRecorder,
  LATENCY_BUCKETS_MICROS,
  MAX_MODEL_NAMES,
  OTHER_MODEL_NAME,
  type Entrypoint,
  type MonitoredModelSource,
} from './serving-metrics.js';
export {
  DEFAULT_PROMETHEUS_PATH,
  parseMonitoringConfig,
  readMonitoringConfigFile,
  type MonitoringConfig,
} from './monitoring-config.js';
