// startServer(): the composition root. Options (the CLI's flags in camelCase) → logger → model
// list → monitoring → tracing → batching → model manager → config reloads → REST and gRPC
// listeners. The CLI only parses flags, calls this, prints the banner and turns signals into
// drain() (the lossless shutdown sequence, shutdown.ts).

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchingFromFlags, describeBatching } from '../batching/flags.js';
import type { Batching } from '../batching/batcher.js';
import { asJetserveError } from '../errors.js';
import { readModelConfigFile, repositoryModelConfigs, type ModelConfig } from '../models/config.js';
import { ModelManager, type ModelManagerOptions } from '../models/manager.js';
import { readMonitoringConfigFile, type MonitoringConfig } from '../observability/monitoring-config.js';
import { ServingMetrics } from '../observability/serving-metrics.js';
import type { LoadSavedModelOptions } from '../engine/model.js';
import type { ExecutorMode, RemapperMode } from '../engine/graph-rewrites.js';
import { AdminAuth } from '../server/admin-auth.js';
import { readSslConfigFile, validateSslConfig, type SslConfig } from '../server/ssl-config.js';
import { AccessLog } from '../observability/logging/access-log.js';
import type { LogFn, LogFormat, LogLevelName } from '../observability/logging/levels.js';
import { createServerLogger, type ServerLogger } from '../observability/logging/logger.js';
import { startTracing, type Tracing } from '../observability/tracing/tracing.js';
import { startGrpcServer, type GrpcServer } from '../server/grpc/index.js';
import { HttpServer } from '../server/http/server.js';
import { describeHttpEngine } from '../server/http/uws.js';
import { ConfigFileReloader } from './config-reloader.js';
import { ignoredFlagWarnings, resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { shutdown } from './shutdown.js';

/** The package root (src/ and dist/ both sit two levels below it here). */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_MODEL_NAME = 'half_plus_two';
/** The demo model shipped in the package, served when no model option is given. */
export const DEMO_MODEL_PATH = join(PACKAGE_ROOT, 'models', DEMO_MODEL_NAME);
/** The dashboard's page, script and style, shipped in the package (no build step). */
export const DASHBOARD_ASSETS_DIR = join(PACKAGE_ROOT, 'static', 'dashboard');

/** A server that could not start: the CLI prints "jetserve: <message>" and exits 1. */
export class StartupError extends Error {}

export interface JetserveServer {
  /** Model lifecycle: versions, states, resolution, config (TF Serving's ServerCore). */
  readonly manager: ModelManager;
  /** The REST server (undefined when restApiPort is false); `http.port` is the bound port. */
  readonly http: HttpServer | undefined;
  /** The gRPC server (undefined when neither a port nor grpcSocketPath is given); `grpc.port`. */
  readonly grpc: GrpcServer | undefined;
  /** Prometheus metrics (undefined unless monitoringConfigFile enables them). */
  readonly metrics: ServingMetrics | undefined;
  /** True when no model option was given and the bundled demo model is served. */
  readonly demo: boolean;
  /**
   * Re-reads modelConfigFile and applies it even when unchanged (SIGHUP); without a config file,
   * polls every base path now. Resolves when done; a bad file is logged and changes nothing.
   */
  reload(): Promise<void>;
  /** Where the server logs (pino on stderr by default): the CLI logs its signals through it. */
  readonly log: LogFn;
  /**
   * Stops and unloads, losing no request: readiness turns false and everything is still served for
   * `graceSeconds` (default 0: a program usually has no load balancer to wait for), then the
   * listeners close, requests in flight are answered (at most `timeoutSeconds`, default
   * --drain_timeout_seconds), connections close and every model unloads. Idempotent: later calls
   * return the first one's promise.
   */
  close(options?: CloseOptions): Promise<void>;
  /** close() with the configured lame-duck period (--drain_grace_seconds): what SIGTERM does. */
  drain(): Promise<void>;
  /** Writes buffered log lines now (before process.exit). */
  flushLogs(): void;
}

export interface CloseOptions {
  /** Lame-duck seconds: not ready, still serving. Default 0. */
  graceSeconds?: number;
  /** Seconds to wait for requests in flight once the listeners are closed. Default --drain_timeout_seconds. */
  timeoutSeconds?: number;
}

/**
 * Starts jetserve: loads the models (resolving once each is AVAILABLE or has failed for good, as
 * TF Serving does), then binds REST and gRPC. Throws ServerOptionsError for invalid options and
 * StartupError when a config file, a model or a listener fails; nothing stays open after a throw.
 *
 * @example
 *   const server = await startServer({ modelName: 'mlp', modelBasePath: '/models/mlp', restApiPort: 0, port: 0 });
 *   console.log(server.http!.port, server.grpc!.port);
 *   await server.close();
 */
export async function startServer(options: ServerOptions = {}): Promise<JetserveServer> {
  const o = resolveServerOptions(options);
  const { flags } = o;
  const logger = await createServerLogger({
    level: flags.log_level as LogLevelName,
    format: flags.log_format as LogFormat,
    ...(o.log !== undefined ? { sink: o.log } : {}),
  });
  try {
    return await start(o, logger);
  } catch (err) {
    logger.flush();
    throw err;
  }
}

async function start(o: ResolvedServerOptions, logger: ServerLogger): Promise<JetserveServer> {
  const { flags } = o;
  const log = logger.log;
  for (const warning of ignoredFlagWarnings(o)) log(warning, 'warn');
  const { configs, source, demo } = modelList(o, log);
  log(describeHttpEngine());

  const monitoring = readMonitoring(o);
  const metricsPath = monitoring?.prometheus.enable ? monitoring.prometheus.path : flags.enable_metrics ? flags.metrics_path : undefined;
  const metrics = metricsPath !== undefined ? new ServingMetrics() : undefined;
  const ssl = readSsl(o);
  const admin = adminAuth(o);
  const batching = batchingOf(o);
  log(describeBatching(batching));
  const manager = await createManager(o, configs, batching, metrics, log);
  const accessLog = flags.access_log_sample_rate > 0 ? new AccessLog(flags.access_log_sample_rate, log) : undefined;
  let tracing: Tracing | undefined;
  try {
    tracing = await startTracing({ otlpEndpoint: flags.tracing_otlp_endpoint, spanExporter: o.spanExporter });
  } catch (err) {
    await manager.close();
    throw new StartupError(`cannot start tracing (--tracing_otlp_endpoint): ${(err as Error).message}`);
  }
  if (tracing) log(`tracing: OpenTelemetry spans to ${tracing.destination}`);
  metrics?.attachManager(manager);
  if (batching) metrics?.attachBatching(batching);
  metrics?.attachRuntime();

  const reloader = flags.model_config_file ? new ConfigFileReloader(source!, manager, configs, log) : undefined;
  reloader?.startPolling(flags.model_config_file_poll_wait_seconds);

  let http: HttpServer | undefined;
  let grpc: GrpcServer | undefined;
  try {
    if (o.restPort !== null) {
      http = new HttpServer(manager, {
        repositoryApi: flags.enable_model_repository_api,
        timeoutMs: flags.rest_api_timeout_in_ms,
        maxBodyBytes: flags.rest_api_max_body_bytes,
        maxTensorElements: flags.rest_api_max_tensor_elements,
        maxJsonDepth: flags.rest_api_max_json_depth,
        jsonOffloadThresholdBytes: flags.json_offload_threshold_bytes,
        ...(metrics ? { metrics, metricsPath } : {}),
        admin,
        cors: flags.rest_api_enable_cors_support,
        ...(ssl ? { tls: ssl } : {}),
        ...(flags.enable_dashboard ? { dashboard: { assetsDir: DASHBOARD_ASSETS_DIR, batching: batching || undefined } } : {}),
        ...(accessLog ? { accessLog } : {}),
        ...(tracing ? { tracing } : {}),
        log,
      });
      await http.listen(o.restPort, o.host === '0.0.0.0' ? undefined : o.host);
      const scheme = ssl ? 'https' : 'http';
      log(`REST API (TF Serving /v1, KServe v2 /v2) listening on port ${http.port}${ssl ? ` over TLS${ssl.clientVerify ? ' (client certificates required)' : ''}` : ''}`);
      if (metrics) log(`Prometheus metrics at ${scheme}://localhost:${http.port}${metricsPath}`);
      if (http.dashboard) log(`dashboard at ${scheme}://localhost:${http.port}/dashboard`);
    }
    if (o.grpcPort !== null || flags.grpc_socket_path) {
      grpc = await startGrpcServer(manager, {
        port: o.grpcPort,
        host: o.host,
        ...(flags.grpc_socket_path ? { socketPath: flags.grpc_socket_path } : {}),
        ...(flags.grpc_channel_arguments ? { channelArguments: flags.grpc_channel_arguments } : {}),
        ...(ssl ? { sslConfig: ssl } : {}),
        maxMessageSize: flags.grpc_max_message_size,
        tensorContentOutputs: flags.enable_serialization_as_tensor_content,
        ...profilerOption(o, log),
        repositoryApi: flags.enable_model_repository_api,
        reloadApi: flags.enable_reload_config_api,
        admin,
        transport: flags.grpc_transport as 'jetserve' | 'grpc-js',
        maxConcurrentStreams: flags.grpc_max_concurrent_streams,
        maxHeaderListSize: flags.grpc_max_header_list_size,
        maxConnectionInflightBytes: flags.grpc_max_connection_inflight_bytes,
        maxSessionMemoryMb: flags.grpc_max_session_memory_mb,
        maxStreamResetsPerSecond: flags.grpc_max_stream_resets_per_second,
        ...(metrics ? { metrics } : {}),
        ...(accessLog ? { accessLog } : {}),
        ...(tracing ? { tracing } : {}),
        log,
      });
      log(`gRPC API (TF Serving and KServe v2 services) listening on ${grpc.addresses.join(', ')}`);
    }
  } catch (err) {
    reloader?.stop();
    await http?.close(0);
    await grpc?.close(0);
    await manager.close();
    metrics?.close();
    await tracing?.shutdown();
    throw new StartupError(`Failed to start server. Error: ${(err as Error).message}`);
  }

  let closing: Promise<void> | undefined;
  const close = (options: CloseOptions = {}): Promise<void> => {
    closing ??= shutdown(
      { manager, http, grpc, log, beforeDrain: () => reloader?.stop(), afterUnload: async () => {
        metrics?.close();
        await tracing?.shutdown();
      } },
      {
        graceMs: Math.max(0, options.graceSeconds ?? 0) * 1000,
        timeoutMs: Math.max(0, options.timeoutSeconds ?? flags.drain_timeout_seconds) * 1000,
      },
    ).finally(() => logger.flush());
    return closing;
  };
  return {
    manager,
    http,
    grpc,
    metrics,
    demo,
    log,
    async reload() {
      if (reloader) await reloader.reload('SIGHUP', true);
      else await manager.pollNow();
    },
    close,
    drain: () => close({ graceSeconds: flags.drain_grace_seconds }),
    flushLogs: () => logger.flush(),
  };
}

/** The models to serve, from the options (or the demo model), and the file they came from. */
function modelList(o: ResolvedServerOptions, log: LogFn): { configs: ModelConfig[]; source: string | undefined; demo: boolean } {
  const { flags } = o;
  const read = (flag: string, path: string, reader: (path: string) => ModelConfig[]): ModelConfig[] => {
    try {
      return reader(path);
    } catch (err) {
      throw new StartupError(`invalid --${flag}: ${asJetserveError(err).message}`);
    }
  };
  if (o.models) return { configs: o.models, source: undefined, demo: false };
  if (flags.model_repository) {
    const root = resolve(flags.model_repository);
    const configs = read('model_repository', root, repositoryModelConfigs);
    log(`model repository ${root}: ${configs.map((c) => c.name).join(', ') || 'no models'}`);
    return { configs, source: root, demo: false };
  }
  if (flags.model_config_file) {
    const file = resolve(flags.model_config_file);
    const configs = read('model_config_file', file, readModelConfigFile);
    log(`model config ${file}: ${configs.map((c) => c.name).join(', ') || 'no models'}`);
    return { configs, source: file, demo: false };
  }
  if (o.given.has('model_base_path')) {
    return { configs: [{ name: flags.model_name, basePath: resolve(flags.model_base_path) }], source: undefined, demo: false };
  }
  if (!existsSync(DEMO_MODEL_PATH)) {
    throw new StartupError(
      `the bundled demo model is missing (${DEMO_MODEL_PATH}); regenerate it with python scripts/make_demo_model.py, or pass --model_base_path`,
    );
  }
  log(`no --model_base_path given: serving the bundled demo model ${DEMO_MODEL_NAME} (${DEMO_MODEL_PATH})`);
  return { configs: [{ name: DEMO_MODEL_NAME, basePath: DEMO_MODEL_PATH }], source: undefined, demo: true };
}

/**
 * --enable_profiler. TF's profiler server listens in plaintext on every interface, so a server
 * whose gRPC is TLS (--ssl_config_file) gets it only when the flag is given explicitly.
 */
function profilerOption(o: ResolvedServerOptions, log: LogFn): { profiler: boolean; profilerOffReason?: string } {
  const { flags, given } = o;
  if (!flags.enable_profiler) return { profiler: false };
  if (!flags.ssl_config_file) return { profiler: true };
  if (!given.has('enable_profiler')) {
    const reason = "--ssl_config_file is set and TF's profiler server would listen without TLS; --enable_profiler=true serves it anyway";
    log(`profiler service off: ${reason}`);
    return { profiler: false, profilerOffReason: reason };
  }
  log("--enable_profiler with --ssl_config_file: TF's profiler server, started on the first profiler call, listens without TLS on a port of its own", 'warn');
  return { profiler: true };
}

/** --monitoring_config_file, read before any model loads so a bad file fails fast. */
function readMonitoring(o: ResolvedServerOptions): MonitoringConfig | undefined {
  if (!o.flags.monitoring_config_file) return undefined;
  let monitoring: MonitoringConfig;
  try {
    monitoring = readMonitoringConfigFile(resolve(o.flags.monitoring_config_file));
  } catch (err) {
    throw new StartupError(`invalid --monitoring_config_file: ${asJetserveError(err).message}`);
  }
  if (monitoring.prometheus.enable && o.restPort === null) {
    throw new StartupError(
      '--monitoring_config_file enables Prometheus metrics, which are served on the REST port, but --rest_api_port=0 disables REST',
    );
  }
  return monitoring;
}

/** --ssl_config_file, read once for both listeners (a mistake fails before any model loads). */
function readSsl(o: ResolvedServerOptions): SslConfig | undefined {
  if (!o.flags.ssl_config_file) return undefined;
  try {
    const config = readSslConfigFile(resolve(o.flags.ssl_config_file));
    validateSslConfig(config);
    return config;
  } catch (err) {
    throw new StartupError(`invalid --ssl_config_file: ${asJetserveError(err).message}`);
  }
}

/** Who may call the administrative APIs (--admin_token_file, --admin_allow_loopback_without_token). */
function adminAuth(o: ResolvedServerOptions): AdminAuth {
  const { flags } = o;
  try {
    return flags.admin_token_file
      ? AdminAuth.fromTokenFile(resolve(flags.admin_token_file), flags.admin_allow_loopback_without_token)
      : new AdminAuth({ allowLoopback: flags.admin_allow_loopback_without_token });
  } catch (err) {
    throw new StartupError(asJetserveError(err).message);
  }
}

/** Session options of every load: tags, thread counts, GPU memory fraction. */
export function loadOptionsOf(o: ResolvedServerOptions): LoadSavedModelOptions {
  const { flags } = o;
  return {
    tags: flags.saved_model_tags.split(',').map((t) => t.trim()).filter(Boolean),
    ...sessionThreads(o),
    remapper: flags.graph_remapper as RemapperMode, // checked by resolveServerOptions
    executor: flags.session_executor as ExecutorMode, // checked by resolveServerOptions
    inlineBelowMicros: flags.inline_run_below_micros,
    validateShapes: flags.validate_input_shapes,
    ...(flags.per_process_gpu_memory_fraction > 0 ? { gpu: { memoryFraction: flags.per_process_gpu_memory_fraction } } : {}),
  };
}

function batchingOf(o: ResolvedServerOptions): Batching | false {
  try {
    return batchingFromFlags({
      enableBatching: o.flags.enable_batching,
      batchingParametersFile: o.flags.batching_parameters_file,
      batchingTargetP99Ms: o.flags.batching_target_p99_ms,
    });
  } catch (err) {
    throw new StartupError(asJetserveError(err).message);
  }
}

/** TF's thread counts: the specific flags win over --tensorflow_session_parallelism; unset stays unset. */
function sessionThreads(o: ResolvedServerOptions): { intraOpThreads?: number; interOpThreads?: number } {
  const { flags, given } = o;
  const pick = (specific: 'tensorflow_intra_op_parallelism' | 'tensorflow_inter_op_parallelism'): number | undefined =>
    given.has(specific) ? flags[specific] : flags.tensorflow_session_parallelism > 0 ? flags.tensorflow_session_parallelism : undefined;
  const intra = pick('tensorflow_intra_op_parallelism');
  const inter = pick('tensorflow_inter_op_parallelism');
  return { ...(intra !== undefined ? { intraOpThreads: intra } : {}), ...(inter !== undefined ? { interOpThreads: inter } : {}) };
}

async function createManager(
  o: ResolvedServerOptions,
  configs: ModelConfig[],
  batching: Batching | false,
  metrics: ServingMetrics | undefined,
  log: LogFn,
): Promise<ModelManager> {
  const { flags } = o;
  const base: ModelManagerOptions = {
    batching,
    load: loadOptionsOf(o),
    maxInflightRequestsPerModel: flags.max_inflight_requests_per_model,
    memoryBudgetBytes: flags.model_memory_budget_mb * 1024 * 1024,
    fileSystemPollWaitSeconds: flags.file_system_poll_wait_seconds,
    numLoadThreads: flags.num_load_threads,
    maxNumLoadRetries: flags.max_num_load_retries,
    loadRetryIntervalMicros: flags.load_retry_interval_micros,
    allowVersionLabelsForUnavailableModels: flags.allow_version_labels_for_unavailable_models,
    signatureMethodNameCheck: flags.enable_signature_method_name_check,
    warmup: flags.enable_model_warmup ? { iterations: flags.num_request_iterations_for_warmup } : false,
    ...(flags.model_repository ? { repositoryRoot: resolve(flags.model_repository) } : {}),
    requestLog: {
      maxBufferBytes: flags.request_log_max_buffer_bytes,
      maxFileBytes: flags.request_log_max_file_bytes,
      maxFiles: flags.request_log_max_files,
    },
    log,
  };
  // monitoring: model load / warmup / run metrics (no hooks at all without it)
  const managerOptions = metrics ? metrics.instrument(base) : base;
  try {
    if (flags.model_config_file) {
      // a config file's labels and policies go through applyConfig, as on every reload
      const manager = new ModelManager(managerOptions);
      try {
        await manager.applyConfig(configs);
      } catch (err) {
        await manager.close();
        throw err;
      }
      return manager;
    }
    return await ModelManager.create(configs, managerOptions);
  } catch (err) {
    // TF Serving's words (main.cc), which scripts grep for
    throw new StartupError(`Failed to start server. Error: ${asJetserveError(err).message}`);
  }
}
