// The server's options: the flags of flag-table.ts in camelCase (--rest_api_port → restApiPort) for
// startServer(), and the CLI's parsed flags turned into the same options. Validation lives here so both entry points refuse the
// same mistakes with the same messages.

import { EXECUTOR_MODES, REMAPPER_MODES } from '../engine/graph-rewrites.js';
import type { ModelConfig } from '../models/config.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFn } from '../observability/logging/levels.js';
import type { SpanExporterLike } from '../observability/tracing/exporter.js';
import { SERVER_FLAGS, type FlagSpec, type ServerFlagName, type ServerFlagValues } from './flag-table.js';

export * from './flag-table.js';

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** The flags that name a port: in startServer() 0 binds a free port and false disables the listener. */
type PortFlag = 'port' | 'rest_api_port';

/**
 * startServer() options: every server flag in camelCase (`modelBasePath`, `restApiPort`, …) with
 * the CLI's defaults, plus options only a program can pass.
 */
export type ServerOptions = {
  [K in Exclude<ServerFlagName, PortFlag> as CamelCase<K>]?: ServerFlagValues[K];
} & {
  /** gRPC port (--port). Default 8500; 0 binds a free port (see result.grpc.port); false: no TCP listener. */
  port?: number | false;
  /** REST port (--rest_api_port). Default 8501; 0 binds a free port (see result.http.port); false: no REST. */
  restApiPort?: number | false;
  /**
   * OpenTelemetry: spans go to this exporter (e.g. the SDK's InMemorySpanExporter in tests) through
   * a SimpleSpanProcessor, instead of --tracing_otlp_endpoint's OTLP exporter.
   */
  spanExporter?: SpanExporterLike;
  /** The models to serve, instead of modelName/modelBasePath, modelConfigFile or modelRepository. */
  models?: ModelConfig[];
  /** Address both listeners bind. Default "0.0.0.0", as TF Serving. */
  host?: string;
  /**
   * Where log lines go. Default: pino on stderr (--log_format, --log_level); a function receives
   * each message that passes --log_level with its level and structured fields; false: nowhere.
   */
  log?: LogFn | false;
};

/** Options with every default filled in, and which flags the caller set. */
export interface ResolvedServerOptions {
  flags: ServerFlagValues;
  /** Flags the caller set (a CLI flag given, or an option present). */
  given: ReadonlySet<ServerFlagName>;
  /** Bound port wanted: a number (0 = free port) or null (no listener). */
  restPort: number | null;
  grpcPort: number | null;
  models: ModelConfig[] | undefined;
  host: string;
  /** The log option as given (undefined: pino on stderr). */
  log: LogFn | false | undefined;
  spanExporter: SpanExporterLike | undefined;
}

/** An option or flag combination that cannot be served; the CLI prints it and exits 2. */
export class ServerOptionsError extends Error {}

/** The warnings for TF Serving flags given that jetserve accepts and ignores (FlagSpec.ignored). */
export function ignoredFlagWarnings(o: ResolvedServerOptions): string[] {
  const warnings: string[] = [];
  for (const flag of o.given) {
    const spec: FlagSpec = SERVER_FLAGS[flag];
    if (spec.ignored && o.flags[flag] !== spec.default) {
      warnings.push(`--${flag}=${String(o.flags[flag])} is accepted for compatibility and ignored: ${spec.ignored}`);
    }
  }
  return warnings;
}

export const GRPC_TRANSPORTS = ['jetserve', 'grpc-js'] as const;

const FLAG_OF_OPTION: ReadonlyMap<string, ServerFlagName> = new Map(
  (Object.keys(SERVER_FLAGS) as ServerFlagName[]).map((flag) => [camelCase(flag), flag]),
);
const PROGRAM_ONLY_OPTIONS = new Set(['models', 'host', 'log', 'spanExporter']);

