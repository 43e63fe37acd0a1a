// The native fast path of the REST JSON codec (native/json_*.cc): TF Serving predict and KServe
// v2 infer requests decoded in C++ straight into 64-byte aligned tensor memory TF adopts, and
// their responses encoded in C++ into byte chunks. The TypeScript codec beside it (tfserving.ts,
// kserve.ts) is the reference: same tensors, same error codes and texts
// (test/wire/json-native-differential.test.ts holds the two to that on generated and mutated bodies).
//
// API
//   nativeJsonAvailable() → the addon has the codec (it is absent from an addon built before it)
//   decodePredictRequestNative(body, signatures, { limits, resolveSignature })
//       → DecodedPredictRequest, as decodePredictRequest
//   decodeInferRequestNative(body, signatures, signatureKey, { limits }) → KServeInferRequest,
//       as decodeInferRequest for an all-JSON body
//   predictResponseChunksNative(outputs, format, chunkBytes) → the predict response as byte chunks
//   inferResponseChunksNative(args, chunkBytes) → an all-JSON infer response as byte chunks
// Budgets (../limits.ts) hold as in the reference: elements counted while shapes are measured,
// nesting refused as a JSON parse error, both before memory is committed for the data.

import { TF_DATATYPE, TYPED_ARRAY_OF, BYTES_PER_ELEMENT, tfEnumName, type DType, type NumericDType } from '../../engine/dtypes.js';
import { native } from '../../engine/native.js';
import { elementCount, shapeDim, type Tensor } from '../../engine/tensor.js';
import { signatureNotFound, type SignatureInfo, type TensorSpec } from '../../engine/signature.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import { DEFAULT_LIMITS, LimitExceededError, REST_DEPTH_FLAG, REST_ELEMENTS_FLAG, type RequestLimits } from '../limits.js';
import { KSERVE_DATATYPE, kserveDatatype } from '../kserve-binary.js';
import type { KServeInferRequest, InferResponseArgs, Parameters, RequestedOutput } from './kserve.js';
import { TF_TYPE_STRING, type DecodedPredictRequest, type JsonFormat, type ResolveSignature } from './tfserving.js';
import { jsonString, unsupportedOutput } from './writer.js';

type Signatures = Readonly<Record<string, SignatureInfo>>;

/** The addon's codec exports (native/json_binding.cc). */
interface JsonBinding {
  jsonMeta(): Float64Array;
  jsonSlab(): ArrayBuffer;
  jsonSignatures(desc: unknown[]): object;
  jsonDecodePredict(body: Uint8Array, table: object, maxElements: number, maxDepth: number): unknown[] | undefined;
  jsonDecodeInfer(body: Uint8Array, table: object, signature: number, maxElements: number, maxDepth: number): unknown[] | undefined;
  jsonEncode(
    kind: number,
    prefix: string,
    keys: string[],
    dtypes: number[],
    shapes: Float64Array,
    datas: unknown[],
    b64: boolean[],
    limit: number,
    reuse: boolean,
  ): Uint8Array | [Uint8Array, object];
  jsonEncoderNext(encoder: object, limit: number, reuse: boolean): Uint8Array | null;
}

let binding: JsonBinding | null | undefined;
let meta: Float64Array;
let slab: ArrayBuffer | undefined;
let slabGeneration = -1;

function codec(): JsonBinding | null {
  if (binding !== undefined) return binding;
  try {
    const b = native() as unknown as Partial<JsonBinding>;
    binding = typeof b.jsonDecodePredict === 'function' ? (b as JsonBinding) : null;
  } catch {
    binding = null; // no addon: the TypeScript codec serves
  }
  if (binding) meta = binding.jsonMeta();
  return binding;
}

export function nativeJsonAvailable(): boolean {
  return codec() !== null;
}

