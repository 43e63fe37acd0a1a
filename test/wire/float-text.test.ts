// TF Serving's float32 text (%.6g when it parses back to the value, else %.9g; ".0" when there is
// neither '.' nor 'e'): the native writer (native/json_float_text.cc, checked against snprintf /
// strtod over all 2^32 bit patterns by test/wire/native/float-text-exhaustive.cc) and the
// TypeScript reference (writer.ts formatFloat32) on expected texts from the C library and on
// 400,000 sampled bit patterns.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFloat32, writeFloat32 } from '../../src/wire/json/writer.js';
import { encodePredictResponse, predictResponseBytes } from '../../src/wire/json/tfserving.js';
import { encodePredictResponseNative, nativeJsonAvailable } from '../../src/wire/json/native.js';
import type { Tensor } from '../../src/engine/tensor.js';

/** [bits, text] as printf("%.6g") / strtod / printf("%.9g") give them (glibc). */
const EXPECTED: ReadonlyArray<readonly [number, string]> = [
  [0x3c23d70a, '0.01'], // 0.00999999978: the 6-digit rounding carries into a new leading digit
  [0x3dcccccd, '0.1'],
  [0x38d1b717, '0.0001'],
  [0x411fffff, '9.99999905'],
  [0x497423ff, '999999.938'],
  [0x4b095440, '9e+06'],
  [0x497423f0, '999999.0'],
  [0x37fba882, '3e-05'],
  [0x00000001, '1.4013e-45'],
  [0x7f7fffff, '3.40282347e+38'],
  [0x00800000, '1.17549435e-38'],
  [0x4b800000, '16777216.0'],
  [0x3f000000, '0.5'],
  [0x47c35000, '100000.0'],
  [0x47f1205a, '123456.703'],
  [0x80000000, '-0.0'],
  [0x00000000, '0.0'],
  [0x3e99999a, '0.3'],
  [0x4996b428, '1234565.0'], // a tie at 6 digits: 1.23456e+06 (even) does not parse back
  [0x4996b478, '1234575.0'],
  [0x3e000000, '0.125'],
  [0xc0200000, '-2.5'],
  [0x501502f9, '1e+10'],
  [0x2edbe6ff, '1e-10'],
  [0x3dcccccc, '0.099999994'],
  [0x47c34fff, '99999.9922'],
  [0x49742400, '1e+06'],
  [0x3727c5ac, '1e-05'],
  [0x3a83126e, '0.000999999931'],
  [0x477fe000, '65504.0'],
  [0x7f800000, 'Infinity'],
  [0xff800000, '-Infinity'],
  [0x7fc00000, 'NaN'],
];

const bitsView = new Uint32Array(1);
const floatView = new Float32Array(bitsView.buffer);
function floatOf(bits: number): number {
  bitsView[0] = bits;
  return floatView[0]!;
}

/** The native writer's text for each float (one columnar predict response). */
function nativeTexts(bits: Uint32Array): string[] {
  const t: Tensor = { dtype: 'float32', shape: [bits.length], data: new Float32Array(bits.buffer, bits.byteOffset, bits.length) };
  const text = Buffer.from(encodePredictResponseNative({ y: t }, 'columnar')).toString();
  expect(text.startsWith('{"outputs": [') && text.endsWith(']}')).toBe(true);
  return text.slice('{"outputs": ['.length, -2).split(', ');
}

/** Bit patterns where printf's rounding is delicate, plus seeded random ones. */
function sampledBits(count: number): Uint32Array {
  const out: number[] = [];
  const probe = new Float32Array(1);
  const probeBits = new Uint32Array(probe.buffer);
  // around every power of ten (the decimal exponent changes there) and 6- / 9-digit boundaries
  for (let k = -45; k <= 38; k++) {
    for (const scale of [1, 9.99999, 9.999995, 9.99999999, 1.000005, 5, 2.5]) {
      probe[0] = scale * 10 ** k;
      const center = probeBits[0]!;
      for (let d = -40; d <= 40; d++) out.push((center + d) >>> 0, (center + d) ^ 0x80000000);
    }
  }
  // subnormals, the smallest normals, the largest finite values
  for (let b = 0; b < 4096; b++) out.push(b, 0x00800000 + b - 2048, 0x7f7fffff - b);
  // integers (exact ties at 6 digits: n·10 + 5 with 7 digits)
  for (let n = 1000005; n < 16777216; n += 99991) {
    probe[0] = n;
    out.push(probeBits[0]!);
  }
  // seeded xorshift over all 2^32 patterns
  let x = 0x9e3779b9;
  while (out.length < count) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.push(x >>> 0);
  }
  return Uint32Array.from(out);
}

