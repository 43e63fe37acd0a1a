// The gRPC front end: TF Serving's PredictionService and ModelService, KServe v2's
// GRPCInferenceService, grpc.health.v1.Health and server reflection over the model resolver, on
// one Transport (transport.ts: the own HTTP/2 layer by default, grpc-js, or node:http2). Owns listening (TCP and/or a unix socket), TLS from TF Serving's
// --ssl_config_file, message-size limits and --grpc_channel_arguments.

import { invalidArgument } from '../../errors.js';
import { quiesceListener } from '../../engine/listen-guard.js';
import { JETSERVE_VERSION } from '../../version.js';
import type { ServingMetrics } from '../../observability/serving-metrics.js';
import { PROTO_DIR, SERVICE_PROTO_FILES } from '../../wire/protobuf/schemas.js';
import type { Logger } from './common.js';
import { HealthState, healthServiceDefinition, healthServiceHandlers } from './health.js';
import { AdminAuth } from '../admin-auth.js';
import { guardAdminMethods, RELOAD_METHODS, REPOSITORY_METHODS } from './admin.js';
import { countRequests } from './metrics.js';
import { observeCalls } from './request-context.js';
import type { AccessLog } from '../../observability/logging/access-log.js';
import type { GrpcTracing } from '../../observability/tracing/request-trace.js';
import { inferenceServiceDefinition, inferenceServiceHandlers, INFERENCE_SERVICE, type KServeModelSource } from './kserve.js';
import { readSslConfigFile, sslServerCredentials, type SslConfig } from './ssl-config.js';
import { bindUnixSocket, type UnixSocketBinding } from './unix-socket.js';
import { profilerProxy, profilerServiceDefinition } from './profiler.js';
import { GrpcJsTransport, hostPart } from './grpc-js-transport.js';
import { Http2Transport } from './http2/server.js';
import { GrpcTransportServer } from './transport/server.js';
import {
  DEFAULT_TRANSPORT_LIMITS,
  type TlsOptions,
  type Transport,
  type TransportLimits,
  type TransportName,
} from './transport.js';
import {
  MODEL_SERVICE,
  modelServiceDefinition,
  modelServiceHandlers,
  PREDICTION_SERVICE,
  predictionServiceDefinition,
  predictionServiceHandlers,
  type ReloadableModelSource,
} from './tfserving.js';

/** What the gRPC front end needs from the model manager (ModelManager implements it). */
export type GrpcModelSource = ReloadableModelSource & KServeModelSource;

export const DEFAULT_GRPC_PORT = 8500;
/** Default --grpc_max_message_size (both directions): 512 MiB. TF Serving uses INT32_MAX. */
export const DEFAULT_GRPC_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;