/** The native codec reads the REST flags' names into its messages; other flags → the TS codec. */
export function nativeLimitsSupported(limits: RequestLimits): boolean {
  return (
    (limits.elementsFlag ?? REST_ELEMENTS_FLAG) === REST_ELEMENTS_FLAG && (limits.depthFlag ?? REST_DEPTH_FLAG) === REST_DEPTH_FLAG
  );
}

// ---------------------------------------------------------------------------------------------
// signature tables
// ---------------------------------------------------------------------------------------------

interface Table {
  handle: object;
  keys: string[];
  /** Per signature: its input names in Object.keys order (the native input indices). */
  inputs: string[][];
  outputs: string[][];
}

const TABLES = new WeakMap<Signatures, Table>();

function specDesc(name: string, spec: TensorSpec): unknown[] {
  const dtype = spec.dtype;
  return [
    name,
    spec.tfDtype,
    dtype !== undefined,
    dtype ? TF_TYPE_STRING[dtype] : tfEnumName(spec.tfDtype),
    dtype ? (KSERVE_DATATYPE[dtype] ?? '') : '',
    spec.shape,
  ];
}

function tableOf(b: JsonBinding, signatures: Signatures): Table {
  let table = TABLES.get(signatures);
  if (table) return table;
  const keys = Object.keys(signatures);
  const inputs = keys.map((k) => Object.keys(signatures[k]!.inputs));
  const outputs = keys.map((k) => Object.keys(signatures[k]!.outputs));
  const desc = keys.map((k, i) => {
    const sig = signatures[k]!;
    const names = inputs[i]!;
    const sorted = names.map((n, j) => [n, j] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return [
      k,
      names.map((n) => specDesc(n, sig.inputs[n]!)),
      sorted.map(([, j]) => j),
      outputs[i]!.map((n) => specDesc(n, sig.outputs[n]!)),
    ];
  });
  table = { handle: b.jsonSignatures(desc), keys, inputs, outputs };
  TABLES.set(signatures, table);
  return table;
}

// ---------------------------------------------------------------------------------------------
// results
// ---------------------------------------------------------------------------------------------

const STATUS_OK = 0;
const STATUS_ERROR = 1;
const STATUS_UNKNOWN_SIGNATURE = 2;
const STATUS_META_GROWN = 3;
const KIND_LIMIT = 1;

/** The meta array holding the last call's result (refetched when the addon had to grow it). */
function resultMeta(b: JsonBinding): Float64Array {
  if (meta[0] === STATUS_META_GROWN) meta = b.jsonMeta();
  return meta;
}

function errorOf(m: Float64Array, extras: unknown[]): JetserveError {
  const message = (extras[0] as Buffer).toString('utf8');
  if (m[4] === KIND_LIMIT) return new LimitExceededError(message);
  return JetserveError.fromTfCode(m[3]!, message);
}

function utf8Of(value: unknown): string {
  return (value as Buffer).toString('utf8');
}

/** Reads the tensor described at meta[at…]; returns the index after it. */
function readTensor(
  b: JsonBinding,
  m: Float64Array,
  at: number,
  extras: unknown[] | undefined,
  sig: SignatureInfo,
  names: string[],
  out: Record<string, Tensor>,
): number {
  const name = names[m[at]!]!;
  const rank = m[at + 1]!;
  // packed small integers, as every shape (engine/tensor.ts shapeDim); ranks 1 and 2 (nearly every
  // request) as literals, which need no growing
  let shape: number[];
  if (rank === 1) shape = [shapeDim(m[at + 2]!)];
  else if (rank === 2) shape = [shapeDim(m[at + 2]!), shapeDim(m[at + 3]!)];
  else {
    shape = [];
    for (let d = 0; d < rank; d++) shape.push(shapeDim(m[at + 2 + d]!));
  }
  at += 2 + rank;
  const where = m[at]!;
  const offset = m[at + 1]!;
  const length = m[at + 2]!;
  const dtype = sig.inputs[name]!.dtype!;
  if (where === -3) {
    const bytes = extras![offset] as Buffer;
    const ends = extras![length] as Float64Array;
    const data = new Array<Uint8Array>(ends.length - 1);
    for (let i = 0; i < data.length; i++) {
      data[i] = new Uint8Array(bytes.buffer, bytes.byteOffset + ends[i]!, ends[i + 1]! - ends[i]!);
    }
    out[name] = { dtype, shape, data };
    return at + 3;
  }
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const count = length / BYTES_PER_ELEMENT[dtype];
  let data;
  if (where === -2) {
    data = new Ctor(0);
  } else if (where === -1) {
    if (m[1] !== slabGeneration) {
      slab = b.jsonSlab();
      slabGeneration = m[1]!;
    }
    // float32 by name: optimized code builds a known constructor's view inline, a variable one
    // through the generic CreateTypedArray builtin
    data = dtype === 'float32' ? new Float32Array(slab!, offset, count) : new Ctor(slab!, offset, count);
  } else {
    data = new Ctor(extras![where] as ArrayBuffer, offset, count);
  }
  out[name] = { dtype, shape, data };
  return at + 3;
}

// ---------------------------------------------------------------------------------------------
// TF Serving predict
// ---------------------------------------------------------------------------------------------

export interface NativeDecodeOptions {
  limits?: RequestLimits;
  /**
   * Resolves a signature name the table lacks (the model's own error for an unknown name). When
   * it returns a signature instead, the request is decoded again with it added.
   */
  resolveSignature?: ResolveSignature;
}

/**
 * decodePredictRequest on the native codec. `signatures` is the model's table (cached per
 * object: pass the same object for every request).
 */
export function decodePredictRequestNative(
  body: Uint8Array,
  signatures: Signatures,
  options: NativeDecodeOptions = {},
): DecodedPredictRequest {
  const b = codec();
  if (!b) throw new Error('the native JSON codec is not in this addon build');
  const limits = options.limits ?? DEFAULT_LIMITS;
  const table = tableOf(b, signatures);
  const extras = b.jsonDecodePredict(body, table.handle, limits.maxTensorElements, limits.maxJsonDepth);
  const m = resultMeta(b);
  if (m[0] === STATUS_ERROR) throw errorOf(m, extras!);
  if (m[0] === STATUS_UNKNOWN_SIGNATURE) {
    const name = utf8Of(extras![0]);
    const resolve = options.resolveSignature ?? (() => {
      throw signatureNotFound(name, Object.keys(signatures));
    });
    const found = resolve(name);
    return decodePredictRequestNative(body, Object.freeze({ ...signatures, [name]: found }), options);
  }
  const sigIndex = m[3]!;
  const row = m[4] === 1;
  const n = m[5]!;
  const key = table.keys[sigIndex]!;
  const sig = signatures[key]!;
  const inputs: Record<string, Tensor> = {};
  let at = 6;
  for (let t = 0; t < n; t++) at = readTensor(b, m, at, extras, sig, table.inputs[sigIndex]!, inputs);
  return { signatureName: key, inputs, format: row ? 'row' : 'columnar' };
}

// ---------------------------------------------------------------------------------------------
// KServe v2 infer
// ---------------------------------------------------------------------------------------------

function parametersOf(pairs: unknown): Parameters {
  const out: Parameters = Object.create(null) as Parameters;
  const list = pairs as (string | number | boolean)[];
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1]!;
  return out;
}

