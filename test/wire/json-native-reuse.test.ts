// The native encoder's chunk reuse (src/wire/json/native.ts `reuseChunks`, for a consumer that hands
// each chunk to something that copies it before asking for more than one further chunk, as the
// native uWS route does): a streamed response's chunks, the first included, are views of one block
// used in turn, and a finished response's block serves the next response — no new ArrayBuffer per
// response, which V8 would count toward its next major GC. The text stays the reference's.
import { describe, expect, it } from 'vitest';
import { predictResponseChunks } from '../../src/wire/json/tfserving.js';
import { inferResponseChunksNative, nativeJsonAvailable, predictResponseChunksNative } from '../../src/wire/json/native.js';
import type { Tensor } from '../../src/engine/tensor.js';

const CHUNK = 64 * 1024;

function outputs(n: number, seed: number): Record<string, Tensor> {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.fround(Math.sin(i * 0.37 + seed) * 1000);
  return { y: { dtype: 'float32', shape: [n], data } };
}

/** Consumes chunks as the uWS route does: each copied out before the one after the next exists. */
function drain(chunks: Iterator<Uint8Array | string, void, undefined>): { text: string; buffers: ArrayBufferLike[] } {
  const parts: Buffer[] = [];
  const buffers: ArrayBufferLike[] = [];
  for (let r = chunks.next(); !r.done; r = chunks.next()) {
    const chunk = r.value as Uint8Array;
    buffers.push(chunk.buffer);
    parts.push(Buffer.from(chunk)); // the copy uWS makes
  }
  return { text: Buffer.concat(parts).toString(), buffers };
}

const reference = (out: Record<string, Tensor>) => [...predictResponseChunks(out, 'row', Number.MAX_SAFE_INTEGER)].join('');

describe.skipIf(!nativeJsonAvailable())('native encoder chunk reuse', () => {
  it('a streamed response lives in one block, and the next response reuses it', () => {
    const a = outputs(60_000, 1); // ~700 KB of text: ~11 chunks
    const b = outputs(60_000, 2);
    const first = drain(predictResponseChunksNative(a, 'row', CHUNK, true));
    const second = drain(predictResponseChunksNative(b, 'row', CHUNK, true));
    expect(first.text === reference(a)).toBe(true);
    expect(second.text === reference(b)).toBe(true);
    expect(first.buffers.length).toBeGreaterThan(5);
    expect(new Set(first.buffers).size).toBe(1); // the first chunk too
    expect(second.buffers[0]).toBe(first.buffers[0]);
  });

  it('two responses streamed at once get blocks of their own; KServe responses use the pool too', () => {
    const a = outputs(40_000, 3);
    const b = outputs(40_000, 4);
    const ia = predictResponseChunksNative(a, 'row', CHUNK, true);
    const ib = predictResponseChunksNative(b, 'row', CHUNK, true);
    const partsA: Buffer[] = [];
    const partsB: Buffer[] = [];
    const seenA = new Set<ArrayBufferLike>();
    const seenB = new Set<ArrayBufferLike>();
    // interleaved, each consumed under the reuse contract
    for (let ra = ia.next(), rb = ib.next(); !ra.done || !rb.done; ) {
      if (!ra.done) {
        partsA.push(Buffer.from(ra.value as Uint8Array));
        seenA.add((ra.value as Uint8Array).buffer);
        ra = ia.next();
      }
      if (!rb.done) {
        partsB.push(Buffer.from(rb.value as Uint8Array));
        seenB.add((rb.value as Uint8Array).buffer);
        rb = ib.next();
      }
    }
    expect(Buffer.concat(partsA).toString() === reference(a)).toBe(true);
    expect(Buffer.concat(partsB).toString() === reference(b)).toBe(true);
    expect([...seenA].some((buffer) => seenB.has(buffer))).toBe(false);
    const k = drain(inferResponseChunksNative({ modelName: 'm', outputs: a }, CHUNK, true));
    expect(JSON.parse(k.text).outputs[0].data).toHaveLength(40_000);
    expect(seenA.has(k.buffers[0]!) || seenB.has(k.buffers[0]!)).toBe(true);
  });

  it('without reuse every response gets memory of its own (the fallback engine and non-copying consumers)', () => {
    const a = drain(predictResponseChunksNative(outputs(60_000, 5), 'row', CHUNK, false));
    const b = drain(predictResponseChunksNative(outputs(60_000, 6), 'row', CHUNK, false));
    expect(b.buffers.some((buffer) => a.buffers.includes(buffer))).toBe(false);
  });
});