export interface GrpcServerOptions {
  /** TCP port (--port). 0 = any free port; null = no TCP listener (then socketPath is required). Default 8500. */
  port?: number | null;
  /** Address to bind. Default "0.0.0.0" (as TF Serving). */
  host?: string;
  /**
   * --grpc_socket_path: also listen on this unix socket ("unix:" prefix optional). A socket already
   * at the path (stale, or another server's) is replaced, as gRPC core does (unix-socket.ts).
   */
  socketPath?: string;
  /** --grpc_max_message_size: largest request and response message in bytes. Default 512 MiB. */
  maxMessageSize?: number;
  /**
   * --grpc_channel_arguments: "k=v,k=v" (values that parse as integers become numbers) or an object.
   * These override maxMessageSize. jetserve's transport honours grpc.max_receive_message_length,
   * grpc.max_send_message_length, grpc.max_concurrent_streams, grpc.http2.lookahead_bytes (stream
   * window) and grpc.http2.max_frame_size; the grpc-js transport passes everything to grpc-js's
   * Server (e.g. grpc.keepalive_time_ms, grpc.max_connection_idle_ms, grpc.max_connection_age_ms,
   * grpc-node.max_session_memory, grpc.enable_channelz).
   */
  channelArguments?: string | Record<string, string | number>;
  /** --ssl_config_file (TF Serving's SSLConfig text format). */
  sslConfigFile?: string;
  /** The SSLConfig itself (instead of a file). */
  sslConfig?: SslConfig;
  /**
   * --enable_serialization_as_tensor_content: Predict outputs as `tensor_content` (true: one blob
   * per tensor, large ones written without a copy) or as the typed `*_val` fields (false, default:
   * TF Serving's default, which clients reading e.g. `outputs["y"].float_val` rely on).
   */
  tensorContentOutputs?: boolean;
  /** Serve grpc.health.v1.Health. Default true. */
  health?: boolean;
  /**
   * --enable_profiler: serve tensorflow.ProfilerService by proxying TF's profiler server, started
   * on the first call (profiler.ts). Default true, as TF Serving; false answers UNIMPLEMENTED.
   */
  profiler?: boolean;
  /** Why the profiler service is off (its UNIMPLEMENTED message). Default: --enable_profiler=false. */
  profilerOffReason?: string;
  /** Serve gRPC server reflection (v1 and v1alpha). Default true. */
  reflection?: boolean;
  /**
   * --enable_model_repository_api: serve Triton's RepositoryIndex / RepositoryModelLoad /
   * RepositoryModelUnload on inference.GRPCInferenceService. Default false: they answer UNIMPLEMENTED.
   */
  repositoryApi?: boolean;
  /** --enable_reload_config_api: serve ModelService/HandleReloadConfigRequest. Default false: UNIMPLEMENTED. */
  reloadApi?: boolean;
  /**
   * Who may call the administrative methods that are on (repository RPCs, config reload). Default:
   * nobody (UNAUTHENTICATED naming --admin_token_file / --admin_allow_loopback_without_token).
   */
  admin?: AdminAuth;
  /** KServe ServerMetadata name / version. Default "jetserve" / package.json version. */
  serverName?: string;
  serverVersion?: string;
  /** --grpc_max_concurrent_streams: streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  maxConcurrentStreams?: number;
  /** --grpc_max_header_list_size: largest request header list in bytes. Default 16 KiB. */
  maxHeaderListSize?: number;
  /** --grpc_max_connection_inflight_bytes: request + unread response bytes one connection may hold. Default 1 GiB. */
  maxConnectionInflightBytes?: number;
  /** --grpc_max_session_memory_mb: HTTP/2 session memory per connection (nghttp2), MiB. Default 32. */
  maxSessionMemoryMb?: number;
  /** --grpc_max_stream_resets_per_second: client RST_STREAMs per connection and second before GOAWAY. Default 200. */
  maxStreamResetsPerSecond?: number;
  /**
   * The transport: "jetserve" (default: jetserve's own HTTP/2), "grpc-js" (@grpc/grpc-js) or
   * "http2" (a thin gRPC layer on node:http2, measured against the others in bench/grpc.ts). Every
   * transport serves the same services with the same handlers.
   */
  transport?: TransportName;
  /** Where start-up notes and internal errors go. Default console.error. */
  log?: Logger;
  /**
   * --monitoring_config_file: count Predict / Classify / Regress / ModelInfer calls into these
   * metrics (request_count, request_latency with entrypoint="GRPC"). Default: none, no metrics work.
   */
  metrics?: ServingMetrics;
  /** --access_log_sample_rate: a sampled share of answered unary calls is logged. Default: none. */
  accessLog?: AccessLog;
  /** OpenTelemetry call tracing (undefined: off, no per-call work). */
  tracing?: GrpcTracing;
}

export interface GrpcServer {
  /** The bound TCP port (0 when there is no TCP listener). */
  readonly port: number;
  /** Addresses listened on, e.g. ["0.0.0.0:8500", "unix:/tmp/tfs.sock"]. */
  readonly addresses: string[];
  /** Health state: set NOT_SERVING before draining, per service or all at once. */
  readonly health: HealthState;
  /** Which transport serves. */
  readonly transport: TransportName;
  /** The limits in force (flags, then --grpc_channel_arguments). */
  readonly limits: TransportLimits;
  /** Lame duck (the start of a drain): health answers NOT_SERVING; calls are still served. */
  beginDrain(): void;
  /**
   * Graceful stop: closes the listeners, sends GOAWAY (running calls finish, clients open no new
   * streams here), waits up to graceMs for the connections to end, then closes what is left.
   */
  close(graceMs?: number): Promise<void>;
}


