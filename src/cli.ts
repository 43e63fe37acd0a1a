// The `jetserve` command: a drop-in for `tensorflow_model_server`. It takes TF Serving's flag names
// and defaults (--flag=value or --flag value), loads the models (blocking until they are
// AVAILABLE, as TF Serving does), then opens the REST port (uWebSockets.js) and the gRPC port.
// With no model flags it serves the demo model shipped in the package (half_plus_two) and prints
// curl lines to try. SIGINT/SIGTERM stop it gracefully: stop accepting, drain, dispose models.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { asJetserveError } from './errors.js';
import { ModelManager, type ModelConfig, type ModelManagerOptions } from './models/manager.js';
import { readModelConfigFile, repositoryModelConfigs } from './models/config.js';
import { DEFAULT_MAX_BODY_BYTES, HttpServer } from './server/http/server.js';
import { DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES } from './server/http/json-offload.js'; // JSON offload
import { SERVER_VERSION } from './server/http/kserve.js';
import { httpEngine } from './server/http/uws.js';
import type { Batching } from './batching/batcher.js';
import { batchingFromFlags, describeBatching } from './batching/flags.js';
import { startGrpcServer, type GrpcServer } from './server/grpc/index.js';
import { readMonitoringConfigFile, type MonitoringConfig } from './observability/monitoring-config.js';
import { ServingMetrics } from './observability/serving-metrics.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root (src/ and dist/ both sit one level below it). */
const PACKAGE_ROOT = join(here, '..');
export const DEMO_MODEL_NAME = 'half_plus_two';
export const DEMO_MODEL_PATH = join(PACKAGE_ROOT, 'models', DEMO_MODEL_NAME);

type FlagKind = 'int' | 'string' | 'bool';

interface FlagSpec {
  kind: FlagKind;
  default: number | string | boolean;
  help: string;
  /** Inclusive integer bounds. */
  min?: number;
  max?: number;
}

