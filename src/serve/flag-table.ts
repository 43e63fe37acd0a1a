// The table of server flags: TF Serving's flag names (plus jetserve's own) with their kind, default,
// bounds and help text, and the TF Serving flags refused with a reason. The CLI's parser and --help,
// startServer()'s options (options.ts) and the README's flag table are all read from it.

import { DEFAULT_INLINE_BELOW_MICROS } from '../engine/placement.js';
import { DEFAULT_PROMETHEUS_PATH } from '../observability/monitoring-config.js';
import { DEFAULT_MAX_BODY_BYTES } from '../server/http/server.js';
import { DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES } from '../server/http/json-offload.js';
import { DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_TENSOR_ELEMENTS } from '../wire/limits.js';
import { LOG_LEVELS } from '../observability/logging/levels.js';

export type FlagKind = 'int' | 'float' | 'string' | 'bool';

export interface FlagSpec {
  kind: FlagKind;
  default: number | string | boolean;
  help: string;
  /** Inclusive bounds (int and float flags). */
  min?: number;
  max?: number;
  /**
   * A TF Serving flag jetserve accepts but has nothing to apply to: given with a value other than
   * its default, startServer() logs a warning with this reason (ignoredFlagWarnings).
   */
  ignored?: string;
}

export const SERVER_FLAGS = {
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
    ignored: 'jetserve serves HTTP from one event-loop thread and runs models on native executor threads; there is no HTTP thread pool to size',
  },
  rest_api_max_body_bytes: {
    kind: 'int',
    default: DEFAULT_MAX_BODY_BYTES,
    min: 1,
    help: 'jetserve: largest accepted REST request body in bytes; larger requests get 413.',
  },
  rest_api_max_tensor_elements: {
    kind: 'int',
    default: DEFAULT_MAX_TENSOR_ELEMENTS,
    min: 1,
    help: 'jetserve: most tensor elements one REST request may carry, summed over its inputs (TF-JSON, KServe JSON and binary, FlatBuffers). A request over it gets 413, before memory is allocated for its tensors.',
  },
  rest_api_max_json_depth: {
    kind: 'int',
    default: DEFAULT_MAX_JSON_DEPTH,
    min: 1,
    max: 1024,
    help: 'jetserve: deepest JSON nesting a REST request body may have (the top-level object is level 1); deeper bodies get 400. The default holds every tensor TF can (rank <= 254).',
  },
  json_offload_threshold_bytes: {
    kind: 'int',
    default: DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES,
    min: 0,
    help: 'jetserve: TF Serving predict and KServe infer JSON bodies of at least this many bytes are decoded on a worker-thread pool, so the event loop keeps serving other requests meanwhile. 0 = always decode inline. A process that may run on one CPU only (taskset, cpuset, a 1-vCPU machine) decodes inline whatever this says: there the pool would decode on the event loop\'s own core and add only copies. The default comes from bench/json-offload.ts.',
  },
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
  inline_run_below_micros: {
    kind: 'int',
    default: DEFAULT_INLINE_BELOW_MICROS,
    min: 0,
    max: 1_000_000,
    help: "jetserve: a model run (or batch) whose measured cost is below this many microseconds runs on the event-loop thread instead of being handed to the executor threads (the hand-off costs more than such a run); heavier runs, and every run while one is in flight, go to the executor. 0 = always the executor. See src/engine/README.md.",
  },
  graph_remapper: {
    kind: 'string',
    default: 'auto',
    help: "jetserve: TF grappler's remapper (fusing e.g. MatMul+BiasAdd+Relu into one oneDNN kernel) for each model's session: auto = measure a small model (batch-1 run under 500 µs, no state-changing ops) both ways at load and keep the faster; on = TensorFlow's default; off = no fusion. Small dense models run about twice as fast unfused, convolutions faster fused. See src/engine/README.md.",
  },
  session_executor: {
    kind: 'string',
    default: 'auto',
    help: "jetserve: the TF executor that runs each model's graph: auto = on a small model whose graph it can run (no control flow, reference edges, collectives or GPUs), measure TF's single-threaded executor against its default one at load (together with --graph_remapper=auto) and keep the faster; default = TensorFlow's; single-threaded = always (a model it cannot run fails to load). It saves about 1 µs per run on small graphs; profiler traces (--enable_profiler) then show each of the model's runs but not its ops. See src/engine/README.md.",
  },
  validate_input_shapes: {
    kind: 'bool',
    default: false,
    help: "jetserve: check the shape of every TF Serving request input (REST and gRPC Predict) against the signature before running; a mismatch is INVALID_ARGUMENT naming the input and the shape declared. Default false, as TF Serving: only dtypes are checked and TF decides about shapes (half_plus_two's x [-1,1] takes x of shape [3]; what TF refuses comes back as TF's error). KServe v2 requests always have their shapes checked, as Triton does.",
  },
  enable_signature_method_name_check: {
    kind: 'bool',
    default: false,
    help: "Check SignatureDef method_name: Classify needs tensorflow/serving/classify, Regress tensorflow/serving/regress, Predict one of predict / classify / regress. Default false, as TF Serving: Classify / Regress / MultiInference then check only the signature's inputs and outputs, which is what serves native TF2 classification and regression models (tf.saved_model.save writes tensorflow/serving/predict into every signature).",
  },
  grpc_socket_path: { kind: 'string', default: '', help: 'Also serve gRPC on this unix socket ("unix:" prefix optional).' },
  grpc_channel_arguments: {
    kind: 'string',
    default: '',
    help: 'gRPC server channel arguments as k=v,k=v (integer-looking values become numbers).',
  },
  ssl_config_file: {
    kind: 'string',
    default: '',
    help: 'TF Serving SSLConfig text file: TLS (and, with client_verify, mutual TLS) for gRPC and — unlike TF Serving — the REST port too.',
  },
  enable_serialization_as_tensor_content: {
    kind: 'bool',
    default: false,
    help: 'Write gRPC Predict outputs as tensor_content (one byte blob per tensor) instead of the typed *_val fields (float_val, int_val, ...) that clients reading e.g. outputs["y"].float_val expect. tf.make_ndarray reads both. Default false, as TF Serving.',
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
    help: "HTTP/2 layer for gRPC: 'jetserve' (own HTTP/2 implementation, about 3x node:http2's throughput on small calls; h2spec 145/145) or 'grpc-js' (@grpc/grpc-js over Node's http2).",
  },
  grpc_max_concurrent_streams: {
    kind: 'int',
    default: 100,
    min: 1,
    help: 'jetserve: gRPC streams (calls) one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused with REFUSED_STREAM. grpc.max_concurrent_streams in --grpc_channel_arguments overrides it.',
  },
  grpc_max_header_list_size: {
    kind: 'int',
    default: 16384,
    min: 1024,
    help: "jetserve: largest gRPC request header list in bytes (names + values + 32 per field, RFC 9113); a larger one is answered RESOURCE_EXHAUSTED, a header block far beyond it ends the connection (GOAWAY ENHANCE_YOUR_CALM).",
  },
  grpc_max_connection_inflight_bytes: {
    kind: 'int',
    default: 1024 * 1024 * 1024,
    min: 1024 * 1024,
    help: 'jetserve: request bytes received plus response bytes not yet read by the client that one gRPC connection may hold; a call past it is answered RESOURCE_EXHAUSTED.',
  },
  grpc_max_session_memory_mb: {
    kind: 'int',
    default: 32,
    min: 1,
    help: "jetserve: bytes queued for a gRPC client that does not read, in MiB: past it the connection is not read until it drains, and further PING/SETTINGS (a flood) get GOAWAY ENHANCE_YOUR_CALM and a close. For --grpc_transport=grpc-js it is grpc-node.max_session_memory.",
  },
  grpc_max_stream_resets_per_second: {
    kind: 'int',
    default: 200,
    min: 1,
    help: 'jetserve: stream resets per gRPC connection and second (client RST_STREAMs of unanswered calls and protocol errors) before GOAWAY ENHANCE_YOUR_CALM (Rapid Reset).',
  },
  grpc_max_threads: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Accepted for compatibility and ignored: TF Serving caps its gRPC thread pool with it; jetserve handles gRPC on the event loop and runs models on native executor threads.',
    ignored: 'jetserve handles gRPC on the event loop (models run on native executor threads); there is no gRPC thread pool to cap',
  },
  enable_profiler: {
    kind: 'bool',
    default: true,
    help: "Serve tensorflow.ProfilerService on the gRPC port, as TF Serving does, so tf.profiler.experimental.client.trace('grpc://host:<port>', logdir, duration_ms) traces this server's TF runs and, for models on TF's default executor (--session_executor), their ops (trace files are written by the server under the logdir the client names). It forwards to TF's own profiler server, started on the first profiler call on a free port of its own that TF binds on every interface, in plaintext: with --ssl_config_file it stays off unless this flag is given.",
  },
  enable_grpc_healthcheck_service: {
    kind: 'bool',
    default: false,
    help: 'Accepted; jetserve always serves grpc.health.v1.Health.',
  },
  enable_batching: {
    kind: 'bool',
    default: true,
    help: "Batch concurrent requests into one TF run. jetserve's default is on: with batch_timeout_micros 0 it only merges requests that arrive while the executor is busy, so it never adds latency when idle, and its queue refuses nothing (TF Serving's queue limits apply with a --batching_parameters_file). --enable_batching=false turns it off.",
  },
  batching_parameters_file: {
    kind: 'string',
    default: '',
    help: 'TF Serving BatchingParameters text file (max_batch_size, batch_timeout_micros, max_enqueued_batches, num_batch_threads, allowed_batch_sizes, pad_variable_length_inputs).',
  },
  batching_target_p99_ms: {
    kind: 'float',
    default: 0,
    min: 0,
    help: "jetserve: adaptive batching. A p99 latency target in ms: each model signature's batch size and batch timeout then adapt online to hold it (AIMD over measured latency, bounded by a cost model of the model's run time), never above max_batch_size and batch_timeout_micros, which become upper bounds (a --batching_parameters_file may set target_p99_ms instead; this flag wins). 0 = static batching. See src/batching/README.md.",
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
    help: 'Accepted for compatibility and ignored: unloads run asynchronously (each drains its in-flight requests first).',
    ignored: 'unloads run asynchronously, each after its requests in flight drained; there is no unload thread pool',
  },
  flush_filesystem_caches: {
    kind: 'bool',
    default: true,
    help: 'Accepted for compatibility: TF Serving flushes TF file system caches (e.g. of GCS) after loads; jetserve keeps none, so true (the default) is what it does and false is ignored.',
    ignored: 'jetserve keeps no file system caches of its own to keep or flush',
  },
  remove_unused_fields_from_bundle_metagraph: {
    kind: 'bool',
    default: true,
    help: 'Accepted for compatibility: jetserve keeps only the SignatureDefs of a loaded MetaGraphDef, which is what true (the default) asks for; false is ignored.',
    ignored: 'jetserve keeps only the SignatureDefs of a loaded MetaGraphDef',
  },
  xla_cpu_compilation_enabled: {
    kind: 'bool',
    default: true,
    help: "XLA:CPU JIT for functions saved with jit_compile=True. jetserve runs them the way TF does (compiled with XLA:CPU), which TF Serving does only with this flag (its default is false: such models fail their first run); =false is ignored.",
    ignored: "jetserve cannot turn TF's XLA:CPU JIT off; functions saved with jit_compile=True run compiled",
  },
  xla_gpu_compilation_enabled: {
    kind: 'bool',
    default: false,
    help: 'Accepted for compatibility and ignored: jetserve leaves XLA:GPU JIT as the TF library has it.',
    ignored: 'jetserve leaves XLA:GPU JIT as the TF library has it',
  },
  mixed_precision: {
    kind: 'string',
    default: '',
    help: "Accepted for compatibility and ignored: TF Serving's \"bfloat16\" rewrites graphs to bfloat16 on CPU; jetserve runs models in the precision they were saved in.",
    ignored: 'jetserve runs models in the precision they were saved in (no bfloat16 rewrite)',
  },
  prefer_tflite_model: {
    kind: 'bool',
    default: false,
    help: "Accepted for compatibility and ignored: jetserve has no TF Lite runtime and serves saved_model.pb, which is what TF Serving does for a version without model.tflite.",
    ignored: 'jetserve has no TF Lite runtime: it serves saved_model.pb (TF Serving falls back to it too when a version has no model.tflite)',
  },
  num_tflite_pools: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Accepted for compatibility and ignored (no TF Lite runtime; see --prefer_tflite_model).',
    ignored: 'jetserve has no TF Lite runtime',
  },
  num_tflite_interpreters_per_pool: {
    kind: 'int',
    default: 0,
    min: 0,
    help: 'Accepted for compatibility and ignored (no TF Lite runtime; see --prefer_tflite_model).',
    ignored: 'jetserve has no TF Lite runtime',
  },
  skip_initialize_tpu: {
    kind: 'bool',
    default: false,
    help: 'Accepted for compatibility and ignored: jetserve does not run on TPUs.',
    ignored: 'jetserve does not run on TPUs',
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
    help: 'TF Serving MonitoringConfig text file, e.g. prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" } (path optional, that is the default). Enabled, the REST port answers GET <path> with Prometheus metrics under TF Serving\'s names (:tensorflow:serving:request_count, request_latency, runtime_latency, model load and warmup metrics) plus jetserve\'s (model version states, batching, process and runtime, per-model memory and in-flight). Needs the REST port.',
  },
  enable_metrics: {
    kind: 'bool',
    default: false,
    help: "jetserve: serve Prometheus metrics on the REST port at --metrics_path without a --monitoring_config_file (the same page it enables): TF Serving's metric names plus process, Node runtime (event-loop lag, GC, heap), per-model memory and in-flight gauges.",
  },
  metrics_path: {
    kind: 'string',
    default: DEFAULT_PROMETHEUS_PATH,
    help: "jetserve: URL path of the Prometheus page with --enable_metrics (a --monitoring_config_file's prometheus_config.path takes precedence).",
  },
  enable_model_repository_api: {
    kind: 'bool',
    default: false,
    help: 'jetserve: serve the KServe/Triton model repository API (REST POST /v2/repository/index, /v2/repository/models/{m}/load and /unload; gRPC RepositoryIndex, RepositoryModelLoad, RepositoryModelUnload). Administrative: off by default; needs --admin_token_file or --admin_allow_loopback_without_token.',
  },
  enable_reload_config_api: {
    kind: 'bool',
    default: false,
    help: 'jetserve: serve gRPC ModelService/HandleReloadConfigRequest (TF Serving serves it unconditionally; jetserve answers UNIMPLEMENTED naming this flag unless it is set). Administrative: needs --admin_token_file or --admin_allow_loopback_without_token. SIGHUP and --model_config_file_poll_wait_seconds reload without it.',
  },
  enable_dashboard: {
    kind: 'bool',
    default: false,
    help: 'jetserve: serve a live dashboard at /dashboard on the REST port (models, versions, states, labels, traffic split and shadow statistics, request rate, latency and batch-size charts). Administrative: its data needs --admin_token_file or --admin_allow_loopback_without_token.',
  },
  admin_token_file: {
    kind: 'string',
    default: '',
    help: "jetserve: file holding the bearer token of the administrative APIs (repository API, config reload, dashboard): requests must send 'Authorization: Bearer <token>' (REST) or that metadata (gRPC); others get 401 / UNAUTHENTICATED. Surrounding whitespace is ignored; at least 16 characters.",
  },
  admin_allow_loopback_without_token: {
    kind: 'bool',
    default: false,
    help: 'jetserve: administrative requests from loopback addresses (127.0.0.0/8, ::1) or the gRPC unix socket need no token. Only safe when no proxy on this host forwards outside traffic to the server.',
  },
  rest_api_enable_cors_support: {
    kind: 'bool',
    default: false,
    help: "Add CORS headers to every REST response (Access-Control-Allow-Origin: *) and answer OPTIONS preflights (200 when the Origin is http(s)://…, else 400), as TF Serving does.",
  },
  per_process_gpu_memory_fraction: {
    kind: 'float',
    default: 0,
    min: 0,
    max: 1,
    help: "Fraction of each GPU's memory TF may allocate (ConfigProto.gpu_options.per_process_gpu_memory_fraction). 0 = TF's default (grab what it needs, growing). Ignored without a GPU.",
  },
  max_inflight_requests_per_model: {
    kind: 'int',
    default: 0,
    min: 0,
    help: "jetserve: requests one model may have running or queued at once, over all its versions; more are refused at once with 429 / RESOURCE_EXHAUSTED. 0 = unbounded, as TF Serving (a --batching_parameters_file's queue limits still apply): a bound that fits every deployment does not exist, and REST body / gRPC message limits already bound each request's memory.",
  },
  model_memory_budget_mb: {
    kind: 'int',
    default: 0,
    min: 0,
    help: "jetserve: memory all loaded model versions may take together, in MiB, measured as the growth of resident memory (RssAnon on Linux) across each load and warmup. A load whose on-disk size would not fit, or whose measured growth does not, ends END with RESOURCE_EXHAUSTED (the versions serving stay) instead of the process being OOM-killed. 0 = no budget.",
  },
  drain_grace_seconds: {
    kind: 'float',
    default: 5,
    min: 0,
    max: 3600,
    help: "jetserve: on SIGTERM / SIGINT, seconds of lame duck before the listeners close: readiness turns false (/v2/health/ready 400, KServe ServerReady false, gRPC health NOT_SERVING) while every request is still served (REST answers carry Connection: close), so load balancers take the replica out before it stops accepting. The default 5 s covers a Kubernetes endpoint update; with --drain_timeout_seconds it fits the default 30 s terminationGracePeriodSeconds. 0 = stop accepting at once.",
  },
  drain_timeout_seconds: {
    kind: 'float',
    default: 20,
    min: 0,
    max: 3600,
    help: 'jetserve: once the listeners are closed, seconds to wait for requests in flight to be answered (gRPC connections get GOAWAY, keep-alive REST connections close after their answer) before the remaining connections are closed and the models unloaded.',
  },
  log_level: {
    kind: 'string',
    default: 'info',
    help: `jetserve: least severe log level written: ${LOG_LEVELS.join(', ')}.`,
  },
  log_format: {
    kind: 'string',
    default: 'json',
    help: "jetserve: 'json' (one pino JSON object per line on stderr: level, time, msg and fields such as request_id) or 'text' (pino-pretty lines for people).",
  },
  access_log_sample_rate: {
    kind: 'float',
    default: 0,
    min: 0,
    max: 1,
    help: 'jetserve: share of REST and gRPC requests written to the log when answered (request_id, method, path, status, duration, bytes), at level info. 0 (default) writes none: each line costs more than a tiny request, and metrics and tracing cover the aggregate; 1 logs every request.',
  },
  tracing_otlp_endpoint: {
    kind: 'string',
    default: '',
    help: 'jetserve: OpenTelemetry tracing: send spans (request, decode, queue, run, encode; W3C traceparent in and out) to this OTLP/HTTP protobuf endpoint, e.g. http://collector:4318/v1/traces. Also enabled by the OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT environment variables. Off by default: no span is created.',
  },
  request_log_max_buffer_bytes: {
    kind: 'int',
    default: 16 * 1024 * 1024,
    min: 1024,
    help: "jetserve: bytes of PredictionLog records (a model config's logging_config) waiting to be written, per log file; records past it are dropped and counted, never delaying a request.",
  },
  request_log_max_file_bytes: {
    kind: 'int',
    default: 256 * 1024 * 1024,
    min: 1024,
    help: 'jetserve: a request log file (<filename_prefix>.<n>.tfrecord) is closed and the next one started at this size.',
  },
  request_log_max_files: {
    kind: 'int',
    default: 8,
    min: 1,
    help: 'jetserve: request log files kept per logging_config; the oldest is deleted when a new one starts (disk use stays below this times --request_log_max_file_bytes).',
  },
} satisfies Record<string, FlagSpec>;

