// Every flag of `tensorflow_model_server --help` (TF Serving 2.21's main.cc) is known to jetserve:
// supported, accepted and ignored with a warning naming the reason, or refused with the reason —
// never "unknown flag". The README's flag table lists the same three groups.

import { describe, expect, it } from 'vitest';
import { helpText, parseFlags, UsageError } from '../../src/cli/index.js';
import { ignoredFlagWarnings, NOT_YET_SUPPORTED, REFUSAL_REASONS, resolveServerOptions, SERVER_FLAGS } from '../../src/serve/options.js';
import { startServer } from '../../src/serve/start.js';
import { DEMO_MODEL_PATH } from '../../src/serve/start.js';

/** tensorflow_model_server's flags (tensorflow_serving/model_servers/main.cc), with a value to pass. */
const TF_SERVING_FLAGS: Record<string, string> = {
  port: '8500',
  grpc_socket_path: '/tmp/tfs.sock',
  rest_api_port: '8501',
  rest_api_num_threads: '16',
  rest_api_timeout_in_ms: '30000',
  rest_api_enable_cors_support: 'true',
  enable_batching: 'true',
  allow_version_labels_for_unavailable_models: 'true',
  batching_parameters_file: '/tmp/batching.config',
  enable_per_model_batching_parameters: 'true',
  model_config_file: '/tmp/models.config',
  model_config_file_poll_wait_seconds: '60',
  model_name: 'm',
  model_base_path: '/models/m',
  num_load_threads: '2',
  num_unload_threads: '2',
  max_num_load_retries: '5',
  load_retry_interval_micros: '60000000',
  file_system_poll_wait_seconds: '1',
  flush_filesystem_caches: 'false',
  tensorflow_session_parallelism: '2',
  tensorflow_session_config_file: '/tmp/session.config',
  tensorflow_intra_op_parallelism: '2',
  tensorflow_inter_op_parallelism: '2',
  use_alts_credentials: 'true',
  ssl_config_file: '/tmp/ssl.config',
  platform_config_file: '/tmp/platform.config',
  per_process_gpu_memory_fraction: '0.5',
  saved_model_tags: 'serve',
  grpc_channel_arguments: 'grpc.max_connection_age_ms=2000',
  grpc_max_threads: '8',
  enable_model_warmup: 'true',
  num_request_iterations_for_warmup: '2',
  version: 'true',
  monitoring_config_file: '/tmp/monitoring.config',
  remove_unused_fields_from_bundle_metagraph: 'false',
  prefer_tflite_model: 'true',
  num_tflite_pools: '4',
  num_tflite_interpreters_per_pool: '2',
  enable_signature_method_name_check: 'true',
  xla_cpu_compilation_enabled: 'false',
  xla_gpu_compilation_enabled: 'true',
  enable_profiler: 'true',
  thread_pool_factory_config_file: '/tmp/threads.config',
  mixed_precision: 'bfloat16',
  skip_initialize_tpu: 'true',
  enable_grpc_healthcheck_service: 'true',
  enable_serialization_as_tensor_content: 'true',
};

/** Flags whose validity depends on others: parsed with a partner so the combination is valid. */
const PARTNERS: Record<string, string[]> = {
  model_name: ['--model_base_path=/models/m'],
  model_config_file_poll_wait_seconds: ['--model_config_file=/tmp/models.config'],
};

describe("tensorflow_model_server's flags", () => {
  it.each(Object.entries(TF_SERVING_FLAGS))('--%s is supported, accepted with a warning, or refused with a reason', (flag, value) => {
    const args = [`--${flag}=${value}`, ...(PARTNERS[flag] ?? [])];
    if (NOT_YET_SUPPORTED.has(flag)) {
      let err: unknown;
      try {
        parseFlags(args);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(new RegExp(`^--${flag} is a TF Serving flag jetserve does not support`));
      return;
    }
    expect(Object.hasOwn(SERVER_FLAGS, flag) || flag === 'version', `--${flag} is unknown to jetserve`).toBe(true);
    const flags = parseFlags(args);
    expect(flags.given.has(flag as never)).toBe(true);
  });

  it('every refusal gives its reason, in the message and in --help', () => {
    const help = helpText();
    for (const flag of NOT_YET_SUPPORTED) {
      expect(REFUSAL_REASONS[flag], flag).toBeTruthy();
      expect(help).toContain(`--${flag}: ${REFUSAL_REASONS[flag]}`);
    }
  });

  it('an ignored flag given a value other than its default is a warning naming the reason; its default is silent', () => {
    const warnings = (options: Record<string, unknown>) => ignoredFlagWarnings(resolveServerOptions({ log: false, ...options }));
    expect(warnings({ preferTfliteModel: true })).toEqual([
      '--prefer_tflite_model=true is accepted for compatibility and ignored: jetserve has no TF Lite runtime: it serves saved_model.pb (TF Serving falls back to it too when a version has no model.tflite)',
    ]);
    expect(warnings({ preferTfliteModel: false, xlaCpuCompilationEnabled: true, restApiNumThreads: 0 })).toEqual([]);
    expect(warnings({ xlaCpuCompilationEnabled: false, grpcMaxThreads: 8 })).toEqual([
      "--xla_cpu_compilation_enabled=false is accepted for compatibility and ignored: jetserve cannot turn TF's XLA:CPU JIT off; functions saved with jit_compile=True run compiled",
      '--grpc_max_threads=8 is accepted for compatibility and ignored: jetserve handles gRPC on the event loop (models run on native executor threads); there is no gRPC thread pool to cap',
    ]);
  });

  it('startServer() logs the warnings and serves', async () => {
    const lines: string[] = [];
    const server = await startServer({
      modelBasePath: DEMO_MODEL_PATH,
      restApiPort: 0,
      port: false,
      host: '127.0.0.1',
      numTflitePools: 4,
      mixedPrecision: 'bfloat16',
      log: (m, level) => lines.push(`${level ?? 'info'}: ${m}`),
    });
    try {
      expect(lines.filter((l) => l.startsWith('warn: '))).toEqual([
        'warn: --num_tflite_pools=4 is accepted for compatibility and ignored: jetserve has no TF Lite runtime',
        'warn: --mixed_precision=bfloat16 is accepted for compatibility and ignored: jetserve runs models in the precision they were saved in (no bfloat16 rewrite)',
      ]);
      const r = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/default:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
      expect(await r.json()).toEqual({ predictions: [2.5] });
    } finally {
      await server.close();
    }
  });
});