const FLAGS = {
  port: { kind: 'int', default: 8500, min: 0, max: 65535, help: 'gRPC port (TF Serving and KServe v2 services). 0 disables gRPC.' },
  rest_api_port: {
    kind: 'int',
    default: 8501,
    min: 0,
    max: 65535,
    help: 'REST port (TF Serving REST under /v1, KServe v2 REST under /v2). 0 disables REST. Must differ from --port.',
  },
  model_name: { kind: 'string', default: 'default', help: 'Name of the model served from --model_base_path.' },
  model_base_path: {
    kind: 'string',
    default: '',
    help: 'Directory with integer version sub-directories (<base>/<version>/saved_model.pb); the highest complete version is served. Without it (and without --model_name) the bundled demo model half_plus_two is served.',
  },
  rest_api_timeout_in_ms: {
    kind: 'int',
    default: 30000,
    min: 0,
    help: 'Per-request REST timeout: a model run still going after this answers 504 (DEADLINE_EXCEEDED). 0 = no timeout.',
  },
  rest_api_num_threads: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Accepted for compatibility and ignored. TF Serving sizes an HTTP worker pool with it; jetserve serves HTTP from one event-loop thread (uWebSockets.js) and runs models on native executor threads, so there is no pool to size.',
  },
  rest_api_max_body_bytes: {
    kind: 'int',
    default: DEFAULT_MAX_BODY_BYTES,
    min: 1,
    help: 'jetserve: largest accepted REST request body in bytes; larger requests get 413.',
  },
  // --- JSON offload (src/server/http/json-offload.ts) ---
  json_offload_threshold_bytes: {
    kind: 'int',
    default: DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES,
    min: 0,
    help: 'jetserve: TF Serving predict and KServe infer JSON bodies of at least this many bytes are decoded on a worker-thread pool, so the event loop keeps serving other requests meanwhile. 0 = always decode inline. The default comes from bench/json-offload.ts.',
  },
  // --- end JSON offload ---
  tensorflow_intra_op_parallelism: {
    kind: 'int',
    default: -2,
    min: 0,
    help: "Threads inside one TF op. 0 = TensorFlow's own choice (all cores). Unset: jetserve's default of one per core.",
  },
  tensorflow_inter_op_parallelism: {
    kind: 'int',
    default: -2,
    min: -1,
    help: "Threads running independent TF ops. 0 = TensorFlow's own choice; -1 = run ops inline in the calling thread. Unset: jetserve's default of -1.",
  },
  tensorflow_session_parallelism: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Sets both intra- and inter-op parallelism (0 = not set). Cannot be combined with both of the above.',
  },
  grpc_socket_path: { kind: 'string', default: '', help: 'Also serve gRPC on this unix socket ("unix:" prefix optional).' },
  grpc_channel_arguments: {
    kind: 'string',
    default: '',
    help: 'gRPC server channel arguments as k=v,k=v (integer-looking values become numbers).',
  },
  ssl_config_file: { kind: 'string', default: '', help: "TF Serving SSLConfig text file: TLS (and optional mTLS) for gRPC." },
  enable_serialization_as_tensor_content: {
    kind: 'bool',
    default: true,
    help: "Write gRPC Predict outputs as tensor_content (one byte blob; tf.make_ndarray reads both forms). jetserve's default is true (TF Serving's is false: typed *_val fields); =false gives typed fields.",
  },
  grpc_max_message_size: {
    kind: 'int',
    default: 512 * 1024 * 1024,
    min: 1024,
    help: 'Largest gRPC message accepted or sent, in bytes (tensors travel in one message).',
  },
  grpc_transport: {
    kind: 'string',
    default: 'jetserve',
    help: "HTTP/2 layer for gRPC: 'jetserve' (own frame parser, fastest) or 'grpc-js' (@grpc/grpc-js).",
  },
  enable_grpc_healthcheck_service: {
    kind: 'bool',
    default: false,
    help: 'Accepted; jetserve always serves grpc.health.v1.Health.',
  },
  enable_batching: {
    kind: 'bool',
    default: true,
    help: "Batch concurrent requests into one TF run. jetserve's default is on: with batch_timeout_micros 0 it only merges requests that arrive while the executor is busy, so it never adds latency when idle. --enable_batching=false turns it off.",
  },
  batching_parameters_file: {
    kind: 'string',
    default: '',
    help: 'TF Serving BatchingParameters text file (max_batch_size, batch_timeout_micros, max_enqueued_batches, num_batch_threads, allowed_batch_sizes, pad_variable_length_inputs).',
  },
  saved_model_tags: { kind: 'string', default: 'serve', help: 'Comma-separated MetaGraph tags to load.' },
  model_config_file: {
    kind: 'string',
    default: '',
    help: "ModelServerConfig listing the models (TF Serving text format; .json / .yaml / .yml files hold the same content as JSON / YAML). Replaces --model_name/--model_base_path. SIGHUP re-reads it; an invalid file is reported and the running config keeps serving.",
  },
  model_repository: {
    kind: 'string',
    default: '',
    help: "jetserve: a Triton-style model repository — every sub-directory is a model of that name (its base path, latest version served). With --enable_model_repository_api, the index lists every directory and load adds ones created after start-up. Replaces --model_name/--model_base_path and --model_config_file.",
  },
  model_config_file_poll_wait_seconds: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Re-read --model_config_file every this many seconds and apply it when it changed (0 = read once; SIGHUP still re-reads).',
  },
  file_system_poll_wait_seconds: {
    kind: 'int',
    default: 1,
    help: 'Seconds between polls of each base path for new / removed version directories (0 or less = look once at start-up).',
  },
  num_load_threads: { kind: 'int', default: 0, min: 0, help: 'Versions loaded concurrently (0 = one at a time).' },
  num_unload_threads: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Accepted for compatibility: unloads run asynchronously (each drains its in-flight requests first).',
  },
  max_num_load_retries: { kind: 'int', default: 5, min: 0, help: 'Retries after a failed load attempt (0 = a single attempt).' },
  load_retry_interval_micros: {
    kind: 'int',
    default: 60_000_000,
    help: 'Wait between load attempts in microseconds (<= 0: no wait).',
  },
  allow_version_labels_for_unavailable_models: {
    kind: 'bool',
    default: false,
    help: 'Allow a new version label to point at a version that is not AVAILABLE yet (a label already in use still only moves to AVAILABLE versions).',
  },
  enable_model_warmup: {
    kind: 'bool',
    default: true,
    help: "Replay <version>/assets.extra/tf_serving_warmup_requests (TFRecord of PredictionLog; predict_log records) before a version becomes AVAILABLE; a malformed file fails that version's load.",
  },
  num_request_iterations_for_warmup: { kind: 'int', default: 0, min: 0, help: 'Times each warmup record is replayed (0 = 1).' },
  monitoring_config_file: {
    kind: 'string',
    default: '',
    help: 'TF Serving MonitoringConfig text file, e.g. prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" } (path optional, that is the default). Enabled, the REST port answers GET <path> with Prometheus metrics under TF Serving\'s names (:tensorflow:serving:request_count, request_latency, runtime_latency, model load and warmup metrics) plus jetserve\'s (model version states, batching). Needs the REST port.',
  },
  enable_model_repository_api: {
    kind: 'bool',
    default: false,
    help: 'jetserve: serve the KServe/Triton model repository API (REST POST /v2/repository/index, /v2/repository/models/{m}/load and /unload; gRPC RepositoryIndex, RepositoryModelLoad, RepositoryModelUnload). Administrative: off by default.',
  },
  help: { kind: 'bool', default: false, help: 'Print this help and exit.' },
  version: { kind: 'bool', default: false, help: 'Print the version and exit.' },
} satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;
export type Flags = { [K in FlagName]: (typeof FLAGS)[K]['default'] } & {
  /** Flags the user actually gave. */
  given: Set<FlagName>;
};

