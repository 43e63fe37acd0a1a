// jetserve's own gRPC transport: HTTP/2 (RFC 9113) framing over net/tls sockets, written for the
// serving hot path. Node's http2 module (under @grpc/grpc-js) costs ~100 µs of event-loop time per
// request before any gRPC work (an Http2Stream duplex per call, header objects, callbacks); this
// transport parses frames straight from socket chunks, answers a unary call with one pre-encoded
// write, streams DATA payloads into the message buffer without re-assembly, and writes large
// responses as views (no copies). It serves grpc-js service definitions and implementations
// unchanged (unary, server-, client- and bidi-streaming: e.g. @grpc/reflection), so
// startGrpcServer can use either transport.
//
// Scope: what gRPC clients use. Server push, priorities and HTTP/1.1 upgrade are not supported
// (clients never need them); request header metadata other than the gRPC control headers is not
// exposed to handlers (jetserve's handlers do not read any).

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { encodeHeaderBlock, HpackDecoder, HpackError } from './hpack.js';

// Frame types and flags (RFC 9113 §6).
const DATA = 0;
const HEADERS = 1;
const PRIORITY = 2;
const RST_STREAM = 3;
const SETTINGS = 4;
const PUSH_PROMISE = 5;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;

const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

// Error codes (§7).
const NO_ERROR = 0;
const PROTOCOL_ERROR = 1;
const INTERNAL_ERROR = 2;
const FLOW_CONTROL_ERROR = 3;
const FRAME_SIZE_ERROR = 6;
const REFUSED_STREAM = 7;
const COMPRESSION_ERROR = 9;
const ENHANCE_YOUR_CALM = 11;

// Settings (§6.5.2).
const SETTINGS_HEADER_TABLE_SIZE = 1;
const SETTINGS_MAX_CONCURRENT_STREAMS = 3;
const SETTINGS_INITIAL_WINDOW_SIZE = 4;
const SETTINGS_MAX_FRAME_SIZE = 5;
const SETTINGS_MAX_HEADER_LIST_SIZE = 6;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DEFAULT_WINDOW = 65535;
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_MAX_FRAME = 16384;
/** Largest header block accepted (all HEADERS + CONTINUATION payloads of one block). */
const MAX_HEADER_BLOCK = 256 * 1024;

const RESPONSE_HEADERS = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
]);
const OK_TRAILERS = encodeHeaderBlock([['grpc-status', '0']]);

const Status = grpc.status;

export interface TransportOptions {
  /** Largest request message (after decompression). -1 = unlimited. */
  maxReceiveMessageLength: number;
  /** Largest response message. -1 = unlimited. */
  maxSendMessageLength: number;
  /** Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Per-stream receive window advertised (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow: number;
  /** Connection receive window. */
  connectionWindow: number;
  /** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize: number;
  log?: (message: string) => void;
}

export const DEFAULT_TRANSPORT_OPTIONS: TransportOptions = {
  maxReceiveMessageLength: 4 * 1024 * 1024,
  maxSendMessageLength: -1,
  maxConcurrentStreams: 1000,
  streamWindow: 4 * 1024 * 1024,
  connectionWindow: 32 * 1024 * 1024,
  maxFrameSize: 1024 * 1024,
};

type Kind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

interface Method {
  def: grpc.MethodDefinition<unknown, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (...args: any[]) => void;
  kind: Kind;
}

/** A status to end a call with. */
interface CallStatus {
  code: number;
  details: string;
}

function statusOf(err: unknown): CallStatus {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; details?: unknown; message?: unknown };
    const code = typeof e.code === 'number' && e.code >= 0 && e.code <= 16 ? e.code : Status.UNKNOWN;
    const details = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : 'Unknown error';
    return { code, details };
  }
  return { code: Status.UNKNOWN, details: String(err) };
}

/** grpc-message: percent-encode bytes outside 0x20..0x7e and '%' (gRPC HTTP/2 protocol). */
function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  }
  return out;
}

/** grpc-timeout: 1..8 digits and a unit H M S m u n. */
function parseTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'H':
      return n * 3600_000;
    case 'M':
      return n * 60_000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return n / 1000;
    default:
      return n / 1e6;
  }
}

function frameHeader(out: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): void {
  out[offset] = (length >>> 16) & 0xff;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  out.writeUInt32BE(streamId, offset + 5);
}

function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const len = payload ? payload.length : 0;
  const out = Buffer.allocUnsafe(9 + len);
  frameHeader(out, 0, len, type, flags, streamId);
  if (payload) out.set(payload, 9);
  return out;
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Calls: the objects handlers see, shaped like grpc-js's server calls.

