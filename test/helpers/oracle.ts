// Test-side access to the Python TF oracle: reads <fixtures>/<model>/oracle.json (written by
// test/fixtures/make_fixtures.py), decodes its tensors into jetserve Tensors, and compares tensors
// with dtype-appropriate tolerance. Needs no native addon: buffers are plain typed arrays.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isDType, TYPED_ARRAY_OF, type DType, type NumericDType } from '../../src/engine/dtypes.js';
import type { Tensor } from '../../src/engine/tensor.js';

/** A tensor as oracle.json stores it. */
type RawTensor =
  | { dtype: string; shape: number[]; b64: string }
  | { dtype: 'string'; shape: number[]; strings_b64: string[] };

interface RawTensorInfo {
  name: string;
  dtype: string;
  shape: number[] | null;
}

interface RawOracle {
  model: string;
  format: 'saved_model' | 'graphdef';
  saved_model_dir?: string;
  graph_file?: string;
  tf_version: string;
  signatures?: Record<string, { method_name: string; inputs: Record<string, RawTensorInfo>; outputs: Record<string, RawTensorInfo> }>;
  input_tensors?: Record<string, string>;
  output_tensors?: Record<string, string>;
  tensors?: Record<string, RawTensorInfo>;
  graph_ops: string[];
  cases: {
    name: string;
    signature: string;
    inputs: Record<string, RawTensor>;
    outputs: Record<string, RawTensor>;
    examples?: Record<string, number>[];
    row_by_row?: boolean;
  }[];
}

/** One input/output of a SignatureDef, as TF itself reports it. */
export interface OracleTensorInfo {
  /** Graph tensor name, e.g. "serving_default_x:0". */
  name: string;
  /** TF enum name, e.g. "DT_FLOAT" ("DT_INVALID" for __saved_model_init_op's NoOp). */
  tfDtype: string;
  /** -1 for unknown dims, null for unknown rank. */
  shape: number[] | null;
}

export interface OracleSignature {
  methodName: string;
  inputs: Record<string, OracleTensorInfo>;
  outputs: Record<string, OracleTensorInfo>;
}

export interface OracleCase {
  /** Human-readable description, e.g. "batch 5". */
  name: string;
  signature: string;
  inputs: Record<string, Tensor>;
  /** What TF returned for `inputs`. */
  outputs: Record<string, Tensor>;
  /** classify/regress cases: the tf.Example features (name → float) serialized into `inputs`. */
  examples?: Record<string, number>[];
  /** True when TF ran each row alone (outputs stacked): compare with per-row requests, not one batch. */
  rowByRow?: boolean;
}

export interface Oracle {
  model: string;
  format: 'saved_model' | 'graphdef';
  /** <fixtures>/<model>: a model_base_path with one version, "1", for SavedModels. */
  basePath: string;
  /** <fixtures>/<model>/1 for SavedModels (what loadSavedModel takes). */
  savedModelPath?: string;
  /** The frozen GraphDef file, for format "graphdef". */
  graphFile?: string;
  /** GraphDef only: alias used in cases → graph tensor name to feed / fetch. */
  inputTensors?: Record<string, string>;
  outputTensors?: Record<string, string>;
  /** GraphDef only: what TF reports about the fed/fetched tensors (keyed by alias). */
  tensors?: Record<string, OracleTensorInfo>;
  tfVersion: string;
  /** Every SignatureDef of the "serve" MetaGraph, including TF2's __saved_model_init_op. */
  signatures: Record<string, OracleSignature>;
  /** Sorted op types in the graph and its function library. */
  graphOps: string[];
  /** Batch cases: TF ran each case's inputs as one batch. */
  cases: OracleCase[];
  /** TF ran every row alone (outputs stacked): compare with N single-row requests, not one batch. */
  rowByRowCases: OracleCase[];
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** $JETSERVE_FIXTURES (set by test/global-setup.ts), else test/fixtures/models. */
export function fixturesDir(): string {
  return resolve(process.env.JETSERVE_FIXTURES || join(REPO_ROOT, 'test', 'fixtures', 'models'));
}

const rawCache = new Map<string, RawOracle>();

function readRaw(model: string): RawOracle {
  const file = join(fixturesDir(), model, 'oracle.json');
  let raw = rawCache.get(file);
  if (!raw) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(
        `oracle for '${model}' not found at ${file} (${(err as Error).message}). ` +
          'Fixtures are made by test/global-setup.ts, or by hand: node test/fixtures/ensure-fixtures.mjs',
      );
    }
    raw = JSON.parse(text) as RawOracle;
    rawCache.set(file, raw);
  }
  return raw;
}

/** Loads <fixtures>/<model>/oracle.json with freshly decoded tensors (safe to mutate). */
export function loadOracle(model: string): Oracle {
  const raw = readRaw(model);
  const basePath = join(fixturesDir(), model);
  const info = (t: RawTensorInfo): OracleTensorInfo => ({ name: t.name, tfDtype: t.dtype, shape: t.shape });
  const infos = (m: Record<string, RawTensorInfo>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, info(v)]));
  return {
    model: raw.model,
    format: raw.format,
    basePath,
    savedModelPath: raw.saved_model_dir ? join(basePath, raw.saved_model_dir) : undefined,
    graphFile: raw.graph_file ? join(basePath, raw.graph_file) : undefined,
    inputTensors: raw.input_tensors,
    outputTensors: raw.output_tensors,
    tensors: raw.tensors ? infos(raw.tensors) : undefined,
    tfVersion: raw.tf_version,
    signatures: Object.fromEntries(
      Object.entries(raw.signatures ?? {}).map(([k, s]) => [
        k,
        { methodName: s.method_name, inputs: infos(s.inputs), outputs: infos(s.outputs) },
      ]),
    ),
    graphOps: raw.graph_ops,
    cases: raw.cases.filter((c) => !c.row_by_row).map(decodeCase),
    rowByRowCases: raw.cases.filter((c) => c.row_by_row).map(decodeCase),
  };
}

