// Proves the oracle helper itself: oracle.json tensors decode to the values TF wrote (checked against
// known inputs and simple ops), and expectTensorClose accepts equal tensors but rejects perturbed ones.

import { beforeAll, describe, expect, it } from 'vitest';
import { DTYPES, type DType } from '../src/engine/dtypes.js';
import type { Tensor } from '../src/engine/tensor.js';
import { ensureFixtures } from './fixtures/ensure-fixtures.mjs';
import { expectOutputsClose, expectTensorClose, loadOracle, oracleCases } from './helpers/oracle.js';

beforeAll(async () => {
  // globalSetup normally does this; keeps the file runnable on its own
  process.env.JETSERVE_FIXTURES ??= await ensureFixtures();
}, 900_000);

function clone(t: Tensor): Tensor {
  const data = Array.isArray(t.data) ? t.data.map((s) => s.slice()) : t.data.slice();
  return { dtype: t.dtype, shape: [...t.shape], data } as Tensor;
}

function dtypeCase(dtype: DType) {
  const c = oracleCases('dtypes', dtype)[0];
  if (!c) throw new Error(`no dtypes case for ${dtype}`);
  return { x: c.inputs[`x_${dtype}`]!, y: c.outputs[`y_${dtype}`]! };
}

/** Index of the first finite non-zero value (perturbing it must be noticed). */
function firstOrdinary(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i]) && data[i] !== 0) return i;
  throw new Error('no finite non-zero value');
}