export function camelCase(flag: string): string {
  return flag.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The options the CLI's flags stand for: only the flags given (so defaults stay defaults). */
export function serverOptionsFromFlags(values: Partial<ServerFlagValues>, given: Iterable<ServerFlagName>): ServerOptions {
  const options: Record<string, unknown> = {};
  for (const flag of given) {
    let value: unknown = values[flag];
    // TF Serving's CLI: --rest_api_port=0 / --port=0 turn the listener off
    if ((flag === 'rest_api_port' || flag === 'port') && value === 0) value = false;
    options[camelCase(flag)] = value;
  }
  return options as ServerOptions;
}

/** Fills in defaults and refuses unknown options, values of the wrong kind or range, and conflicts. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const flags = {} as Record<ServerFlagName, number | string | boolean>;
  for (const [flag, spec] of Object.entries(SERVER_FLAGS) as [ServerFlagName, FlagSpec][]) flags[flag] = spec.default;
  const given = new Set<ServerFlagName>();
  let restPort: number | null = SERVER_FLAGS.rest_api_port.default;
  let grpcPort: number | null = SERVER_FLAGS.port.default;
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || PROGRAM_ONLY_OPTIONS.has(key)) continue;
    const flag = FLAG_OF_OPTION.get(key);
    if (flag === undefined) throw new ServerOptionsError(`unknown option '${key}'`);
    const spec: FlagSpec = SERVER_FLAGS[flag];
    if ((flag === 'rest_api_port' || flag === 'port') && value === false) {
      if (flag === 'port') grpcPort = null;
      else restPort = null;
      flags[flag] = 0;
      given.add(flag);
      continue;
    }
    checkValue(flag, spec, value);
    flags[flag] = value as number | string | boolean;
    if (flag === 'port') grpcPort = value as number;
    if (flag === 'rest_api_port') restPort = value as number;
    given.add(flag);
  }
  const resolved: ResolvedServerOptions = {
    flags: flags as ServerFlagValues,
    given,
    restPort,
    grpcPort,
    models: options.models,
    host: options.host ?? '0.0.0.0',
    log: options.log,
    spanExporter: options.spanExporter,
  };
  validateCombination(resolved);
  return resolved;
}

function checkValue(flag: ServerFlagName, spec: FlagSpec, value: unknown): void {
  if (spec.kind === 'bool') {
    if (typeof value !== 'boolean') throw new ServerOptionsError(`--${flag} takes true or false, not '${String(value)}'`);
    return;
  }
  if (spec.kind === 'string') {
    if (typeof value !== 'string') throw new ServerOptionsError(`--${flag} takes a string, not '${String(value)}'`);
    return;
  }
  if (spec.kind === 'float') {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ServerOptionsError(`--${flag} takes a number, not '${String(value)}'`);
    if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
      const range = spec.max !== undefined ? `${spec.min} to ${spec.max}` : `>= ${spec.min}`;
      throw new ServerOptionsError(`--${flag}=${value} is out of range (${range})`);
    }
    return;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ServerOptionsError(`--${flag} takes an integer, not '${String(value)}'`);
  }
  if (!Number.isSafeInteger(value) || (spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
    const range = spec.max !== undefined ? `${spec.min} to ${spec.max}` : spec.min !== undefined ? `>= ${spec.min}` : 'a safe integer';
    throw new ServerOptionsError(`--${flag}=${value} is out of range (${range})`);
  }
}

function validateCombination(o: ResolvedServerOptions): void {
  const { flags, given } = o;
  const fail = (message: string): never => {
    throw new ServerOptionsError(message);
  };
  if (o.restPort !== null && o.grpcPort !== null && o.restPort !== 0 && o.restPort === o.grpcPort) {
    fail(`--rest_api_port and --port must differ (both are ${o.grpcPort})`);
  }
  if (o.restPort === null && o.grpcPort === null && !flags.grpc_socket_path) {
    fail('--rest_api_port=0 and --port=0 (without --grpc_socket_path) disable every server; enable at least one');
  }
  if (o.models && (flags.model_config_file || flags.model_repository || given.has('model_base_path') || given.has('model_name'))) {
    fail('the models option replaces --model_config_file, --model_repository, --model_base_path and --model_name');
  }
  if (flags.model_config_file && given.has('model_base_path')) {
    fail('--model_config_file and --model_base_path are mutually exclusive (the config file lists every model)');
  }
  if (flags.model_repository && (flags.model_config_file || given.has('model_base_path') || given.has('model_name'))) {
    fail('--model_repository replaces --model_config_file, --model_base_path and --model_name (each sub-directory is a model)');
  }
  if (given.has('model_repository') && !flags.model_repository) fail('--model_repository must not be empty');
  if (flags.model_config_file_poll_wait_seconds > 0 && !flags.model_config_file) {
    fail('--model_config_file_poll_wait_seconds needs --model_config_file');
  }
  if (given.has('model_name') && !flags.model_base_path && !flags.model_config_file) {
    fail('--model_name needs --model_base_path (the directory holding its version sub-directories)');
  }
  if (given.has('model_base_path') && !flags.model_base_path) fail('--model_base_path must not be empty');
  if (given.has('model_name') && !flags.model_name) fail('--model_name must not be empty');
  if (
    flags.tensorflow_session_parallelism > 0 &&
    given.has('tensorflow_intra_op_parallelism') &&
    given.has('tensorflow_inter_op_parallelism')
  ) {
    fail(
      '--tensorflow_session_parallelism cannot be set together with both --tensorflow_intra_op_parallelism and --tensorflow_inter_op_parallelism',
    );
  }
  if (!(GRPC_TRANSPORTS as readonly string[]).includes(flags.grpc_transport)) {
    fail(`--grpc_transport must be ${GRPC_TRANSPORTS.map((t) => `'${t}'`).join(' or ')}, not '${flags.grpc_transport}'`);
  }
  if (!(REMAPPER_MODES as readonly string[]).includes(flags.graph_remapper)) {
    fail(`--graph_remapper must be ${REMAPPER_MODES.map((m) => `'${m}'`).join(', ')}, not '${flags.graph_remapper}'`);
  }
  if (!(EXECUTOR_MODES as readonly string[]).includes(flags.session_executor)) {
    fail(`--session_executor must be ${EXECUTOR_MODES.map((m) => `'${m}'`).join(', ')}, not '${flags.session_executor}'`);
  }
  if (!flags.saved_model_tags.split(',').some((t) => t.trim())) fail('--saved_model_tags must name at least one tag');
  const admin = ADMIN_FLAGS.filter((f) => flags[f]);
  if (admin.length > 0 && !flags.admin_token_file && !flags.admin_allow_loopback_without_token) {
    fail(
      `${admin.map((f) => `--${f}`).join(', ')} ${admin.length > 1 ? 'serve administrative APIs, which need' : 'serves an administrative API, which needs'} ` +
        '--admin_token_file (clients send Authorization: Bearer <token>) or --admin_allow_loopback_without_token',
    );
  }
  if (given.has('admin_token_file') && !flags.admin_token_file) fail('--admin_token_file must not be empty');
  for (const flag of ['enable_metrics', 'enable_dashboard'] as const) {
    if (flags[flag] && o.restPort === null) fail(`--${flag} serves on the REST port, but --rest_api_port=0 disables REST`);
  }
  if (!/^\/[^\s?#]*$/.test(flags.metrics_path)) fail(`--metrics_path '${flags.metrics_path}' must be a URL path starting with '/' (no spaces, '?' or '#')`);
  if (!(LOG_LEVELS as readonly string[]).includes(flags.log_level)) {
    fail(`--log_level must be one of ${LOG_LEVELS.join(', ')}, not '${flags.log_level}'`);
  }
  if (!(LOG_FORMATS as readonly string[]).includes(flags.log_format)) {
    fail(`--log_format must be ${LOG_FORMATS.map((f) => `'${f}'`).join(' or ')}, not '${flags.log_format}'`);
  }
}

/** The flags that turn on an administrative API (each needs a token or the loopback opt-in). */
export const ADMIN_FLAGS = ['enable_model_repository_api', 'enable_reload_config_api', 'enable_dashboard'] as const;