export class TransportCall extends EventEmitter {
  request: unknown = undefined;
  cancelled = false;
  private md: grpc.Metadata | undefined;
  private finished = false;

  constructor(
    private readonly stream: Stream,
    private readonly method: Method,
  ) {
    super();
  }

  /** Request metadata (jetserve's transport does not expose custom request headers: empty). */
  get metadata(): grpc.Metadata {
    return (this.md ??= new grpc.Metadata());
  }

  getDeadline(): grpc.Deadline {
    return this.stream.deadline ?? Infinity;
  }

  getPeer(): string {
    return this.stream.conn.peer;
  }

  getPath(): string {
    return this.method.def.path;
  }

  getHost(): string {
    return this.stream.authority;
  }

  getAuthContext(): object {
    return {};
  }

  getMetricsRecorder(): undefined {
    return undefined;
  }

  sendMetadata(): void {
    this.stream.sendHeaders();
  }

  /** Sends a response message (streaming calls). */
  write(value: unknown, cb?: () => void): boolean {
    if (this.finished || this.cancelled) return false;
    let bytes: Buffer;
    try {
      bytes = this.method.def.responseSerialize(value);
    } catch (err) {
      this.finish({ code: Status.INTERNAL, details: `Error serializing response: ${(err as Error).message}` });
      return false;
    }
    this.stream.sendMessage(bytes);
    if (cb) process.nextTick(cb);
    return true;
  }

  /** Ends a streaming call with OK. */
  end(cb?: () => void): this {
    this.finish({ code: Status.OK, details: 'OK' });
    if (cb) process.nextTick(cb);
    return this;
  }

  /** Ends the call with an error status (or CANCELLED). */
  destroy(err?: Error): this {
    this.finish(err ? statusOf(err) : { code: Status.CANCELLED, details: 'Cancelled on the server' });
    return this;
  }

  /** Unary/client-streaming completion. */
  respond(err: unknown, value?: unknown): void {
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
    if (this.finished || this.cancelled) return;
    this.finished = true;
    this.stream.sendUnaryResponse(bytes);
    this.emitClose();
  }

  finish(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.cancelled) this.stream.sendStatus(status);
    this.emitClose();
  }

  /** The client went away (RST_STREAM, deadline, connection loss). */
  cancel(): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
    this.emitClose();
  }

  private closed = false;
  private emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    process.nextTick(() => this.emit('close'));
  }

  // Readable-ish surface for client/bidi streaming handlers (messages are never held back)
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// Streams

class Stream {
  deadline: number | undefined;
  authority = '';
  call: TransportCall | undefined;
  method: Method | undefined;
  /** Input ended (END_STREAM received). */
  inputEnded = false;
  /** We sent END_STREAM or RST_STREAM. */
  outputEnded = false;
  headersSent = false;
  sendWindow: number;
  recvUnacked = 0;
  /** DATA payload bytes waiting for flow-control window, then trailers. */
  private queue: Buffer[] = [];
  private queueBytes = 0;
  private pendingTrailers: Buffer | undefined;
  // message assembly
  private prefix = Buffer.allocUnsafe(5);
  private prefixHave = 0;
  private message: Buffer | undefined;
  private messageHave = 0;
  private compressed = false;
  encoding = 'identity';
  /** Messages received while the handler is not running yet (unary / server streaming). */
  received: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Input is discarded (the call already failed). */
  discarding = false;

  constructor(
    readonly conn: Connection,
    readonly id: number,
  ) {
    this.sendWindow = conn.peerInitialWindow;
  }