describe('loadOracle decodes what TF wrote', () => {
  it('finds every fixture model with cases and signature metadata', () => {
    for (const model of ['mlp', 'multi_sig', 'dtypes', 'conv', 'half_plus_two', 'strings']) {
      const oracle = loadOracle(model);
      expect(oracle.format).toBe('saved_model');
      expect(oracle.savedModelPath).toMatch(new RegExp(`${model}/1$`));
      expect(oracle.signatures.serving_default?.methodName).toBe('tensorflow/serving/predict');
      expect(oracle.cases.length).toBeGreaterThan(0);
    }
    const graphdef = loadOracle('graphdef');
    expect(graphdef.format).toBe('graphdef');
    expect(graphdef.graphFile).toMatch(/graphdef\/graphdef\.pb$/);
    expect(graphdef.inputTensors).toEqual({ x: 'x:0' });
    expect(graphdef.outputTensors?.y).toMatch(/^[\w/]+:0$/);
  });

  it('records the TF 2.21-era ops of the mlp graph (DisableCopyOnRead)', () => {
    const { graphOps, signatures } = loadOracle('mlp');
    expect(graphOps).toContain('DisableCopyOnRead');
    expect(signatures.serving_default!.inputs.x).toEqual({ name: 'serving_default_x:0', tfDtype: 'DT_FLOAT', shape: [-1, 4] });
  });

  it('covers every jetserve dtype, each through a real op', () => {
    const dtypes = loadOracle('dtypes');
    for (const dtype of DTYPES) {
      expect(dtypes.signatures[dtype], dtype).toBeDefined();
      const { x, y } = dtypeCase(dtype);
      expect(x.dtype).toBe(dtype);
      expect(y.dtype).toBe(dtype);
    }
    const all = dtypes.cases.find((c) => c.signature === 'serving_default')!;
    expect(Object.keys(all.inputs).sort()).toEqual(DTYPES.map((d) => `x_${d}`).sort());
  });

  it('decodes integers exactly, including 64-bit extremes (y = ~x)', () => {
    const i64 = dtypeCase('int64');
    expect(Array.from(i64.x.data as BigInt64Array)).toContain(-(2n ** 63n));
    expect(Array.from(i64.x.data as BigInt64Array)).toContain(2n ** 53n + 1n);
    const u64 = dtypeCase('uint64');
    expect(Array.from(u64.x.data as BigUint64Array)).toContain(2n ** 64n - 1n);
    for (const dtype of ['int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32'] as const) {
      const { x, y } = dtypeCase(dtype);
      const bits = Number(dtype.replace(/\D/g, ''));
      const xs = Array.from(x.data as ArrayLike<number>);
      const ys = Array.from(y.data as ArrayLike<number>);
      const invert = (v: number) => (dtype.startsWith('u') ? (2 ** bits - 1 - v) : -v - 1);
      expect(ys, dtype).toEqual(xs.map(invert));
    }
    for (const dtype of ['int64', 'uint64'] as const) {
      const { x, y } = dtypeCase(dtype);
      const xs = Array.from(x.data as BigInt64Array | BigUint64Array);
      const ys = Array.from(y.data as BigInt64Array | BigUint64Array);
      const invert = (v: bigint) => (dtype === 'uint64' ? 2n ** 64n - 1n - v : -v - 1n);
      expect(ys, dtype).toEqual(xs.map(invert));
    }
  });

  it('decodes floats, half bits, bool, complex and strings in TF byte layout', () => {
    const f32 = dtypeCase('float32');
    expect(f32.x.shape).toEqual([4, 2]);
    expect(Array.from(f32.y.data as Float32Array).slice(0, 3)).toEqual([0, -0, 3]);
    expect(Number.isNaN((f32.y.data as Float32Array)[7])).toBe(true);
    expect((dtypeCase('float16').x.data as Uint16Array)[3]).toBe(0x7bff); // 65504 = max half
    expect((dtypeCase('float16').y.data as Uint16Array)[2]).toBe(0x4200); // 1.5 * 2 = 3
    expect((dtypeCase('bfloat16').y.data as Uint16Array)[2]).toBe(0x4040); // 3 in bfloat16
    const bool = dtypeCase('bool');
    expect(Array.from(bool.x.data as Uint8Array)).toEqual([1, 0, 1, 1, 0, 0, 1, 0]);
    expect(Array.from(bool.y.data as Uint8Array)).toEqual([0, 1, 0, 0, 1, 1, 0, 1]);
    const c64 = dtypeCase('complex64'); // interleaved re, im; y = conj(x)
    expect(Array.from(c64.x.data as Float32Array).slice(0, 2)).toEqual([1, 2]);
    expect(Array.from(c64.y.data as Float32Array).slice(0, 2)).toEqual([1, -2]);
    const str = dtypeCase('string'); // y = x + "!"
    const xs = str.x.data as Uint8Array[];
    const ys = str.y.data as Uint8Array[];
    expect(Array.from(xs[4]!)).toEqual([0xff, 0xfe, 0x00, 0x80]);
    expect(xs[6]!.length).toBe(300);
    ys.forEach((y, i) => expect(Buffer.from(y)).toEqual(Buffer.concat([xs[i]!, Buffer.from('!')])));
  });

  it('half_plus_two outputs are 0.5 x + 2 and classify/regress carry their tf.Example features', () => {
    const [predict] = oracleCases('half_plus_two', 'serving_default');
    expect(Array.from(predict!.inputs.x!.data as Float32Array)).toEqual([1, 2, 5]);
    expect(Array.from(predict!.outputs.y!.data as Float32Array)).toEqual([2.5, 3, 4.5]);
    const [classify] = oracleCases('half_plus_two', 'classify_x_to_y');
    expect(classify!.outputs.scores!.shape).toEqual([3, 1]);
    expect(Array.from(classify!.outputs.scores!.data as Float32Array)).toEqual(
      classify!.examples!.map((e) => 0.5 * e.x! + 2),
    );
  });
});

