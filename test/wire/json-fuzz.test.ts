// Mutated requests: the JSON decoders either decode or throw a JetserveError — never a TypeError,
// RangeError or a hang — on both the fast and the precise path.
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/engine/native.js', () => ({ allocAligned: (n: number) => new ArrayBuffer(n) }));

import { decodeExamplesRequest, decodePredictRequest } from '../../src/wire/json/tfserving.js';
import { decodeInferRequest } from '../../src/wire/json/kserve.js';
import { JetserveError } from '../../src/errors.js';
import { sig, utf8 } from './helpers.js';

let seed = 12345;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
};
const ALPHABET = utf8('[]{},:"\\ 0123456789.eE+-NaInfitybrulsx\n');

function mutate(src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  const edits = 1 + rand(3);
  for (let k = 0; k < edits; k++) {
    const at = rand(b.length + 1);
    const op = rand(3);
    if (op === 0) b.splice(at, 1);
    else if (op === 1) b.splice(at, 0, ALPHABET[rand(ALPHABET.length)]!);
    else b[Math.min(at, b.length - 1)] = ALPHABET[rand(ALPHABET.length)]!;
  }
  return new Uint8Array(b);
}

function survive(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof JetserveError)) throw err;
    expect(['INVALID_ARGUMENT', 'UNIMPLEMENTED']).toContain(err.code);
  }
}

describe('JSON decoders under mutation', () => {
  it('TF Serving predict (row, columnar, strings, int64)', () => {
    const cases: [string, ReturnType<typeof sig>][] = [
      ['{"instances": [[1.5, -2e3], [NaN, 4]]}', sig({ x: ['float32', null] })],
      ['{"signature_name": "s", "inputs": {"a": [[1, 2]], "b": ["x", {"b64": "AA=="}]}}', sig({ a: ['int64', null], b: ['string', null] })],
      ['{"instances": [{"a": 1, "b": true}, {"a": 2, "b": false}]}', sig({ a: ['int32', null], b: ['bool', null] })],
      ['{"inputs": [[[1], [2]], [[3], [4]]], "extra": {"k": [1, "2"]}}', sig({ x: ['float64', null] })],
    ];
    for (const [body, s] of cases) {
      const bytes = utf8(body);
      for (let i = 0; i < 600; i++) survive(() => decodePredictRequest(mutate(bytes), () => s));
    }
  });

  it('TF Serving classify / regress', () => {
    const bytes = utf8('{"context": {"c": [1, 2]}, "examples": [{"f": 1.5, "s": "x", "b": {"b64": "AA=="}}, {"i": [1, 2]}]}');
    for (let i = 0; i < 800; i++) survive(() => decodeExamplesRequest(mutate(bytes)));
  });

  it('KServe infer (JSON and binary header)', () => {
    const s = sig({ x: ['float32', [-1, 2]], s: ['string', [-1]] }, { y: ['float32', null] });
    const bytes = utf8(
      '{"id": "1", "parameters": {"binary_data_output": true}, "inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]},' +
        ' {"name": "s", "shape": [1], "datatype": "BYTES", "data": ["a"]}], "outputs": [{"name": "y", "parameters": {"binary_data": false}}]}',
    );
    for (let i = 0; i < 800; i++) {
      const m = mutate(bytes);
      survive(() => decodeInferRequest(m, undefined, s));
      survive(() => decodeInferRequest(m, rand(m.length + 2), s));
    }
  });
});
