// One header block as it arrives: a HEADERS frame (padding and priority fields stripped) and its
// CONTINUATION frames, joined once END_HEADERS comes; its size is bounded while it arrives.
// Payloads may be views of the reused read buffer: the fragments kept until END_HEADERS are
// copies, and the block returned is valid only until the caller returns (it is decoded at once).

import {
  ConnectionError,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_SIZE_ERROR,
  PROTOCOL_ERROR,
} from './frames.js';

export interface HeaderBlock {
  streamId: number;
  block: Buffer;
  endStream: boolean;
  /** The HEADERS frame's priority names the stream itself (a stream error). */
  selfDependent: boolean;
}

export class HeaderBlockReader {
  private parts: Buffer[] | undefined;
  private bytes = 0;
  private streamId = 0;
  private endStream = false;
  private selfDependent = false;

  constructor(
    /** Largest block accepted (compressed bytes). */
    private readonly maxBytes: number,
    /** The connection error for a block over maxBytes. */
    private readonly tooLarge: (limit: number) => ConnectionError,
  ) {}

  /** A header block is open: only CONTINUATION frames may follow. */
  get open(): boolean {
    return this.parts !== undefined;
  }

  /** A HEADERS frame; returns the block when it carries END_HEADERS. */
  headers(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    if (streamId === 0 || streamId % 2 === 0) throw new ConnectionError(PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    let start = 0;
    let end = payload.length;
    if (flags & FLAG_PADDED) {
      if (payload.length < 1) throw new ConnectionError(FRAME_SIZE_ERROR, 'padded HEADERS without pad length');
      start = 1;
      end -= payload[0]!;
    }
    this.selfDependent = false;
    if (flags & FLAG_PRIORITY) {
      if (end - start < 5) throw new ConnectionError(FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      this.selfDependent = (payload.readUInt32BE(start) & 0x7fffffff) === streamId;
      start += 5;
    }
    if (start > end) throw new ConnectionError(PROTOCOL_ERROR, 'HEADERS padding exceeds the payload');
    this.parts = [];
    this.bytes = 0;
    this.streamId = streamId;
    this.endStream = (flags & FLAG_END_STREAM) !== 0;
    return this.add(flags, payload.subarray(start, end));
  }

  /** A CONTINUATION frame; returns the block when it carries END_HEADERS. */
  continuation(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    if (!this.parts || streamId !== this.streamId) throw new ConnectionError(PROTOCOL_ERROR, 'unexpected CONTINUATION');
    return this.add(flags, payload);
  }

  private add(flags: number, part: Buffer): HeaderBlock | undefined {
    this.bytes += part.length;
    if (this.bytes > this.maxBytes) throw this.tooLarge(this.maxBytes);
    if (!(flags & FLAG_END_HEADERS)) {
      this.parts!.push(Buffer.from(part));
      return undefined;
    }
    this.parts!.push(part);
    const parts = this.parts!;
    this.parts = undefined;
    return {
      streamId: this.streamId,
      block: parts.length === 1 ? parts[0]! : Buffer.concat(parts),
      endStream: this.endStream,
      selfDependent: this.selfDependent,
    };
  }
}
