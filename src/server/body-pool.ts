// Reused memory for large request bodies (JSON, KServe binary tensor data, gRPC messages joined
// from several chunks). A 2.7 MB TF-JSON body is garbage the moment the native codec has decoded
// it (tensors, names and error texts are copies), yet as a fresh ArrayBuffer per request it is
// what V8's external-memory accounting mostly counts: at 262,144 floats per request one body in
// every few requests set off a full mark-compact (bench:rest, --trace-gc). Blocks come in
// power-of-two sizes from 16 KiB, go back after decoding, and are handed out again whole, so a
// body that finds a free block is received straight into it — memory already committed, so the
// rule that only received bytes commit memory still holds.
//
// A route gives a body back (release) only after its decode returned or threw and only when no
// decoded value references the bytes: an all-JSON body decoded natively and inline, or binary
// tensor data copied into numeric tensors; a gRPC message once its inputs are decoded and no
// string input views it. A body that Content-Encoding replaced is not the block, and release
// ignores it.

import type { Tensor } from '../engine/tensor.js';

const MIN_CLASS_BYTES = 16 * 1024;
/** Bodies above this size are not pooled (rare, and each would pin its whole block). */
const MAX_CLASS_BYTES = 64 * 1024 * 1024;
/**
 * Free blocks kept per size class: as many as a burst of clients sends at once (16 ResNet50
 * clients of a batching server resend 8 images together when a batch completes; with 4 kept, 4 of
 * every 8 bodies were new 1 MiB blocks and 4 were dropped). MAX_FREE_BYTES bounds the total.
 */
const BLOCKS_PER_CLASS = 16;
/** Free bytes the pool keeps in all (what a server that saw large bodies holds on to). */
const MAX_FREE_BYTES = 64 * 1024 * 1024;

function classOf(size: number): number {
  let c = MIN_CLASS_BYTES;
  while (c < size) c *= 2;
  return c;
}

export class BodyPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Blocks this pool allocated (only those ever come back). */
  private readonly own = new WeakSet<ArrayBuffer>();
  private freeBytes = 0;

  /** A free block for a body of `size` bytes, or undefined (no memory is allocated here). */
  readonly take = (size: number): Uint8Array | undefined => {
    if (size < MIN_CLASS_BYTES || size > MAX_CLASS_BYTES) return undefined;
    const block = this.free.get(classOf(size))?.pop();
    if (block === undefined) return undefined;
    this.freeBytes -= block.byteLength;
    return new Uint8Array(block, 0, size);
  };

  /** A block for a body of `size` bytes: a free one, else a new one of its size class. */
  readonly alloc = (size: number): Uint8Array => {
    const reused = this.take(size);
    if (reused) return reused;
    if (size < MIN_CLASS_BYTES || size > MAX_CLASS_BYTES) return Buffer.allocUnsafe(size);
    const block = Buffer.allocUnsafeSlow(classOf(size)).buffer as ArrayBuffer;
    this.own.add(block);
    return new Uint8Array(block, 0, size);
  };

  /** Gives a body back once nothing uses its bytes; anything not from alloc() is ignored. */
  release(body: Uint8Array): void {
    const block = body.buffer as ArrayBuffer;
    if (body.byteOffset !== 0 || !this.own.has(block)) return;
    const size = block.byteLength; // 0 once transferred to a worker (detached)
    if (size < MIN_CLASS_BYTES || this.freeBytes + size > MAX_FREE_BYTES) return;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    if (list.length >= BLOCKS_PER_CLASS || list.includes(block)) return;
    list.push(block);
    this.freeBytes += size;
  }

  /** Free bytes held (tests). */
  get held(): number {
    return this.freeBytes;
  }
}

/** The pool of the REST predict / infer routes and of joined gRPC messages (one event loop: one pool). */
export const requestBodies = new BodyPool();

/**
 * Gives a request's body (or gRPC message) back once its inputs are decoded, unless a decoded
 * input still views it: numeric tensors are copies, string elements are views into the body.
 */
export function releaseBodyOf(body: Uint8Array, inputs: Readonly<Record<string, Tensor>>): void {
  for (const key in inputs) if (inputs[key]!.dtype === 'string') return;
  requestBodies.release(body);
}