function decodeCase(c: RawOracle['cases'][number]): OracleCase {
  const tensors = (m: Record<string, RawTensor>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, decodeTensor(v)]));
  return {
    name: c.name,
    signature: c.signature,
    inputs: tensors(c.inputs),
    outputs: tensors(c.outputs),
    ...(c.examples ? { examples: c.examples } : {}),
    ...(c.row_by_row ? { rowByRow: true } : {}),
  };
}

/** The cases of `model`, optionally only those of one signature. */
export function oracleCases(model: string, signature?: string): OracleCase[] {
  const cases = loadOracle(model).cases;
  return signature === undefined ? cases : cases.filter((c) => c.signature === signature);
}

/** Decodes one oracle.json tensor into a Tensor backed by a fresh (unshared) typed array. */
export function decodeTensor(raw: RawTensor): Tensor {
  if (!isDType(raw.dtype)) throw new Error(`oracle: unknown dtype '${raw.dtype}'`);
  const shape = [...raw.shape];
  if ('strings_b64' in raw) {
    return { dtype: 'string', shape, data: raw.strings_b64.map((s) => new Uint8Array(Buffer.from(s, 'base64'))) };
  }
  const dtype = raw.dtype as NumericDType;
  const bytes = Buffer.from(raw.b64, 'base64');
  const Ctor = TYPED_ARRAY_OF[dtype];
  if (bytes.length % Ctor.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`oracle: ${bytes.length} bytes is not a whole number of ${dtype} values`);
  }
  const data = new Ctor(bytes.length / Ctor.BYTES_PER_ELEMENT);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  return { dtype, shape, data };
}

const FLOAT_DTYPES: ReadonlySet<DType> = new Set(['float32', 'float64', 'complex64', 'complex128']);
const MAX_REPORTED = 8;

/**
 * Asserts `actual` equals `expected`: same dtype and shape; exact for integers, bool, strings and
 * float16/bfloat16 bit patterns; for float32/float64/complex each value (complex: re and im
 * separately) within `relTol` relative error, with an absolute floor `absTol` for values near 0.
 * NaN equals NaN; ±Infinity must match exactly. `label` prefixes the failure message.
 */
export function expectTensorClose(
  actual: Tensor,
  expected: Tensor,
  relTol = 1e-6,
  absTol = relTol * 1e-3,
  label = 'tensor',
): void {
  expect(actual.dtype, `${label}: dtype`).toBe(expected.dtype);
  expect([...actual.shape], `${label}: shape`).toEqual([...expected.shape]);
  expect(actual.data.length, `${label}: data length`).toBe(expected.data.length);
  const mismatches: string[] = [];
  let total = 0;
  const report = (i: number, a: unknown, e: unknown) => {
    total++;
    if (mismatches.length < MAX_REPORTED) mismatches.push(`[${i}] actual ${fmt(a)} expected ${fmt(e)}`);
  };

  if (expected.dtype === 'string') {
    const a = actual.data as Uint8Array[];
    const e = expected.data as Uint8Array[];
    for (let i = 0; i < e.length; i++) {
      if (!bytesEqual(a[i]!, e[i]!)) report(i, a[i], e[i]);
    }
  } else if (FLOAT_DTYPES.has(expected.dtype)) {
    const a = actual.data as Float32Array | Float64Array;
    const e = expected.data as Float32Array | Float64Array;
    for (let i = 0; i < e.length; i++) {
      if (!floatClose(a[i]!, e[i]!, relTol, absTol)) report(i, a[i], e[i]);
    }
  } else {
    const a = actual.data as ArrayLike<number | bigint>;
    const e = expected.data as ArrayLike<number | bigint>;
    for (let i = 0; i < e.length; i++) {
      if (a[i] !== e[i]) report(i, a[i], e[i]);
    }
  }
  if (total > MAX_REPORTED) mismatches.push(`… ${total - MAX_REPORTED} more`);
  expect(
    mismatches,
    `${label}: ${total} of ${expected.data.length} ${expected.dtype} values differ` +
      (FLOAT_DTYPES.has(expected.dtype) ? ` (relTol ${relTol}, absTol ${absTol})` : ''),
  ).toEqual([]);
}

/** expectTensorClose over every output: the same set of names, each tensor close. */
export function expectOutputsClose(
  actual: Readonly<Record<string, Tensor>>,
  expected: Readonly<Record<string, Tensor>>,
  relTol = 1e-6,
  label = 'outputs',
): void {
  expect(Object.keys(actual).sort(), `${label}: output names`).toEqual(Object.keys(expected).sort());
  for (const key of Object.keys(expected)) {
    expectTensorClose(actual[key]!, expected[key]!, relTol, relTol * 1e-3, `${label}.${key}`);
  }
}

function floatClose(a: number, e: number, relTol: number, absTol: number): boolean {
  if (Number.isNaN(e) || Number.isNaN(a)) return Number.isNaN(a) && Number.isNaN(e);
  if (!Number.isFinite(e) || !Number.isFinite(a)) return a === e;
  return Math.abs(a - e) <= Math.max(relTol * Math.max(Math.abs(a), Math.abs(e)), absTol);
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function fmt(v: unknown): string {
  if (v instanceof Uint8Array) {
    const hex = Buffer.from(v.subarray(0, 32)).toString('hex');
    return `bytes(${v.length}) ${hex}${v.length > 32 ? '…' : ''}`;
  }
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  return String(v);
}
