// gRPC length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length, payload) out
// of a stream's DATA chunks. The chunks may be views of a reused socket read buffer (the own
// transport's plain connections, transport/socket-reads.ts), so no message and no part of one is
// ever kept or delivered as a view of a chunk: every message is copied into memory of its own
// as its bytes arrive.
//
// Where to: a free block already committed for the declared length (`take`, the body pool) when
// there is one; else memory that follows the bytes received, so a prefix declaring 512 MiB
// reserves nothing — a message inside one chunk gets a block of its length (`alloc`), one that
// spans chunks grows by doubling (at most twice the bytes received; outgrown blocks go back
// through `release`). The declared length is checked against the limit as soon as the prefix is
// read.

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
  /** The current message's declared length. */
  private length = 0;
  private compressed = false;
  /** Where the current message is copied to (its first `have` bytes are filled). */
  private block: Buffer | undefined;
  private have = 0;
  private failed = false;

  constructor(
    /** Largest declared length accepted; -1 = unlimited. */
    private readonly maxLength: number,
    private readonly sink: MessageSink,
    /**
     * Memory for `size` bytes of a message (only ever asked for bytes received, or at most twice
     * as many while a message grows): a reused block (body-pool.ts) or a new buffer.
     */
    private readonly alloc: (size: number) => Uint8Array = Buffer.allocUnsafe,
    /** A free, already committed block for a message of this size, if there is one. */
    private readonly take: (size: number) => Uint8Array | undefined = () => undefined,
    /** A block from `alloc` the message outgrew (nothing views it). */
    private readonly release: (block: Uint8Array) => void = () => {},
  ) {}

  /** Bytes of an incomplete message held now. */
  get buffered(): number {
    return this.have;
  }

  /** True between messages (no partial prefix or payload pending). */
  get atBoundary(): boolean {
    return this.need === -1 && this.prefixHave === 0;
  }

  /** A chunk of DATA payload; it may be a view of a reused buffer, and nothing keeps it. */
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
        this.length = length;
        this.need = length;
        this.have = 0;
        if (chunk.length - pos >= length) {
          this.block = asBuffer(this.alloc(length), length);
        } else {
          const free = this.take(length);
          this.block = free === undefined ? undefined : asBuffer(free, length);
        }
      }
      const n = Math.min(this.need, chunk.length - pos);
      if (n > 0) {
        if (this.block === undefined || this.block.length < this.have + n) this.grow(this.have + n);
        chunk.copy(this.block!, this.have, pos, pos + n);
        this.have += n;
        this.need -= n;
        pos += n;
      }
      if (this.need === 0) {
        // every block is at most the declared length long, and all of it arrived
        const message = this.block!;
        this.block = undefined;
        this.have = 0;
        this.need = -1;
        this.sink.message(message, this.compressed);
      }
    }
  }

  /**
   * Room for `needed` bytes of the current message: twice the room it had (so copying stays linear
   * in the message's size), at least `needed`, at most its declared length.
   */
  private grow(needed: number): void {
    const old = this.block;
    const size = Math.min(this.length, Math.max(needed, 2 * (old?.length ?? 0)));
    const block = asBuffer(this.alloc(size), size);
    if (old !== undefined) {
      old.copy(block, 0, 0, this.have);
      this.release(old);
    }
    this.block = block;
  }

  /** Drops what is held and ignores further input. */
  discard(): void {
    this.failed = true;
    this.have = 0;
    this.block = undefined; // not given back: a message's block goes back only after its answer
  }
}

/** The first `size` bytes of `memory` as a Buffer (same memory). */
function asBuffer(memory: Uint8Array, size: number): Buffer {
  return Buffer.isBuffer(memory) && memory.length === size ? memory : Buffer.from(memory.buffer, memory.byteOffset, size);
}
