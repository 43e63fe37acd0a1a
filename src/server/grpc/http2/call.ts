// One gRPC call on a node:http2 stream, shaped like grpc-js's server calls (request, metadata,
// getDeadline, write/end/destroy, 'data'/'end'/'cancelled'/'close' events) so that grpc-js service
// implementations (jetserve's handlers, @grpc/reflection) run unchanged.
//
// Memory: request bytes are charged to the connection's in-flight budget as they arrive and
// response bytes when they are written; both are returned when the stream closes (the client
// read the response or went away). A call that would exceed the budget is refused.

import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type { Method } from '../methods.js';
import { LIMIT_FLAGS, type TransportLimits } from '../transport.js';
import { MessageReader } from '../message-reader.js';
import { requestBodies } from '../../body-pool.js';
import { OK_STATUS, parseTimeout, percentEncode, statusOf, type CallStatus } from '../call-status.js';

const Status = grpc.status;
const { NGHTTP2_NO_ERROR } = http2.constants;

/** What a connection shares between its calls. */
export interface SessionBudget {
  /** Request + response bytes held for this connection's open calls. */
  inflightBytes: number;
  readonly limits: TransportLimits;
  readonly peer: string;
  /** A call ended before the server answered because the client reset it. */
  clientReset(): void;
}

const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = {
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-accept-encoding': 'identity,deflate,gzip',
};

/** Request headers that are transport control, not metadata (as grpc-js removes them). */
const CONTROL_HEADERS = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];

