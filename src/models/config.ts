// The model list: TF Serving's ModelServerConfig (`--model_config_file`) in its protobuf text
// format, or the same content as JSON / YAML (chosen by file extension: .json, .yaml / .yml), or as
// protobufjs decodes it from a gRPC ReloadConfigRequest. Every form becomes `ModelConfig[]`.
// Mistakes are reported with the file, line and column (text format) or the field path (all forms).
// A text-format ModelServerConfig mistake reads as TF Serving's does: protobuf's
// "Error parsing text-format tensorflow.serving.ModelServerConfig: <line>:<col>: …" (jetserve's
// detail after it), then "Invalid protobuf file: '<file>'"; the checks after parsing use TF
// Serving's ServerCore messages ("Illegal to list model …", "Expected model … absolute path …").
//
// TF Serving's logging_config (request logging) is read too: log_collector_config { type: "file"
// filename_prefix: "/logs/m" } sampling_config { sampling_rate: 0.01 } (request-logger.ts).
//
// jetserve extensions (JSON / YAML / text format alike, inside a `config`):
//   traffic_split { key: "1" value: 90 } …  weighted split of unversioned requests between versions
//   shadow { version: 3 percent: 10 }         mirrors that share of requests to a candidate version

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { invalidArgument, JetserveError } from '../errors.js';
import { nameProblem, unsafeName } from './names.js';

/** FileSystemStoragePathSourceConfig.ServableVersionPolicy. Default: latest { num_versions: 1 }. */
export type VersionPolicy =
  | { kind: 'latest'; numVersions: number }
  | { kind: 'all' }
  | { kind: 'specific'; versions: number[] };

/** One model to serve (TF Serving's ModelConfig plus jetserve's traffic extensions). */
export interface ModelConfig {
  name: string;
  /** Directory holding integer version sub-directories. Relative paths resolve against the cwd. */
  basePath: string;
  /** "tensorflow" (the only platform served); cannot change across reloads. */
  modelPlatform?: string;
  versionPolicy?: VersionPolicy;
  /** label → version (TF Serving's version_labels). */
  versionLabels?: Record<string, number>;
  /** version → weight: unversioned requests are split between these versions (AVAILABLE ones). */
  trafficSplit?: Record<number, number>;
  /** Mirror `percent` % of unversioned requests to `version`; results only feed diff metrics. */
  shadow?: { version: number; percent: number };
  /** TF Serving's request logging: PredictionLog records of a sampled share of requests. */
  loggingConfig?: LoggingConfig;
}

/** ModelConfig.logging_config as jetserve serves it (log collector type "file"). */
export interface LoggingConfig {
  /** log_collector_config.filename_prefix: files are <prefix>-<pid>-<n>.tfrecord. */
  filenamePrefix: string;
  /** sampling_config.sampling_rate: share of requests logged, 0 to 1 (unset: 0, nothing). */
  samplingRate: number;
}

/** The log collector type jetserve implements (TF Serving's open-source build registers none). */
export const FILE_LOG_COLLECTOR = 'file';

export class ConfigError extends JetserveError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

// ------------------------------------------------------------------------------------------------
// Text format: a small protobuf text-format reader driven by a schema (ModelServerConfig here;
// parseTextProto takes others, e.g. the MonitoringConfig in src/observability).

export type FieldKind = 'string' | 'int' | 'float' | 'bool' | 'enum' | { message: string };
export interface FieldSpec {
  kind: FieldKind;
  repeated?: boolean;
  /** map<K,V>: repeated entries `{ key: … value: … }` collected into an object. */
  map?: { key: FieldKind; value: FieldKind };
}

/** Message type name → field name → field. Drives parseTextProto. */
export type TextSchema = Record<string, Record<string, FieldSpec>>;

