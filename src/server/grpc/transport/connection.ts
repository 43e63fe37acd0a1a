// One HTTP/2 connection of jetserve's own transport (RFC 9113): the preface, frame parsing straight
// from socket chunks, stream states and the errors the RFC prescribes for each frame in each
// state, flow control, and the protections an abusive peer meets:
//   - control-frame floods (PING, SETTINGS) from a client that does not read: once the bytes
//     queued for it pass --grpc_max_session_memory_mb, GOAWAY ENHANCE_YOUR_CALM and close;
//   - write backpressure: past the same bound the socket is not read until it drains;
//   - Rapid Reset: more than --grpc_max_stream_resets_per_second resets (either way) in a second →
//     GOAWAY ENHANCE_YOUR_CALM; unary calls start only after the whole socket chunk was parsed,
//     so a request reset in the same chunk never runs;
//   - header blocks bounded by --grpc_max_header_list_size (larger lists are refused with a
//     status naming the flag; blocks far beyond it end the connection);
//   - request memory charged per connection (--grpc_max_connection_inflight_bytes).

import type * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { parseTimeout } from '../call-status.js';
import { LIMIT_FLAGS, type TransportLimits } from '../transport.js';
import { DEFAULT_WINDOW, ReceiveWindow, SendWindow } from './flow-control.js';
import * as h2 from './frames.js';
import { HeaderBlockReader, type HeaderBlock } from './header-block.js';
import { HpackDecoder, HpackError } from './hpack.js';
import { PerSecond, RecentIds } from './bookkeeping.js';
import { parsePeerSettings } from './peer-settings.js';
import { addRequestField, checkTrailerField, finishRequestHead, newRequestHead } from './request-headers.js';
import { Stream, type StreamConnection } from './stream.js';
import type { LogFn } from '../../../observability/logging/levels.js';
import { GracefulGoaway } from './graceful-goaway.js';
import type { CallDispatcher } from './call-dispatcher.js';

/**
 * PING / SETTINGS answers that may wait in the socket buffer before the client counts as flooding
 * (nghttp2's default for its outbound ACK queue: a protocol constant, not a tuning knob).
 */
const MAX_UNFLUSHED_ACKS = 1000;
/** Closed stream ids remembered (to tell "closed" from "never opened"). */
const REMEMBERED_CLOSED = 512;