  armDeadline(timeoutMs: number): void {
    this.deadline = Date.now() + timeoutMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.outputEnded) return;
      this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      this.call?.cancel();
    }, Math.max(0, timeoutMs));
  }

  clearDeadline(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Feeds DATA payload bytes (one piece of a frame) to the gRPC message assembler. */
  onData(piece: Buffer): void {
    let pos = 0;
    while (pos < piece.length && !this.discarding) {
      if (this.message === undefined) {
        let len: number;
        if (this.prefixHave === 0 && piece.length - pos >= 5) {
          this.compressed = piece[pos] !== 0;
          len = piece.readUInt32BE(pos + 1);
          pos += 5;
        } else {
          const take = Math.min(5 - this.prefixHave, piece.length - pos);
          piece.copy(this.prefix, this.prefixHave, pos, pos + take);
          this.prefixHave += take;
          pos += take;
          if (this.prefixHave < 5) return;
          this.prefixHave = 0;
          this.compressed = this.prefix[0] !== 0;
          len = this.prefix.readUInt32BE(1);
        }
        const max = this.conn.options.maxReceiveMessageLength;
        if (max >= 0 && len > max && !this.compressed) {
          this.failInput({ code: Status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${len} vs. ${max})` });
          return;
        }
        if (piece.length - pos >= len) {
          // the whole message inside this piece: a view, no copy
          const msg = piece.subarray(pos, pos + len);
          pos += len;
          this.deliver(msg);
          continue;
        }
        this.message = Buffer.allocUnsafe(len);
        this.messageHave = 0;
      }
      const take = Math.min(this.message.length - this.messageHave, piece.length - pos);
      piece.copy(this.message, this.messageHave, pos, pos + take);
      this.messageHave += take;
      pos += take;
      if (this.messageHave === this.message.length) {
        const msg = this.message;
        this.message = undefined;
        this.messageHave = 0;
        this.deliver(msg);
      }
    }
  }

  private deliver(raw: Buffer): void {
    let msg = raw;
    if (this.compressed) {
      try {
        if (this.encoding === 'gzip') msg = zlib.gunzipSync(raw);
        else if (this.encoding === 'deflate') msg = zlib.inflateSync(raw);
        else throw new Error(`compressed message with grpc-encoding "${this.encoding}"`);
      } catch (err) {
        this.failInput({ code: Status.INTERNAL, details: `Failed to decompress message: ${(err as Error).message}` });
        return;
      }
      const max = this.conn.options.maxReceiveMessageLength;
      if (max >= 0 && msg.length > max) {
        this.failInput({ code: Status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${max}` });
        return;
      }
    }
    this.conn.server.deliver(this, msg);
  }

  /** The request cannot be served: answer with a status and stop reading. */
  failInput(status: CallStatus): void {
    this.discarding = true;
    this.message = undefined;
    if (this.call) this.call.finish(status);
    else this.sendStatus(status);
  }

  sendHeaders(): void {
    if (this.headersSent || this.outputEnded) return;
    this.headersSent = true;
    this.conn.write(frame(HEADERS, FLAG_END_HEADERS, this.id, RESPONSE_HEADERS));
  }

  /** Queues one response message (5-byte prefix + bytes, or pieces) under flow control. */
  sendMessage(bytes: Buffer | Buffer[]): void {
    if (this.outputEnded) return;
    const parts = Array.isArray(bytes) ? bytes : [bytes];
    let length = 0;
    for (const p of parts) length += p.length;
    const max = this.conn.options.maxSendMessageLength;
    if (max >= 0 && length > max) {
      this.sendStatus({ code: Status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${length} vs. ${max})` });
      return;
    }
    this.sendHeaders();
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(length, 1);
    this.queue.push(prefix);
    for (const p of parts) if (p.length > 0) this.queue.push(p);
    this.queueBytes += 5 + length;
    this.flush();
  }

  /**
   * The unary fast path: headers, the message and OK trailers in one buffer and one write when
   * the message fits in one frame and the windows allow it.
   */
  sendUnaryResponse(response: Buffer | Buffer[]): void {
    if (this.outputEnded) return;
    if (Array.isArray(response) && response.length !== 1) {
      this.sendMessage(response);
      this.sendStatus({ code: Status.OK, details: 'OK' });
      return;
    }
    const bytes = Array.isArray(response) ? response[0]! : response;
    const conn = this.conn;
    const payload = 5 + bytes.length;
    const max = conn.options.maxSendMessageLength;
    if (
      this.headersSent ||
      this.queueBytes > 0 ||
      payload > conn.peerMaxFrameSize ||
      payload > this.sendWindow ||
      payload > conn.connSendWindow ||
      (max >= 0 && bytes.length > max)
    ) {
      this.sendMessage(bytes);
      this.sendStatus({ code: Status.OK, details: 'OK' });
      return;
    }
    const h = RESPONSE_HEADERS.length;
    const t = OK_TRAILERS.length;
    const out = Buffer.allocUnsafe(9 + h + 9 + payload + 9 + t);
    let o = 0;
    frameHeader(out, o, h, HEADERS, FLAG_END_HEADERS, this.id);
    RESPONSE_HEADERS.copy(out, o + 9);
    o += 9 + h;
    frameHeader(out, o, payload, DATA, 0, this.id);
    out[o + 9] = 0;
    out.writeUInt32BE(bytes.length, o + 10);
    bytes.copy(out, o + 14);
    o += 9 + payload;
    frameHeader(out, o, t, HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, this.id);
    OK_TRAILERS.copy(out, o + 9);
    this.headersSent = true;
    this.sendWindow -= payload;
    conn.connSendWindow -= payload;
    conn.write(out);
    this.endOutput();
  }

  /** Ends the call: trailers (after queued data), or trailers-only when nothing was sent. */
  sendStatus(status: CallStatus): void {
    if (this.outputEnded || this.pendingTrailers) return;
    const fields: [string, string][] = [];
    if (!this.headersSent) {
      fields.push([':status', '200'], ['content-type', 'application/grpc']);
    }
    fields.push(['grpc-status', String(status.code)]);
    if (status.code !== Status.OK && status.details) fields.push(['grpc-message', percentEncode(status.details)]);
    const block = status.code === Status.OK && this.headersSent ? OK_TRAILERS : encodeHeaderBlock(fields);
    this.headersSent = true;
    this.pendingTrailers = block;
    this.flush();
  }

  /** Writes queued DATA as windows allow, then pending trailers. */
  flush(): void {
    const conn = this.conn;
    while (this.queueBytes > 0) {
      const allowed = Math.min(this.sendWindow, conn.connSendWindow, conn.peerMaxFrameSize, this.queueBytes);
      if (allowed <= 0) {
        conn.blocked.add(this);
        return;
      }
      const header = Buffer.allocUnsafe(9);
      frameHeader(header, 0, allowed, DATA, 0, this.id);
      conn.write(header);
      let left = allowed;
      while (left > 0) {
        const head = this.queue[0]!;
        if (head.length <= left) {
          conn.write(head);
          left -= head.length;
          this.queue.shift();
        } else {
          conn.write(head.subarray(0, left));
          this.queue[0] = head.subarray(left);
          left = 0;
        }
      }
      this.queueBytes -= allowed;
      this.sendWindow -= allowed;
      conn.connSendWindow -= allowed;
    }
    conn.blocked.delete(this);
    if (this.pendingTrailers) {
      conn.write(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, this.id, this.pendingTrailers));
      this.pendingTrailers = undefined;
      this.endOutput();
    }
  }

  private endOutput(): void {
    this.outputEnded = true;
    this.clearDeadline();
    if (!this.inputEnded) {
      // stop the client's upload of a request we no longer read (RFC 9113 §8.1)
      this.conn.write(rstFrame(this.id, NO_ERROR));
      this.inputEnded = true;
    }
    this.conn.closeStream(this);
  }

  /** RST_STREAM from the peer or connection loss. */
  reset(): void {
    this.clearDeadline();
    this.outputEnded = true;
    this.inputEnded = true;
    this.queue = [];
    this.queueBytes = 0;
    this.pendingTrailers = undefined;
    this.conn.blocked.delete(this);
    this.call?.cancel();
  }
}

function rstFrame(streamId: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  frameHeader(out, 0, 4, RST_STREAM, 0, streamId);
  out.writeUInt32BE(code, 9);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Connections

class Connection {
  readonly decoder = new HpackDecoder();
  readonly streams = new Map<number, Stream>();
  readonly blocked = new Set<Stream>();
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrameSize = DEFAULT_MAX_FRAME;
  connSendWindow = DEFAULT_WINDOW;
  readonly peer: string;
  private lastStreamId = 0;
  private prefaceDone = false;
  private chunks: Buffer[] = [];
  private headOffset = 0;
  private available = 0;
  // current frame
  private fLen = -1;
  private fType = 0;
  private fFlags = 0;
  private fStream = 0;
  private dataLeft = 0;
  private padLeft = 0;
  private dataStarted = false;
  // header block being assembled
  private headerParts: Buffer[] | undefined;
  private headerBytes = 0;
  private headerStream = 0;
  private headerEndStream = false;
  private connRecvUnacked = 0;
  private corked = false;
  goingAway = false;
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    readonly server: GrpcTransportServer,
    readonly options: TransportOptions,
  ) {
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
  }

  private sendSettings(): void {
    const entries: [number, number][] = [
      [SETTINGS_MAX_CONCURRENT_STREAMS, this.options.maxConcurrentStreams],
      [SETTINGS_INITIAL_WINDOW_SIZE, this.options.streamWindow],
      [SETTINGS_MAX_FRAME_SIZE, this.options.maxFrameSize],
      [SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK],
    ];
    const payload = Buffer.allocUnsafe(entries.length * 6);
    entries.forEach(([id, value], i) => {
      payload.writeUInt16BE(id, i * 6);
      payload.writeUInt32BE(value, i * 6 + 2);
    });
    this.write(frame(SETTINGS, 0, 0, payload));
    const extra = this.options.connectionWindow - DEFAULT_WINDOW;
    if (extra > 0) this.write(windowUpdate(0, extra));
  }

  /** Queues bytes on the socket; writes made in one tick leave together (cork/uncork). */
  write(buf: Buffer): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
  }

  private onSocketData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.available += chunk.length;
    try {
      this.process();
    } catch (err) {
      if (err instanceof ConnectionError) this.fail(err.code, err.message);
      else if (err instanceof HpackError) this.fail(COMPRESSION_ERROR, err.message);
      else {
        this.options.log?.(`gRPC transport: ${(err as Error).stack ?? String(err)}`);
        this.fail(INTERNAL_ERROR, 'internal error');
      }
    }
  }

  /** Takes n bytes, as a view when they sit in one chunk, else copied together. */
  private take(n: number): Buffer {
    const head = this.chunks[0]!;
    let out: Buffer;
    if (head.length - this.headOffset >= n) {
      out = head.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === head.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let have = 0;
      while (have < n) {
        const c = this.chunks[0]!;
        const t = Math.min(n - have, c.length - this.headOffset);
        c.copy(out, have, this.headOffset, this.headOffset + t);
        have += t;
        this.headOffset += t;
        if (this.headOffset === c.length) {
          this.chunks.shift();
          this.headOffset = 0;
        }
      }
    }
    this.available -= n;
    return out;
  }

  /** Takes up to n bytes that are contiguous in the head chunk (a view). */
  private takeSome(n: number): Buffer {
    const head = this.chunks[0]!;
    const t = Math.min(n, head.length - this.headOffset);
    const out = head.subarray(this.headOffset, this.headOffset + t);
    this.headOffset += t;
    if (this.headOffset === head.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
    this.available -= t;
    return out;
  }

  private process(): void {
    if (!this.prefaceDone) {
      if (this.available === 0) return;
      if (this.available < PREFACE.length) {
        // reject HTTP/1.x early
        const first = this.chunks[0]!;
        if (first.length - this.headOffset >= 4 && !PREFACE.subarray(0, 4).equals(first.subarray(this.headOffset, this.headOffset + 4))) {
          this.rejectHttp1();
        }
        return;
      }
      const p = this.take(PREFACE.length);
      if (!p.equals(PREFACE)) {
        this.rejectHttp1();
        return;
      }
      this.prefaceDone = true;
      // our SETTINGS once the client proved to speak HTTP/2 (an HTTP/1 client gets plain text)
      this.sendSettings();
    }
    while (!this.closed) {
      if (this.fLen < 0) {
        if (this.available < 9) return;
        const h = this.take(9);
        this.fLen = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
        this.fType = h[3]!;
        this.fFlags = h[4]!;
        this.fStream = h.readUInt32BE(5) & 0x7fffffff;
        this.dataStarted = false;
        if (this.fLen > this.options.maxFrameSize) {
          throw new ConnectionError(FRAME_SIZE_ERROR, `frame of ${this.fLen} bytes exceeds SETTINGS_MAX_FRAME_SIZE`);
        }
        if (this.headerParts && this.fType !== CONTINUATION) {
          throw new ConnectionError(PROTOCOL_ERROR, 'expected CONTINUATION');
        }
      }
      if (this.fType === DATA) {
        if (!this.processData()) return;
        continue;
      }
      if (this.available < this.fLen) return;
      const payload = this.fLen > 0 ? this.take(this.fLen) : Buffer.alloc(0);
      const type = this.fType;
      this.fLen = -1;
      this.handleFrame(type, this.fFlags, this.fStream, payload);
    }
  }

  /** Streams a DATA frame's payload to its stream as bytes arrive. Returns true when the frame is done. */
  private processData(): boolean {
    if (!this.dataStarted) {
      if (this.fStream === 0) throw new ConnectionError(PROTOCOL_ERROR, 'DATA on stream 0');
      let padLen = 0;
      if (this.fFlags & FLAG_PADDED) {
        if (this.fLen < 1) throw new ConnectionError(FRAME_SIZE_ERROR, 'padded DATA without pad length');
        if (this.available < 1) return false;
        padLen = this.take(1)[0]!;
        if (padLen >= this.fLen) throw new ConnectionError(PROTOCOL_ERROR, 'DATA padding exceeds the payload');
      }
      this.dataLeft = this.fLen - (this.fFlags & FLAG_PADDED ? 1 + padLen : 0);
      this.padLeft = padLen;
      this.dataStarted = true;
      this.receivedFlowControlled(this.fStream, this.fLen);
    }
    const stream = this.streams.get(this.fStream);
    while (this.dataLeft > 0) {
      if (this.available === 0) return false;
      const piece = this.takeSome(this.dataLeft);
      this.dataLeft -= piece.length;
      if (stream && !stream.inputEnded) stream.onData(piece);
    }
    while (this.padLeft > 0) {
      if (this.available === 0) return false;
      this.padLeft -= this.takeSome(this.padLeft).length;
    }
    this.fLen = -1;
    if (this.fFlags & FLAG_END_STREAM) {
      if (stream && !stream.inputEnded) this.endInput(stream);
    }
    if (!stream && this.fStream > this.lastStreamId) throw new ConnectionError(PROTOCOL_ERROR, 'DATA on an idle stream');
    return true;
  }

  /** Flow control for received DATA: replenish windows once half is used. */
  private receivedFlowControlled(streamId: number, len: number): void {
    if (len === 0) return;
    this.connRecvUnacked += len;
    if (this.connRecvUnacked >= this.options.connectionWindow / 2) {
      this.write(windowUpdate(0, this.connRecvUnacked));
      this.connRecvUnacked = 0;
    }
    const stream = this.streams.get(streamId);
    if (stream && !stream.inputEnded) {
      stream.recvUnacked += len;
      if (stream.recvUnacked >= this.options.streamWindow / 2 && !(this.fFlags & FLAG_END_STREAM)) {
        this.write(windowUpdate(streamId, stream.recvUnacked));
        stream.recvUnacked = 0;
      }
    }
  }

  private handleFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case HEADERS:
        this.onHeaders(flags, streamId, payload);
        return;
      case CONTINUATION:
        if (!this.headerParts || streamId !== this.headerStream) throw new ConnectionError(PROTOCOL_ERROR, 'unexpected CONTINUATION');
        this.addHeaderPart(payload);
        if (flags & FLAG_END_HEADERS) this.headerBlockDone();
        return;
      case SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case PING:
        if (streamId !== 0 || payload.length !== 8) throw new ConnectionError(PROTOCOL_ERROR, 'bad PING');
        if (!(flags & FLAG_ACK)) this.write(frame(PING, FLAG_ACK, 0, payload));
        return;
      case WINDOW_UPDATE: {
        if (payload.length !== 4) throw new ConnectionError(FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (streamId === 0) {
          if (inc === 0) throw new ConnectionError(PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
          this.connSendWindow += inc;
          if (this.connSendWindow > MAX_WINDOW) throw new ConnectionError(FLOW_CONTROL_ERROR, 'connection window overflow');
          for (const s of [...this.blocked]) s.flush();
        } else {
          const s = this.streams.get(streamId);
          if (!s) return;
          if (inc === 0) {
            this.resetStream(s, PROTOCOL_ERROR);
            return;
          }
          s.sendWindow += inc;
          if (s.sendWindow > MAX_WINDOW) {
            this.resetStream(s, FLOW_CONTROL_ERROR);
            return;
          }
          s.flush();
        }
        return;
      }
      case RST_STREAM: {
        if (streamId === 0 || payload.length !== 4) throw new ConnectionError(PROTOCOL_ERROR, 'bad RST_STREAM');
        const s = this.streams.get(streamId);
        if (s) {
          this.streams.delete(streamId);
          s.reset();
          this.maybeFinishGoaway();
        }
        return;
      }
      case GOAWAY:
        this.goingAway = true;
        this.maybeFinishGoaway();
        return;
      case PUSH_PROMISE:
        throw new ConnectionError(PROTOCOL_ERROR, 'clients cannot push');
      case PRIORITY:
      default:
        return; // PRIORITY and unknown frame types are ignored
    }
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & FLAG_ACK) return;
    if (payload.length % 6 !== 0) throw new ConnectionError(FRAME_SIZE_ERROR, 'bad SETTINGS length');
    for (let i = 0; i < payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > 16777215) throw new ConnectionError(PROTOCOL_ERROR, 'bad SETTINGS_MAX_FRAME_SIZE');
        this.peerMaxFrameSize = value;
      } else if (id === SETTINGS_HEADER_TABLE_SIZE) {
        // our encoder never uses the dynamic table: nothing to do
      }
    }
    this.write(frame(SETTINGS, FLAG_ACK, 0));
    for (const s of [...this.blocked]) s.flush();
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) throw new ConnectionError(PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    let start = 0;
    let end = payload.length;
    if (flags & FLAG_PADDED) {
      const pad = payload[0]!;
      start = 1;
      end -= pad;
    }
    if (flags & FLAG_PRIORITY) start += 5;
    if (start > end) throw new ConnectionError(PROTOCOL_ERROR, 'bad HEADERS padding');
    this.headerParts = [];
    this.headerBytes = 0;
    this.headerStream = streamId;
    this.headerEndStream = (flags & FLAG_END_STREAM) !== 0;
    this.addHeaderPart(payload.subarray(start, end));
    if (flags & FLAG_END_HEADERS) this.headerBlockDone();
  }

  private addHeaderPart(part: Buffer): void {
    this.headerBytes += part.length;
    if (this.headerBytes > MAX_HEADER_BLOCK) throw new ConnectionError(ENHANCE_YOUR_CALM, 'header block too large');
    this.headerParts!.push(part);
  }

  private headerBlockDone(): void {
    const parts = this.headerParts!;
    this.headerParts = undefined;
    const block = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const streamId = this.headerStream;
    const existing = this.streams.get(streamId);
    if (existing || streamId <= this.lastStreamId) {
      // trailers (or headers on a closed stream): decode to keep HPACK in sync
      this.decoder.decode(block, 0, block.length, () => {});
      if (existing && !existing.inputEnded) {
        if (!this.headerEndStream) {
          this.resetStream(existing, PROTOCOL_ERROR);
          return;
        }
        this.endInput(existing);
      } else if (!existing && streamId <= this.lastStreamId) {
        // a closed stream: ignore, as allowed after we ended it
      }
      return;
    }
    this.lastStreamId = streamId;
    let method = '';
    let path = '';
    let contentType = '';
    let timeout = '';
    let encoding = '';
    let authority = '';
    this.decoder.decode(block, 0, block.length, (name, value) => {
      switch (name) {
        case ':method':
          method = value;
          break;
        case ':path':
          path = value;
          break;
        case 'content-type':
          contentType = value;
          break;
        case 'grpc-timeout':
          timeout = value;
          break;
        case 'grpc-encoding':
          encoding = value;
          break;
        case ':authority':
          authority = value;
          break;
      }
    });
    if (this.goingAway || this.streams.size >= this.options.maxConcurrentStreams) {
      this.write(rstFrame(streamId, REFUSED_STREAM));
      return;
    }
    const stream = new Stream(this, streamId);
    stream.authority = authority;
    if (encoding) stream.encoding = encoding;
    this.streams.set(streamId, stream);
    if (this.headerEndStream) stream.inputEnded = true;
    if (method !== 'POST' || !contentType.startsWith('application/grpc')) {
      stream.discarding = true;
      const block415 = encodeHeaderBlock([
        [':status', method !== 'POST' ? '405' : '415'],
        ['grpc-status', String(Status.UNKNOWN)],
        ['grpc-message', percentEncode(method !== 'POST' ? `method ${method} not allowed` : `content-type "${contentType}" is not application/grpc`)],
      ]);
      stream.headersSent = true;
      this.write(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, streamId, block415));
      this.finishRejected(stream);
      return;
    }
    if (timeout) {
      const ms = parseTimeout(timeout);
      if (ms === undefined) {
        stream.failInput({ code: Status.INTERNAL, details: `Invalid grpc-timeout value "${timeout}"` });
        return;
      }
      stream.armDeadline(ms);
    }
    this.server.startCall(stream, path);
    if (stream.inputEnded && !stream.outputEnded) this.server.inputEnded(stream);
  }

  private finishRejected(stream: Stream): void {
    stream.outputEnded = true;
    if (!stream.inputEnded) {
      this.write(rstFrame(stream.id, NO_ERROR));
      stream.inputEnded = true;
    }
    this.closeStream(stream);
  }

  private endInput(stream: Stream): void {
    stream.inputEnded = true;
    if (!stream.discarding && !stream.outputEnded) this.server.inputEnded(stream);
    if (stream.outputEnded) this.closeStream(stream);
  }

  resetStream(stream: Stream, code: number): void {
    this.write(rstFrame(stream.id, code));
    this.streams.delete(stream.id);
    stream.reset();
    this.maybeFinishGoaway();
  }

  /** Forgets a stream once both directions ended. */
  closeStream(stream: Stream): void {
    if (stream.outputEnded && stream.inputEnded) {
      this.streams.delete(stream.id);
      this.blocked.delete(stream);
      this.maybeFinishGoaway();
    }
  }

  /** Graceful shutdown: no new streams; close when the running ones are done. */
  goaway(): void {
    if (this.closed) return;
    if (!this.goingAway) {
      this.goingAway = true;
      const payload = Buffer.allocUnsafe(8);
      payload.writeUInt32BE(this.lastStreamId, 0);
      payload.writeUInt32BE(NO_ERROR, 4);
      this.write(frame(GOAWAY, 0, 0, payload));
    }
    this.maybeFinishGoaway();
  }

  private maybeFinishGoaway(): void {
    if (this.goingAway && this.streams.size === 0 && !this.closed) {
      this.closed = true;
      // let corked writes leave first
      setImmediate(() => this.socket.end());
    }
  }

  private fail(code: number, message: string): void {
    if (this.closed) return;
    const payload = Buffer.allocUnsafe(8 + Buffer.byteLength(message));
    payload.writeUInt32BE(this.lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    payload.write(message, 8);
    this.write(frame(GOAWAY, 0, 0, payload));
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.onClose();
  }

  private rejectHttp1(): void {
    this.closed = true;
    this.socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nThis port speaks gRPC (HTTP/2).\n');
  }

  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  private closedOnce = false;
  private onClose(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.closed = true;
    for (const s of this.streams.values()) s.reset();
    this.streams.clear();
    this.blocked.clear();
    this.server.connectionClosed(this);
  }
}

function windowUpdate(streamId: number, inc: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  frameHeader(out, 0, 4, WINDOW_UPDATE, 0, streamId);
  out.writeUInt32BE(inc, 9);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server

export interface TlsOptions {
  key: Buffer;
  cert: Buffer;
  ca?: Buffer;
  /** Require and verify a client certificate. */
  clientVerify: boolean;
}

export class GrpcTransportServer {
  private readonly methods = new Map<string, Method>();
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<Connection>();
  private idleWaiters: (() => void)[] = [];
  readonly options: TransportOptions;

  constructor(options: Partial<TransportOptions> = {}) {
    this.options = { ...DEFAULT_TRANSPORT_OPTIONS, ...options };
  }

  /** Registers a grpc-js service definition and implementation. */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    for (const [name, def] of Object.entries(service)) {
      const handler = implementation[name] ?? implementation[def.originalName ?? ''];
      if (typeof handler !== 'function') continue;
      const kind: Kind = def.requestStream ? (def.responseStream ? 'bidi' : 'clientStream') : def.responseStream ? 'serverStream' : 'unary';
      this.methods.set(def.path, { def: def as grpc.MethodDefinition<unknown, unknown>, handler: handler as Method['handler'], kind });
    }
  }

  /** Listens on host:port (0 = any) or a unix socket path; resolves with the bound port (0 for unix). */
  listen(target: { host: string; port: number } | { path: string }, tlsOptions?: TlsOptions): Promise<number> {
    const onSocket = (socket: net.Socket) => {
      const conn = new Connection(socket, this, this.options);
      this.connections.add(conn);
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
      server = net.createServer(onSocket);
    }
    server.on('error', (err) => this.options.log?.(`gRPC listener error: ${err.message}`));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      const done = () => {
        server.off('error', onError);
        this.listeners.push(server);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      };
      if ('path' in target) server.listen(target.path, done);
      else server.listen(target.port, target.host, done);
    });
  }

  /** Starts a call once its request headers arrived. */
  startCall(stream: Stream, path: string): void {
    const method = this.methods.get(path);
    if (!method) {
      stream.failInput({ code: Status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
      return;
    }
    stream.method = method;
    const call = new TransportCall(stream, method);
    stream.call = call;
    if (method.kind === 'clientStream' || method.kind === 'bidi') {
      try {
        if (method.kind === 'clientStream') method.handler(call, (err: unknown, value?: unknown) => call.respond(err, value));
        else method.handler(call);
      } catch (err) {
        call.finish(statusOf(err));
      }
    }
  }

  /** A complete request message arrived on a stream. */
  deliver(stream: Stream, msg: Buffer): void {
    const method = stream.method;
    const call = stream.call;
    if (!method || !call || call.cancelled) return;
    let value: unknown;
    try {
      value = method.def.requestDeserialize(msg);
    } catch (err) {
      stream.failInput({ code: Status.INTERNAL, details: `Error deserializing request: ${(err as Error).message}` });
      return;
    }
    if (method.kind === 'unary' || method.kind === 'serverStream') {
      if (stream.received.length > 0) {
        stream.failInput({ code: Status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${method.def.path}` });
        return;
      }
      stream.received.push(value as Buffer);
    } else {
      call.emit('data', value);
    }
  }

  /** The client finished sending (END_STREAM). */
  inputEnded(stream: Stream): void {
    const method = stream.method;
    const call = stream.call;
    if (!method || !call || call.cancelled || stream.discarding) return;
    if (method.kind === 'unary' || method.kind === 'serverStream') {
      if (stream.received.length === 0) {
        stream.failInput({ code: Status.UNIMPLEMENTED, details: `No message received for unary method ${method.def.path}` });
        return;
      }
      call.request = stream.received[0];
      stream.received = [];
      try {
        if (method.kind === 'unary') method.handler(call, (err: unknown, value?: unknown) => call.respond(err, value));
        else method.handler(call);
      } catch (err) {
        call.finish(statusOf(err));
      }
    } else {
      call.emit('end');
    }
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Stops listening, sends GOAWAY, waits up to graceMs for running calls, then closes everything. */
  async close(graceMs: number): Promise<void> {
    // net.Server.close() only reports once every connection is gone: stop accepting, don't wait
    const listenersClosed = Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    this.listeners.length = 0;
    for (const c of this.connections) c.goaway();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const c of [...this.connections]) c.destroy();
    await listenersClosed;
  }

  forceClose(): void {
    for (const l of this.listeners) l.close();
    this.listeners.length = 0;
    for (const c of [...this.connections]) c.destroy();
  }
}

