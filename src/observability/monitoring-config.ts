// TF Serving's --monitoring_config_file: a MonitoringConfig in protobuf text format,
//
//   prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }
//
// read with the same text-format parser as --model_config_file (src/models/config.ts), so a typo
// is reported as file:line:col with the field name.

import { readFileSync } from 'node:fs';
import { ConfigError, parseTextProto, type TextSchema } from '../models/config.js';
import { invalidArgument } from '../errors.js';

/** TF Serving's PrometheusExporter::kPrometheusPath. */
export const DEFAULT_PROMETHEUS_PATH = '/monitoring/prometheus/metrics';

export interface MonitoringConfig {
  prometheus: {
    enable: boolean;
    /** URL path of the scrape endpoint on the REST port. */
    path: string;
  };
}

// tensorflow_serving/config/monitoring_config.proto
const MONITORING_SCHEMA: TextSchema = {
  MonitoringConfig: { prometheus_config: { kind: { message: 'PrometheusConfig' } } },
  PrometheusConfig: { enable: { kind: 'bool' }, path: { kind: 'string' } },
};

/** Parses MonitoringConfig text. An empty or absent path means DEFAULT_PROMETHEUS_PATH. */
export function parseMonitoringConfig(text: string, file = '<monitoring config>'): MonitoringConfig {
  const root = parseTextProto(text, file, MONITORING_SCHEMA, 'MonitoringConfig');
  const prometheus = (root.prometheus_config ?? {}) as { enable?: boolean; path?: string };
  const path = prometheus.path || DEFAULT_PROMETHEUS_PATH;
  if (!path.startsWith('/') || /[\s?#]/.test(path)) {
    throw new ConfigError(`${file}: prometheus_config.path '${path}' must be a URL path starting with '/' (no spaces, '?' or '#')`);
  }
  return { prometheus: { enable: prometheus.enable ?? false, path } };
}

export function readMonitoringConfigFile(file: string): MonitoringConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read monitoring config file ${file}: ${(err as Error).message}`);
  }
  return parseMonitoringConfig(text, file);
}
