// Shared helpers for the codec tests: signatures built from compact specs, error assertions.
import { expect } from 'vitest';
import { TF_DATATYPE, type DType } from '../../src/engine/dtypes.js';
import type { SignatureInfo, TensorSpec } from '../../src/engine/signature.js';
import { JetserveError, type ErrorCode } from '../../src/errors.js';

export type SpecShort = [DType, number[] | null] | { tfDtype: number; shape: number[] | null };

function spec(name: string, s: SpecShort): TensorSpec {
  if (Array.isArray(s)) return { name: `${name}:0`, dtype: s[0], tfDtype: TF_DATATYPE[s[0]], shape: s[1] };
  return { name: `${name}:0`, dtype: undefined, tfDtype: s.tfDtype, shape: s.shape };
}

export function sig(
  inputs: Record<string, SpecShort>,
  outputs: Record<string, SpecShort> = { y: ['float32', [-1]] },
  methodName = 'tensorflow/serving/predict',
): SignatureInfo {
  const map = (m: Record<string, SpecShort>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, spec(k, v)]));
  return { methodName, inputs: map(inputs), outputs: map(outputs) };
}

/** Runs fn, expects a JetserveError with `code` whose message contains every `parts` entry. */
export function expectError(fn: () => unknown, code: ErrorCode, ...parts: (string | RegExp)[]): JetserveError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeInstanceOf(JetserveError);
  const err = caught as JetserveError;
  expect(err.code, err.message).toBe(code);
  for (const part of parts) {
    if (typeof part === 'string') expect(err.message).toContain(part);
    else expect(err.message).toMatch(part);
  }
  return err;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