function responseBytes(pieces: Buffer | Buffer[]): number {
  if (!Array.isArray(pieces)) return pieces.length;
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

export class Http2Call extends EventEmitter {
  request: unknown = undefined;
  cancelled = false;
  private md: grpc.Metadata | undefined;
  private deadline = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly reader: MessageReader;
  private received: unknown;
  private messages = 0;
  private encoding = 'identity';
  private headersSent = false;
  private extraHeaders: Record<string, string> | undefined;
  private trailers: http2.OutgoingHttpHeaders | undefined;
  /** The server sent (or is sending) its final status. */
  private finished = false;
  private closed = false;
  private charged = 0;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly method: Method,
    private readonly budget: SessionBudget,
  ) {
    super();
    this.reader = new MessageReader(budget.limits.maxReceiveMessageLength, this, requestBodies.alloc, requestBodies.take, (block) => requestBodies.release(block));
  }

  /** Wires the stream to the call; a client- or bidi-streaming handler starts at once. */
  start(): void {
    const stream = this.stream;
    stream.on('close', () => this.onClose());
    stream.on('error', () => {}); // the 'close' that follows settles the call
    const timeout = this.headers['grpc-timeout'];
    if (timeout !== undefined) {
      const ms = parseTimeout(timeout as string);
      if (ms === undefined) {
        this.fail({ code: Status.INTERNAL, details: `Invalid grpc-timeout value "${String(timeout)}"` });
        return;
      }
      this.deadline = Date.now() + ms;
      this.timer = setTimeout(() => this.expire(), ms);
    }
    const encoding = this.headers['grpc-encoding'];
    if (typeof encoding === 'string') this.encoding = encoding;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onEnd());
    const kind = this.method.kind;
    if (kind === 'clientStream') this.invoke(() => this.method.handler(this, (err: unknown, value?: unknown) => this.respond(err, value)));
    else if (kind === 'bidi') this.invoke(() => this.method.handler(this));
  }

  // --- grpc-js server call surface ---

  /** Request metadata: every header except pseudo-headers and transport control headers. */
  get metadata(): grpc.Metadata {
    if (!this.md) {
      const md = grpc.Metadata.fromHttp2Headers(this.headers);
      for (const h of CONTROL_HEADERS) md.remove(h);
      this.md = md;
    }
    return this.md;
  }

  getDeadline(): grpc.Deadline {
    return this.deadline;
  }

  getPeer(): string {
    return this.budget.peer;
  }

  getPath(): string {
    return this.method.def.path;
  }

  getHost(): string {
    return String(this.headers[':authority'] ?? '');
  }

  getAuthContext(): object {
    return {};
  }

  getMetricsRecorder(): undefined {
    return undefined;
  }

  sendMetadata(md?: grpc.Metadata): void {
    if (md) {
      for (const [name, value] of Object.entries(md.toHttp2Headers())) if (value !== undefined) this.addResponseHeader(name, String(value));
      return;
    }
    this.sendHeaders();
  }

  /** Adds one response header (metadata) entry, sent with the response headers. */
  addResponseHeader(name: string, value: string): void {
    if (this.headersSent) return;
    (this.extraHeaders ??= {})[name] = value;
  }

  /** Sends a response message (streaming calls). */
  write(value: unknown, cb?: () => void): boolean {
    if (this.finished || this.cancelled) return false;
    let bytes: Buffer | Buffer[];
    try {
      bytes = this.method.def.responseSerialize(value) as Buffer | Buffer[];
    } catch (err) {
      this.finish({ code: Status.INTERNAL, details: `Error serializing response: ${(err as Error).message}` });
      return false;
    }
    const ok = this.writeMessage(bytes);
    if (cb) process.nextTick(cb);
    return ok;
  }

  /** Ends a streaming call with OK. */
  end(cb?: () => void): this {
    this.finish(OK_STATUS);
    if (cb) process.nextTick(cb);
    return this;
  }

  /** Ends the call with an error status (or CANCELLED). */
  destroy(err?: Error): this {
    this.finish(err ? statusOf(err) : { code: Status.CANCELLED, details: 'Cancelled on the server' });
    return this;
  }

  // Readable-ish surface for client/bidi streaming handlers (messages are never held back)
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }

  // --- input ---

  private onData(chunk: Buffer): void {
    if (this.finished || this.cancelled) return;
    const budget = this.budget;
    const limit = budget.limits.maxConnectionInflightBytes;
    if (limit >= 0 && budget.inflightBytes + chunk.length > limit) {
      this.fail({
        code: Status.RESOURCE_EXHAUSTED,
        details: `this connection holds ${budget.inflightBytes} bytes of requests and unread responses; ${chunk.length} more would exceed the limit of ${limit} (${LIMIT_FLAGS.maxConnectionInflightBytes})`,
      });
      return;
    }
    this.charge(chunk.length);
    this.reader.push(chunk);
  }

  /** MessageSink: a complete request message. */
  message(raw: Buffer, compressed: boolean): void {
    if (this.finished || this.cancelled) return;
    let bytes = raw;
    if (compressed) {
      const max = this.budget.limits.maxReceiveMessageLength;
      const options = max >= 0 ? { maxOutputLength: Math.max(1, max) } : {};
      try {
        if (this.encoding === 'gzip') bytes = zlib.gunzipSync(raw, options);
        else if (this.encoding === 'deflate') bytes = zlib.inflateSync(raw, options);
        else throw new Error(`compressed message with grpc-encoding "${this.encoding}"`);
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
          this.fail({
            code: Status.RESOURCE_EXHAUSTED,
            details: `Received message that decompresses to more than ${max} bytes (${LIMIT_FLAGS.maxReceiveMessageLength})`,
          });
        } else {
          this.fail({ code: Status.INTERNAL, details: `Failed to decompress message: ${(err as Error).message}` });
        }
        return;
      }
    }
    let value: unknown;
    try {
      value = this.method.def.requestDeserialize(bytes);
    } catch (err) {
      this.fail({ code: Status.INTERNAL, details: `Error deserializing request: ${(err as Error).message}` });
      return;
    }
    this.messages++;
    const kind = this.method.kind;
    if (kind === 'unary' || kind === 'serverStream') {
      if (this.messages > 1) {
        this.fail({ code: Status.UNIMPLEMENTED, details: `Received a second request message for ${this.method.def.path}` });
        return;
      }
      this.received = value;
    } else {
      this.emit('data', value);
    }
  }

  /** MessageSink: the prefix declares a message over the limit. */
  tooLarge(declared: number): void {
    const max = this.budget.limits.maxReceiveMessageLength;
    this.fail({
      code: Status.RESOURCE_EXHAUSTED,
      details: `Received message larger than max (${declared} vs. ${max}); the limit is ${LIMIT_FLAGS.maxReceiveMessageLength}`,
    });
  }

  private onEnd(): void {
    if (this.finished || this.cancelled) return;
    if (!this.reader.atBoundary) {
      this.fail({ code: Status.INTERNAL, details: 'The request ended inside a message (truncated length-prefixed message)' });
      return;
    }
    const kind = this.method.kind;
    if (kind === 'unary' || kind === 'serverStream') {
      if (this.messages === 0) {
        this.fail({ code: Status.UNIMPLEMENTED, details: `No message received for ${this.method.def.path}` });
        return;
      }
      this.request = this.received;
      this.received = undefined;
      // nghttp2 reports a RST_STREAM read together with the END_STREAM only after 'end': start on
      // the next check phase, so a request reset in the same read (Rapid Reset) never runs
      setImmediate(() => {
        if (this.finished || this.cancelled) return;
        if (kind === 'unary') this.invoke(() => this.method.handler(this, (err: unknown, value?: unknown) => this.respond(err, value)));
        else this.invoke(() => this.method.handler(this));
      });
    } else {
      this.emit('end');
    }
  }

  private invoke(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.finish(statusOf(err));
    }
  }

  // --- output ---

  private sendHeaders(): void {
    if (this.headersSent || this.finished || this.stream.destroyed) return;
    this.headersSent = true;
    this.stream.respond(this.extraHeaders ? { ...RESPONSE_HEADERS, ...this.extraHeaders } : RESPONSE_HEADERS, { waitForTrailers: true });
    this.stream.once('wantTrailers', () => {
      if (!this.stream.destroyed) this.stream.sendTrailers(this.trailers ?? { 'grpc-status': '0' });
    });
  }

  private writeMessage(pieces: Buffer | Buffer[]): boolean {
    const length = responseBytes(pieces);
    const max = this.budget.limits.maxSendMessageLength;
    if (max >= 0 && length > max) {
      this.finish({
        code: Status.RESOURCE_EXHAUSTED,
        details: `Sent message larger than max (${length} vs. ${max}); the limit is ${LIMIT_FLAGS.maxSendMessageLength}`,
      });
      return false;
    }
    if (this.stream.destroyed) return false;
    this.sendHeaders();
    this.charge(5 + length);
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(length, 1);
    if (!Array.isArray(pieces)) {
      // small messages leave as one buffer (one DATA frame); large ones without a copy
      if (length <= 16 * 1024) return this.stream.write(Buffer.concat([prefix, pieces], 5 + length));
      this.stream.write(prefix);
      return this.stream.write(pieces);
    }
    let ok = this.stream.write(prefix);
    for (const p of pieces) if (p.length > 0) ok = this.stream.write(p);
    return ok;
  }

  /** Unary / client-streaming completion. */
  respond(err: unknown, value?: unknown): void {
    if (this.finished || this.cancelled) return;
    if (err) {
      this.finish(statusOf(err));
      return;
    }
    let bytes: Buffer | Buffer[];
    try {
      bytes = this.method.def.responseSerialize(value) as Buffer | Buffer[];
    } catch (e) {
      this.finish({ code: Status.INTERNAL, details: `Error serializing response: ${(e as Error).message}` });
      return;
    }
    this.writeMessage(bytes);
    if (!this.finished) this.finish(OK_STATUS);
  }

  /** Ends the call with `status`: trailers after the messages, or a trailers-only response. */
  finish(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimer();
    const stream = this.stream;
    if (this.cancelled || stream.destroyed) return;
    const fields: http2.OutgoingHttpHeaders = { 'grpc-status': String(status.code) };
    if (status.code !== Status.OK && status.details) fields['grpc-message'] = percentEncode(status.details);
    if (this.headersSent) {
      this.trailers = fields;
      stream.end();
    } else {
      this.headersSent = true;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...this.extraHeaders, ...fields }, { endStream: true });
    }
    // a request still uploading is not read any further (RFC 9113 §8.1: RST_STREAM NO_ERROR)
    if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
    if (status.code !== Status.OK) this.reader.discard();
  }

  /** Refuses the call's input: answers `status` and stops reading. */
  private fail(status: CallStatus): void {
    this.reader.discard();
    this.finish(status);
    // streaming handlers learn that their input failed (unary handlers have not started yet)
    if (this.listenerCount('error') > 0) this.emit('error', Object.assign(new Error(status.details), { code: status.code }));
  }

  private expire(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.finish({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    this.cancel();
  }

  private charge(bytes: number): void {
    this.charged += bytes;
    this.budget.inflightBytes += bytes;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The call will not be answered (client reset, deadline, connection loss). */
  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reader.discard();
    this.emit('cancelled', 'cancelled');
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.budget.inflightBytes -= this.charged;
    this.charged = 0;
    if (!this.finished) {
      this.finished = true;
      if (this.stream.rstCode !== undefined && this.stream.rstCode !== NGHTTP2_NO_ERROR) this.budget.clientReset();
      this.cancel();
    }
    this.emit('close');
  }
}
