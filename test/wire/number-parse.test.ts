// JSON number tokens → tensor values in the native decoder (native/json_numbers.cc
// ParseJsonNumber: SWAR digit runs, Clinger's exact path, std::from_chars beyond it) against what
// the reference defines: float64 = Number(token), float32 = Math.fround(Number(token)) (the
// correctly rounded double, rounded to float, as rapidjson's double cast in TF Serving).
// Tokens of every length and shape, placed at every distance from the end of the body (the
// 8-byte digit reads must not pass it).
import { describe, expect, it } from 'vitest';
import { decodePredictRequestNative, nativeJsonAvailable } from '../../src/wire/json/native.js';
import { decodePredictRequest } from '../../src/wire/json/tfserving.js';
import { fuzzSignatures, Rng } from './json-native-fuzz.js';

const sigs = Object.freeze(fuzzSignatures());

function digits(rng: Rng, n: number, first = false): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(i === 0 && first ? 1 + rng.int(9) : rng.int(10));
  return s;
}

/** A valid JSON number token: integer part, optional fraction, optional exponent, many lengths. */
function token(rng: Rng): string {
  const r = rng.int(10);
  if (r === 0) return String((rng.next() - 0.5) * 10 ** (rng.int(40) - 20));
  if (r === 1) return String(Math.fround(rng.next() * 10 ** (rng.int(12) - 6)));
  if (r === 2) return (rng.next() * 2 - 1).toFixed(rng.int(10));
  if (r === 3) return String(2 ** 53 + rng.int(5) - 2) + (rng.chance(0.5) ? `e${rng.int(10) - 5}` : '');
  let s = rng.chance(0.3) ? '-' : '';
  s += rng.chance(0.3) ? '0' : digits(rng, 1 + rng.int(rng.chance(0.2) ? 24 : 10), true);
  if (rng.chance(0.7)) s += `.${rng.chance(0.3) ? '0'.repeat(rng.int(6)) : ''}${digits(rng, 1 + rng.int(rng.chance(0.2) ? 24 : 9))}`;
  if (rng.chance(0.4)) s += `${rng.pick(['e', 'E'])}${rng.pick(['', '+', '-'])}${rng.chance(0.1) ? '0'.repeat(rng.int(5)) : ''}${rng.int(rng.chance(0.1) ? 400 : 40)}`;
  return s;
}

function decode(dtype: 'float32' | 'float64', tokens: string[], pad: string): Float32Array | Float64Array {
  const body = Buffer.from(`{"signature_name": "${dtype}", "instances": [${tokens.join(',')}]${pad}}`);
  const t = decodePredictRequestNative(body, sigs).inputs.v!;
  return t.data as Float32Array | Float64Array;
}

describe.skipIf(!nativeJsonAvailable())('native number parsing = Number() / Math.fround(Number())', () => {
  it('200,000 generated tokens into float64 and float32 tensors', () => {
    const rng = new Rng(20261206);
    const mismatches: string[] = [];
    for (let batch = 0; batch < 100 && mismatches.length < 10; batch++) {
      const tokens = Array.from({ length: 2000 }, () => token(rng));
      const pad = ' '.repeat(batch % 12); // the last token at every distance from the end
      const f64 = decode('float64', tokens, pad);
      const f32 = decode('float32', tokens, pad);
      tokens.forEach((tok, i) => {
        const want = Number(tok);
        if (!Object.is(f64[i], want)) mismatches.push(`float64 ${tok}: ${f64[i]} want ${want}`);
        if (!Object.is(f32[i], Math.fround(want))) mismatches.push(`float32 ${tok}: ${f32[i]} want ${Math.fround(want)}`);
      });
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it('malformed or odd tokens inside a long run of numbers: the same result or error as the reference', () => {
    // inside a run the tight loop (Reader::FloatRun) parses; what it cannot take goes to the careful path
    const resolve = (name: string) => sigs[name]!;
    const odd = ['1.5-2', '1e', '1.', '-', '--1', '+1', '01', '1.2.3', '1e5e5', '1e+', '.5', '-.5', '1E-2', '0e0', '-0',
      '1234567890123456', '12345678901234567', '0.123456789012345', '-0.12345678901234', '1.5 ', ' 2.5', '1.5e-7', 'e5', '1ee2'];
    for (const tok of odd) {
      for (const dtype of ['float32', 'float64']) {
        for (const sep of [',', ', ']) {
          const values = Array.from({ length: 40 }, (_, i) => ((i * 37) % 19) / 7 - 1.25);
          const items = values.map(String);
          items[20] = tok;
          const body = new Uint8Array(Buffer.from(`{"signature_name": "${dtype}", "instances": [${items.join(sep)}]}`));
          let native: unknown;
          let reference: unknown;
          try {
            native = Array.from(decodePredictRequestNative(body, sigs).inputs.v!.data as Float64Array);
          } catch (err) {
            native = (err as Error).message;
          }
          try {
            reference = Array.from(decodePredictRequest(body, resolve).inputs.v!.data as Float64Array);
          } catch (err) {
            reference = (err as Error).message;
          }
          expect(native, `${dtype} ${JSON.stringify(tok)} sep ${JSON.stringify(sep)}`).toEqual(reference);
        }
      }
    }
  });

  it('bodies cut inside or right after a number: the same error as the reference', () => {
    const resolve = (name: string) => sigs[name]!;
    for (const tok of ['1', '12345678', '123456789', '-0.12345678', '0.1234567890123', '1e5', '123456789012345678901', '1.5e-7']) {
      const whole = `{"signature_name": "float64", "instances": [${tok}`;
      for (let cut = whole.length - tok.length; cut <= whole.length; cut++) {
        // a buffer of exactly the cut length: the token's digits are the body's last bytes
        const body = new Uint8Array(Buffer.from(whole.slice(0, cut)));
        let native = '';
        let reference = '';
        try {
          decodePredictRequestNative(body, sigs);
        } catch (err) {
          native = (err as Error).message;
        }
        try {
          decodePredictRequest(body, resolve);
        } catch (err) {
          reference = (err as Error).message;
        }
        expect(native).not.toBe('');
        expect(native).toBe(reference);
      }
    }
  });
});