const SCHEMA: TextSchema = {
  ModelServerConfig: {
    model_config_list: { kind: { message: 'ModelConfigList' } },
    custom_model_config: { kind: { message: 'Any' } },
  },
  ModelConfigList: { config: { kind: { message: 'ModelConfig' }, repeated: true } },
  ModelConfig: {
    name: { kind: 'string' },
    base_path: { kind: 'string' },
    model_type: { kind: 'enum' },
    model_platform: { kind: 'string' },
    model_version_policy: { kind: { message: 'ServableVersionPolicy' } },
    version_labels: { kind: 'int', map: { key: 'string', value: 'int' } },
    logging_config: { kind: { message: 'LoggingConfig' } },
    traffic_split: { kind: 'int', map: { key: 'int', value: 'float' } },
    shadow: { kind: { message: 'Shadow' } },
  },
  ServableVersionPolicy: {
    latest: { kind: { message: 'Latest' } },
    all: { kind: { message: 'All' } },
    specific: { kind: { message: 'Specific' } },
  },
  Latest: { num_versions: { kind: 'int' } },
  All: {},
  Specific: { versions: { kind: 'int', repeated: true } },
  Shadow: { version: { kind: 'int' }, percent: { kind: 'float' } },
  LoggingConfig: {
    log_collector_config: { kind: { message: 'LogCollectorConfig' } },
    sampling_config: { kind: { message: 'SamplingConfig' } },
    custom_logging_config: { kind: { message: 'Any' } },
  },
  LogCollectorConfig: { type: { kind: 'string' }, filename_prefix: { kind: 'string' } },
  SamplingConfig: {
    sampling_rate: { kind: 'float' },
    attributes: { kind: 'int' },
    per_task_sampling_configs: { kind: { message: 'PerTaskSamplingConfig' }, repeated: true },
  },
  PerTaskSamplingConfig: { dc: { kind: 'string' }, task_index: { kind: 'int' }, sampling_rate: { kind: 'float' } },
};

interface Token {
  type: 'ident' | 'string' | 'number' | 'punct';
  text: string;
  value: string;
  line: number;
  col: number;
}

/** Formats a text-format mistake at line:col (1-based) into the ConfigError message. */
type TextError = (line: number, col: number, message: string) => string;

function tokenize(src: string, error: TextError): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (msg: string): never => {
    throw new ConfigError(error(line, i - lineStart + 1, msg));
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
      lineStart = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const col = i - lineStart + 1;
    if ('{}<>:;,[]'.includes(c)) {
      tokens.push({ type: 'punct', text: c, value: c, line, col });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\n') fail('unterminated string');
        if (src[j] === '\\') {
          const e = src[j + 1];
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : (e ?? '');
          j += 2;
        } else {
          value += src[j];
          j++;
        }
      }
      if (j >= src.length) fail('unterminated string');
      tokens.push({ type: 'string', text: src.slice(i, j + 1), value, line, col });
      i = j + 1;
      continue;
    }
    const m = /^[-+]?(?:\d[\w.+-]*|\.\d[\w.+-]*|inf\b|nan\b)|^[A-Za-z_][\w.]*/.exec(src.slice(i, i + 200));
    if (!m) fail(`unexpected character '${c}'`);
    const text = m![0];
    tokens.push({ type: /^[A-Za-z_]/.test(text) && !/^(inf|nan)$/.test(text) ? 'ident' : 'number', text, value: text, line, col });
    i += text.length;
  }
  return tokens;
}

/** Parses TF Serving's text-format ModelServerConfig into a plain object (snake_case fields). */
export function parseTextConfig(src: string, file = '<config>'): Record<string, unknown> {
  return parseTextProto(src, file, SCHEMA, 'ModelServerConfig', 'tensorflow.serving.ModelServerConfig');
}

/**
 * Parses a protobuf text-format message of type `root` described by `schema` (other TF Serving
 * config files: MonitoringConfig, …) into a plain object with snake_case fields. Mistakes, unknown
 * fields included, throw a ConfigError naming file:line:col and the field; with `protoName` (the
 * message's full name) in TF Serving's words instead: "Error parsing text-format <protoName>:
 * line:col: …; Invalid protobuf file: '<file>'".
 */
