// HTTP/2 frames (RFC 9113 §4, §6): type, flag, error-code and setting numbers, encoders for the
// frames the server sends, and the byte queue frames are read from (socket chunks, taken as views
// when a frame sits inside one chunk; what is left of a chunk when its read ends is copied, as the
// read buffer is reused).

export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

// Error codes (§7)
export const NO_ERROR = 0;
export const PROTOCOL_ERROR = 1;
export const INTERNAL_ERROR = 2;
export const FLOW_CONTROL_ERROR = 3;
export const STREAM_CLOSED = 5;
export const FRAME_SIZE_ERROR = 6;
export const REFUSED_STREAM = 7;
export const CANCEL = 8;
export const COMPRESSION_ERROR = 9;
export const ENHANCE_YOUR_CALM = 11;

// Settings (§6.5.2)
export const SETTINGS_HEADER_TABLE_SIZE = 1;
export const SETTINGS_ENABLE_PUSH = 2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 4;
export const SETTINGS_MAX_FRAME_SIZE = 5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 6;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const DEFAULT_MAX_FRAME = 16384;
export const MAX_ALLOWED_FRAME = 16777215;

const HTTP1_REQUEST_LINE = /^[A-Z]{3,10} \S+ HTTP\/1\.[01]\r?\n/;

/**
 * What the first bytes of a connection are: the HTTP/2 client preface ('h2'), possibly its start
 * or the start of an HTTP/1.x request line ('wait'), an HTTP/1.x request ('http1'), or neither.
 */
export function classifyPreface(head: Buffer): 'h2' | 'wait' | 'http1' | 'other' {
  const n = head.length;
  if (head.equals(PREFACE.subarray(0, Math.min(n, PREFACE.length)))) return n >= PREFACE.length ? 'h2' : 'wait';
  const text = head.toString('latin1');
  if (HTTP1_REQUEST_LINE.test(text)) return 'http1';
  if (n < PREFACE.length && !text.includes('\n') && /^[A-Z]+( |$)/.test(text)) return 'wait';
  return 'other';
}

/** A connection error: GOAWAY with `code`, then close. */
export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A stream error: RST_STREAM with `code`; the connection goes on. */
export class StreamError extends Error {
  constructor(
    readonly streamId: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function writeFrameHeader(out: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): void {
  out[offset] = (length >>> 16) & 0xff;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  out.writeUInt32BE(streamId, offset + 5);
}

export function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const len = payload ? payload.length : 0;
  const out = Buffer.allocUnsafe(9 + len);
  writeFrameHeader(out, 0, len, type, flags, streamId);
  if (payload) out.set(payload, 9);
  return out;
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  writeFrameHeader(out, 0, 4, RST_STREAM, 0, streamId);
  out.writeUInt32BE(code, 9);
  return out;
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  writeFrameHeader(out, 0, 4, WINDOW_UPDATE, 0, streamId);
  out.writeUInt32BE(increment, 9);
  return out;
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const payload = Buffer.allocUnsafe(8 + Buffer.byteLength(debug));
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  payload.write(debug, 8);
  return frame(GOAWAY, 0, 0, payload);
}

export function settingsFrame(entries: readonly (readonly [number, number])[]): Buffer {
  const payload = Buffer.allocUnsafe(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(SETTINGS, 0, 0, payload);
}

/**
 * Socket chunks queued for the frame parser. The chunk of the current read may be a view of a
 * reused read buffer: views taken from it are valid until the read's handling returns, and
 * detach() copies what is still queued of it before that.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private headOffset = 0;
  available = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  /**
   * Copies the unread bytes of the last chunk pushed into memory of their own (the earlier chunks
   * still queued were copied when their reads ended). Called once the read's bytes are parsed.
   */
  detach(): void {
    const last = this.chunks.length - 1;
    if (last < 0) return;
    const chunk = this.chunks[last]!;
    const from = last === 0 ? this.headOffset : 0;
    this.chunks[last] = Buffer.from(chunk.subarray(from));
    if (last === 0) this.headOffset = 0;
  }

  /** The next n bytes (n <= available), a view when they sit in one chunk, else copied together. */
  take(n: number): Buffer {
    const head = this.chunks[0]!;
    let out: Buffer;
    if (head.length - this.headOffset >= n) {
      out = head.subarray(this.headOffset, this.headOffset + n);
      this.advance(head, n);
    } else {
      out = Buffer.allocUnsafe(n);
      let have = 0;
      while (have < n) {
        const c = this.chunks[0]!;
        const t = Math.min(n - have, c.length - this.headOffset);
        c.copy(out, have, this.headOffset, this.headOffset + t);
        have += t;
        this.advance(c, t);
      }
    }
    this.available -= n;
    return out;
  }

  /** Up to n bytes that are contiguous in the head chunk (a view); available must be > 0. */
  takeSome(n: number): Buffer {
    const head = this.chunks[0]!;
    const t = Math.min(n, head.length - this.headOffset);
    const out = head.subarray(this.headOffset, this.headOffset + t);
    this.advance(head, t);
    this.available -= t;
    return out;
  }

  /** The first n bytes (n <= available) without consuming them. */
  peek(n: number): Buffer {
    const head = this.chunks[0];
    if (head && head.length - this.headOffset >= n) return head.subarray(this.headOffset, this.headOffset + n);
    const out = Buffer.allocUnsafe(n);
    let have = 0;
    let offset = this.headOffset;
    for (const c of this.chunks) {
      if (have >= n) break;
      const t = Math.min(n - have, c.length - offset);
      c.copy(out, have, offset, offset + t);
      have += t;
      offset = 0;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.available = 0;
  }

  private advance(head: Buffer, n: number): void {
    this.headOffset += n;
    if (this.headOffset === head.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}