/** TF Serving flags jetserve knows but does not implement yet: refused rather than silently ignored. */
const NOT_YET_SUPPORTED = new Set([
  'enable_per_model_batching_parameters',
  'use_alts_credentials',
  'grpc_max_threads',
  'platform_config_file',
  'tensorflow_session_config_file',
  'per_process_gpu_memory_fraction',
  'rest_api_enable_cors_support',
  'enable_signature_method_name_check',
]);

/** A command-line mistake: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {}

export function parseFlags(argv: readonly string[]): Flags {
  const values: Record<string, number | string | boolean> = {};
  const given = new Set<FlagName>();
  for (const [k, spec] of Object.entries(FLAGS)) values[k] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      values.help = true;
      given.add('help');
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument '${arg}': flags look like --name=value or --name value`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (NOT_YET_SUPPORTED.has(name)) {
      throw new UsageError(`--${name} is a TF Serving flag jetserve does not support yet`);
    }
    if (!Object.hasOwn(FLAGS, name)) {
      throw new UsageError(`unknown flag --${name}${suggest(name)} (see --help)`);
    }
    const spec: FlagSpec = FLAGS[name as FlagName];
    if (spec.kind === 'bool') {
      if (value === undefined) {
        values[name] = true;
      } else if (/^(true|1)$/i.test(value)) {
        values[name] = true;
      } else if (/^(false|0)$/i.test(value)) {
        values[name] = false;
      } else {
        throw new UsageError(`--${name} takes true or false, not '${value}'`);
      }
      given.add(name as FlagName);
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.kind === 'int') {
      if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} takes an integer, not '${value}'`);
      const n = Number(value);
      if (!Number.isSafeInteger(n) || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        const range =
          spec.max !== undefined ? `${spec.min} to ${spec.max}` : spec.min !== undefined ? `>= ${spec.min}` : 'a safe integer';
        throw new UsageError(`--${name}=${value} is out of range (${range})`);
      }
      values[name] = n;
    } else {
      values[name] = value;
    }
    given.add(name as FlagName);
  }
  const flags = { ...(values as Omit<Flags, 'given'>), given } as Flags;
  if (!flags.help && !flags.version) validate(flags);
  return flags;
}

function validate(flags: Flags): void {
  if (flags.rest_api_port !== 0 && flags.rest_api_port === flags.port) {
    throw new UsageError(`--rest_api_port and --port must differ (both are ${flags.port})`);
  }
  if (flags.rest_api_port === 0 && flags.port === 0 && !flags.grpc_socket_path) {
    throw new UsageError('--rest_api_port=0 and --port=0 (without --grpc_socket_path) disable every server; enable at least one');
  }
  if (flags.model_config_file && flags.given.has('model_base_path')) {
    throw new UsageError('--model_config_file and --model_base_path are mutually exclusive (the config file lists every model)');
  }
  if (flags.model_repository && (flags.model_config_file || flags.given.has('model_base_path') || flags.given.has('model_name'))) {
    throw new UsageError('--model_repository replaces --model_config_file, --model_base_path and --model_name (each sub-directory is a model)');
  }
  if (flags.given.has('model_repository') && !flags.model_repository) {
    throw new UsageError('--model_repository must not be empty');
  }
  if (flags.model_config_file_poll_wait_seconds > 0 && !flags.model_config_file) {
    throw new UsageError('--model_config_file_poll_wait_seconds needs --model_config_file');
  }
  if (flags.given.has('model_name') && !flags.model_base_path && !flags.model_config_file) {
    throw new UsageError('--model_name needs --model_base_path (the directory holding its version sub-directories)');
  }
  if (flags.given.has('model_base_path') && !flags.model_base_path) {
    throw new UsageError('--model_base_path must not be empty');
  }
  if (flags.given.has('model_name') && !flags.model_name) {
    throw new UsageError('--model_name must not be empty');
  }
  if (
    flags.tensorflow_session_parallelism > 0 &&
    flags.given.has('tensorflow_intra_op_parallelism') &&
    flags.given.has('tensorflow_inter_op_parallelism')
  ) {
    throw new UsageError(
      '--tensorflow_session_parallelism cannot be set together with both --tensorflow_intra_op_parallelism and --tensorflow_inter_op_parallelism',
    );
  }
  if (flags.grpc_transport !== 'jetserve' && flags.grpc_transport !== 'grpc-js') {
    throw new UsageError(`--grpc_transport must be 'jetserve' or 'grpc-js', not '${flags.grpc_transport}'`);
  }
  if (!flags.saved_model_tags.split(',').some((t) => t.trim())) {
    throw new UsageError('--saved_model_tags must name at least one tag');
  }
}

function suggest(name: string): string {
  const known = Object.keys(FLAGS);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean --${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function helpText(): string {
  const lines = [
    `jetserve ${SERVER_VERSION} — TensorFlow model server (drop-in for tensorflow_model_server)`,
    '',
    'Usage: jetserve [--flag=value | --flag value]...',
    '',
    'With no model flags, serves the bundled demo model half_plus_two (y = 0.5x + 2) and prints curl',
    'lines to try. REST serves the TF Serving API (/v1/models/...) and KServe v2 (/v2/...).',
    '',
    'Flags (TF Serving names and defaults):',
  ];
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
    const def =
      spec.kind === 'bool' ? '' : spec.default === -2 ? ' (default: unset)' : ` (default: ${JSON.stringify(spec.default)})`;
    lines.push(`  --${name}${spec.kind === 'bool' ? '' : `=<${spec.kind}>`}${def}`);
    lines.push(`      ${spec.help}`);
  }
  lines.push('', `Not supported yet (refused): ${[...NOT_YET_SUPPORTED].map((f) => `--${f}`).join(', ')}.`);
  lines.push('', 'Environment: UWS_USE_FALLBACK=1 forces the node:http fallback instead of native uWebSockets.js.');
  return lines.join('\n');
}

/** Ready-to-paste curl lines for a served model (with predict examples for the demo model). */
export function curlLines(port: number, model: string, demo: boolean): string[] {
  const base = `http://localhost:${port}`;
  const lines = [
    `# model status\ncurl ${base}/v1/models/${model}`,
    `# model metadata (signatures)\ncurl ${base}/v1/models/${model}/metadata`,
  ];
  if (demo) {
    lines.push(
      `# predict, row format (instances)\ncurl -d '{"instances": [1.0, 2.0, 5.0]}' -X POST ${base}/v1/models/${model}:predict`,
      `# predict, columnar format (inputs)\ncurl -d '{"inputs": {"x": [1.0, 2.0, 5.0]}}' -X POST ${base}/v1/models/${model}:predict`,
      `# regress with tf.Example features\ncurl -d '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": 5.0}]}' -X POST ${base}/v1/models/${model}:regress`,
      `# KServe v2 infer\ncurl -H 'Content-Type: application/json' -d '{"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1.0, 2.0, 5.0]}]}' ${base}/v2/models/${model}/infer`,
    );
  } else {
    lines.push(`# KServe v2 model metadata\ncurl ${base}/v2/models/${model}`);
  }
  return lines;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`jetserve: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (flags.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (flags.version) {
    process.stdout.write(`jetserve ${SERVER_VERSION}\n`);
    return;
  }
  const log = (m: string) => process.stderr.write(`[jetserve] ${m}\n`);

  const fromFile = flags.model_config_file ? resolve(flags.model_config_file) : undefined;
  const repository = flags.model_repository ? resolve(flags.model_repository) : undefined;
  const demo = !fromFile && !repository && !flags.given.has('model_base_path');
  let configs: ModelConfig[];
  // the model list from --model_repository or --model_config_file: a bad one stops start-up (exit 1)
  const configsOrExit = (flag: string, path: string, read: (path: string) => ModelConfig[]): ModelConfig[] => {
    try {
      return read(path);
    } catch (err) {
      process.stderr.write(`jetserve: invalid --${flag}: ${asJetserveError(err).message}\n`);
      process.exit(1);
    }
  };
  if (repository) {
    configs = configsOrExit('model_repository', repository, repositoryModelConfigs);
    log(`model repository ${repository}: ${configs.map((c) => c.name).join(', ') || 'no models'}`);
  } else if (fromFile) {
    configs = configsOrExit('model_config_file', fromFile, readModelConfigFile);
    log(`model config ${fromFile}: ${configs.map((c) => c.name).join(', ') || 'no models'}`);
  } else {
    configs = [demo ? { name: DEMO_MODEL_NAME, basePath: DEMO_MODEL_PATH } : { name: flags.model_name, basePath: resolve(flags.model_base_path) }];
  }
  if (demo) {
    if (!existsSync(DEMO_MODEL_PATH)) {
      process.stderr.write(
        `jetserve: the bundled demo model is missing (${DEMO_MODEL_PATH}); regenerate it with python scripts/make_demo_model.py, or pass --model_base_path\n`,
      );
      process.exit(1);
    }
    log(`no --model_base_path given: serving the bundled demo model ${DEMO_MODEL_NAME} (${DEMO_MODEL_PATH})`);
  }
  log(
    `HTTP engine: ${httpEngine.name}${httpEngine.reason ? ` (${httpEngine.reason}; performance is lower than native)` : ''}`,
  );

  // --monitoring_config_file: read before any model loads, so a bad file fails fast
  let monitoring: MonitoringConfig | undefined;
  if (flags.monitoring_config_file) {
    try {
      monitoring = readMonitoringConfigFile(resolve(flags.monitoring_config_file));
    } catch (err) {
      process.stderr.write(`jetserve: invalid --monitoring_config_file: ${asJetserveError(err).message}\n`);
      process.exit(1);
    }
    if (monitoring.prometheus.enable && flags.rest_api_port === 0) {
      process.stderr.write('jetserve: --monitoring_config_file enables Prometheus metrics, which are served on the REST port, but --rest_api_port=0 disables REST\n');
      process.exit(1);
    }
  }
  const metrics = monitoring?.prometheus.enable ? new ServingMetrics() : undefined;

  const intra =
    flags.given.has('tensorflow_intra_op_parallelism')
      ? flags.tensorflow_intra_op_parallelism
      : flags.tensorflow_session_parallelism > 0
        ? flags.tensorflow_session_parallelism
        : undefined;
  const inter =
    flags.given.has('tensorflow_inter_op_parallelism')
      ? flags.tensorflow_inter_op_parallelism
      : flags.tensorflow_session_parallelism > 0
        ? flags.tensorflow_session_parallelism
        : undefined;

  let batching: Batching | false;
  try {
    batching = batchingFromFlags({
      enableBatching: flags.enable_batching,
      batchingParametersFile: flags.batching_parameters_file,
    });
  } catch (err) {
    process.stderr.write(`jetserve: ${asJetserveError(err).message}\n`);
    process.exit(1);
  }
  log(describeBatching(batching));

  let manager: ModelManager;
  const baseManagerOptions: ModelManagerOptions = {
    batching,
    load: {
      tags: flags.saved_model_tags.split(',').map((t) => t.trim()).filter(Boolean),
      ...(intra !== undefined ? { intraOpThreads: intra } : {}),
      ...(inter !== undefined ? { interOpThreads: inter } : {}),
    },
    fileSystemPollWaitSeconds: flags.file_system_poll_wait_seconds,
    numLoadThreads: flags.num_load_threads,
    maxNumLoadRetries: flags.max_num_load_retries,
    loadRetryIntervalMicros: flags.load_retry_interval_micros,
    allowVersionLabelsForUnavailableModels: flags.allow_version_labels_for_unavailable_models,
    warmup: flags.enable_model_warmup ? { iterations: flags.num_request_iterations_for_warmup } : false,
    ...(repository ? { repositoryRoot: repository } : {}),
    log,
  };
  // monitoring: model load / warmup / run metrics (no hooks at all without it)
  const managerOptions = metrics ? metrics.instrument(baseManagerOptions) : baseManagerOptions;
  try {
    if (fromFile) {
      manager = new ModelManager(managerOptions);
      try {
        await manager.applyConfig(configs);
      } catch (err) {
        await manager.close();
        throw err;
      }
    } else {
      manager = await ModelManager.create(configs, managerOptions);
    }
  } catch (err) {
    process.stderr.write(`jetserve: failed to start server: ${asJetserveError(err).message}\n`);
    process.exit(1);
  }
  metrics?.attachManager(manager);

  // Config reloads (SIGHUP, --model_config_file_poll_wait_seconds): an unreadable or invalid file
  // is reported and changes nothing; a valid one is applied (serialized with gRPC reloads).
  let appliedConfig = JSON.stringify(configs);
  const reloadFromFile = async (why: string): Promise<void> => {
    if (!fromFile) return;
    let next: ModelConfig[];
    try {
      next = readModelConfigFile(fromFile);
    } catch (err) {
      log(`${why}: config not reloaded, the running config keeps serving: ${asJetserveError(err).message}`);
      return;
    }
    const text = JSON.stringify(next);
    if (text === appliedConfig && why !== 'SIGHUP') return;
    appliedConfig = text;
    log(`${why}: applying ${fromFile} (${next.map((c) => c.name).join(', ') || 'no models'})`);
    try {
      await manager.applyConfig(next);
      log(`${why}: config applied`);
    } catch (err) {
      log(`${why}: ${asJetserveError(err).message}`);
    }
  };
  process.on('SIGHUP', () => {
    if (fromFile) void reloadFromFile('SIGHUP');
    else void manager.pollNow();
  });
  if (fromFile && flags.model_config_file_poll_wait_seconds > 0) {
    setInterval(() => void reloadFromFile('config poll'), flags.model_config_file_poll_wait_seconds * 1000).unref();
  }

  let http: HttpServer | undefined;
  let grpc: GrpcServer | undefined;
  try {
    if (flags.rest_api_port !== 0) {
      http = new HttpServer(manager, {
        repositoryApi: flags.enable_model_repository_api,
        timeoutMs: flags.rest_api_timeout_in_ms,
        maxBodyBytes: flags.rest_api_max_body_bytes,
        jsonOffloadThresholdBytes: flags.json_offload_threshold_bytes, // JSON offload
        ...(metrics ? { metrics, metricsPath: monitoring!.prometheus.path } : {}),
        log,
      });
      await http.listen(flags.rest_api_port);
      log(`REST API (TF Serving /v1, KServe v2 /v2) listening on port ${http.port}`);
      if (metrics) log(`Prometheus metrics at http://localhost:${http.port}${monitoring!.prometheus.path}`);
    }
    if (flags.port !== 0 || flags.grpc_socket_path) {
      const server = await startGrpcServer(manager, {
        port: flags.port === 0 ? null : flags.port,
        ...(flags.grpc_socket_path ? { socketPath: flags.grpc_socket_path } : {}),
        ...(flags.grpc_channel_arguments ? { channelArguments: flags.grpc_channel_arguments } : {}),
        ...(flags.ssl_config_file ? { sslConfigFile: flags.ssl_config_file } : {}),
        maxMessageSize: flags.grpc_max_message_size,
        tensorContentOutputs: flags.enable_serialization_as_tensor_content,
        repositoryApi: flags.enable_model_repository_api,
        transport: flags.grpc_transport as 'jetserve' | 'grpc-js',
        ...(metrics ? { metrics } : {}),
        log,
      });
      grpc = server;
      log(`gRPC API (TF Serving and KServe v2 services) listening on ${server.addresses.join(', ')}`);
    }
  } catch (err) {
    process.stderr.write(`jetserve: ${(err as Error).message}\n`);
    await http?.close(0);
    await grpc?.close(0);
    await manager.close();
    process.exit(1);
  }

  if (http) {
    const served = manager
      .modelNames()
      .map((name) => `${name} version ${manager.model(name)?.latestAvailable()?.version ?? '(none available)'}`)
      .join(', ');
    const first = manager.modelNames()[0];
    process.stdout.write(
      `jetserve ready: model ${served}. Try:\n\n` +
        (first !== undefined ? curlLines(http.port, first, demo).join('\n\n') : '') +
        '\n\n',
    );
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: shutting down (draining ${http?.inFlight ?? 0} request(s) in flight)`);
    void (async () => {
      try {
        await Promise.all([http?.close(), grpc?.close()]);
        await manager.close();
        log('stopped');
        process.exit(0);
      } catch (err) {
        log(`error during shutdown: ${(err as Error).message}`);
        process.exit(1);
      }
    })();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((err: unknown) => {
    process.stderr.write(`jetserve: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