/** decodeInferRequest (all-JSON body) on the native codec, for the signature `signatureKey`. */
export function decodeInferRequestNative(
  body: Uint8Array,
  signatures: Signatures,
  signatureKey: string,
  options: { limits?: RequestLimits } = {},
): KServeInferRequest {
  const b = codec();
  if (!b) throw new Error('the native JSON codec is not in this addon build');
  const limits = options.limits ?? DEFAULT_LIMITS;
  const table = tableOf(b, signatures);
  const sigIndex = table.keys.indexOf(signatureKey);
  if (sigIndex < 0) throw signatureNotFound(signatureKey, table.keys);
  const extras = b.jsonDecodeInfer(body, table.handle, sigIndex, limits.maxTensorElements, limits.maxJsonDepth);
  const m = resultMeta(b);
  if (m[0] !== STATUS_OK) throw errorOf(m, extras!);
  const sig = signatures[signatureKey]!;
  const idAt = m[3]!;
  const paramsAt = m[4]!;
  const n = m[7]!;
  const inputs: Record<string, Tensor> = {};
  let at = 8;
  for (let t = 0; t < n; t++) at = readTensor(b, m, at, extras, sig, table.inputs[sigIndex]!, inputs);
  const outputNames = table.outputs[sigIndex]!;
  const count = m[at++]!;
  const outputs: RequestedOutput[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const o: RequestedOutput = { name: outputNames[m[at]!]!, binary: m[at + 1] === 1 };
    if (m[at + 2]! >= 0) o.parameters = parametersOf(extras![m[at + 2]!]);
    outputs[k] = o;
    at += 3;
  }
  const request: KServeInferRequest = {
    inputs,
    outputs,
    outputsRequested: m[5] === 1,
    binaryDataOutput: m[6] === 1,
    parameters: paramsAt >= 0 ? parametersOf(extras![paramsAt]) : {},
  };
  if (idAt >= 0) request.id = utf8Of(extras![idAt]);
  return request;
}