export function parseTextProto(
  src: string,
  file: string,
  schema: TextSchema,
  root: string,
  protoName?: string,
): Record<string, unknown> {
  if (!schema[root]) throw new Error(`parseTextProto: no message type '${root}' in the schema`);
  const error: TextError = protoName
    ? (line, col, msg) => `Error parsing text-format ${protoName}: ${line}:${col}: ${msg}; Invalid protobuf file: '${file}'`
    : (line, col, msg) => `${file}:${line}:${col}: ${msg}`;
  const tokens = tokenize(src, error);
  let pos = 0;
  const fail = (t: Token | undefined, msg: string): never => {
    if (t) throw new ConfigError(error(t.line, t.col, msg));
    // protobuf reports the end of input at its line and column
    const lines = src.split('\n');
    throw new ConfigError(protoName ? error(lines.length, lines.at(-1)!.length + 1, msg) : `${file}: at end of file: ${msg}`);
  };
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];

  function scalar(kind: FieldKind, field: string): unknown {
    const t = next();
    if (!t) return fail(t, `field '${field}' has no value`);
    if (kind === 'string') {
      if (t.type !== 'string') fail(t, `field '${field}' takes a quoted string, not ${t.text}`);
      let value = t.value;
      while (peek()?.type === 'string') value += next()!.value; // adjacent strings concatenate
      return value;
    }
    if (kind === 'int') {
      if (t.type !== 'number' || !/^[-+]?\d+$/.test(t.text)) fail(t, `field '${field}' takes an integer, not ${t.text}`);
      const n = Number(t.text);
      if (!Number.isSafeInteger(n)) fail(t, `field '${field}': ${t.text} is out of range`);
      return n;
    }
    if (kind === 'float') {
      const n = Number(t.text);
      if (t.type !== 'number' || Number.isNaN(n)) fail(t, `field '${field}' takes a number, not ${t.text}`);
      return n;
    }
    if (kind === 'bool') {
      if (!/^(true|false|1|0|t|f|True|False)$/.test(t.text)) fail(t, `field '${field}' takes true or false, not ${t.text}`);
      return /^(true|1|t|True)$/.test(t.text);
    }
    if (t.type !== 'ident' && t.type !== 'number') fail(t, `field '${field}' takes an enum value, not ${t.text}`);
    return t.value;
  }

  function skipValue(): void {
    // For google.protobuf.Any and other messages jetserve does not interpret.
    const t = next();
    if (t?.type === 'punct' && (t.text === '{' || t.text === '<' || t.text === '[')) {
      let depth = 1;
      while (depth > 0) {
        const u = next();
        if (!u) fail(u, `unclosed '${t.text}' opened at line ${t.line}`);
        if (u!.type === 'punct' && '{<['.includes(u!.text)) depth++;
        if (u!.type === 'punct' && '}>]'.includes(u!.text)) depth--;
      }
    }
  }

  function message(type: string, close: string | undefined, open?: Token): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    Object.defineProperty(out, LINE, { value: open ? open.line : 1, enumerable: false });
    const fields = schema[type]!;
    for (;;) {
      const t = peek();
      if (!t) {
        if (close) fail(t, `missing '${close}' to close ${type} opened at line ${open!.line}`);
        return out;
      }
      if (t.type === 'punct' && (t.text === ';' || t.text === ',')) {
        pos++;
        continue;
      }
      if (close && t.type === 'punct' && t.text === close) {
        pos++;
        return out;
      }
      if (t.type !== 'ident') fail(t, `expected a field name in ${type}, found ${t.text}`);
      pos++;
      const name = t.text;
      const spec = fields[name];
      if (!spec) {
        fail(t, `unknown field '${name}' in ${type} (known: ${Object.keys(fields).join(', ') || 'none'})`);
      }
      const isMessage = typeof spec!.kind === 'object' || spec!.map !== undefined;
      if (peek()?.type === 'punct' && peek()!.text === ':') pos++;
      else if (!isMessage) fail(peek(), `expected ':' after field '${name}'`);
      if (spec!.kind === 'enum' || (typeof spec!.kind === 'object' && spec!.kind.message === 'Any')) {
        if (typeof spec!.kind === 'object') {
          skipValue();
          if (name === 'custom_model_config') fail(t, 'custom_model_config is not supported (use model_config_list)');
          continue;
        }
      }
      const readOne = (): unknown => {
        if (spec!.map) {
          const o = next();
          if (!o || o.type !== 'punct' || (o.text !== '{' && o.text !== '<')) fail(o, `field '${name}' takes { key: … value: … }`);
          const entry: Record<string, unknown> = {};
          const end = o!.text === '{' ? '}' : '>';
          for (;;) {
            const k = next();
            if (!k) fail(k, `missing '${end}' for '${name}' opened at line ${o!.line}`);
            if (k!.type === 'punct' && k!.text === end) break;
            if (k!.type === 'punct' && (k!.text === ';' || k!.text === ',')) continue;
            if (k!.type !== 'ident' || (k!.text !== 'key' && k!.text !== 'value')) {
              fail(k, `a '${name}' entry has only 'key' and 'value', not ${k!.text}`);
            }
            if (peek()?.text === ':') pos++;
            entry[k!.text] = scalar(k!.text === 'key' ? spec!.map!.key : spec!.map!.value, `${name}.${k!.text}`);
          }
          if (entry.key === undefined || entry.value === undefined) fail(o, `a '${name}' entry needs both key and value`);
          return entry;
        }
        if (typeof spec!.kind === 'object') {
          const o = next();
          if (!o || o.type !== 'punct' || (o.text !== '{' && o.text !== '<')) fail(o, `field '${name}' is a message: expected '{'`);
          return message(spec!.kind.message, o!.text === '{' ? '}' : '>', o);
        }
        return scalar(spec!.kind, name);
      };
      const values: unknown[] = [];
      if (peek()?.type === 'punct' && peek()!.text === '[' && (spec!.repeated || spec!.map)) {
        pos++;
        for (;;) {
          if (peek()?.text === ']') {
            pos++;
            break;
          }
          values.push(readOne());
          if (peek()?.text === ',') pos++;
        }
      } else {
        values.push(readOne());
      }
      if (spec!.map) {
        const obj = (out[name] ??= {}) as Record<string, unknown>;
        for (const e of values as { key: unknown; value: unknown }[]) obj[String(e.key)] = e.value;
      } else if (spec!.repeated) {
        ((out[name] ??= []) as unknown[]).push(...values);
      } else {
        if (name in out) fail(t, `field '${name}' is set twice in ${type}`);
        out[name] = values[0];
        if (type === 'ServableVersionPolicy' && Object.keys(out).length > 1) {
          fail(t, `model_version_policy sets more than one of latest / all / specific`);
        }
      }
    }
  }

  return message(root, undefined);
}