export type ServerFlagName = keyof typeof SERVER_FLAGS;

/** A default's type without its literal (`false` → boolean, `8500` → number). */
type Widen<T> = T extends boolean ? boolean : T extends number ? number : T extends string ? string : T;

/** Every server flag's value (TF Serving's spelling). */
export type ServerFlagValues = { -readonly [K in ServerFlagName]: Widen<(typeof SERVER_FLAGS)[K]['default']> };

/** TF Serving flags jetserve knows but does not implement: refused rather than silently ignored. */
export const NOT_YET_SUPPORTED: ReadonlySet<string> = new Set([
  'enable_per_model_batching_parameters',
  'use_alts_credentials',
  'platform_config_file',
  'tensorflow_session_config_file',
  'thread_pool_factory_config_file',
]);

/** Why a flag of NOT_YET_SUPPORTED is refused (the CLI's message and --help say it). */
export const REFUSAL_REASONS: Readonly<Record<string, string>> = {
  enable_per_model_batching_parameters:
    "each SavedModel's batching_params.pbtxt is not read; --batching_parameters_file applies to every model",
  use_alts_credentials: 'ALTS exists only between Google Cloud workloads; use --ssl_config_file for TLS',
  platform_config_file:
    'a PlatformConfigMap configures TF Serving C++ source adapters; use --tensorflow_intra_op_parallelism, --tensorflow_inter_op_parallelism and --saved_model_tags',
  tensorflow_session_config_file:
    'a ConfigProto text file is not read; use --tensorflow_intra_op_parallelism and --tensorflow_inter_op_parallelism',
  thread_pool_factory_config_file: 'thread pool factories are a TF Serving C++ extension point',
};