// ---------------------------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------------------------

const NO_KEYS = Object.freeze(['']) as string[];
const KIND_ROW = 0;
const KIND_COLUMNAR = 1;
const KIND_KSERVE = 2;

/** dtypes the JSON writer formats (complex has no JSON form). */
function writable(dtype: DType): boolean {
  return dtype !== 'complex64' && dtype !== 'complex128';
}

let shapeScratch = new Float64Array(64);

/** [rank, dims…] per tensor, in a reused array (the addon reads it during the call only). */
function shapesOf(tensors: readonly Tensor[]): Float64Array {
  let size = 0;
  for (const t of tensors) size += 1 + t.shape.length;
  if (size > shapeScratch.length) shapeScratch = new Float64Array(size * 2);
  const shapes = shapeScratch;
  let at = 0;
  for (const t of tensors) {
    shapes[at++] = t.shape.length;
    for (const d of t.shape) shapes[at++] = d;
  }
  return shapes;
}

/** The chunks after the first, from the addon's encoder. */
function* moreChunks(
  b: JsonBinding,
  first: Uint8Array,
  encoder: object,
  limit: number,
  reuse: boolean,
): Generator<Uint8Array, void, undefined> {
  yield first;
  for (;;) {
    const next = b.jsonEncoderNext(encoder, limit, reuse);
    if (next === null) return;
    yield next;
  }
}

/** A one-chunk response as an iterator (no generator object for the common small response). */
function chunksOf(
  b: JsonBinding,
  first: Uint8Array | [Uint8Array, object],
  limit: number,
  reuse: boolean,
): Iterator<Uint8Array, void, undefined> {
  if (!Array.isArray(first)) return [first][Symbol.iterator]() as Iterator<Uint8Array, void, undefined>;
  return moreChunks(b, first[0], first[1], limit, reuse);
}

/**
 * predictResponseChunks' text as UTF-8 chunks of about `chunkBytes` (one chunk when it fits).
 * Errors (no outputs, inconsistent batch, dtypes JSON cannot hold) are thrown here, before any
 * text, with the reference's messages.
 *
 * `reuseChunks`: the chunks of a streamed response are views of the two halves of one block used
 * in turn (the block goes on to a later response when this one is finished), so a chunk's bytes
 * are valid only until the chunk after the next one is produced — for a consumer that
 * hands each chunk to something that copies it (uWebSockets.js's write) before it asks for more
 * than one further chunk. One allocation per response instead of one per chunk.
 */
