// The gRPC front end: one @grpc/grpc-js server carrying TF Serving's PredictionService and
// ModelService, KServe v2's GRPCInferenceService, grpc.health.v1.Health and server reflection,
// over the model resolver. Owns listening (TCP and/or a unix socket), TLS from TF Serving's
// --ssl_config_file, message-size limits and --grpc_channel_arguments.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { invalidArgument } from '../../errors.js';
import type { ModelResolver } from '../../models/servable.js';
import type { ServingMetrics } from '../../observability/serving-metrics.js';
import { PROTO_DIR, SERVICE_PROTO_FILES } from '../../proto/schemas.js';
import type { Logger } from './common.js';
import { HealthState, healthServiceDefinition, healthServiceHandlers } from './health.js';
import { countRequests } from './metrics.js';
import { inferenceServiceDefinition, inferenceServiceHandlers, INFERENCE_SERVICE } from './kserve.js';
import { readSslConfigFile, sslServerCredentials, type SslConfig } from './ssl-config.js';
import { GrpcTransportServer, type TransportOptions } from './transport/server.js';
import {
  MODEL_SERVICE,
  modelServiceDefinition,
  modelServiceHandlers,
  PREDICTION_SERVICE,
  predictionServiceDefinition,
  predictionServiceHandlers,
  type ReloadableModelSource,
} from './tfserving.js';

export const DEFAULT_GRPC_PORT = 8500;
/** Default --grpc_max_message_size (both directions): 512 MiB. TF Serving uses INT32_MAX. */
export const DEFAULT_GRPC_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;

export interface GrpcServerOptions {
  /** TCP port (--port). 0 = any free port; null = no TCP listener (then socketPath is required). Default 8500. */
  port?: number | null;
  /** Address to bind. Default "0.0.0.0" (as TF Serving). */
  host?: string;
  /** --grpc_socket_path: also listen on this unix socket ("unix:" prefix optional). */
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
   * Predict outputs as `tensor_content` (true, default: fastest for every client) or as the typed
   * `*_val` fields (false: TF Serving's default without --enable_serialization_as_tensor_content,
   * for clients that read e.g. `outputs["y"].float_val` directly).
   */
  tensorContentOutputs?: boolean;
  /** Serve grpc.health.v1.Health. Default true. */
  health?: boolean;
  /** Serve gRPC server reflection (v1 and v1alpha). Default true. */
  reflection?: boolean;
  /**
   * --enable_model_repository_api: serve Triton's RepositoryIndex / RepositoryModelLoad /
   * RepositoryModelUnload on inference.GRPCInferenceService (the model source must implement
   * RepositorySource, as ModelManager does). Default false: they answer UNIMPLEMENTED.
   */
  repositoryApi?: boolean;
  /** KServe ServerMetadata name / version. Default "jetserve" / package.json version. */
  serverName?: string;
  serverVersion?: string;
  /**
   * HTTP/2 implementation: "jetserve" (default: jetserve's own frame layer, built for the serving
   * hot path) or "grpc-js" (@grpc/grpc-js over Node's http2 module). Both serve the same services.
   */
  transport?: 'jetserve' | 'grpc-js';
  /** Where start-up notes and internal errors go. Default console.error. */
  log?: Logger;
  /**
   * --monitoring_config_file: count Predict / Classify / Regress / ModelInfer calls into these
   * metrics (request_count, request_latency with entrypoint="GRPC"). Default: none, no metrics work.
   */
  metrics?: ServingMetrics;
}

