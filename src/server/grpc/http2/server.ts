// jetserve's gRPC transport: the gRPC protocol (calls, length-prefixed messages, statuses,
// deadlines, limits) over Node's http2 module. HTTP/2 itself — framing, HPACK, flow control,
// stream state, and the protections against abusive peers (PING/SETTINGS floods via nghttp2's
// outbound-ack limit, Rapid Reset via its reset-rate limit, session memory, header list size) — is
// nghttp2's, maintained upstream; this file adds what nghttp2 leaves to the application: the
// per-connection budget of bytes held for calls and a reset-rate limit with a configurable rate.

import * as http2 from 'node:http2';
import * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import {
  DEFAULT_TRANSPORT_LIMITS,
  LIMIT_FLAGS,
  type ListenTarget,
  type TlsOptions,
  type Transport,
  type TransportLimits,
} from '../transport.js';
import { registerService, type Method } from '../methods.js';
import { ListenersAndConnections } from '../listeners-and-connections.js';
import { Http2Call, type SessionBudget } from './call.js';
import { percentEncode } from '../call-status.js';
import type { LogFn } from '../../../observability/logging/levels.js';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;
const GRPC_UNKNOWN = 2;
const GRPC_UNIMPLEMENTED = 12;
const GRPC_RESOURCE_EXHAUSTED = 8;

/** One connection's state beside nghttp2's. */
class Session implements SessionBudget {
  inflightBytes = 0;
  private resetWindowStart = 0;
  private resetsInWindow = 0;
  private calm = false;

  constructor(
    readonly h2: http2.ServerHttp2Session,
    readonly limits: TransportLimits,
    readonly peer: string,
  ) {}

  /** Counts a client reset; past the rate, GOAWAY ENHANCE_YOUR_CALM and close (Rapid Reset). */
  clientReset(): void {
    const now = performance.now();
    if (now - this.resetWindowStart >= 1000) {
      this.resetWindowStart = now;
      this.resetsInWindow = 0;
    }
    this.resetsInWindow++;
    if (this.resetsInWindow > this.limits.maxStreamResetsPerSecond && !this.calm) {
      this.enhanceYourCalm(
        `more than ${this.limits.maxStreamResetsPerSecond} stream resets in one second (${LIMIT_FLAGS.maxStreamResetsPerSecond})`,
      );
    }
  }

  enhanceYourCalm(reason: string): void {
    if (this.calm || this.h2.destroyed) return;
    this.calm = true;
    this.h2.goaway(NGHTTP2_ENHANCE_YOUR_CALM, undefined, Buffer.from(reason));
    // the GOAWAY leaves with the next write; then the connection goes, open calls included
    setImmediate(() => this.h2.destroy());
  }
}

export class Http2Transport implements Transport {
  readonly name = 'http2' as const;
  readonly limits: TransportLimits;
  private readonly methods = new Map<string, Method>();
  private readonly connections = new ListenersAndConnections<http2.ServerHttp2Session>(
    (s) => s.close(),
    (s) => s.destroy(),
  );
  private readonly log: LogFn | undefined;

  constructor(limits: Partial<TransportLimits> = {}, log?: LogFn) {
    this.limits = { ...DEFAULT_TRANSPORT_LIMITS, ...limits };
    this.log = log;
  }

  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    registerService(this.methods, service, implementation);
  }

  /** nghttp2 settings and Node session options from the limits. */
  private serverOptions(): http2.ServerOptions {
    const l = this.limits;
    return {
      settings: {
        maxConcurrentStreams: l.maxConcurrentStreams,
        initialWindowSize: l.streamWindow,
        maxFrameSize: l.maxFrameSize,
        maxHeaderListSize: l.maxHeaderListSize,
        enablePush: false,
      },
      maxSessionMemory: l.maxSessionMemoryMiB,
      // one header field per pair; pseudo-headers included (nghttp2 refuses the stream past it)
      maxHeaderListPairs: 128,
    };
  }

  listen(target: ListenTarget, tlsOptions?: TlsOptions): Promise<number> {
    let server: net.Server;
    if (tlsOptions) {
      const secure = http2.createSecureServer({
        ...this.serverOptions(),
        key: tlsOptions.key,
        cert: tlsOptions.cert,
        ...(tlsOptions.ca ? { ca: tlsOptions.ca } : {}),
        requestCert: tlsOptions.clientVerify,
        rejectUnauthorized: tlsOptions.clientVerify,
      });
      secure.on('tlsClientError', () => {});
      this.wire(secure);
      server = secure;
    } else {
      // an HTTP/1.x client gets nghttp2's GOAWAY PROTOCOL_ERROR (Node's session reads the socket
      // natively: its first bytes cannot be peeked at without a JS stream in between, which costs
      // every connection)
      const h2 = http2.createServer(this.serverOptions());
      this.wire(h2);
      server = h2;
    }
    server.on('error', (err) => this.log?.(`gRPC listener error: ${err.message}`, 'error'));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        this.connections.addListener(server);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      };
      if ('path' in target) server.listen(target.path, done);
      else server.listen(target.port, target.host, done);
    });
  }

  private wire(server: http2.Http2Server | http2.Http2SecureServer): void {
    server.on('session', (h2: http2.ServerHttp2Session) => {
      this.connections.opened(h2);
      const socket = h2.socket;
      const peer = socket?.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
      const session = new Session(h2, this.limits, peer);
      sessionOf.set(h2, session);
      h2.on('error', () => {});
      h2.on('close', () => {
        this.connections.closed(h2);
      });
      const extra = this.limits.connectionWindow;
      if (extra > 65535) h2.setLocalWindowSize(extra);
    });
    server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => this.onStream(stream, headers));
    server.on('sessionError', () => {});
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const session = sessionOf.get(stream.session as http2.ServerHttp2Session);
    if (!session) {
      stream.close(NGHTTP2_NO_ERROR);
      return;
    }
    stream.on('error', () => {});
    const method = headers[':method'];
    const contentType = headers['content-type'];
    if (method !== 'POST') {
      refuse(stream, 405, GRPC_UNKNOWN, `method ${String(method)} not allowed`);
      return;
    }
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      refuse(stream, 415, GRPC_UNKNOWN, `content-type "${String(contentType ?? '')}" is not application/grpc`);
      return;
    }
    const path = headers[':path'] as string;
    const m = this.methods.get(path);
    if (!m) {
      refuse(stream, 200, GRPC_UNIMPLEMENTED, `The server does not implement the method ${path}`);
      return;
    }
    const limit = this.limits.maxConnectionInflightBytes;
    if (limit >= 0 && session.inflightBytes >= limit) {
      refuse(
        stream,
        200,
        GRPC_RESOURCE_EXHAUSTED,
        `this connection holds ${session.inflightBytes} bytes of requests and unread responses, the limit is ${limit} (${LIMIT_FLAGS.maxConnectionInflightBytes})`,
      );
      return;
    }
    new Http2Call(stream, headers, m, session).start();
  }

  close(graceMs: number): Promise<void> {
    return this.connections.close(graceMs);
  }

  forceClose(): void {
    this.connections.forceClose();
  }
}

const sessionOf = new WeakMap<http2.ServerHttp2Session, Session>();

/** A trailers-only answer before any call starts; the request body is not read. */
function refuse(stream: http2.ServerHttp2Stream, httpStatus: number, grpcStatus: number, message: string): void {
  if (stream.destroyed) return;
  stream.respond(
    {
      ':status': httpStatus,
      'content-type': 'application/grpc',
      'grpc-status': String(grpcStatus),
      'grpc-message': percentEncode(message),
    },
    { endStream: true },
  );
  if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
}