export function predictResponseChunksNative(
  outputs: Readonly<Record<string, Tensor>>,
  format: JsonFormat,
  chunkBytes: number,
  reuseChunks = false,
): Iterator<Uint8Array, void, undefined> {
  const b = codec();
  if (!b) throw new Error('the native JSON codec is not in this addon build');
  const names = Object.keys(outputs);
  if (names.length === 0) throw invalidArgument('Cannot convert empty tensor map to JSON');
  const tensors = names.map((n) => outputs[n]!);
  if (format === 'row') {
    let batch = -1;
    for (let k = 0; k < names.length; k++) {
      const t = tensors[k]!;
      if (t.shape.length === 0) throw invalidArgument(`Tensor name: ${names[k]} has no shape information `);
      if (batch >= 0 && t.shape[0] !== batch) {
        throw invalidArgument(`Tensor name: ${names[k]} has inconsistent batch size: ${t.shape[0]} expecting: ${batch}`);
      }
      batch = t.shape[0]!;
    }
  }
  for (const t of tensors) if (!writable(t.dtype)) unsupportedOutput(TF_TYPE_STRING[t.dtype]);
  const first = b.jsonEncode(
    format === 'row' ? KIND_ROW : KIND_COLUMNAR,
    '',
    names.length > 1 ? names.map(jsonString) : NO_KEYS,
    tensors.map((t) => TF_DATATYPE[t.dtype]),
    shapesOf(tensors),
    tensors.map((t) => t.data),
    names.map((n, k) => tensors[k]!.dtype === 'string' && n.endsWith('_bytes')),
    chunkBytes,
    reuseChunks,
  );
  return chunksOf(b, first, chunkBytes, reuseChunks);
}

/** The whole predict response (encodePredictResponse's text as UTF-8). */
export function encodePredictResponseNative(outputs: Readonly<Record<string, Tensor>>, format: JsonFormat): Uint8Array {
  const parts: Uint8Array[] = [];
  const it = predictResponseChunksNative(outputs, format, 1 << 30);
  for (let r = it.next(); !r.done; r = it.next()) parts.push(r.value);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * inferResponseChunks' text (no binary outputs) as UTF-8 chunks of about `chunkBytes`. Errors
 * (dtypes KServe cannot express) are thrown here, before any text. `reuseChunks`: as
 * predictResponseChunksNative's.
 */
export function inferResponseChunksNative(
  args: InferResponseArgs,
  chunkBytes: number,
  reuseChunks = false,
): Iterator<Uint8Array, void, undefined> {
  const b = codec();
  if (!b) throw new Error('the native JSON codec is not in this addon build');
  const names = Object.keys(args.outputs);
  const tensors = names.map((n) => args.outputs[n]!);
  const headers = names.map((name, k) => {
    const t = tensors[k]!;
    const datatype = kserveDatatype(t.dtype, `output '${name}'`);
    return `{"name":${jsonString(name)},"datatype":"${datatype}","shape":[${t.shape.join(',')}],"data":`;
  });
  let prefix = `{"model_name":${jsonString(args.modelName)}`;
  if (args.modelVersion !== undefined) prefix += `,"model_version":${jsonString(String(args.modelVersion))}`;
  if (args.id !== undefined && args.id !== '') prefix += `,"id":${jsonString(args.id)}`;
  if (args.parameters && Object.keys(args.parameters).length > 0) prefix += `,"parameters":${JSON.stringify(args.parameters)}`;
  prefix += ',"outputs":[';
  const first = b.jsonEncode(
    KIND_KSERVE,
    prefix,
    headers,
    tensors.map((t) => TF_DATATYPE[t.dtype]),
    shapesOf(tensors),
    tensors.map((t) => t.data),
    names.map(() => false),
    chunkBytes,
    reuseChunks,
  );
  return chunksOf(b, first, chunkBytes, reuseChunks);
}

/** Number of elements in all outputs (callers pick one-piece vs chunked writing by it). */
export function totalElements(outputs: Readonly<Record<string, Tensor>>): number {
  let n = 0;
  for (const k in outputs) n += elementCount(outputs[k]!.shape);
  return n;
}