const LINE = Symbol('line');

// ------------------------------------------------------------------------------------------------
// Object form (text format output, JSON, YAML, protobufjs) → ModelConfig[]

function field(obj: Record<string, unknown>, snake: string): unknown {
  if (snake in obj) return obj[snake];
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return obj[camel];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toInt(v: unknown, path: string): number {
  const n = typeof v === 'string' && /^[-+]?\d+$/.test(v.trim()) ? Number(v) : typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number };
    return l.high * 2 ** 32 + (l.low >>> 0);
  }
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${path} must be an integer, not ${JSON.stringify(v)}`);
  return n;
}

/** Validates a ModelServerConfig object (snake_case or lowerCamelCase fields) into ModelConfig[]. */
export function modelConfigsFromObject(root: unknown, source = 'config'): ModelConfig[] {
  if (!isObject(root)) throw new ConfigError(`${source}: expected a ModelServerConfig object`);
  if (field(root, 'custom_model_config') !== undefined && field(root, 'custom_model_config') !== null) {
    throw new ConfigError(`${source}: custom_model_config is not supported (use model_config_list)`);
  }
  for (const k of Object.keys(root)) {
    if (!['model_config_list', 'modelConfigList', 'custom_model_config', 'customModelConfig', 'config'].includes(k)) {
      throw new ConfigError(`${source}: unknown field '${k}' in ModelServerConfig (expected model_config_list)`);
    }
  }
  const list = field(root, 'model_config_list');
  if (list === undefined || list === null) return [];
  if (!isObject(list)) throw new ConfigError(`${source}: model_config_list must be an object with a 'config' list`);
  let configs = list.config ?? [];
  if (isObject(configs)) configs = [configs];
  if (!Array.isArray(configs)) throw new ConfigError(`${source}: model_config_list.config must be a list`);
  const seen = new Map<string, number>();
  return configs.map((c: unknown, i) => {
    const line = isObject(c) && (c as Record<symbol, unknown>)[LINE] !== undefined ? ` (line ${String((c as Record<symbol, unknown>)[LINE])})` : '';
    const path = `${source}: model_config_list.config[${i}]${line}`;
    if (!isObject(c)) throw new ConfigError(`${path} must be an object`);
    const known = new Set(['name', 'base_path', 'model_type', 'model_platform', 'model_version_policy', 'version_labels', 'logging_config', 'traffic_split', 'shadow']);
    for (const k of Object.keys(c)) {
      const snake = k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
      if (!known.has(snake)) throw new ConfigError(`${path}: unknown field '${k}' in ModelConfig (known: ${[...known].join(', ')})`);
    }
    const name = field(c, 'name');
    if (typeof name !== 'string' || !name) throw new ConfigError(`${path}.name must be a non-empty string`);
    const nameError = unsafeName(name, `${path}.name`);
    if (nameError) throw new ConfigError(nameError.message);
    const p = `${source}: model ${name}${line}`;
    if (seen.has(name)) {
      throw new ConfigError(`Illegal to list model ${name} multiple times in config list (${source}: config[${seen.get(name)}] and config[${i}])`);
    }
    seen.set(name, i);
    const basePath = field(c, 'base_path');
    if (typeof basePath !== 'string' || !basePath) throw new ConfigError(`${p}: base_path must be a non-empty string`);
    const platform = field(c, 'model_platform');
    if (platform !== undefined && platform !== '' && platform !== 'tensorflow') {
      throw new ConfigError(`${p}: model_platform '${String(platform)}' is not supported (only 'tensorflow')`);
    }
    const out: ModelConfig = { name, basePath, modelPlatform: 'tensorflow' };
    const policy = field(c, 'model_version_policy');
    if (policy !== undefined && policy !== null) {
      if (!isObject(policy)) throw new ConfigError(`${p}: model_version_policy must be an object`);
      const kinds = Object.keys(policy).filter((k) => policy[k] !== undefined && policy[k] !== null && k !== 'policy_choice' && k !== 'policyChoice');
      if (kinds.length !== 1 || !['latest', 'all', 'specific'].includes(kinds[0]!)) {
        throw new ConfigError(`${p}: model_version_policy must set exactly one of latest / all / specific (found: ${kinds.join(', ') || 'none'})`);
      }
      const body = policy[kinds[0]!];
      if (!isObject(body)) throw new ConfigError(`${p}: model_version_policy.${kinds[0]} must be an object`);
      if (kinds[0] === 'latest') {
        const n = field(body, 'num_versions');
        // unset (or 0, proto3's default) means 1, as in TF Serving
        const num = n === undefined || n === null ? 1 : toInt(n, `${p}: model_version_policy.latest.num_versions`) || 1;
        if (num < 1) throw new ConfigError(`${p}: model_version_policy.latest.num_versions must be at least 1`);
        out.versionPolicy = { kind: 'latest', numVersions: num };
      } else if (kinds[0] === 'all') {
        out.versionPolicy = { kind: 'all' };
      } else {
        const vs = body.versions;
        const arr = Array.isArray(vs) ? vs : vs === undefined ? [] : [vs];
        const versions = arr.map((v, j) => toInt(v, `${p}: model_version_policy.specific.versions[${j}]`));
        if (versions.length === 0) throw new ConfigError(`${p}: model_version_policy.specific.versions must list at least one version`);
        out.versionPolicy = { kind: 'specific', versions };
      }
    }
    const labels = field(c, 'version_labels');
    if (labels !== undefined && labels !== null) {
      if (!isObject(labels)) throw new ConfigError(`${p}: version_labels must map label → version`);
      out.versionLabels = {};
      for (const [k, v] of Object.entries(labels)) {
        if (!k) throw new ConfigError(`${p}: version_labels has an empty label`);
        const labelError = unsafeName(k, `${p}: version label`);
        if (labelError) throw new ConfigError(labelError.message);
        out.versionLabels[k] = toInt(v, `${p}: version_labels.${k}`);
      }
    }
    const split = field(c, 'traffic_split');
    if (split !== undefined && split !== null) {
      if (!isObject(split)) throw new ConfigError(`${p}: traffic_split must map version → weight`);
      out.trafficSplit = {};
      for (const [k, v] of Object.entries(split)) {
        const version = toInt(k, `${p}: traffic_split key`);
        const w = Number(v);
        if (!(w >= 0) || !Number.isFinite(w)) throw new ConfigError(`${p}: traffic_split.${k} must be a weight >= 0`);
        out.trafficSplit[version] = w;
      }
      if (!Object.values(out.trafficSplit).some((w) => w > 0)) throw new ConfigError(`${p}: traffic_split needs a positive weight`);
    }
    const shadow = field(c, 'shadow');
    if (shadow !== undefined && shadow !== null) {
      if (!isObject(shadow)) throw new ConfigError(`${p}: shadow must be { version, percent }`);
      const version = toInt(shadow.version, `${p}: shadow.version`);
      const percent = Number(shadow.percent ?? 100);
      if (!(percent >= 0 && percent <= 100)) throw new ConfigError(`${p}: shadow.percent must be between 0 and 100`);
      out.shadow = { version, percent };
    }
    const logging = field(c, 'logging_config');
    if (logging !== undefined && logging !== null) out.loggingConfig = loggingConfigOf(logging, p);
    return out;
  });
}

/** logging_config, checked: a "file" collector with a prefix, a rate in [0, 1]. */
function loggingConfigOf(logging: unknown, p: string): LoggingConfig {
  if (!isObject(logging)) throw new ConfigError(`${p}: logging_config must be { log_collector_config, sampling_config }`);
  const custom = field(logging, 'custom_logging_config');
  if (custom !== undefined && custom !== null) throw new ConfigError(`${p}: logging_config.custom_logging_config is not supported`);
  const collector = field(logging, 'log_collector_config');
  if (!isObject(collector)) throw new ConfigError(`${p}: logging_config.log_collector_config is required ({ type: "${FILE_LOG_COLLECTOR}" filename_prefix: "/path/prefix" })`);
  const type = field(collector, 'type') ?? '';
  if (type !== FILE_LOG_COLLECTOR) {
    throw new ConfigError(
      `${p}: logging_config.log_collector_config.type '${String(type)}' is not supported: jetserve's collector is "${FILE_LOG_COLLECTOR}" (PredictionLog records in TFRecord files)`,
    );
  }
  const prefix = field(collector, 'filename_prefix');
  if (typeof prefix !== 'string' || prefix === '') {
    throw new ConfigError(`${p}: logging_config.log_collector_config.filename_prefix must be a non-empty path prefix`);
  }
  if (prefix.includes('\0')) throw new ConfigError(`${p}: logging_config.log_collector_config.filename_prefix contains a NUL byte`);
  const sampling = field(logging, 'sampling_config');
  let samplingRate = 0;
  if (sampling !== undefined && sampling !== null) {
    if (!isObject(sampling)) throw new ConfigError(`${p}: logging_config.sampling_config must be { sampling_rate }`);
    const perTask = field(sampling, 'per_task_sampling_configs');
    if (Array.isArray(perTask) ? perTask.length > 0 : perTask !== undefined && perTask !== null) {
      throw new ConfigError(`${p}: logging_config.sampling_config.per_task_sampling_configs is not supported (jetserve has no data-center / task identity)`);
    }
    const rate = field(sampling, 'sampling_rate');
    samplingRate = rate === undefined || rate === null ? 0 : Number(rate);
    if (!(samplingRate >= 0 && samplingRate <= 1)) {
      throw new ConfigError(`${p}: logging_config.sampling_config.sampling_rate must be between 0 and 1, not ${String(rate)}`);
    }
  }
  return { filenamePrefix: resolve(prefix), samplingRate };
}