describe.skipIf(!nativeJsonAvailable())('float32 text (TF Serving: %.6g, else %.9g)', () => {
  it('matches the C library on known values (TypeScript writer and native writer)', () => {
    const bits = Uint32Array.from(EXPECTED.map(([b]) => b));
    const native = nativeTexts(bits);
    const mismatches: string[] = [];
    EXPECTED.forEach(([b, text], i) => {
      const ts = formatFloat32(floatOf(b));
      if (ts !== text || native[i] !== text) mismatches.push(`0x${b.toString(16)}: want ${text}, TypeScript ${ts}, native ${native[i]}`);
    });
    expect(mismatches).toEqual([]);
  });

  it('native writer = TypeScript writer on 400,000 sampled bit patterns', () => {
    const bits = sampledBits(400_000);
    const native = nativeTexts(bits);
    expect(native.length).toBe(bits.length);
    const mismatches: string[] = [];
    for (let i = 0; i < bits.length && mismatches.length < 10; i++) {
      const ts = formatFloat32(floatOf(bits[i]!));
      if (ts !== native[i]) mismatches.push(`0x${bits[i]!.toString(16)}: TypeScript ${ts}, native ${native[i]}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('the scalar and AVX2 list writers (JETSERVE_JSON_SIMD=0 / avx2) write what the default one writes', () => {
    // the writer is chosen when the addon loads (AVX-512 where the CPU has it), so the others run
    // in child processes
    const bits = sampledBits(200_000);
    const dir = mkdtempSync(join(tmpdir(), 'float-text-'));
    try {
      const input = join(dir, 'bits');
      writeFileSync(input, bits);
      const script = `
        import { readFileSync } from 'node:fs';
        import { encodePredictResponseNative } from ${JSON.stringify(new URL('../../src/wire/json/native.ts', import.meta.url).href)};
        const b = readFileSync(${JSON.stringify(input)});
        const data = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        process.stdout.write(Buffer.from(encodePredictResponseNative({ y: { dtype: 'float32', shape: [data.length], data } }, 'columnar')));
      `;
      const native = nativeTexts(bits);
      const mismatches: string[] = [];
      for (const simd of ['0', 'avx2']) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          env: { ...process.env, JETSERVE_JSON_SIMD: simd },
          maxBuffer: 64 << 20,
        }).toString();
        const text = out.slice('{"outputs": ['.length, -2).split(', ');
        expect(text.length).toBe(bits.length);
        for (let i = 0; i < bits.length && mismatches.length < 10; i++) {
          if (text[i] !== native[i]) mismatches.push(`0x${bits[i]!.toString(16)}: ${simd} ${text[i]}, default ${native[i]}`);
        }
      }
      expect(mismatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('float32 text as bytes (writeFloat32, predictResponseBytes: the tiny REST answer)', () => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const out = new Uint8Array(32);
  const bytesOf = (v: number) => Buffer.from(out.subarray(0, writeFloat32(out, 0, v))).toString('latin1');

  it('writes formatFloat32 for the expected texts and 400,000 sampled bit patterns', () => {
    for (const [bits, text] of EXPECTED) {
      u32[0] = bits;
      expect(bytesOf(f32[0]!)).toBe(text);
    }
    const mismatches: string[] = [];
    let seed = 0x2545f491;
    for (let i = 0; i < 400_000 && mismatches.length < 10; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      // half random bit patterns, half values in the fixed-notation range [1e-4, 1e6)
      if (i % 2 === 0) u32[0] = seed;
      else f32[0] = ((seed / 2 ** 32) - 0.5) * 10 ** ((seed % 11) - 4);
      const v = f32[0]!;
      if (bytesOf(v) !== formatFloat32(v)) mismatches.push(`0x${u32[0]!.toString(16)}: ${bytesOf(v)} vs ${formatFloat32(v)}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('predictResponseBytes is encodePredictResponse for the shapes it writes, and nothing else', () => {
    const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('latin1'));
    let seed = 7;
    const value = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      u32[0] = seed;
      return seed % 3 === 0 ? f32[0]! : Math.fround((seed / 2 ** 32 - 0.5) * 100);
    };
    for (const shape of [[1], [3], [1, 3], [2, 4], [8, 8], [64], [0], [0, 3], [4, 0]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const outputs = { y: { dtype: 'float32', shape, data: Float32Array.from({ length: count }, value) } as Tensor };
      const bytes = predictResponseBytes(outputs, 'row');
      expect(text(bytes)).toBe(encodePredictResponse(outputs, 'row'));
    }
    // the bytes are a view the next call overwrites
    const first = predictResponseBytes({ y: { dtype: 'float32', shape: [1], data: Float32Array.of(1.5) } }, 'row')!;
    predictResponseBytes({ y: { dtype: 'float32', shape: [1], data: Float32Array.of(2.5) } }, 'row');
    expect(text(first)).toBe('{"predictions": [2.5]}');
    const y = { dtype: 'float32', shape: [1, 2], data: Float32Array.of(1, 2) } as Tensor;
    expect(predictResponseBytes({ y }, 'columnar')).toBeUndefined();
    expect(predictResponseBytes({ y, z: y }, 'row')).toBeUndefined();
    expect(predictResponseBytes({ y: { dtype: 'float32', shape: [65], data: new Float32Array(65) } }, 'row')).toBeUndefined();
    expect(predictResponseBytes({ y: { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } }, 'row')).toBeUndefined();
    expect(predictResponseBytes({ y: { dtype: 'float64', shape: [1], data: Float64Array.of(1) } }, 'row')).toBeUndefined();
    expect(predictResponseBytes({ y: { dtype: 'float32', shape: [1, 1, 1], data: Float32Array.of(1) } }, 'row')).toBeUndefined();
  });
});
