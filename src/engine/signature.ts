// Signature metadata as jetserve exposes it: what a SavedModel's SignatureDef says about each
// input and output (name in the graph, dtype, shape). Codecs use it to decode requests.

import type { DType } from './dtypes.js';
import { invalidArgument, type JetserveError } from '../errors.js';

export interface TensorSpec {
  /** Graph tensor name, e.g. "serving_default_x:0". */
  name: string;
  /** jetserve dtype, or undefined when the graph carries a dtype jetserve cannot hold (resource…). */
  dtype: DType | undefined;
  /** TF DataType enum number (always present, also for unsupported dtypes). */
  tfDtype: number;
  /** Dims with -1 for unknown; null for unknown rank. */
  shape: number[] | null;
}

export interface SignatureInfo {
  /** e.g. "tensorflow/serving/predict", "tensorflow/serving/classify". */
  methodName: string;
  inputs: Record<string, TensorSpec>;
  outputs: Record<string, TensorSpec>;
}

export const DEFAULT_SIGNATURE = 'serving_default';

export const METHOD_PREDICT = 'tensorflow/serving/predict';
export const METHOD_CLASSIFY = 'tensorflow/serving/classify';
export const METHOD_REGRESS = 'tensorflow/serving/regress';

/** True when a tensor of `shape` may be fed where the spec expects `expected`. */
export function shapeCompatible(expected: number[] | null, shape: readonly number[]): boolean {
  if (expected === null) return true;
  if (expected.length !== shape.length) return false;
  for (let i = 0; i < shape.length; i++) {
    const want = expected[i]!;
    if (want >= 0 && want !== shape[i]) return false;
  }
  return true;
}

export function formatShape(shape: readonly number[] | null): string {
  return shape === null ? '<unknown rank>' : `[${shape.join(',')}]`;
}

/** The error for an unknown signature name (TF Serving's text; `known`: the model's signature keys). */
export function signatureNotFound(name: string, known: readonly string[]): JetserveError {
  return invalidArgument(`Serving signature name: "${name}" not found in signature def (signatures: ${known.join(', ')})`);
}
