// gRPC length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length, payload) out
// of a stream's DATA chunks. Memory follows the bytes received: a message is kept as the chunks
// that carry it and joined once it is complete (a message inside one chunk is a view, no copy),
// so a prefix declaring 512 MiB reserves nothing; the declared length is checked against the
// limit as soon as the prefix is read. When a block already committed is free for the declared
// length (`take`, the body pool), the chunks are copied into it as they come instead: the socket's
// read buffers then die young, where a kept chunk outlives a scavenge or two and is promoted,
// to be freed only by a mark-compact (a 602 KB message arrives as ~40 of them).

export interface MessageSink {
  /** A complete message (`compressed`: the flag byte was set). */
  message(bytes: Buffer, compressed: boolean): void;
  /** The prefix declares more than the limit: the stream must be refused (nothing was buffered). */
  tooLarge(declared: number): void;
}

export class MessageReader {
  private readonly prefix = Buffer.allocUnsafe(5);
  private prefixHave = 0;
  /** Payload bytes still expected for the current message (-1: reading a prefix). */
  private need = -1;
  private compressed = false;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** The free block the current message is copied into (take), or undefined (parts). */
  private block: Buffer | undefined;
  private failed = false;

  constructor(
    /** Largest declared length accepted; -1 = unlimited. */
    private readonly maxLength: number,
    private readonly sink: MessageSink,
    /**
     * Memory for joining a message that arrived in several chunks (called once it is complete,
     * so only received bytes are ever asked for): a reused block (body-pool.ts) or a new buffer.
     */
    private readonly join: (size: number) => Uint8Array = Buffer.allocUnsafe,
    /** A free, already committed block for a message of this size, if there is one. */
    private readonly take: (size: number) => Uint8Array | undefined = () => undefined,
  ) {}

  /** Bytes of an incomplete message held now. */
  get buffered(): number {
    return this.partsBytes;
  }

  /** True between messages (no partial prefix or payload pending). */
  get atBoundary(): boolean {
    return this.need === -1 && this.prefixHave === 0;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.failed) {
      if (this.need === -1) {
        let length: number;
        if (this.prefixHave === 0 && chunk.length - pos >= 5) {
          this.compressed = chunk[pos] !== 0;
          length = chunk.readUInt32BE(pos + 1);
          pos += 5;
        } else {
          const take = Math.min(5 - this.prefixHave, chunk.length - pos);
          chunk.copy(this.prefix, this.prefixHave, pos, pos + take);
          this.prefixHave += take;
          pos += take;
          if (this.prefixHave < 5) return;
          this.prefixHave = 0;
          this.compressed = this.prefix[0] !== 0;
          length = this.prefix.readUInt32BE(1);
        }
        if (this.maxLength >= 0 && length > this.maxLength) {
          this.failed = true;
          this.sink.tooLarge(length);
          return;
        }
        if (this.partsBytes === 0 && chunk.length - pos >= length) {
          const message = chunk.subarray(pos, pos + length);
          pos += length;
          this.sink.message(message, this.compressed);
          continue;
        }
        this.need = length;
        const free = this.take(length);
        if (free !== undefined) this.block = Buffer.from(free.buffer, free.byteOffset, length);
      }
      const n = Math.min(this.need, chunk.length - pos);
      if (n > 0) {
        if (this.block !== undefined) this.block.set(chunk.subarray(pos, pos + n), this.partsBytes);
        else this.parts.push(chunk.subarray(pos, pos + n));
        this.partsBytes += n;
        this.need -= n;
        pos += n;
      }
      if (this.need === 0) {
        const message = this.block ?? (this.parts.length === 1 ? this.parts[0]! : this.joined());
        this.parts = [];
        this.partsBytes = 0;
        this.block = undefined;
        this.need = -1;
        this.sink.message(message, this.compressed);
      }
    }
  }

  /** The parts of the current message copied into one buffer from `join`. */
  private joined(): Buffer {
    const into = this.join(this.partsBytes);
    const message = Buffer.from(into.buffer, into.byteOffset, this.partsBytes);
    let at = 0;
    for (const part of this.parts) {
      message.set(part, at);
      at += part.length;
    }
    return message;
  }

  /** Drops what is held and ignores further input. */
  discard(): void {
    this.failed = true;
    this.parts = [];
    this.partsBytes = 0;
    this.block = undefined; // not given back: a message's block goes back only after its answer
  }
}
