// The request body collector commits memory only for bytes received: a declared Content-Length
// alone allocates nothing beyond EAGER_BODY_BYTES, and the final block appears once half the
// body has arrived.

import { describe, expect, it } from 'vitest';
import { BodyBuffer, EAGER_BODY_BYTES } from '../../src/server/http/body-buffer.js';
import { BodyPool, releaseBodyOf, requestBodies } from '../../src/server/body-pool.js';

function spyAlloc() {
  const sizes: number[] = [];
  return { sizes, alloc: (n: number) => (sizes.push(n), new Uint8Array(n)) };
}

describe('BodyBuffer', () => {
  it('a huge declared length with no bytes allocates nothing', () => {
    const a = spyAlloc();
    const b = new BodyBuffer(200_000_000, a.alloc);
    expect(b.append(new Uint8Array(100))).toBe(true);
    expect(a.sizes).toEqual([]);
  });

  it('allocates the exact block once half the declared bytes are in, and keeps the bytes in order', () => {
    const a = spyAlloc();
    const declared = 4 * EAGER_BODY_BYTES;
    const b = new BodyBuffer(declared, a.alloc);
    const chunk = EAGER_BODY_BYTES / 2;
    const expected = new Uint8Array(declared);
    for (let i = 0; i < declared; i++) expected[i] = (i * 7) & 0xff;
    for (let at = 0; at < declared; at += chunk) {
      expect(b.append(expected.subarray(at, at + chunk))).toBe(true);
      // before half: nothing allocated; from half on: exactly one block of the declared size
      expect(a.sizes).toEqual(b.received * 2 >= declared ? [declared] : []);
    }
    expect(Buffer.compare(Buffer.from(b.result()), Buffer.from(expected))).toBe(0);
  });

  it('small declared bodies get their block at once; overrunning the declared length is refused', () => {
    const a = spyAlloc();
    const b = new BodyBuffer(10, a.alloc);
    expect(a.sizes).toEqual([10]);
    expect(b.append(new Uint8Array(8))).toBe(true);
    expect(b.append(new Uint8Array(3))).toBe(false);
  });

  it('chunked bodies (no Content-Length) are joined', () => {
    const b = new BodyBuffer(undefined, () => {
      throw new Error('no block for chunked bodies');
    });
    b.append(Buffer.from('ab'));
    b.append(Buffer.from('cd'));
    expect(Buffer.from(b.result()).toString()).toBe('abcd');
  });

  it('a reused block (memory already committed) takes a large declared body at once', () => {
    const a = spyAlloc();
    const declared = 4 * EAGER_BODY_BYTES;
    const reusedBlock = new Uint8Array(declared);
    const b = new BodyBuffer(declared, a.alloc, (n) => (n === declared ? reusedBlock : undefined));
    const chunk = new Uint8Array(EAGER_BODY_BYTES).fill(7);
    for (let at = 0; at < declared; at += chunk.length) expect(b.append(chunk)).toBe(true);
    expect(a.sizes).toEqual([]);
    expect(b.result()).toBe(reusedBlock);
    expect(reusedBlock.every((x) => x === 7)).toBe(true);
  });
});

describe('BodyPool', () => {
  it('gives a released block out again, whole, for a body of its size class', () => {
    const pool = new BodyPool();
    expect(pool.take(100_000)).toBeUndefined();
    const first = pool.alloc(100_000);
    expect(first.byteLength).toBe(100_000);
    expect(first.buffer.byteLength).toBe(128 * 1024);
    pool.release(first);
    expect(pool.held).toBe(128 * 1024);
    const again = pool.take(70_000)!;
    expect(again.buffer).toBe(first.buffer);
    expect(again.byteLength).toBe(70_000);
    expect(pool.held).toBe(0);
    expect(pool.take(70_000)).toBeUndefined();
  });

  it('ignores memory it did not allocate, slices, detached blocks and small bodies', () => {
    const pool = new BodyPool();
    pool.release(new Uint8Array(128 * 1024));
    pool.release(Buffer.allocUnsafe(100));
    const block = pool.alloc(100_000);
    pool.release(block.subarray(10));
    expect(pool.held).toBe(0);
    structuredClone(block.buffer, { transfer: [block.buffer as ArrayBuffer] }); // detached, as a body sent to a worker
    pool.release(block);
    expect(pool.held).toBe(0);
    expect(pool.alloc(1000).byteLength).toBe(1000);
  });

  it('keeps a bounded number of free blocks: 16 per size class, 64 MiB in all', () => {
    const pool = new BodyPool();
    const blocks = Array.from({ length: 20 }, () => pool.alloc(1024 * 1024));
    for (const b of blocks) pool.release(b);
    expect(pool.held).toBe(16 * 1024 * 1024);
    const large = Array.from({ length: 4 }, () => pool.alloc(20 * 1024 * 1024)); // 32 MiB blocks
    for (const b of large) pool.release(b);
    expect(pool.held).toBe(16 * 1024 * 1024 + 32 * 1024 * 1024);
  });
});

describe('releaseBodyOf', () => {
  it('gives the body back when every decoded input is numeric (a copy), keeps it when a string input views it', () => {
    const before = requestBodies.held;
    const numeric = requestBodies.alloc(40_000);
    releaseBodyOf(numeric, { x: { dtype: 'float32', shape: [1], data: new Float32Array(1) } });
    expect(requestBodies.held - before).toBe(64 * 1024);
    const withText = requestBodies.alloc(40_000); // the block just given back
    expect(requestBodies.held).toBe(before);
    releaseBodyOf(withText, {
      x: { dtype: 'float32', shape: [1], data: new Float32Array(1) },
      text: { dtype: 'string', shape: [1], data: [withText.subarray(10, 20)] },
    });
    expect(requestBodies.held).toBe(before);
  });
});
