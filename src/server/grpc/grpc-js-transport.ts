// @grpc/grpc-js as a Transport (--grpc_transport=grpc-js): grpc-js's Server over Node's http2
// module, with jetserve's limits mapped to its channel arguments.

import * as grpc from '@grpc/grpc-js';
import type { ListenTarget, TlsOptions, Transport, TransportLimits } from './transport.js';

/**
 * grpc-js sends what responseSerialize returns as one message: jetserve's handlers may answer with
 * a list of pieces (written without a copy by the other transport), joined here.
 */
function joiningPieces(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service)) {
    const serialize = def.responseSerialize;
    out[name] = {
      ...(def as grpc.MethodDefinition<unknown, unknown>),
      responseSerialize: (value: unknown) => {
        const bytes = serialize(value) as Buffer | Buffer[];
        return Array.isArray(bytes) ? (bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes)) : bytes;
      },
    };
  }
  return out;
}

/**
 * grpc-js starts a unary handler as soon as the request ended, before a RST_STREAM read in the same
 * chunk is seen: unary handlers start on the next check phase instead, and not at all when the
 * call was cancelled meanwhile (Rapid Reset).
 */
function startingAfterResets(
  service: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = { ...implementation };
  for (const [name, def] of Object.entries(service)) {
    const key = typeof implementation[name] === 'function' ? name : (def.originalName ?? name);
    const handler = implementation[key];
    if (def.requestStream || def.responseStream || typeof handler !== 'function') continue;
    const unaryHandler = handler as grpc.handleUnaryCall<unknown, unknown>;
    out[key] = ((call, callback) => {
      setImmediate(() => {
        if (!call.cancelled) unaryHandler(call, callback);
      });
    }) as grpc.handleUnaryCall<unknown, unknown>;
  }
  return out;
}

export class GrpcJsTransport implements Transport {
  readonly name = 'grpc-js' as const;
  private readonly server: grpc.Server;

  /** `channelArguments` override what the limits set. */
  constructor(limits: TransportLimits, channelArguments: grpc.ServerOptions = {}) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': limits.maxReceiveMessageLength,
      'grpc.max_send_message_length': limits.maxSendMessageLength,
      'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
      'grpc-node.max_session_memory': limits.maxSessionMemoryMiB,
      // channelz bookkeeping costs on every call; opt back in with grpc.enable_channelz=1
      'grpc.enable_channelz': 0,
      ...channelArguments,
    });
  }

  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(joiningPieces(service), startingAfterResets(service, implementation));
  }

  listen(target: ListenTarget, tls?: TlsOptions): Promise<number> {
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(
          tls.ca ?? null,
          [{ private_key: tls.key, cert_chain: tls.cert }],
          tls.clientVerify,
        )
      : grpc.ServerCredentials.createInsecure();
    const address = 'path' in target ? `unix:${target.path}` : `${hostPart(target.host)}:${target.port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) => {
        if (err) reject(err);
        else resolve('path' in target ? 0 : port);
      });
    });
  }

  close(graceMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  forceClose(): void {
    this.server.forceShutdown();
  }
}

export function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
