// jetserve's own gRPC transport (the default): HTTP/2 (RFC 9113) over net/tls sockets, written for
// the serving hot path. Node's http2 module costs about three times as much event-loop time per
// tiny unary call (measured in bench/grpc.ts, where a thin gRPC layer on node:http2 runs beside
// this one); this transport parses frames straight from socket reads, answers a unary call with
// one pre-encoded write and writes large responses as views (no copies).
//
// Files: frames.ts (frame numbers, encoders, the input byte queue), hpack.ts (header compression),
// flow-control.ts (windows), request-headers.ts (RFC 9113 §8 header rules), stream.ts (one
// stream: state, message assembly, output), call.ts (the grpc-js-shaped call handlers see),
// connection.ts (frame handling, stream states, abuse limits), call-dispatcher.ts (what a
// connection asks of the server), socket-reads.ts (reads into a reused buffer), and this file
// (listening, the method registry, dispatching calls, shutdown).
//
// Reads: plain TCP and unix connections are accepted paused and their handles re-wrapped in a
// net.Socket with `onread` (socket-reads.ts): every read lands in one 256 KiB buffer shared by the
// server's connections and is parsed in its callback — no ArrayBuffer per read (~40 per 602 KB
// ResNet50 request before) and no Readable stream machinery. bench/served-threads.sh kserve-grpc 20
// (ResNet50, 16 clients; the old and new builds alternated in one run): JS thread + V8 workers
// 2.25 / 1.61 s → 1.07 / 0.88 s, mark-compacts 53 / 38 → 18 / 20 per 20 s (with --trace-gc in one
// further run: 13 per 15 s, against 11 for KServe binary REST). Served ResNet50 throughput moved
// within the noise of the same A/B runs (kserve-grpc 0.99x, tfserving-grpc 1.04x; rounds 0.96-1.10:
// on 2 cores TF's compute bounds it), tiny tfserving-grpc calls (fixture MLP, 16 clients) 1.03x.
// TLS sockets keep 'data' events.
// THE READ BUFFER IS REUSED: nothing may keep a view of a read's bytes after its callback
// returns. What outlives a read is copied: a frame cut by the read's end (ByteQueue.detach),
// header-block fragments before END_HEADERS (header-block.ts) and every request message
// (message-reader.ts, into body-pool blocks). transport-reads.test.ts fails when any of them is
// kept as a view.
//
// Scope: what gRPC clients use. Server push, priorities (parsed, checked, ignored) and HTTP/1.1
// upgrade are not supported.

import * as net from 'node:net';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { statusOf } from '../call-status.js';
import { registerService, type Method } from '../methods.js';
import { ListenersAndConnections } from '../listeners-and-connections.js';
import {
  DEFAULT_TRANSPORT_LIMITS,
  type ListenTarget,
  type TlsOptions,
  type Transport,
  type TransportLimits,
} from '../transport.js';
import { TransportCall } from './call.js';
import type { CallDispatcher } from './call-dispatcher.js';
import { Connection } from './connection.js';
import { adoptWithReusedBuffer, READ_BUFFER_BYTES } from './socket-reads.js';
import type { Stream } from './stream.js';
import type { LogFn } from '../../../observability/logging/levels.js';

const Status = grpc.status;

export class GrpcTransportServer implements Transport, CallDispatcher<Connection> {
  readonly name = 'jetserve' as const;
  readonly limits: TransportLimits;
  private readonly methods = new Map<string, Method>();
  /** Every plain connection's reads land here, one at a time (socket-reads.ts). */
  private readonly readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private readonly connections = new ListenersAndConnections<Connection>(
    (c) => c.goaway(),
    (c) => c.destroy(),
  );