/** Parses --grpc_channel_arguments ("k=v,k=v"; integer-looking values become numbers). */
export function parseChannelArguments(text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw invalidArgument(`--grpc_channel_arguments: '${item}' is not key=value`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    out[key] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

/**
 * Starts the gRPC server over `models` (the ModelManager). Resolves once every listener is bound.
 * TF Serving's flags map as: --port → port, --grpc_socket_path → socketPath,
 * --grpc_max_message_size → maxMessageSize, --grpc_channel_arguments → channelArguments,
 * --ssl_config_file → sslConfigFile, --enable_serialization_as_tensor_content → tensorContentOutputs.
 */
export async function startGrpcServer(
  models: GrpcModelSource,
  options: GrpcServerOptions = {},
): Promise<GrpcServer> {
  const log = options.log ?? ((m: string) => console.error(m));
  const channelArgs =
    typeof options.channelArguments === 'string'
      ? parseChannelArguments(options.channelArguments)
      : (options.channelArguments ?? {});
  const limits = limitsOf(options, channelArgs);
  const transportName = options.transport ?? 'jetserve';
  const ssl = options.sslConfig ?? (options.sslConfigFile ? readSslConfigFile(options.sslConfigFile) : undefined);
  if (ssl) sslServerCredentials(ssl); // validates the config the same way for every transport

  const transport = createTransport(transportName, limits, channelArgs, log);
  if (options.metrics) countRequests(transport, options.metrics);
  // every call gets a request id; access log and tracing only when configured
  observeCalls(transport, { accessLog: options.accessLog, tracing: options.tracing });
  // installed after observeCalls, so a refused admin call is observed (request id, access log) too
  const adminPaths = new Set([...(options.repositoryApi ? REPOSITORY_METHODS : []), ...(options.reloadApi ? RELOAD_METHODS : [])]);
  guardAdminMethods(transport, options.admin ?? new AdminAuth(), adminPaths);

  const tfOptions = { tensorContent: options.tensorContentOutputs ?? false, log };
  transport.addService(predictionServiceDefinition(), predictionServiceHandlers(models, tfOptions));
  transport.addService(modelServiceDefinition(), modelServiceHandlers(models, log, options.reloadApi ?? false));
  transport.addService(
    inferenceServiceDefinition(),
    inferenceServiceHandlers(models, {
      serverName: options.serverName ?? 'jetserve',
      serverVersion: options.serverVersion ?? JETSERVE_VERSION,
      extensions: ['statistics'],
      repositoryApi: options.repositoryApi ?? false,
      log,
    }),
  );
  const health = new HealthState([
    PREDICTION_SERVICE,
    MODEL_SERVICE,
    INFERENCE_SERVICE,
    // TF Serving's health service answers for the short names
    'PredictionService',
    'ModelService',
  ]);
  if (options.health ?? true) transport.addService(healthServiceDefinition(), healthServiceHandlers(health, log));
  const profiler = profilerProxy({
    enabled: options.profiler ?? true,
    ...(options.profilerOffReason ? { offReason: options.profilerOffReason } : {}),
    maxMessageSize: limits.maxSendMessageLength,
    log,
  });
  transport.addService(profilerServiceDefinition(), profiler.handlers);
  if (options.reflection ?? true) await addReflection(transport);

  const addresses: string[] = [];
  let port = 0;
  const wantPort = options.port === undefined ? DEFAULT_GRPC_PORT : options.port;
  const host = options.host ?? '0.0.0.0';
  const socketPath = options.socketPath?.replace(/^unix:/, '');
  let unixSocket: UnixSocketBinding | undefined;
  const tls: TlsOptions | undefined = ssl
    ? {
        key: Buffer.from(ssl.serverKey),
        cert: Buffer.from(ssl.serverCert),
        ...(ssl.customCa ? { ca: Buffer.from(ssl.customCa) } : {}),
        clientVerify: ssl.clientVerify,
      }
    : undefined;
  try {
    if (wantPort === null && !socketPath) throw invalidArgument('gRPC server needs a port or a socket path');
    if (wantPort !== null) {
      port = await transport.listen({ host, port: wantPort }, tls).catch((err: Error) => {
        throw new Error(`gRPC server cannot listen on ${hostPart(host)}:${wantPort}: ${err.message}`);
      });
      addresses.push(`${hostPart(host)}:${port}`);
    }
    if (socketPath) {
      unixSocket = await bindUnixSocket(socketPath, (path) => transport.listen({ path }, tls)).catch((err: Error) => {
        throw new Error(`gRPC server cannot listen on unix:${socketPath}: ${err.message}`);
      });
      addresses.push(`unix:${socketPath}`);
    }
  } catch (err) {
    transport.forceClose();
    await profiler.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    addresses,
    health,
    transport: transport.name,
    limits,
    beginDrain(): void {
      health.setAll('NOT_SERVING');
    },
    close(graceMs = 10_000): Promise<void> {
      closing ??= (async () => {
        health.setAll('NOT_SERVING');
        // connections clients already have are accepted before the listener closes (none is reset)
        if (port > 0) await quiesceListener(port);
        await transport.close(graceMs);
        unixSocket?.release();
        await profiler.close();
      })();
      return closing;
    },
  };
}

export function createTransport(
  name: TransportName,
  limits: TransportLimits,
  channelArgs: Record<string, string | number>,
  log: Logger,
): Transport {
  switch (name) {
    case 'grpc-js':
      return new GrpcJsTransport(limits, channelArgs);
    case 'http2':
      return new Http2Transport(limits, log);
    case 'jetserve':
      return new GrpcTransportServer(limits, log);
    default:
      throw invalidArgument(`--grpc_transport must be 'jetserve', 'grpc-js' or 'http2', not '${String(name)}'`);
  }
}

/** The transport limits from the options, then --grpc_channel_arguments on top. */
function limitsOf(options: GrpcServerOptions, args: Record<string, string | number>): TransportLimits {
  const num = (key: string): number | undefined => (typeof args[key] === 'number' ? (args[key] as number) : undefined);
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_GRPC_MAX_MESSAGE_SIZE;
  const d = DEFAULT_TRANSPORT_LIMITS;
  return {
    maxReceiveMessageLength: num('grpc.max_receive_message_length') ?? maxMessageSize,
    maxSendMessageLength: num('grpc.max_send_message_length') ?? maxMessageSize,
    maxConcurrentStreams: num('grpc.max_concurrent_streams') ?? options.maxConcurrentStreams ?? d.maxConcurrentStreams,
    maxHeaderListSize: num('grpc.max_metadata_size') ?? options.maxHeaderListSize ?? d.maxHeaderListSize,
    maxConnectionInflightBytes: options.maxConnectionInflightBytes ?? d.maxConnectionInflightBytes,
    maxSessionMemoryMiB: num('grpc-node.max_session_memory') ?? options.maxSessionMemoryMb ?? d.maxSessionMemoryMiB,
    maxStreamResetsPerSecond: options.maxStreamResetsPerSecond ?? d.maxStreamResetsPerSecond,
    streamWindow: num('grpc.http2.lookahead_bytes') ?? num('grpc-node.flow_control_window') ?? d.streamWindow,
    connectionWindow: d.connectionWindow,
    maxFrameSize: num('grpc.http2.max_frame_size') ?? d.maxFrameSize,
  };
}

/** Server reflection from the same .proto files (proto-loader builds the descriptors). */
async function addReflection(server: Pick<Transport, 'addService'>): Promise<void> {
  const [protoLoader, { ReflectionService }] = await Promise.all([
    import('@grpc/proto-loader'),
    import('@grpc/reflection'),
  ]);
  const definition = protoLoader.loadSync([...SERVICE_PROTO_FILES], {
    includeDirs: [PROTO_DIR],
    keepCase: true,
  });
  new ReflectionService(definition).addToServer(server);
}
