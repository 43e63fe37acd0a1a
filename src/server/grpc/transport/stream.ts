// One HTTP/2 stream of jetserve's own transport: its state (RFC 9113 §5.1 as the server sees it),
// the gRPC messages assembled from its DATA (memory grows with bytes received, never with a
// declared length), and its response output under flow control.

import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { OK_STATUS, percentEncode, type CallStatus } from '../call-status.js';
import { MessageReader } from '../message-reader.js';
import { requestBodies } from '../../body-pool.js';
import type { Method } from '../methods.js';
import { LIMIT_FLAGS, type TransportLimits } from '../transport.js';
import type { CallStream, TransportCall } from './call.js';
import { ReceiveWindow, SendWindow } from './flow-control.js';
import {
  DATA,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  frame,
  HEADERS,
  writeFrameHeader,
} from './frames.js';
import { encodeHeaderBlock } from './hpack.js';
import type { RequestHead } from './request-headers.js';

const Status = grpc.status;

const RESPONSE_HEADERS = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
]);
const OK_TRAILERS = encodeHeaderBlock([['grpc-status', '0']]);

/** What a stream needs from its connection. */
export interface StreamConnection {
  readonly limits: TransportLimits;
  readonly peer: string;
  readonly peerMaxFrameSize: number;
  readonly connSendWindow: SendWindow;
  /** Request + unread response bytes held for this connection's open streams. */
  inflightBytes: number;
  write(buf: Buffer): void;
  /** The stream waits for send window. */
  blockedOnWindow(stream: Stream, blocked: boolean): void;
  /** We sent END_STREAM (or a trailers-only answer) on the stream. */
  outputEnded(stream: Stream): void;
  /** A complete request message for the stream's call. */
  deliver(stream: Stream, message: Buffer): void;
}

export class Stream implements CallStream {
  deadline: number | undefined;
  call: TransportCall | undefined;
  method: Method | undefined;
  /** END_STREAM (or RST_STREAM) received. */
  inputEnded = false;
  /** END_STREAM (or RST_STREAM) sent. */
  outputEnded = false;
  headersSent = false;
  /** Input is not read any further (the call failed or is not gRPC). */
  discarding = false;
  /** A non-gRPC request: answered with this HTTP status and text once its input ends. */
  plainAnswer: { status: number; text: string } | undefined;
  readonly sendWindow: SendWindow;
  readonly recvWindow: ReceiveWindow;
  /** DATA payload bytes received (checked against content-length). */
  dataBytes = 0;
  /** The request message of a unary / server-streaming call, and how many arrived. */
  request: unknown = undefined;
  messages = 0;
  private reader: MessageReader | undefined;
  private encoding = 'identity';
  private queue: Buffer[] = [];
  private queueBytes = 0;
  private pendingTrailers: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private charged = 0;
  /** Response metadata the handler added (request id, traceparent): sent with the response headers. */
  private metadata: [string, string][] | undefined;
  private metadataBlock: Buffer | undefined;

  constructor(
    readonly conn: StreamConnection,
    readonly id: number,
    readonly head: RequestHead,
    peerInitialWindow: number,
  ) {
    this.sendWindow = new SendWindow(peerInitialWindow);
    this.recvWindow = new ReceiveWindow(conn.limits.streamWindow);
    if (head.encoding) this.encoding = head.encoding;
  }

  get peer(): string {
    return this.conn.peer;
  }

  get authority(): string {
    return this.head.authority;
  }

