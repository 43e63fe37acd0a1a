// The one interface every gRPC transport implements. startGrpcServer builds the services once
// (grpc-js service definitions and implementations: unary, server-, client- and bidi-streaming)
// and hands them to whichever transport was chosen; handlers never know which one carries them.
//
// Limits are shared too: each transport enforces the same TransportLimits, and each refusal names
// the limit and the flag that raises it (LIMIT_FLAGS).

import type * as grpc from '@grpc/grpc-js';

/** The selectable transports (--grpc_transport). */
export type TransportName = 'http2' | 'jetserve' | 'grpc-js';

export type ListenTarget = { host: string; port: number } | { path: string };

export interface TlsOptions {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
  /** Require and verify a client certificate. */
  clientVerify: boolean;
}

export interface TransportLimits {
  /** Largest request message in bytes (after decompression); -1 = unlimited. --grpc_max_message_size. */
  maxReceiveMessageLength: number;
  /** Largest response message in bytes; -1 = unlimited. --grpc_max_message_size. */
  maxSendMessageLength: number;
  /** Streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Largest request header list (RFC 9113 §6.5.2: names + values + 32 per field), bytes. */
  maxHeaderListSize: number;
  /**
   * Request and response bytes one connection may hold at once (received message bytes plus
   * response bytes the client has not read yet). A call that would exceed it is refused.
   */
  maxConnectionInflightBytes: number;
  /** HTTP/2 session memory (HPACK tables, frames queued for a client that does not read), MiB. */
  maxSessionMemoryMiB: number;
  /** RST_STREAMs a client may send per second on one connection before it gets GOAWAY. */
  maxStreamResetsPerSecond: number;
  /** Per-stream receive window advertised (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow: number;
  /** Connection receive window. */
  connectionWindow: number;
  /** Largest frame accepted (SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  maxReceiveMessageLength: 4 * 1024 * 1024,
  maxSendMessageLength: -1,
  maxConcurrentStreams: 100,
  maxHeaderListSize: 16 * 1024,
  maxConnectionInflightBytes: 1024 * 1024 * 1024,
  maxSessionMemoryMiB: 32,
  maxStreamResetsPerSecond: 200,
  streamWindow: 4 * 1024 * 1024,
  connectionWindow: 32 * 1024 * 1024,
  maxFrameSize: 16 * 1024,
};

/** The CLI flag that raises each limit (named in every refusal). */
export const LIMIT_FLAGS = {
  maxReceiveMessageLength: '--grpc_max_message_size',
  maxSendMessageLength: '--grpc_max_message_size',
  maxConcurrentStreams: '--grpc_max_concurrent_streams',
  maxHeaderListSize: '--grpc_max_header_list_size',
  maxConnectionInflightBytes: '--grpc_max_connection_inflight_bytes',
  maxSessionMemoryMiB: '--grpc_max_session_memory_mb',
  maxStreamResetsPerSecond: '--grpc_max_stream_resets_per_second',
} as const;

/** A gRPC transport: registers services, listens, drains. */
export interface Transport {
  readonly name: TransportName;
  /** Registers a grpc-js service definition and implementation (as grpc.Server.addService). */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void;
  /** Listens on host:port (0 = any) or a unix socket; resolves with the bound port (0 for unix). */
  listen(target: ListenTarget, tls?: TlsOptions): Promise<number>;
  /** Stops accepting, lets running calls finish for up to graceMs, then closes everything. */
  close(graceMs: number): Promise<void>;
  /** Closes every listener and connection now. */
  forceClose(): void;
}