export interface GrpcServer {
  /** The bound TCP port (0 when there is no TCP listener). */
  readonly port: number;
  /** Addresses listened on, e.g. ["0.0.0.0:8500", "unix:/tmp/tfs.sock"]. */
  readonly addresses: string[];
  /** Health state: set NOT_SERVING before draining, per service or all at once. */
  readonly health: HealthState;
  /** Which HTTP/2 implementation serves. */
  readonly transport: 'jetserve' | 'grpc-js';
  /** Graceful stop: refuses new calls, waits up to graceMs for running ones, then forces. */
  close(graceMs?: number): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const PACKAGE_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(here, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

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
  models: ModelResolver & ReloadableModelSource,
  options: GrpcServerOptions = {},
): Promise<GrpcServer> {
  const log = options.log ?? ((m: string) => console.error(m));
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_GRPC_MAX_MESSAGE_SIZE;
  const channelArgs =
    typeof options.channelArguments === 'string'
      ? parseChannelArguments(options.channelArguments)
      : (options.channelArguments ?? {});
  const serverOptions: grpc.ServerOptions = {
    'grpc.max_receive_message_length': maxMessageSize,
    'grpc.max_send_message_length': maxMessageSize,
    // channelz bookkeeping costs on every call; opt back in with grpc.enable_channelz=1
    'grpc.enable_channelz': 0,
    ...channelArgs,
  };
  const transport = options.transport ?? 'jetserve';
  const ssl = options.sslConfig ?? (options.sslConfigFile ? readSslConfigFile(options.sslConfigFile) : undefined);
  if (ssl) sslServerCredentials(ssl); // validates the config the same way for both transports

  // Either server takes grpc-js service definitions and implementations.
  let grpcServer: grpc.Server | undefined;
  let ownServer: GrpcTransportServer | undefined;
  if (transport === 'grpc-js') {
    grpcServer = new grpc.Server(serverOptions);
  } else {
    ownServer = new GrpcTransportServer(transportOptions(serverOptions, log));
  }
  const target = (grpcServer ?? ownServer)!;
  if (options.metrics) countRequests(target, options.metrics);

  const tfOptions = { tensorContent: options.tensorContentOutputs ?? true, gather: ownServer !== undefined, log };
  target.addService(predictionServiceDefinition(), predictionServiceHandlers(models, tfOptions));
  target.addService(modelServiceDefinition(), modelServiceHandlers(models, log));
  target.addService(
    inferenceServiceDefinition(),
    inferenceServiceHandlers(models, {
      serverName: options.serverName ?? 'jetserve',
      serverVersion: options.serverVersion ?? PACKAGE_VERSION,
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
  if (options.health ?? true) target.addService(healthServiceDefinition(), healthServiceHandlers(health, log));
  if (options.reflection ?? true) await addReflection(target);

  const addresses: string[] = [];
  let port = 0;
  const wantPort = options.port === undefined ? DEFAULT_GRPC_PORT : options.port;
  const host = options.host ?? '0.0.0.0';
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const socketPath = options.socketPath?.replace(/^unix:/, '');
  try {
    if (wantPort === null && !socketPath) throw invalidArgument('gRPC server needs a port or a socket path');
    if (grpcServer) {
      const credentials = ssl ? sslServerCredentials(ssl) : grpc.ServerCredentials.createInsecure();
      if (wantPort !== null) {
        port = await bind(grpcServer, `${hostPart}:${wantPort}`, credentials);
        addresses.push(`${hostPart}:${port}`);
      }
      if (socketPath) {
        await bind(grpcServer, `unix:${socketPath}`, credentials);
        addresses.push(`unix:${socketPath}`);
      }
    } else {
      const tlsOptions = ssl
        ? {
            key: Buffer.from(ssl.serverKey),
            cert: Buffer.from(ssl.serverCert),
            ...(ssl.customCa ? { ca: Buffer.from(ssl.customCa) } : {}),
            clientVerify: ssl.clientVerify,
          }
        : undefined;
      if (wantPort !== null) {
        port = await ownServer!.listen({ host, port: wantPort }, tlsOptions).catch((err: Error) => {
          throw new Error(`gRPC server cannot listen on ${hostPart}:${wantPort}: ${err.message}`);
        });
        addresses.push(`${hostPart}:${port}`);
      }
      if (socketPath) {
        await ownServer!.listen({ path: socketPath }, tlsOptions).catch((err: Error) => {
          throw new Error(`gRPC server cannot listen on unix:${socketPath}: ${err.message}`);
        });
        addresses.push(`unix:${socketPath}`);
      }
    }
  } catch (err) {
    grpcServer?.forceShutdown();
    ownServer?.forceClose();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    addresses,
    health,
    transport,
    close(graceMs = 10_000): Promise<void> {
      closing ??= (async () => {
        health.setAll('NOT_SERVING');
        if (ownServer) {
          await ownServer.close(graceMs);
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            grpcServer!.forceShutdown();
            resolve();
          }, graceMs);
          timer.unref();
          grpcServer!.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}

/** The channel arguments jetserve's transport understands. */
function transportOptions(args: grpc.ServerOptions, log: Logger): Partial<TransportOptions> {
  const num = (key: string): number | undefined => (typeof args[key] === 'number' ? (args[key] as number) : undefined);
  const out: Partial<TransportOptions> = { log };
  const recv = num('grpc.max_receive_message_length');
  const send = num('grpc.max_send_message_length');
  const streams = num('grpc.max_concurrent_streams');
  if (recv !== undefined) out.maxReceiveMessageLength = recv;
  if (send !== undefined) out.maxSendMessageLength = send;
  if (streams !== undefined) out.maxConcurrentStreams = streams;
  const window = num('grpc.http2.lookahead_bytes') ?? num('grpc-node.flow_control_window');
  if (window !== undefined) out.streamWindow = window;
  const frame = num('grpc.http2.max_frame_size');
  if (frame !== undefined) out.maxFrameSize = frame;
  return out;
}

function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => {
      if (err) reject(new Error(`gRPC server cannot listen on ${address}: ${err.message}`));
      else resolve(port);
    });
  });
}

/** Server reflection from the same .proto files (proto-loader builds the descriptors). */
async function addReflection(server: Pick<grpc.Server, 'addService'>): Promise<void> {
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