  get metadataFields(): readonly (readonly [string, string])[] {
    return this.head.fields;
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

  private clearDeadline(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Feeds a piece of DATA payload to the message reader (charged to the connection's budget). */
  onData(piece: Buffer): void {
    if (this.discarding || piece.length === 0) return;
    const conn = this.conn;
    const limit = conn.limits.maxConnectionInflightBytes;
    if (limit >= 0 && conn.inflightBytes + piece.length > limit) {
      this.failInput({
        code: Status.RESOURCE_EXHAUSTED,
        details: `this connection holds ${conn.inflightBytes} bytes of requests and unread responses; ${piece.length} more would exceed the limit of ${limit} (${LIMIT_FLAGS.maxConnectionInflightBytes})`,
      });
      return;
    }
    this.charge(piece.length);
    this.reader ??= new MessageReader(conn.limits.maxReceiveMessageLength, this, requestBodies.alloc, requestBodies.take, (block) => requestBodies.release(block));
    this.reader.push(piece);
  }

  /** True when the input ended between messages (no truncated message). */
  get inputComplete(): boolean {
    return this.reader === undefined || this.reader.atBoundary;
  }

  /** MessageSink: a complete message. */
  message(raw: Buffer, compressed: boolean): void {
    let msg = raw;
    if (compressed) {
      const max = this.conn.limits.maxReceiveMessageLength;
      const options = max >= 0 ? { maxOutputLength: Math.max(1, max) } : {};
      try {
        if (this.encoding === 'gzip') msg = zlib.gunzipSync(raw, options);
        else if (this.encoding === 'deflate') msg = zlib.inflateSync(raw, options);
        else throw new Error(`compressed message with grpc-encoding "${this.encoding}"`);
      } catch (err) {
        this.failInput(
          (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
            ? { code: Status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to more than ${max} bytes (${LIMIT_FLAGS.maxReceiveMessageLength})` }
            : { code: Status.INTERNAL, details: `Failed to decompress message: ${(err as Error).message}` },
        );
        return;
      }
    }
    this.conn.deliver(this, msg);
  }

  /** MessageSink: the prefix declares more than --grpc_max_message_size. */
  tooLarge(declared: number): void {
    const max = this.conn.limits.maxReceiveMessageLength;
    this.failInput({
      code: Status.RESOURCE_EXHAUSTED,
      details: `Received message larger than max (${declared} vs. ${max}); the limit is ${LIMIT_FLAGS.maxReceiveMessageLength}`,
    });
  }

  /** The request cannot be served: answer with a status and stop reading. */
  failInput(status: CallStatus): void {
    this.discarding = true;
    this.reader?.discard();
    if (this.call) {
      this.call.finish(status);
      this.call.inputFailed(status);
    } else {
      this.sendStatus(status);
    }
  }

  /** Adds a response metadata entry (before the response headers leave; ignored after). */
  addResponseMetadata(name: string, value: string): void {
    if (this.headersSent) return;
    (this.metadata ??= []).push([name, value]);
    this.metadataBlock = undefined;
  }

  /** The response headers block: the constant part, plus the handler's metadata when it added some. */
  private responseHeaders(): Buffer {
    if (!this.metadata) return RESPONSE_HEADERS;
    // HPACK literals without indexing: blocks concatenate into one valid block
    return (this.metadataBlock ??= Buffer.concat([RESPONSE_HEADERS, encodeHeaderBlock(this.metadata)]));
  }

  sendHeaders(): void {
    if (this.headersSent || this.outputEnded) return;
    this.headersSent = true;
    this.conn.write(frame(HEADERS, FLAG_END_HEADERS, this.id, this.responseHeaders()));
  }

  /** Queues one response message (5-byte prefix + bytes, or pieces) under flow control. */
  sendMessage(bytes: Buffer | Buffer[]): void {
    if (this.outputEnded || this.pendingTrailers) return;
    const parts = Array.isArray(bytes) ? bytes : [bytes];
    let length = 0;
    for (const p of parts) length += p.length;
    const max = this.conn.limits.maxSendMessageLength;
    if (max >= 0 && length > max) {
      this.sendStatus({
        code: Status.RESOURCE_EXHAUSTED,
        details: `Sent message larger than max (${length} vs. ${max}); the limit is ${LIMIT_FLAGS.maxSendMessageLength}`,
      });
      return;
    }
    this.sendHeaders();
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(length, 1);
    this.queue.push(prefix);
    for (const p of parts) if (p.length > 0) this.queue.push(p);
    this.queueBytes += 5 + length;
    this.charge(5 + length);
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
      this.sendStatus(OK_STATUS);
      return;
    }
    const bytes = Array.isArray(response) ? response[0]! : response;
    const conn = this.conn;
    const payload = 5 + bytes.length;
    const max = conn.limits.maxSendMessageLength;
    if (
      this.headersSent ||
      this.queueBytes > 0 ||
      payload > conn.peerMaxFrameSize ||
      payload > this.sendWindow.size ||
      payload > conn.connSendWindow.size ||
      (max >= 0 && bytes.length > max)
    ) {
      this.sendMessage(bytes);
      this.sendStatus(OK_STATUS);
      return;
    }
    const headers = this.responseHeaders();
    const h = headers.length;
    const t = OK_TRAILERS.length;
    const out = Buffer.allocUnsafe(9 + h + 9 + payload + 9 + t);
    let o = 0;
    writeFrameHeader(out, o, h, HEADERS, FLAG_END_HEADERS, this.id);
    headers.copy(out, o + 9);
    o += 9 + h;
    writeFrameHeader(out, o, payload, DATA, 0, this.id);
    out[o + 9] = 0;
    out.writeUInt32BE(bytes.length, o + 10);
    bytes.copy(out, o + 14);
    o += 9 + payload;
    writeFrameHeader(out, o, t, HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, this.id);
    OK_TRAILERS.copy(out, o + 9);
    this.headersSent = true;
    this.sendWindow.consume(payload);
    conn.connSendWindow.consume(payload);
    conn.write(out);
    this.endOutput();
  }

  /** Ends the call: trailers (after queued data), or trailers-only when nothing was sent. */
  sendStatus(status: CallStatus): void {
    if (this.outputEnded || this.pendingTrailers) return;
    const fields: [string, string][] = [];
    if (!this.headersSent) {
      fields.push([':status', '200'], ['content-type', 'application/grpc']);
      // trailers-only: the handler's metadata travels in this one block
      if (this.metadata) fields.push(...this.metadata);
    }
    fields.push(['grpc-status', String(status.code)]);
    if (status.code !== Status.OK && status.details) fields.push(['grpc-message', percentEncode(status.details)]);
    const block = status.code === Status.OK && this.headersSent ? OK_TRAILERS : encodeHeaderBlock(fields);
    this.headersSent = true;
    this.pendingTrailers = block;
    this.flush();
  }

  /** A non-gRPC request's answer: its HTTP status and a text body. */
  sendPlainAnswer(status: number, text: string): void {
    if (this.outputEnded) return;
    const body = Buffer.from(`${text}\n`);
    this.headersSent = true;
    this.conn.write(
      frame(
        HEADERS,
        FLAG_END_HEADERS,
        this.id,
        encodeHeaderBlock([
          [':status', String(status)],
          ['content-type', 'text/plain; charset=utf-8'],
          ['content-length', String(body.length)],
        ]),
      ),
    );
    this.queue.push(body);
    this.queueBytes += body.length;
    this.pendingTrailers = Buffer.alloc(0); // END_STREAM on the last DATA frame
    this.flush();
  }

  /** Writes queued DATA as windows allow, then pending trailers. */
  flush(): void {
    const conn = this.conn;
    while (this.queueBytes > 0) {
      const allowed = Math.min(this.sendWindow.size, conn.connSendWindow.size, conn.peerMaxFrameSize, this.queueBytes);
      if (allowed <= 0) {
        conn.blockedOnWindow(this, true);
        return;
      }
      const last = allowed === this.queueBytes && this.pendingTrailers !== undefined && this.pendingTrailers.length === 0;
      const header = Buffer.allocUnsafe(9);
      writeFrameHeader(header, 0, allowed, DATA, last ? FLAG_END_STREAM : 0, this.id);
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
      this.sendWindow.consume(allowed);
      conn.connSendWindow.consume(allowed);
      if (last) {
        this.pendingTrailers = undefined;
        conn.blockedOnWindow(this, false);
        this.endOutput();
        return;
      }
    }
    conn.blockedOnWindow(this, false);
    if (this.pendingTrailers) {
      conn.write(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, this.id, this.pendingTrailers));
      this.pendingTrailers = undefined;
      this.endOutput();
    }
  }

  private endOutput(): void {
    this.outputEnded = true;
    this.clearDeadline();
    this.conn.outputEnded(this);
  }

  /** The stream is gone (RST_STREAM either way, connection loss): drop queued output, cancel the call. */
  reset(): void {
    this.clearDeadline();
    this.outputEnded = true;
    this.inputEnded = true;
    this.discarding = true;
    this.reader?.discard();
    this.queue = [];
    this.queueBytes = 0;
    this.pendingTrailers = undefined;
    this.call?.cancel();
  }

  private charge(bytes: number): void {
    this.charged += bytes;
    this.conn.inflightBytes += bytes;
  }

  /** Returns the bytes charged to the connection (the stream closed). */
  release(): void {
    this.conn.inflightBytes -= this.charged;
    this.charged = 0;
    this.reader = undefined;
  }
}