  constructor(
    limits: Partial<TransportLimits> = {},
    private readonly log?: LogFn,
  ) {
    this.limits = { ...DEFAULT_TRANSPORT_LIMITS, ...limits };
  }

  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    registerService(this.methods, service, implementation);
  }

  listen(target: ListenTarget, tlsOptions?: TlsOptions): Promise<number> {
    const onSocket = (socket: net.Socket) => {
      this.connections.opened(new Connection(socket, this, this.limits, this.log));
    };
    // plain connections read into the shared buffer (socket-reads.ts); TLS sockets keep 'data'
    const onPlainSocket = (accepted: net.Socket) => {
      let conn: Connection | undefined;
      const socket = adoptWithReusedBuffer(accepted, this.readBuffer, (bytes) => conn?.received(bytes));
      if (socket === undefined) {
        accepted.resume();
        onSocket(accepted);
        return;
      }
      // no read can arrive before this returns: reads come from the event loop
      conn = new Connection(socket, this, this.limits, this.log, 'callback');
      this.connections.opened(conn);
    };
    let server: net.Server;
    if (tlsOptions) {
      const tlsServer = tls.createServer({
        key: tlsOptions.key,
        cert: tlsOptions.cert,
        ...(tlsOptions.ca ? { ca: tlsOptions.ca } : {}),
        requestCert: tlsOptions.clientVerify,
        rejectUnauthorized: tlsOptions.clientVerify,
        ALPNProtocols: ['h2'],
      });
      tlsServer.on('secureConnection', onSocket);
      tlsServer.on('tlsClientError', () => {});
      server = tlsServer;
    } else {
      server = net.createServer({ pauseOnConnect: true }, onPlainSocket);
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

  startCall(stream: Stream): void {
    const method = this.methods.get(stream.head.path);
    if (!method) {
      stream.failInput({ code: Status.UNIMPLEMENTED, details: `The server does not implement the method ${stream.head.path}` });
      return;
    }
    stream.method = method;
    const call = new TransportCall(stream, method);
    stream.call = call;
    if (method.kind === 'clientStream') this.invoke(call, () => method.handler(call, (err: unknown, value?: unknown) => call.respond(err, value)));
    else if (method.kind === 'bidi') this.invoke(call, () => method.handler(call));
  }

  deliver(stream: Stream, message: Buffer): void {
    const method = stream.method;
    const call = stream.call;
    if (!method || !call || call.cancelled) return;
    let value: unknown;
    try {
      value = method.def.requestDeserialize(message);
    } catch (err) {
      stream.failInput({ code: Status.INTERNAL, details: `Error deserializing request: ${(err as Error).message}` });
      return;
    }
    if (method.kind === 'unary' || method.kind === 'serverStream') {
      if (++stream.messages > 1) {
        stream.failInput({ code: Status.UNIMPLEMENTED, details: `Received a second request message for ${method.def.path}` });
        return;
      }
      stream.request = value;
    } else {
      call.emit('data', value);
    }
  }

  runUnary(stream: Stream): void {
    const method = stream.method;
    const call = stream.call;
    if (!method || !call || call.cancelled || stream.discarding) return;
    if (stream.messages === 0) {
      stream.failInput({ code: Status.UNIMPLEMENTED, details: `No message received for ${method.def.path}` });
      return;
    }
    call.request = stream.request;
    stream.request = undefined;
    if (method.kind === 'unary') this.invoke(call, () => method.handler(call, (err: unknown, value?: unknown) => call.respond(err, value)));
    else this.invoke(call, () => method.handler(call));
  }

  endStreamingInput(stream: Stream): void {
    const call = stream.call;
    if (call && !call.cancelled) call.emit('end');
  }

  private invoke(call: TransportCall, run: () => void): void {
    try {
      run();
    } catch (err) {
      call.finish(statusOf(err));
    }
  }

  connectionClosed(conn: Connection): void {
    this.connections.closed(conn);
  }

  /** Stops listening, sends GOAWAY, waits up to graceMs for running calls, then closes everything. */
  close(graceMs: number): Promise<void> {
    return this.connections.close(graceMs);
  }

  forceClose(): void {
    this.connections.forceClose();
  }
}
