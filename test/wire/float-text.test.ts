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
import { formatFloat32 } from '../../src/wire/json/writer.js';
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