describe('expectTensorClose', () => {
  it('accepts every oracle output compared with a copy of itself', () => {
    for (const model of ['mlp', 'multi_sig', 'dtypes', 'conv', 'graphdef', 'half_plus_two', 'strings']) {
      for (const c of loadOracle(model).cases) {
        const copy = Object.fromEntries(Object.entries(c.outputs).map(([k, t]) => [k, clone(t)]));
        expectOutputsClose(copy, c.outputs, 1e-6, `${model}/${c.name}`);
      }
    }
  });

  it('accepts float differences within tolerance, -0 vs 0, and NaN vs NaN', () => {
    const y = oracleCases('mlp')[1]!.outputs.y!;
    const near = clone(y);
    const d = near.data as Float32Array;
    const i = firstOrdinary(d);
    d[i] = Math.fround(d[i]! * (1 + 3e-7));
    expectTensorClose(near, y);
    const f64 = dtypeCase('float64').y;
    const zeros = clone(f64);
    (zeros.data as Float64Array)[1] = 0; // expected is -0
    expectTensorClose(zeros, f64);
  });

  it('rejects a float perturbed beyond relTol', () => {
    for (const [model, key] of [
      ['mlp', 'y'],
      ['conv', 'logits'],
      ['multi_sig', 'norm'],
    ] as const) {
      const c = oracleCases(model)[0]!;
      const expected = c.outputs[key]!;
      const bad = clone(expected);
      const d = bad.data as Float32Array | Float64Array;
      const i = firstOrdinary(d);
      d[i] = d[i]! * (1 + 1e-5);
      expect(() => expectTensorClose(bad, expected), `${model}.${key}`).toThrow(/values differ/);
      expectTensorClose(bad, expected, 1e-4); // a looser tolerance lets it through
    }
  });

  it('rejects a number where NaN is expected, a NaN where a number is, and a flipped infinity', () => {
    const y = dtypeCase('float32').y; // [0, -0, 3, inf, 0, inf, -inf, nan]
    const notNan = clone(y);
    (notNan.data as Float32Array)[7] = 0;
    expect(() => expectTensorClose(notNan, y)).toThrow(/values differ/);
    const nan = clone(y);
    (nan.data as Float32Array)[2] = NaN;
    expect(() => expectTensorClose(nan, y)).toThrow(/values differ/);
    const inf = clone(y);
    (inf.data as Float32Array)[3] = -Infinity;
    expect(() => expectTensorClose(inf, y)).toThrow(/values differ/);
    const big = clone(y);
    (big.data as Float32Array)[3] = 3.4e38;
    expect(() => expectTensorClose(big, y, 1)).toThrow(/values differ/);
  });

  it('rejects a complex value whose imaginary part differs', () => {
    const y = dtypeCase('complex128').y;
    const bad = clone(y);
    (bad.data as Float64Array)[1] = -(bad.data as Float64Array)[1]!; // conj undone on element 0
    expect(() => expectTensorClose(bad, y)).toThrow(/values differ/);
  });

  it('compares integers, bool and half/bfloat16 bit patterns exactly', () => {
    for (const dtype of ['int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'bool', 'float16', 'bfloat16'] as const) {
      const y = dtypeCase(dtype).y;
      const bad = clone(y);
      const d = bad.data as Uint8Array;
      d[2] = d[2]! ^ 1; // one bit: beyond any tolerance for exact types
      expect(() => expectTensorClose(bad, y, 0.5), dtype).toThrow(/values differ/);
    }
    for (const dtype of ['int64', 'uint64'] as const) {
      const y = dtypeCase(dtype).y;
      const bad = clone(y);
      const d = bad.data as BigInt64Array;
      d[5] = d[5]! ^ 1n;
      expect(() => expectTensorClose(bad, y), dtype).toThrow(/values differ/);
    }
  });

  it('rejects strings differing in one byte or in length', () => {
    const y = dtypeCase('string').y;
    const byte = clone(y);
    (byte.data as Uint8Array[])[4]![0] = 0x00;
    expect(() => expectTensorClose(byte, y)).toThrow(/values differ/);
    const longer = clone(y);
    (longer.data as Uint8Array[])[0] = new Uint8Array([0x21, 0x00]);
    expect(() => expectTensorClose(longer, y)).toThrow(/values differ/);
  });

  it('rejects a different dtype, shape or output set', () => {
    const y = oracleCases('mlp')[1]!.outputs.y!; // [3, 3] float32
    expect(() => expectTensorClose({ ...clone(y), shape: [9] }, y)).toThrow(/shape/);
    expect(() => expectTensorClose({ ...clone(y), shape: [1, 9] }, y)).toThrow(/shape/);
    expect(() =>
      expectTensorClose({ dtype: 'float64', shape: [3, 3], data: Float64Array.from(y.data as Float32Array) }, y),
    ).toThrow(/dtype/);
    const outputs = oracleCases('multi_sig', 'serving_default')[0]!.outputs;
    const { norm: _dropped, ...fewer } = outputs;
    expect(() => expectOutputsClose(fewer, outputs)).toThrow(/output names/);
  });
});
