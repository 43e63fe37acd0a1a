// The native JSON codec (native/json_*.cc via src/wire/json/native.ts) against the TypeScript
// reference (tfserving.ts, kserve.ts, writer.ts) on generated and mutated bodies: identical
// tensors (dtype, shape, bytes; signature, format, outputs) or the same error code and message;
// responses byte for byte. Seeded and bounded: ≥ 100,000 request bodies in a few seconds.
import { describe, expect, it } from 'vitest';
import { decodePredictRequest, predictResponseChunks } from '../../src/wire/json/tfserving.js';
import { decodeInferRequest, inferResponseChunks, type KServeInferRequest } from '../../src/wire/json/kserve.js';
import {
  decodeInferRequestNative,
  decodePredictRequestNative,
  inferResponseChunksNative,
  nativeJsonAvailable,
  predictResponseChunksNative,
} from '../../src/wire/json/native.js';
import { signatureNotFound, type SignatureInfo } from '../../src/engine/signature.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import type { RequestLimits } from '../../src/wire/limits.js';
import { cleanKind, fuzzSignatures, inferBody, mutate, predictBody, randomOutputs, Rng, setClean } from './json-native-fuzz.js';

const sigs = Object.freeze(fuzzSignatures());
const resolve = (name: string): SignatureInfo => {
  if (!Object.hasOwn(sigs, name)) throw signatureNotFound(name, Object.keys(sigs));
  return sigs[name]!;
};

type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

function tensorView(t: Tensor): unknown {
  const data = Array.isArray(t.data)
    ? t.data.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex'))
    : Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
  return { dtype: t.dtype, shape: t.shape.map((d) => d + 0), data };
}

function inputsView(inputs: Record<string, Tensor>): unknown {
  return Object.entries(inputs).map(([k, t]) => [k, tensorView(t)]);
}

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (!(err instanceof JetserveError)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

function limitsFor(rng: Rng): RequestLimits {
  if (rng.chance(0.7)) return { maxTensorElements: 4_194_304, maxJsonDepth: 256 };
  return { maxTensorElements: rng.pick([0, 1, 2, 3, 5, 8, 20]), maxJsonDepth: rng.pick([1, 2, 3, 4, 5, 8]) };
}

interface Mismatch {
  body: string;
  limits: RequestLimits;
  js: unknown;
  native: unknown;
}

function compare(a: Outcome, b: Outcome): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function inferView(r: KServeInferRequest): unknown {
  return {
    id: r.id,
    inputs: inputsView(r.inputs),
    outputs: r.outputs.map((o) => [o.name, o.binary, o.parameters ? Object.entries(o.parameters) : null]),
    outputsRequested: r.outputsRequested,
    binaryDataOutput: r.binaryDataOutput,
    parameters: Object.entries(r.parameters),
  };
}

describe.skipIf(!nativeJsonAvailable())('native JSON codec = TypeScript reference', () => {
  it('TF Serving predict: 80,000 generated and mutated bodies', () => {
    const rng = new Rng(20261206);
    const mismatches: Mismatch[] = [];
    let errors = 0;
    const keys = Object.keys(sigs);
    for (let i = 0; i < 80_000; i++) {
      // half the bodies are clean (valid leaves for the dtype, rectangular, default limits)
      const clean = rng.chance(0.5);
      const key = rng.chance(0.5) ? 'serving_default' : rng.pick(keys);
      const sig = sigs[key]!;
      setClean(clean ? cleanKind(sig.inputs[Object.keys(sig.inputs)[0]!]?.dtype) : undefined);
      let body = predictBody(rng, sigs, key);
      setClean(undefined);
      if (!clean && rng.chance(0.4)) body = mutate(rng, body);
      const limits = clean ? { maxTensorElements: 4_194_304, maxJsonDepth: 256 } : limitsFor(rng);
      const js = outcome(() => {
        const r = decodePredictRequest(body, resolve, { limits });
        return [r.signatureName, r.format, inputsView(r.inputs)];
      });
      const nat = outcome(() => {
        const r = decodePredictRequestNative(body, sigs, { limits, resolveSignature: resolve });
        return [r.signatureName, r.format, inputsView(r.inputs)];
      });
      if (!js.ok) errors++;
      if (!compare(js, nat) && mismatches.length < 5) {
        mismatches.push({ body: Buffer.from(body).toString('latin1'), limits, js, native: nat });
      }
    }
    expect(mismatches).toEqual([]);
    // the generator reaches both outcomes
    expect(errors).toBeGreaterThan(16_000);
    expect(errors).toBeLessThan(64_000);
  });

  it('KServe infer: 30,000 generated and mutated bodies', () => {
    const rng = new Rng(7);
    const mismatches: Mismatch[] = [];
    const keys = Object.keys(sigs);
    let errors = 0;
    for (let i = 0; i < 30_000; i++) {
      const key = rng.pick(keys);
      const clean = rng.chance(0.5);
      const sig = sigs[key]!;
      setClean(clean ? cleanKind(sig.inputs[Object.keys(sig.inputs)[0]!]?.dtype) : undefined);
      let body = inferBody(rng, sig);
      setClean(undefined);
      if (!clean && rng.chance(0.4)) body = mutate(rng, body);
      const limits = clean ? { maxTensorElements: 4_194_304, maxJsonDepth: 256 } : limitsFor(rng);
      const js = outcome(() => inferView(decodeInferRequest(body, undefined, sigs[key]!, { limits })));
      const nat = outcome(() => inferView(decodeInferRequestNative(body, sigs, key, { limits })));
      if (!js.ok) errors++;
      if (!compare(js, nat) && mismatches.length < 5) {
        mismatches.push({ body: `${key}: ${Buffer.from(body).toString('latin1')}`, limits, js, native: nat });
      }
    }
    expect(mismatches).toEqual([]);
    expect(errors).toBeGreaterThan(6_000);
    expect(errors).toBeLessThan(24_000);
  });

  it('responses: 6,000 random output sets, byte for byte, in any chunk size', () => {
    const rng = new Rng(99);
    const mismatches: unknown[] = [];
    const join = (chunks: Iterator<string | Uint8Array, void, undefined>) => {
      const parts: Buffer[] = [];
      for (let r = chunks.next(); !r.done; r = chunks.next()) parts.push(Buffer.from(r.value as string));
      return Buffer.concat(parts).toString('hex');
    };
    for (let i = 0; i < 6_000; i++) {
      const row = rng.chance(0.5);
      const outputs = randomOutputs(rng, row);
      const chunk = rng.pick([1, 7, 64, 65536]);
      const js = outcome(() => join(predictResponseChunks(outputs, row ? 'row' : 'columnar', chunk)));
      const nat = outcome(() => join(predictResponseChunksNative(outputs, row ? 'row' : 'columnar', chunk)));
      if (!compare(js, nat) && mismatches.length < 3) mismatches.push({ outputs, row, js, nat });
      const args = { modelName: 'm"é', modelVersion: rng.int(3), id: rng.pick(['', 'a', 'ü\n']), outputs };
      const kjs = outcome(() => join(inferResponseChunks(args, new Set(), chunk)));
      const knat = outcome(() => join(inferResponseChunksNative(args, chunk)));
      if (!compare(kjs, knat) && mismatches.length < 3) mismatches.push({ outputs, kjs, knat });
    }
    expect(mismatches).toEqual([]);
  });
});
