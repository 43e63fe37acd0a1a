// With the real addon (no allocator mock): every decoder's numeric tensors live in 64-byte
// aligned native blocks, so the engine hands them to TF without a copy. Skipped until the addon
// is built.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePredictRequest } from '../../src/wire/json/tfserving.js';
import { decodeInferRequest } from '../../src/wire/json/kserve.js';
import { decodeFlatPredict, encodeFlatPredictRequest } from '../../src/wire/flatbuffers/flatbuffers.js';
import { native } from '../../src/engine/native.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { sig, utf8 } from './helpers.js';

const built =
  !!process.env.JETSERVE_NATIVE_ADDON ||
  ['Release', 'Debug'].some((v) => existsSync(join(import.meta.dirname, '..', '..', 'build', v, 'jetserve_native.node')));

const aligned = (t: Tensor) => {
  const d = t.data as Float32Array;
  expect(native().addressOf(d) % 64n).toBe(0n);
};

describe.skipIf(!built)('decoders allocate aligned native tensors', () => {
  const s = sig({ x: ['float32', [-1, 2]] }, { y: ['float32', null] });

  it('TF Serving JSON', () => {
    aligned(decodePredictRequest('{"instances": [[1, 2], [3, 4]]}', () => s).inputs.x!);
  });

  it('KServe JSON and binary', () => {
    aligned(decodeInferRequest(utf8('{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}'), undefined, s).inputs.x!);
    aligned(decodeInferRequest(new Uint8Array(new Float32Array([1, 2]).buffer), 0, s).inputs.x!);
  });

  it('FlatBuffers (copy path)', () => {
    const body = encodeFlatPredictRequest({ x: { dtype: 'float32', shape: [1, 2], data: new Float32Array([1, 2]) } });
    aligned(decodeFlatPredict(body, () => s).inputs.x!);
  });
});