export class Connection implements StreamConnection {
  private readonly decoder = new HpackDecoder();
  readonly streams = new Map<number, Stream>();
  private readonly blocked = new Set<Stream>();
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrameSize = h2.DEFAULT_MAX_FRAME;
  readonly connSendWindow = new SendWindow(DEFAULT_WINDOW);
  private readonly connRecvWindow: ReceiveWindow;
  inflightBytes = 0;
  readonly peer: string;
  private lastStreamId = 0;
  /** Streams we reset (frames still in flight on them are ignored). */
  private readonly resetByUs = new RecentIds(REMEMBERED_CLOSED);
  /** Streams closed otherwise (frames on them are STREAM_CLOSED errors). */
  private readonly closedStreams = new RecentIds(REMEMBERED_CLOSED);
  private prefaceDone = false;
  private settingsSeen = false;
  private readonly input = new h2.ByteQueue();
  // the frame being read
  private fLen = -1;
  private fType = 0;
  private fFlags = 0;
  private fStream = 0;
  private dataLeft = 0;
  private padLeft = 0;
  private dataStarted = false;
  private dataTarget: Stream | undefined;
  private readonly headerBlocks: HeaderBlockReader;
  /** Unary calls whose request completed in the chunk being parsed (started after it). */
  private ready: Stream[] = [];
  private readonly resets = new PerSecond();
  private corked = false;
  private readPaused = false;
  private unflushedAcks = 0;
  goingAway = false;
  private readonly shutdown = new GracefulGoaway((frame) => this.write(frame), () => this.finalGoaway());
  private closed = false;
  private closedOnce = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly dispatcher: CallDispatcher<Connection>,
    readonly limits: TransportLimits,
    private readonly log?: LogFn,
    /** 'callback': the socket's reads arrive through received() (socket-reads.ts), not 'data' events. */
    reads: 'data' | 'callback' = 'data',
  ) {
    this.connRecvWindow = new ReceiveWindow(Math.max(DEFAULT_WINDOW, limits.connectionWindow));
    // HPACK-compressed blocks are rarely larger than the list they carry; past twice the list
    // limit nothing legitimate is left to decode
    this.headerBlocks = new HeaderBlockReader(
      Math.max(2 * limits.maxHeaderListSize, 16 * 1024),
      (max) =>
        new h2.ConnectionError(
          h2.ENHANCE_YOUR_CALM,
          `header block over ${max} bytes (the header list limit is ${limits.maxHeaderListSize}, ${LIMIT_FLAGS.maxHeaderListSize})`,
        ),
    );
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    socket.setNoDelay(true);
    if (reads === 'data') socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
  }

  private get sessionMemoryBytes(): number {
    return this.limits.maxSessionMemoryMiB * 1024 * 1024;
  }

  private sendSettings(): void {
    this.write(
      h2.settingsFrame([
        [h2.SETTINGS_MAX_CONCURRENT_STREAMS, this.limits.maxConcurrentStreams],
        [h2.SETTINGS_INITIAL_WINDOW_SIZE, this.limits.streamWindow],
        [h2.SETTINGS_MAX_FRAME_SIZE, this.limits.maxFrameSize],
        [h2.SETTINGS_MAX_HEADER_LIST_SIZE, this.limits.maxHeaderListSize],
      ]),
    );
    const extra = this.connRecvWindow.size - DEFAULT_WINDOW;
    if (extra > 0) this.write(h2.windowUpdateFrame(0, extra));
  }

  /** Queues bytes on the socket; writes made in one tick leave together (cork/uncork). */
  write(buf: Buffer, flushed?: () => void): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf, flushed);
    if (!this.readPaused && this.socket.writableLength > this.sessionMemoryBytes) {
      // backpressure: read nothing more from a client that does not read what it asked for
      this.readPaused = true;
      this.socket.pause();
      this.socket.once('drain', () => {
        this.readPaused = false;
        if (!this.closed) this.socket.resume();
      });
    }
  }

  /**
   * Answers a control frame (PING / SETTINGS ACK). A client that sends them faster than it reads
   * the answers is flooding: past MAX_UNFLUSHED_ACKS answers still in the socket buffer (each one a
   * write of its own, ~200 bytes of bookkeeping for 9-17 bytes of frame), or past the session
   * memory bound, GOAWAY ENHANCE_YOUR_CALM.
   */
  private writeAck(what: string, ack: Buffer): void {
    if (this.unflushedAcks >= MAX_UNFLUSHED_ACKS || this.socket.writableLength > this.sessionMemoryBytes) {
      throw new h2.ConnectionError(
        h2.ENHANCE_YOUR_CALM,
        `${what} flood: ${this.unflushedAcks} answers queued for a client that does not read them (session memory limit ${this.limits.maxSessionMemoryMiB} MiB, ${LIMIT_FLAGS.maxSessionMemoryMiB})`,
      );
    }
    this.unflushedAcks++;
    this.write(ack, this.ackFlushed);
  }

  private readonly ackFlushed = (): void => {
    this.unflushedAcks--;
  };

  /**
   * Bytes read from the socket. `chunk` may be a view of a reused read buffer (socket-reads.ts):
   * nothing keeps it, or a view of it, after this returns.
   */
  received(chunk: Buffer): void {
    if (this.closed) return;
    this.input.push(chunk);
    try {
      this.process();
    } catch (err) {
      if (err instanceof h2.ConnectionError) this.fail(err.code, err.message);
      else if (err instanceof HpackError) this.fail(h2.COMPRESSION_ERROR, err.message);
      else {
        this.log?.(`gRPC transport: ${(err as Error).stack ?? String(err)}`, 'error');
        this.fail(h2.INTERNAL_ERROR, 'internal error');
      }
    }
    // a frame cut by the read's end waits for the next read in a copy (the read buffer is reused)
    this.input.detach();
    this.startReady();
  }

  /** Runs the unary calls completed in this chunk, unless they were reset meanwhile. */
  private startReady(): void {
    if (this.ready.length === 0) return;
    const ready = this.ready;
    this.ready = [];
    for (const stream of ready) {
      if (!this.closed && !stream.outputEnded && this.streams.get(stream.id) === stream) this.dispatcher.runUnary(stream);
    }
  }

  private process(): void {
    if (!this.prefaceDone && !this.readPreface()) return;
    while (!this.closed) {
      if (this.fLen < 0) {
        if (this.input.available < 9) return;
        const h = this.input.take(9);
        this.fLen = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
        this.fType = h[3]!;
        this.fFlags = h[4]!;
        this.fStream = h.readUInt32BE(5) & 0x7fffffff;
        this.dataStarted = false;
        if (this.fLen > this.limits.maxFrameSize) {
          throw new h2.ConnectionError(h2.FRAME_SIZE_ERROR, `frame of ${this.fLen} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.limits.maxFrameSize}`);
        }
        if (this.headerBlocks.open && this.fType !== h2.CONTINUATION) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'expected CONTINUATION');
        if (!this.settingsSeen) {
          if (this.fType !== h2.SETTINGS || this.fFlags & h2.FLAG_ACK) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'the client preface must end with SETTINGS');
          this.settingsSeen = true;
        }
      }
      if (this.fType === h2.DATA) {
        if (!this.processData()) return;
        continue;
      }
      if (this.input.available < this.fLen) return;
      const payload = this.fLen > 0 ? this.input.take(this.fLen) : Buffer.alloc(0);
      this.fLen = -1;
      this.handleFrame(this.fType, this.fFlags, this.fStream, payload);
    }
  }

  /** The client preface; HTTP/1.x gets a plain-text 400, anything else is closed. */
  private readPreface(): boolean {
    const n = Math.min(this.input.available, h2.PREFACE.length);
    switch (h2.classifyPreface(this.input.peek(n))) {
      case 'h2':
        this.input.take(n);
        this.prefaceDone = true;
        // our SETTINGS once the client proved to speak HTTP/2
        this.sendSettings();
        return true;
      case 'wait':
        return false;
      case 'http1':
        this.rejectHttp1();
        return false;
      default:
        // not HTTP: the connection was never negotiated, so it is closed without a GOAWAY
        this.closed = true;
        this.input.clear();
        this.socket.destroy();
        return false;
    }
  }

  /** Streams a DATA frame's payload to its stream as bytes arrive. Returns true when the frame is done. */
  private processData(): boolean {
    const id = this.fStream;
    if (!this.dataStarted) {
      if (id === 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'DATA on stream 0');
      if (id > this.lastStreamId) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      let padLen = 0;
      if (this.fFlags & h2.FLAG_PADDED) {
        if (this.fLen < 1) throw new h2.ConnectionError(h2.FRAME_SIZE_ERROR, 'padded DATA without pad length');
        if (this.input.available < 1) return false;
        padLen = this.input.take(1)[0]!;
        if (padLen >= this.fLen) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'DATA padding exceeds the payload');
      }
      this.dataLeft = this.fLen - (this.fFlags & h2.FLAG_PADDED ? 1 + padLen : 0);
      this.padLeft = padLen;
      this.dataStarted = true;
      if (!this.connRecvWindow.receive(this.fLen)) throw new h2.ConnectionError(h2.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
      this.dataTarget = this.dataStreamFor(id);
    }
    while (this.dataLeft > 0) {
      if (this.input.available === 0) return false;
      const piece = this.input.takeSome(this.dataLeft);
      this.dataLeft -= piece.length;
      const stream = this.dataTarget;
      if (stream && this.streams.get(id) === stream) {
        stream.dataBytes += piece.length;
        if (stream.head.contentLength >= 0 && stream.dataBytes > stream.head.contentLength) {
          this.streamError(id, h2.PROTOCOL_ERROR);
        } else if (!stream.plainAnswer) {
          stream.onData(piece);
        }
      }
    }
    while (this.padLeft > 0) {
      if (this.input.available === 0) return false;
      this.padLeft -= this.input.takeSome(this.padLeft).length;
    }
    this.fLen = -1;
    const inc = this.connRecvWindow.takeUpdate();
    if (inc > 0) this.write(h2.windowUpdateFrame(0, inc));
    const stream = this.dataTarget;
    this.dataTarget = undefined;
    if (stream && this.streams.get(id) === stream && !stream.inputEnded) {
      if (this.fFlags & h2.FLAG_END_STREAM) {
        this.endInput(stream);
      } else {
        const streamInc = stream.recvWindow.takeUpdate();
        if (streamInc > 0) this.write(h2.windowUpdateFrame(id, streamInc));
      }
    }
    return true;
  }

  /** The stream a DATA frame feeds, or undefined when it is ignored or refused. */
  private dataStreamFor(id: number): Stream | undefined {
    const stream = this.streams.get(id);
    if (!stream) {
      if (!this.resetByUs.has(id)) this.streamError(id, h2.STREAM_CLOSED);
      return undefined;
    }
    if (stream.inputEnded) {
      this.streamError(id, h2.STREAM_CLOSED);
      return undefined;
    }
    if (!stream.recvWindow.receive(this.fLen)) {
      this.streamError(id, h2.FLOW_CONTROL_ERROR);
      return undefined;
    }
    return stream;
  }

  private handleFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case h2.HEADERS:
        this.headerBlockDone(this.headerBlocks.headers(flags, streamId, payload));
        return;
      case h2.CONTINUATION:
        this.headerBlockDone(this.headerBlocks.continuation(flags, streamId, payload));
        return;
      case h2.SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case h2.PING:
        if (streamId !== 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new h2.ConnectionError(h2.FRAME_SIZE_ERROR, 'PING payload is not 8 bytes');
        if (!(flags & h2.FLAG_ACK)) this.writeAck('PING', h2.frame(h2.PING, h2.FLAG_ACK, 0, payload));
        else this.shutdown.pingAck(payload);
        return;
      case h2.WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload);
        return;
      case h2.RST_STREAM:
        this.onRstStream(streamId, payload);
        return;
      case h2.PRIORITY:
        if (streamId === 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) this.streamError(streamId, h2.FRAME_SIZE_ERROR);
        else if ((payload.readUInt32BE(0) & 0x7fffffff) === streamId) this.streamError(streamId, h2.PROTOCOL_ERROR);
        return;
      case h2.GOAWAY:
        if (streamId !== 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'GOAWAY on a stream');
        this.goingAway = true;
        this.maybeFinishGoaway();
        return;
      case h2.PUSH_PROMISE:
        throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'clients cannot push');
      default:
        return; // unknown frame types are ignored
    }
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & h2.FLAG_ACK) {
      if (payload.length !== 0) throw new h2.ConnectionError(h2.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    const settings = parsePeerSettings(payload);
    if (settings.initialWindowSize !== undefined) {
      const delta = settings.initialWindowSize - this.peerInitialWindow;
      this.peerInitialWindow = settings.initialWindowSize;
      for (const st of this.streams.values()) {
        if (!st.sendWindow.grow(delta)) throw new h2.ConnectionError(h2.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window');
      }
    }
    if (settings.maxFrameSize !== undefined) this.peerMaxFrameSize = settings.maxFrameSize;
    this.writeAck('SETTINGS', h2.frame(h2.SETTINGS, h2.FLAG_ACK, 0));
    for (const s of [...this.blocked]) s.flush();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new h2.ConnectionError(h2.FRAME_SIZE_ERROR, 'WINDOW_UPDATE payload is not 4 bytes');
    const inc = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (inc === 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      if (!this.connSendWindow.grow(inc)) throw new h2.ConnectionError(h2.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      for (const s of [...this.blocked]) s.flush();
      return;
    }
    if (streamId > this.lastStreamId) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
    const s = this.streams.get(streamId);
    if (!s) return; // closed: updates may still be in flight
    if (inc === 0) this.streamError(streamId, h2.PROTOCOL_ERROR);
    else if (!s.sendWindow.grow(inc)) this.streamError(streamId, h2.FLOW_CONTROL_ERROR);
    else s.flush();
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new h2.ConnectionError(h2.FRAME_SIZE_ERROR, 'RST_STREAM payload is not 4 bytes');
    if (streamId === 0) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (streamId > this.lastStreamId) throw new h2.ConnectionError(h2.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
    const s = this.streams.get(streamId);
    if (!s) return;
    const unanswered = !s.outputEnded;
    this.forget(s);
    this.closedStreams.add(streamId);
    s.reset();
    if (unanswered) this.countReset();
    this.maybeFinishGoaway();
  }

  /** Rapid Reset: resets per second (client RST_STREAMs on unanswered calls, our stream errors). */
  private countReset(): void {
    if (this.resets.add() > this.limits.maxStreamResetsPerSecond) {
      throw new h2.ConnectionError(
        h2.ENHANCE_YOUR_CALM,
        `more than ${this.limits.maxStreamResetsPerSecond} stream resets in one second (${LIMIT_FLAGS.maxStreamResetsPerSecond})`,
      );
    }
  }

  private headerBlockDone(header: HeaderBlock | undefined): void {
    if (!header) return;
    const { streamId: id, block, endStream } = header;
    if (id > this.lastStreamId) {
      this.newRequest(id, block, endStream, header.selfDependent);
      return;
    }
    // a second header block (trailers), or one on a closed stream: decoded either way to keep
    // the HPACK table in sync
    let malformed: string | undefined;
    this.decoder.decode(block, 0, block.length, (name) => {
      malformed ??= checkTrailerField(name);
    });
    const existing = this.streams.get(id);
    if (existing) {
      if (existing.inputEnded) this.streamError(id, h2.STREAM_CLOSED);
      else if (!endStream || malformed !== undefined || header.selfDependent) this.streamError(id, h2.PROTOCOL_ERROR);
      else this.endInput(existing);
      return;
    }
    if (this.resetByUs.has(id)) return;
    if (this.closedStreams.has(id)) throw new h2.ConnectionError(h2.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    throw new h2.ConnectionError(h2.PROTOCOL_ERROR, `stream ${id} is lower than the last stream opened (${this.lastStreamId})`);
  }

  private newRequest(id: number, block: Buffer, endStream: boolean, selfDependent: boolean): void {
    this.lastStreamId = id;
    const head = newRequestHead();
    const maxList = this.limits.maxHeaderListSize;
    const seenRegular = { v: false };
    this.decoder.decode(block, 0, block.length, (name, value) => addRequestField(head, name, value, maxList, seenRegular));
    finishRequestHead(head);
    if (selfDependent || (head.malformed !== undefined && head.listSize <= maxList)) {
      this.streamError(id, h2.PROTOCOL_ERROR);
      return;
    }
    if (this.goingAway || this.streams.size >= this.limits.maxConcurrentStreams) {
      this.write(h2.rstStreamFrame(id, h2.REFUSED_STREAM));
      this.resetByUs.add(id);
      this.countReset();
      return;
    }
    const stream = new Stream(this, id, head, this.peerInitialWindow);
    this.streams.set(id, stream);
    if (head.listSize > maxList) {
      stream.failInput({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `request headers of ${head.listSize} bytes exceed the limit of ${maxList} (${LIMIT_FLAGS.maxHeaderListSize})`,
      });
    } else if (head.method !== 'POST') {
      stream.plainAnswer = { status: 405, text: `method ${head.method} not allowed: this port speaks gRPC (POST)` };
    } else if (!head.contentType.startsWith('application/grpc')) {
      stream.plainAnswer = { status: 415, text: `content-type "${head.contentType}" is not application/grpc` };
    } else {
      const ms = head.timeout ? parseTimeout(head.timeout) : undefined;
      if (head.timeout && ms === undefined) {
        stream.failInput({ code: grpc.status.INTERNAL, details: `Invalid grpc-timeout value "${head.timeout}"` });
      } else {
        if (ms !== undefined) stream.armDeadline(ms);
        this.dispatcher.startCall(stream);
      }
    }
    if (endStream && this.streams.get(id) === stream) this.endInput(stream);
  }

  /** END_STREAM received on a stream. */
  private endInput(stream: Stream): void {
    stream.inputEnded = true;
    if (stream.head.contentLength >= 0 && stream.dataBytes !== stream.head.contentLength) {
      this.streamError(stream.id, h2.PROTOCOL_ERROR);
      return;
    }
    if (stream.plainAnswer) {
      stream.sendPlainAnswer(stream.plainAnswer.status, stream.plainAnswer.text);
    } else if (!stream.discarding && !stream.outputEnded) {
      if (!stream.inputComplete) {
        stream.failInput({ code: grpc.status.INTERNAL, details: 'The request ended inside a length-prefixed message' });
      } else if (stream.method && (stream.method.kind === 'unary' || stream.method.kind === 'serverStream')) {
        this.ready.push(stream);
      } else {
        this.dispatcher.endStreamingInput(stream);
      }
    }
    if (stream.outputEnded) this.closeStream(stream);
  }

  /** StreamConnection: we ended the stream's output. */
  outputEnded(stream: Stream): void {
    if (!stream.inputEnded) {
      // stop the client's upload of a request we no longer read (RFC 9113 §8.1)
      this.write(h2.rstStreamFrame(stream.id, h2.NO_ERROR));
      stream.inputEnded = true;
      this.resetByUs.add(stream.id);
    }
    this.closeStream(stream);
  }

  deliver(stream: Stream, message: Buffer): void {
    this.dispatcher.deliver(stream, message);
  }

  blockedOnWindow(stream: Stream, blocked: boolean): void {
    if (blocked) this.blocked.add(stream);
    else this.blocked.delete(stream);
  }

  /** RST_STREAM with `code` (a stream error); counted against the reset rate. */
  private streamError(id: number, code: number): void {
    this.write(h2.rstStreamFrame(id, code));
    this.resetByUs.add(id);
    const s = this.streams.get(id);
    if (s) {
      this.forget(s);
      s.reset();
      this.maybeFinishGoaway();
    }
    this.countReset();
  }

  private forget(stream: Stream): void {
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    stream.release();
  }

  /** Forgets a stream once both directions ended. */
  private closeStream(stream: Stream): void {
    if (stream.outputEnded && stream.inputEnded && this.streams.get(stream.id) === stream) {
      this.forget(stream);
      this.closedStreams.add(stream.id);
      this.maybeFinishGoaway();
    }
  }

  /** Graceful shutdown (graceful-goaway.ts); the connection closes when its running calls are done. */
  goaway(): void {
    if (!this.closed && !this.goingAway) this.shutdown.start();
  }

  private finalGoaway(): void {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.write(h2.goawayFrame(this.lastStreamId, h2.NO_ERROR));
    this.maybeFinishGoaway();
  }

  private maybeFinishGoaway(): void {
    if (this.goingAway && this.streams.size === 0 && !this.closed) {
      this.closed = true;
      // let corked writes leave first
      setImmediate(() => this.socket.end());
    }
  }

  /** A connection error: GOAWAY with the code and reason, then close (forced after 1 s). */
  private fail(code: number, message: string): void {
    if (this.closed) return;
    this.write(h2.goawayFrame(this.lastStreamId, code, message));
    this.closed = true;
    this.input.clear();
    // what the client still sends is read and dropped, so the GOAWAY is not lost to a TCP reset
    if (this.readPaused) this.socket.resume();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.onClose();
  }

  private rejectHttp1(): void {
    this.closed = true;
    this.socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nThis port speaks gRPC (HTTP/2).\n');
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.shutdown.cancel();
    this.closed = true;
    this.input.clear();
    this.ready = [];
    for (const s of this.streams.values()) {
      s.reset();
      s.release();
    }
    this.streams.clear();
    this.blocked.clear();
    this.dispatcher.connectionClosed(this);
  }
}
