// The batcher's gather/split helpers: one copy in (with batch and variable-length padding), views out.
import { describe, expect, it } from 'vitest';
import { concatRows, sliceRows } from '../../src/batching/concat.js';
import { paddedSize } from '../../src/batching/batch-run.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { engineInfo } from '../../src/index.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: new Float32Array(values) });
const str = (shape: number[], values: string[]): Tensor => ({
  dtype: 'string',
  shape,
  data: values.map((v) => new TextEncoder().encode(v)),
});
const text = (t: Tensor) => (t.data as Uint8Array[]).map((b) => new TextDecoder().decode(b));

describe('concatRows', () => {
  it('concatenates along dim 0 into one aligned native buffer', () => {
    engineInfo(); // loads the addon (allocTensor needs it)
    const merged = concatRows([f32([1, 2], [1, 2]), f32([2, 2], [3, 4, 5, 6])], 3);
    expect(merged.shape).toEqual([3, 2]);
    expect(Array.from(merged.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((merged.data as Float32Array).byteOffset % 64).toBe(0);
  });

  it('pads the batch by replicating the first row', () => {
    const merged = concatRows([f32([1, 2], [7, 8]), f32([1, 2], [1, 2])], 5);
    expect(merged.shape).toEqual([5, 2]);
    expect(Array.from(merged.data as Float32Array)).toEqual([7, 8, 1, 2, 7, 8, 7, 8, 7, 8]);
    const s = concatRows([str([1], ['a']), str([2], ['b', 'c'])], 4);
    expect(text(s)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('handles int64, complex and bool data', () => {
    const i64 = concatRows(
      [
        { dtype: 'int64', shape: [1], data: new BigInt64Array([5n]) },
        { dtype: 'int64', shape: [1], data: new BigInt64Array([-6n]) },
      ],
      3,
    );
    expect(Array.from(i64.data as BigInt64Array)).toEqual([5n, -6n, 5n]);
    const c64 = concatRows(
      [
        { dtype: 'complex64', shape: [1], data: new Float32Array([1, 2]) },
        { dtype: 'complex64', shape: [1], data: new Float32Array([3, 4]) },
      ],
      2,
    );
    expect(Array.from(c64.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const b = concatRows([{ dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }], 2);
    expect(Array.from(b.data as Uint8Array)).toEqual([1, 0]);
  });

  it('pad_variable_length_inputs: pads non-batch dims at the end with each part’s first element', () => {
    // a: [1, 1, 3], b: [2, 2, 2] → both padded to [_, 2, 3]; b's padding is b's first value (4)
    const a = f32([1, 1, 3], [1, 2, 3]);
    const b = f32([2, 2, 2], [4, 5, 6, 7, 8, 9, 10, 11]);
    const merged = concatRows([a, b], 3, [2, 3]);
    expect(merged.shape).toEqual([3, 2, 3]);
    expect(Array.from(merged.data as Float32Array)).toEqual([
      1, 2, 3, /* padded row */ 1, 1, 1,
      4, 5, 4, 6, 7, 4,
      8, 9, 4, 10, 11, 4,
    ]);
    const s = concatRows([str([1, 1], ['x']), str([1, 3], ['p', 'q', 'r'])], 2, [3]);
    expect(text(s)).toEqual(['x', 'x', 'x', 'p', 'q', 'r']);
  });
});

describe('sliceRows', () => {
  it('returns views over the merged buffer (numeric) and slices of the array (strings)', () => {
    const t = f32([3, 2], [1, 2, 3, 4, 5, 6]);
    const v = sliceRows(t, 1, 2);
    expect(v.shape).toEqual([2, 2]);
    expect((v.data as Float32Array).buffer).toBe((t.data as Float32Array).buffer);
    expect(Array.from(v.data as Float32Array)).toEqual([3, 4, 5, 6]);
    expect(text(sliceRows(str([3], ['a', 'b', 'c']), 2, 1))).toEqual(['c']);
    expect(sliceRows(f32([2, 0], []), 1, 1).shape).toEqual([1, 0]);
  });
});

describe('paddedSize', () => {
  it('picks the next allowed batch size', () => {
    expect(paddedSize(3, [])).toBe(3);
    expect(paddedSize(3, [4, 8])).toBe(4);
    expect(paddedSize(4, [4, 8])).toBe(4);
    expect(paddedSize(5, [4, 8])).toBe(8);
    expect(paddedSize(9, [4, 8])).toBe(9);
  });
});
