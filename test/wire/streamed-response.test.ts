// Streamed JSON responses: predictResponseChunks / inferResponseChunks joined must be exactly the
// one-string encoders' text for any shapes, dtypes, formats and chunk sizes, with every chunk but
// the last at least the chunk size and not much more (one chunk of text in memory at a time).
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/engine/native.js', () => ({ allocAligned: (n: number) => new ArrayBuffer(n) }));

import type { Tensor } from '../../src/engine/tensor.js';
import { encodePredictResponse, predictResponseChunks } from '../../src/wire/json/tfserving.js';
import { encodeInferResponse, inferResponseChunks } from '../../src/wire/json/kserve.js';

let seed = 7;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};

function tensor(dtype: 'float32' | 'int64' | 'string' | 'bool', shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'float32') return { dtype, shape, data: Float32Array.from({ length: n }, () => (rand(2000) - 1000) / 7) };
  if (dtype === 'int64') return { dtype, shape, data: BigInt64Array.from({ length: n }, () => BigInt(rand(1e9)) * 1000003n) };
  if (dtype === 'bool') return { dtype, shape, data: Uint8Array.from({ length: n }, () => rand(2)) };
  return { dtype, shape, data: Array.from({ length: n }, () => new TextEncoder().encode('s'.repeat(rand(5)) + '"\\é')) };
}

const join = (it: Iterable<string>) => {
  const chunks = [...it];
  return { text: chunks.join(''), chunks };
};

describe('streamed responses equal the one-string encoders', () => {
  it('TF Serving predict: random shapes, dtypes, formats and chunk sizes', () => {
    const dtypes = ['float32', 'int64', 'string', 'bool'] as const;
    for (let trial = 0; trial < 200; trial++) {
      const format = rand(2) ? 'row' : 'columnar';
      const batch = rand(4);
      const outputs: Record<string, Tensor> = {};
      for (let k = 0; k <= rand(3); k++) {
        const rank = format === 'row' ? 1 + rand(4) : rand(5);
        // large dims now and then, so lists are sliced inside rows too (SMALL_LIST is 1024)
        const shape = Array.from({ length: rank }, (_, d) => (format === 'row' && d === 0 ? batch : rand(10) === 0 ? 1100 : rand(5)));
        while (shape.reduce((a, b) => a * b, 1) > 5_000) shape[shape.indexOf(Math.max(...shape))] = 1;
        outputs[`out_${k}`] = tensor(dtypes[rand(4)]!, shape);
      }
      const whole = encodePredictResponse(outputs, format);
      for (const size of [1, 13, 4096, Infinity]) {
        const { text, chunks } = join(predictResponseChunks(outputs, format, size));
        expect(text, `${format} ${JSON.stringify(Object.values(outputs).map((t) => [t.dtype, t.shape]))} chunk ${size}`).toBe(whole);
        for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(size);
      }
    }
  });

  it('errors come from the first chunk, before any text', () => {
    const it = predictResponseChunks({ a: tensor('float32', [2]), b: tensor('float32', [3]) }, 'row', 10);
    expect(() => it.next()).toThrow(/inconsistent batch size/);
  });

  it('KServe infer: JSON data in chunks equals the one-string response', () => {
    for (let trial = 0; trial < 100; trial++) {
      const outputs: Record<string, Tensor> = {};
      for (let k = 0; k <= rand(3); k++) outputs[`o${k}`] = tensor((['float32', 'int64', 'string', 'bool'] as const)[rand(4)]!, [rand(3), rand(900)]);
      const args = { modelName: 'm', modelVersion: '1', id: 'r', outputs };
      const whole = new TextDecoder().decode(encodeInferResponse(args).body);
      for (const size of [1, 50, Infinity]) expect(join(inferResponseChunks(args, undefined, size)).text).toBe(whole);
    }
  });

  it('a 2 M-float response is produced with about one chunk of text at a time', () => {
    const n = 2_000_000;
    const out = { y: { dtype: 'float32' as const, shape: [1, n], data: new Float32Array(n).fill(1.5) } };
    let chunks = 0;
    let longest = 0;
    for (const c of predictResponseChunks(out, 'row', 65536)) {
      chunks++;
      longest = Math.max(longest, c.length);
    }
    expect(chunks).toBeGreaterThan(50);
    expect(longest).toBeLessThan(65536 + 64);
  });
});
