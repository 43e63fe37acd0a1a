// Collects one request body as its chunks arrive, committing memory only for bytes actually
// received: a client that declares a 200 MB Content-Length and sends nothing must cost nothing.
//
// With a Content-Length the body ends up in one block of exactly that size (aligned native memory
// for FlatBuffers, so its tensors reach TF without a copy). Small bodies get that block at once.
// Larger ones are kept as their received chunks until half of the declared bytes are in, then
// moved into the block: committed memory stays within twice the bytes received, and only the
// first half of the body is copied a second time (a doubling growth policy would copy the whole
// body and, for aligned blocks, zero-fill about twice its size).
// Without a Content-Length (chunked transfer coding) the chunks are joined at the end.

/** Declared bodies up to this size get their final block on arrival (one request's worth of work). */
export const EAGER_BODY_BYTES = 1024 * 1024;

export class BodyBuffer {
  private block: Uint8Array | undefined;
  private chunks: Buffer[] = [];
  /** Bytes received so far. */
  received = 0;

  constructor(
    /** Content-Length, or undefined when the body is chunked. */
    private readonly declared: number | undefined,
    /** Allocates the final block of a declared body. */
    private readonly alloc: (size: number) => Uint8Array,
    /**
     * A block of memory already committed (a reused one) for a declared body of this size, or
     * undefined: used at once whatever the size, since it commits nothing new.
     */
    reuse?: (size: number) => Uint8Array | undefined,
  ) {
    if (declared === undefined) return;
    this.block = reuse?.(declared);
    if (!this.block && declared <= EAGER_BODY_BYTES) this.block = alloc(declared);
  }

  /** Appends a chunk (copied: the caller's view is reused). False when it overruns the declared length. */
  append(view: Uint8Array): boolean {
    const next = this.received + view.byteLength;
    if (this.declared !== undefined && next > this.declared) return false;
    if (this.block) {
      this.block.set(view, this.received);
    } else if (view.byteLength > 0) {
      this.chunks.push(Buffer.from(view)); // Buffer.from(Uint8Array) copies
    }
    this.received = next;
    if (!this.block && this.declared !== undefined && next * 2 >= this.declared) this.moveIntoBlock();
    return true;
  }

  /** The whole body (call once the last chunk is in). */
  result(): Uint8Array {
    if (this.block) return this.block;
    const chunks = this.chunks;
    this.chunks = [];
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.received);
  }

  private moveIntoBlock(): void {
    const block = this.alloc(this.declared!);
    let at = 0;
    for (const c of this.chunks) {
      block.set(c, at);
      at += c.byteLength;
    }
    this.chunks = [];
    this.block = block;
  }
}