/** Parses config text in the format its file name implies (.json, .yaml/.yml, else text format). */
export function parseModelConfig(text: string, file: string): ModelConfig[] {
  const ext = extname(file).toLowerCase();
  let obj: unknown;
  if (ext === '.json') {
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${file}: invalid JSON: ${(err as Error).message}`);
    }
  } else if (ext === '.yaml' || ext === '.yml') {
    try {
      obj = parseYaml(text, { prettyErrors: true });
    } catch (err) {
      throw new ConfigError(`${file}: invalid YAML: ${(err as Error).message}`);
    }
  } else {
    obj = parseTextConfig(text, file);
  }
  return modelConfigsFromObject(obj, file);
}

/** Reads and parses `--model_config_file`. Base paths must be absolute (TF Serving's rule). */
export function readModelConfigFile(file: string): ModelConfig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalidArgument(`cannot read model config file ${file}: ${(err as Error).message}`);
  }
  const configs = parseModelConfig(text, file);
  for (const c of configs) {
    if (!isAbsolute(c.basePath) && !/^[a-z][\w+.-]*:\/\//i.test(c.basePath)) {
      throw new ConfigError(`Expected model ${c.name} to have an absolute path or URI; got base_path()=${c.basePath} (${file})`);
    }
  }
  return configs;
}

/**
 * A Triton-style model repository (--model_repository): every sub-directory (not hidden; symlinks
 * to directories too) is a model of that name whose base path is the sub-directory, served with the
 * default policy (latest 1). Sorted by name, as Triton's index is.
 */
export function repositoryModelConfigs(root: string): ModelConfig[] {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    throw new JetserveError('NOT_FOUND', `model repository ${root} cannot be read: ${(err as Error).message}`);
  }
  const isDir = (name: string, direct: boolean, link: boolean): boolean => {
    if (direct) return true;
    if (!link) return false;
    try {
      return statSync(join(root, name)).isDirectory(); // a symlinked model directory counts
    } catch {
      return false;
    }
  };
  return entries
    // hidden directories, and names that could not be model names (names.ts), are not models
    .filter((e) => !e.name.startsWith('.') && nameProblem(e.name) === undefined && isDir(e.name, e.isDirectory(), e.isSymbolicLink()))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, basePath: join(resolve(root), name) }));
}
