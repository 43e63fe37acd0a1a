// TF Serving REST JSON (reference/tfserving.md §1.4–1.8): predict / classify / regress requests
// and responses, model status and metadata. Pure: bytes in, Tensors / strings out.
//
// API
//   decodePredictRequest(body, resolveSignature, { alloc?, limits? })
//       → { signatureName, inputs: Record<string, Tensor>, format: 'row' | 'columnar' }
//     Row (`instances`) or columnar (`inputs`) format, single-input shorthands, {"b64": …} for
//     DT_STRING, NaN / Infinity / -Infinity / Inf tokens, int64 beyond 2^53 exact. Numeric inputs
//     are written straight into allocTensor() buffers (64-byte aligned native memory), or into
//     `alloc`'s (plainTensor in worker threads, whose buffers can be transferred).
//     `resolveSignature(name)` gets "serving_default" when the request names none, and should
//     throw TF Serving's error for an unknown signature.
//   encodePredictResponse(outputs, format) → JSON text ({"predictions": …} or {"outputs": …})
//   predictResponseChunks(outputs, format, chunkChars) → the same text in chunks (streamed responses)
//   decodeExamplesRequest(body, limits?) → { signatureName, examples: Uint8Array[], context?: Uint8Array }
//     (each example / the context as a serialized tf.Example)
//   examplesTensor(request) → the DT_STRING [n] tensor of serialized examples a classify/regress
//     signature reads (context merged into each example by protobuf concatenation, as TF Serving)
//   encodeClassifyResponse({ scores?, classes? }, expectedBatch?) → {"results": [[["label", score], …], …]}
//   encodeRegressResponse(outputs, expectedBatch?) → {"results": [v, …]}
//   encodeModelStatus(statuses) → GetModelStatusResponse JSON
//   encodeModelMetadata({ name, version, signatures }) → GetModelMetadataResponse JSON
//   encodeErrorBody(message) → {"error": "…"}
//
// Errors: JetserveError INVALID_ARGUMENT with TF Serving's texts (plus the input's name), or
// UNIMPLEMENTED for input dtypes JSON can't express (complex, resource); unlike TF Serving, half,
// bfloat16 and uint16 inputs are accepted from JSON numbers. Like TF Serving, a tensor's shape is
// what the JSON says (rows must agree with each other), never checked against the signature: the
// engine checks it when the model validates shapes, otherwise TF decides. `limits` (../limits.ts): more tensor
// elements than the budget → LimitExceededError, counted while shapes are measured and before
// tensor memory is allocated; nesting deeper than the budget → a JSON Parse error.
// Deliberate differences from TF Serving are listed in src/wire/README.md.

import { TF_DATATYPE_NAME, tfEnumName, type DType, type NumericDType } from '../../engine/dtypes.js';
import { allocTensor, type Tensor, type TensorAllocator } from '../../engine/tensor.js';
import {
  DEFAULT_SIGNATURE,
  formatShape,
  type SignatureInfo,
  type TensorSpec,
} from '../../engine/signature.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import { concatBytes, encodeExample, type Feature } from '../protobuf/example.js';
import { DEFAULT_LIMITS, LimitExceededError, type RequestLimits } from '../limits.js';
import {
  decodeBase64Strict,
  FAST_PATH_MISS,
  JsonNumber,
  JsonReader,
  LEAF_MODES,
  LeafMode,
  type LeafModeInfo,
  ParseErrors,
  type NumericArray,
  type FillContext,
  type JsonObject,
  type JsonValue,
  type Measured,
} from './reader.js';
import {
  ChunkedText,
  formatFloat32,
  writeFloat32,
  jsonString,
  jsonStringFromBytes,
  nestedList,
  nestedListChunks,
  tfElementFormatter,
  unsupportedOutput,
  type ElementFormatter,
} from './writer.js';

export type JsonFormat = 'row' | 'columnar';

export interface DecodedPredictRequest {
  /** The signature the request names, or "serving_default". */
  signatureName: string;
  inputs: Record<string, Tensor>;
  /** Decides the response layout: row → "predictions", columnar → "outputs". */
  format: JsonFormat;
}

export type ResolveSignature = (name: string) => SignatureInfo;

export interface DecodeOptions {
  /** Numeric tensor allocator (default allocTensor: aligned native memory). */
  alloc?: TensorAllocator;
  /** Element and nesting budgets (default DEFAULT_LIMITS), enforced before tensor memory is allocated. */
  limits?: RequestLimits;
}

/** TF's DataTypeString names, used in TF Serving's JSON error texts. */
export const TF_TYPE_STRING: Record<DType, string> = {
  float16: 'half',
  bfloat16: 'bfloat16',
  float32: 'float',
  float64: 'double',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
  complex64: 'complex64',
  complex128: 'complex128',
};

// ---------------------------------------------------------------------------------------------
// predict request
// ---------------------------------------------------------------------------------------------

/** instances: what pass 1 learned (signature-independent). */
type InstancesInfo =
  | { kind: 'notArray' }
  | { kind: 'empty' }
  | { kind: 'values'; start: number; elements: Measured[] }
  | { kind: 'objects'; rows: RowInfo[] }
  /** A structural error, thrown once the signature checks TF Serving does first have passed. */
  | { kind: 'error'; error: JetserveError; firstIsObject: boolean };

interface RowInfo {
  start: number;
  entries: RowEntry[];
}

interface RowEntry {
  key: string;
  m: Measured;
}

type InputsInfo =
  | { kind: 'value'; m: Measured }
  | { kind: 'object'; entries: Map<string, Measured | JetserveError> }
  | { kind: 'error'; error: JetserveError };

/** Marks errors that are structural (deferred until the signature checks ran) vs syntax errors. */
function isParseError(err: unknown): boolean {
  return err instanceof JetserveError && err.message.startsWith('JSON Parse error');
}

/** Errors that end decoding at once, unchanged: syntax (nesting depth included) and budgets. */
function isFatal(err: unknown): boolean {
  return isParseError(err) || err instanceof LimitExceededError || !(err instanceof JetserveError);
}

function emptyDocument(): JetserveError {
  return invalidArgument('JSON Parse error: The document is empty');
}

/** Opens the top-level object: empty / non-object documents fail like TF Serving. */
function openDocument(reader: JsonReader): number {
  if (reader.n === 0) throw emptyDocument();
  const p = reader.ws(0);
  if (p >= reader.n) throw reader.parseError(ParseErrors.empty, p);
  if (reader.at(p) !== 0x7b) {
    reader.skipValue(p); // a syntax error is reported as such
    throw invalidArgument(`JSON Value: ${reader.valueText(p)} Is not object`);
  }
  return p;
}

function signatureNameAt(reader: JsonReader, start: number): string {
  if (reader.at(start) !== 0x22) {
    throw invalidArgument(
      `JSON Value: ${reader.valueText(start)} not formatted correctly. 'signature_name' key must be a string value.`,
    );
  }
  return reader.readString(start);
}

export function decodePredictRequest(
  body: Uint8Array | string,
  resolveSignature: ResolveSignature,
  options: DecodeOptions = {},
): DecodedPredictRequest {
  const alloc = options.alloc ?? allocTensor;
  const reader = new JsonReader(body, undefined, options.limits ?? DEFAULT_LIMITS);
  const budget = reader.budget;
  const docStart = openDocument(reader);

  // ---- pass 1: top-level members ----
  // instances / inputs take the single-pass fast path (shape and values in one walk) when the
  // signature is already known here — signature_name absent or seen first — and the value is
  // well formed; otherwise they are measured (no number conversion) and filled in pass 2.
  let signatureAt = -1;
  let instancesStart = -1;
  let inputsStart = -1;
  let instances: InstancesInfo | undefined;
  let inputs: InputsInfo | undefined;
  let fast:
    | { key: 'instances' | 'inputs'; signatureName: string; signature: SignatureInfo; inputs: Record<string, Tensor>; budgetMark: number }
    | undefined;
  let guess: { name: string; signature: SignatureInfo } | null | undefined; // null: could not resolve
  const guessSignature = (): { name: string; signature: SignatureInfo } | null => {
    if (guess !== undefined) return guess;
    guess = null;
    if (signatureAt >= 0 && reader.at(signatureAt) !== 0x22) return guess;
    const n = signatureAt >= 0 ? reader.readString(signatureAt) : '';
    const name = n === '' ? DEFAULT_SIGNATURE : n;
    try {
      guess = { name, signature: resolveSignature(name) };
    } catch {
      // reported in pass 2
    }
    return guess;
  };
  const seen = new Set<string>();
  reader.members(docStart, (key, start) => {
    // only the keys read are remembered: other members are skipped, however many there are
    if (key !== 'signature_name' && key !== 'instances' && key !== 'inputs') return reader.skipValue(start);
    if (seen.has(key)) return reader.skipValue(start); // first occurrence wins (rapidjson FindMember)
    seen.add(key);
    if (key === 'signature_name') {
      signatureAt = start;
      return reader.skipValue(start);
    }
    if (key === 'instances' || key === 'inputs') {
      if (key === 'instances') instancesStart = start;
      else inputsStart = start;
      if (!fast && (key === 'instances' ? inputsStart : instancesStart) < 0) {
        const g = guessSignature();
        const mark = budget.taken;
        const r = g ? tryFastPath(reader, key, start, g.signature, alloc) : undefined;
        if (r) {
          fast = { key, signatureName: g!.name, signature: g!.signature, inputs: r.inputs, budgetMark: mark };
          return r.end;
        }
        budget.rewind(mark); // the precise path measures (and counts) again
      }
      if (key === 'instances') {
        const r = measureOrDefer(reader, start, 'instances');
        instances = r.info as InstancesInfo;
        return r.end;
      }
      const r = measureOrDefer(reader, start, 'inputs');
      inputs = r.info as InputsInfo;
      return r.end;
    }
    return reader.skipValue(start);
  });

  // ---- pass 2: signature, format checks, allocation, fill ----
  const requested = signatureAt >= 0 ? signatureNameAt(reader, signatureAt) : '';
  const signatureName = requested === '' ? DEFAULT_SIGNATURE : requested;
  const signature = guess && guess.name === signatureName ? guess.signature : resolveSignature(signatureName);
  const names = sortedInputNames(signature);
  if (names.length === 0) {
    throw invalidArgument(`Failed to get input map for signature: ${requested === '' ? 'DEFAULT' : requested}`);
  }
  if (instancesStart >= 0 && inputsStart >= 0) {
    throw invalidArgument("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist");
  }
  if (fast) {
    if (fast.signatureName === signatureName) {
      return { signatureName, inputs: fast.inputs, format: fast.key === 'instances' ? 'row' : 'columnar' };
    }
    // signature_name came after the values and named another signature: measure now
    budget.rewind(fast.budgetMark);
    if (fast.key === 'instances') instances = measureOrDefer(reader, instancesStart, 'instances').info as InstancesInfo;
    else inputs = measureOrDefer(reader, inputsStart, 'inputs').info as InputsInfo;
  }
  if (instances) {
    return { signatureName, inputs: decodeRows(reader, instances, signature, names, alloc), format: 'row' };
  }
  if (inputs) {
    return { signatureName, inputs: decodeColumns(reader, inputs, signature, names, alloc), format: 'columnar' };
  }
  throw invalidArgument("Missing 'inputs' or 'instances' key");
}

const SORTED_INPUT_NAMES = new WeakMap<SignatureInfo, readonly string[]>();

/** The signature's input names, sorted (cached: signatures are immutable). */
function sortedInputNames(signature: SignatureInfo): string[] {
  let names = SORTED_INPUT_NAMES.get(signature);
  if (!names) {
    names = Object.freeze(Object.keys(signature.inputs).sort());
    SORTED_INPUT_NAMES.set(signature, names);
  }
  return names as string[];
}

/** Measures instances / inputs; a structural error is kept (thrown in pass 2, after TF Serving's earlier checks). */
function measureOrDefer(
  reader: JsonReader,
  start: number,
  key: 'instances' | 'inputs',
): { info: InstancesInfo | InputsInfo; end: number } {
  try {
    return key === 'instances' ? measureInstances(reader, start) : measureInputs(reader, start);
  } catch (err) {
    if (isFatal(err)) throw err;
    const end = reader.skipValue(start);
    if (key === 'inputs') return { info: { kind: 'error', error: err as JetserveError }, end };
    const first = reader.ws(start + 1);
    return { info: { kind: 'error', error: err as JetserveError, firstIsObject: reader.isPlainObject(first) }, end };
  }
}

/**
 * The single-pass decode of instances (single-input signature, plain values) or inputs (a bare
 * value for a single input, or an object). undefined when anything is off — the caller then
 * takes the precise path, which produces TF Serving's error.
 */
function tryFastPath(
  reader: JsonReader,
  key: 'instances' | 'inputs',
  start: number,
  signature: SignatureInfo,
  alloc: TensorAllocator,
): { end: number; inputs: Record<string, Tensor> } | undefined {
  const names = Object.keys(signature.inputs);
  try {
    if (key === 'instances') {
      if (names.length !== 1 || reader.at(start) !== 0x5b) return undefined;
      const first = reader.ws(start + 1);
      if (reader.at(first) === 0x5d || reader.isPlainObject(first)) return undefined;
      const name = names[0]!;
      const r = fastTensor(reader, start, signature.inputs[name]!, alloc);
      return r && { end: r.end, inputs: { [name]: r.tensor } };
    }
    if (!reader.isPlainObject(start)) {
      if (names.length !== 1) return undefined;
      const name = names[0]!;
      const r = fastTensor(reader, start, signature.inputs[name]!, alloc);
      return r && { end: r.end, inputs: { [name]: r.tensor } };
    }
    const out: Record<string, Tensor> = {};
    let ok = true;
    const end = reader.members(start, (k, v) => {
      if (!ok || !Object.hasOwn(signature.inputs, k) || Object.hasOwn(out, k)) return reader.skipValue(v);
      const r = fastTensor(reader, v, signature.inputs[k]!, alloc);
      if (!r) {
        ok = false;
        return reader.skipValue(v);
      }
      out[k] = r.tensor;
      return r.end;
    });
    if (!ok || names.some((n) => !Object.hasOwn(out, n))) return undefined;
    return { end, inputs: out };
  } catch (err) {
    if (err === FAST_PATH_MISS) return undefined;
    throw err;
  }
}

function fastTensor(
  reader: JsonReader,
  start: number,
  spec: TensorSpec,
  alloc: TensorAllocator,
): { end: number; tensor: Tensor } | undefined {
  const dtype = spec.dtype;
  if (dtype === undefined || !JSON_INPUT_DTYPES.has(dtype)) return undefined;
  const m = MODES[dtype]!;
  let block: Tensor | undefined;
  const grow = (capacity: number, previous: NumericArray | undefined, used: number): NumericArray => {
    block = alloc(dtype as NumericDType, [capacity]);
    const next = block.data as NumericArray;
    if (previous && used > 0) (next as Uint8Array).set((previous as Uint8Array).subarray(0, used));
    return next;
  };
  const r = reader.measureAndFill(start, m.mode, grow, m.min, m.max);
  reader.budget.take(r.count);
  if (dtype === 'string') return { end: r.end, tensor: { dtype, shape: r.shape, data: r.data as Uint8Array[] } };
  const d = r.data as NumericArray;
  // a view of the used part: the block may be larger (the engine passes TF the view's length)
  const Ctor = d.constructor as new (buffer: ArrayBufferLike, byteOffset: number, length: number) => NumericArray;
  return { end: r.end, tensor: { dtype, shape: r.shape, data: new Ctor(d.buffer, d.byteOffset, r.count) } };
}

function measureInstances(reader: JsonReader, start: number): { info: InstancesInfo; end: number } {
  if (reader.at(start) !== 0x5b) return { info: { kind: 'notArray' }, end: reader.skipValue(start) };
  const first = reader.ws(start + 1);
  if (reader.at(first) === 0x5d) return { info: { kind: 'empty' }, end: first + 1 };
  if (reader.isPlainObject(first)) {
    const rows: RowInfo[] = [];
    const end = reader.elements(start, (i, p) => {
      if (!reader.isPlainObject(p)) {
        reader.skipValue(p);
        throw invalidArgument(`Expecting object but got list at item ${i} of input list`);
      }
      const row: RowEntry[] = [];
      const keys = new Set<string>();
      const objEnd = reader.members(p, (key, v) => {
        if (keys.has(key)) {
          throw invalidArgument(`Failed to process element: ${i} of 'instances' list. Error: duplicate key '${key}'`);
        }
        keys.add(key);
        try {
          const m = reader.measureTensor(v);
          reader.budget.take(Math.max(1, m.count)); // an empty list still costs a row
          row.push({ key, m });
          return m.end;
        } catch (err) {
          throw rowError(err, i, key);
        }
      });
      rows.push({ start: p, entries: row });
      return objEnd;
    });
    return { info: { kind: 'objects', rows }, end };
  }
  const elements: Measured[] = [];
  const end = reader.elements(start, (i, p) => {
    if (reader.isPlainObject(p)) {
      reader.skipValue(p);
      throw invalidArgument(`Expecting value/list but got object at item ${i} of input list`);
    }
    try {
      const m = reader.measureTensor(p);
      reader.budget.take(Math.max(1, m.count)); // an empty list still costs a row
      elements.push(m);
      return m.end;
    } catch (err) {
      throw rowError(err, i);
    }
  });
  return { info: { kind: 'values', start, elements }, end };
}

function rowError(err: unknown, row: number, key?: string): unknown {
  if (isFatal(err)) return err;
  if (!(err instanceof JetserveError)) return err;
  const where = key === undefined ? `${row}` : `${row} key: ${key}`;
  return new JetserveError(err.code, `Failed to process element: ${where} of 'instances' list. Error: ${err.message}`);
}

function measureInputs(reader: JsonReader, start: number): { info: InputsInfo; end: number } {
  if (!reader.isPlainObject(start)) {
    const m = reader.measureTensor(start);
    reader.budget.take(m.count);
    return { info: { kind: 'value', m }, end: m.end };
  }
  const entries = new Map<string, Measured | JetserveError>();
  const end = reader.members(start, (key, v) => {
    if (entries.has(key)) return reader.skipValue(v);
    try {
      const m = reader.measureTensor(v);
      reader.budget.take(Math.max(1, m.count)); // an empty list still costs a row
      entries.set(key, m);
      return m.end;
    } catch (err) {
      if (isFatal(err)) throw err;
      entries.set(key, err as JetserveError);
      return reader.skipValue(v);
    }
  });
  return { info: { kind: 'object', entries }, end };
}

function decodeRows(
  reader: JsonReader,
  info: InstancesInfo,
  signature: SignatureInfo,
  names: string[],
  alloc: TensorAllocator,
): Record<string, Tensor> {
  if (info.kind === 'notArray') throw invalidArgument("Excepting 'instances' to be an list/array");
  if (info.kind === 'empty') throw invalidArgument("No values in 'instances' array");
  const firstIsObject = info.kind === 'error' ? info.firstIsObject : info.kind === 'objects';
  if (names.length > 1 && !firstIsObject) {
    throw invalidArgument(
      'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map',
    );
  }
  if (info.kind === 'error') throw info.error;

  if (info.kind === 'values') {
    const name = names[0]!;
    const spec = signature.inputs[name]!;
    const first = info.elements[0]!;
    for (let i = 1; i < info.elements.length; i++) {
      const mismatch = shapeMismatch(info.elements[i]!, first);
      if (mismatch) throw invalidArgument(`Failed to process element: ${i} of 'instances' list. Error: ${mismatch}`);
    }
    const n = info.elements.length;
    const rowCount = first.count;
    const tensor = allocInput(reader, name, spec, [n, ...first.shape], first.start, alloc);
    fill(reader, info.start, tensor, 0, n * rowCount, name, spec, (msg, leaf) =>
      invalidArgument(
        `Failed to process element: ${rowCount > 0 ? Math.floor(leaf / rowCount) : 0} of 'instances' list. Error: ${msg}`,
      ),
    );
    return { [name]: tensor };
  }

  // rows of objects: every row's key set must equal the signature's inputs
  const rows = info.rows;
  const nameSet = new Set(names);
  const firstOf = new Map<string, Measured>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    for (const { key, m } of row.entries) {
      if (!nameSet.has(key)) {
        throw invalidArgument(
          `Failed to process element: ${i} key: ${key} of 'instances' list. Error: JSON object: does not have named input: ${key}`,
        );
      }
      const first = firstOf.get(key);
      if (first === undefined) {
        firstOf.set(key, m);
      } else {
        const mismatch = shapeMismatch(m, first);
        if (mismatch) {
          throw invalidArgument(`Failed to process element: ${i} key: ${key} of 'instances' list. Error: ${mismatch}`);
        }
      }
    }
    if (row.entries.length !== names.length) {
      throw invalidArgument(
        `Failed to process element: ${i} of 'instances' list. JSON object: ${reader.valueText(row.start)} must only have keys: ${names.join(',')}`,
      );
    }
  }
  const out: Record<string, Tensor> = {};
  const n = rows.length;
  for (const name of names) {
    const first = firstOf.get(name)!;
    out[name] = allocInput(reader, name, signature.inputs[name]!, [n, ...first.shape], first.start, alloc);
  }
  for (let i = 0; i < n; i++) {
    for (const { key, m } of rows[i]!.entries) {
      fill(reader, m.start, out[key]!, i * m.count, m.count, key, signature.inputs[key]!, (msg) =>
        invalidArgument(`Failed to process element: ${i} key: ${key} of 'instances' list. Error: ${msg}`),
      );
    }
  }
  return out;
}

/** TF Serving's per-element check in row format: same size, then same shape, as element 0. */
function shapeMismatch(m: Measured, first: Measured): string | undefined {
  if (m.count !== first.count) return `Expecting tensor size: ${first.count} but got: ${m.count}`;
  if (m.shape.length !== first.shape.length || m.shape.some((d, i) => d !== first.shape[i])) {
    return `Expecting shape ${formatShape(first.shape)} but got: ${formatShape(m.shape)}`;
  }
  return undefined;
}

function decodeColumns(
  reader: JsonReader,
  info: InputsInfo,
  signature: SignatureInfo,
  names: string[],
  alloc: TensorAllocator,
): Record<string, Tensor> {
  if (info.kind === 'error') {
    if (names.length > 1) {
      throw invalidArgument(
        'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map',
      );
    }
    throw new JetserveError(info.error.code, `${info.error.message} (input '${names[0]}')`);
  }
  const out: Record<string, Tensor> = {};
  if (info.kind === 'value') {
    if (names.length > 1) {
      throw invalidArgument(
        'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map',
      );
    }
    const name = names[0]!;
    const spec = signature.inputs[name]!;
    const tensor = allocInput(reader, name, spec, info.m.shape, info.m.start, alloc);
    fill(reader, info.m.start, tensor, 0, info.m.count, name, spec, (msg) => invalidArgument(`${msg} (input '${name}')`));
    out[name] = tensor;
    return out;
  }
  for (const name of names) {
    const m = info.entries.get(name);
    if (m === undefined) throw invalidArgument(`Missing named input: ${name} in 'inputs' object.`);
    if (m instanceof JetserveError) throw new JetserveError(m.code, `${m.message} (input '${name}')`);
    const spec = signature.inputs[name]!;
    const tensor = allocInput(reader, name, spec, m.shape, m.start, alloc);
    fill(reader, m.start, tensor, 0, m.count, name, spec, (msg) => invalidArgument(`${msg} (input '${name}')`));
    out[name] = tensor;
  }
  return out;
}

/**
 * Dtypes the JSON reader converts (others → UNIMPLEMENTED). jetserve also takes float16, bfloat16
 * and uint16 from JSON numbers, which TF Serving answers with 501.
 */
const JSON_INPUT_DTYPES: ReadonlySet<DType> = new Set<DType>([
  'float16',
  'bfloat16',
  'uint16',
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'uint8',
  'int64',
  'uint32',
  'uint64',
  'bool',
  'string',
]);

/** Allocates the input tensor after checking that JSON can express its dtype. */
function allocInput(
  reader: JsonReader,
  name: string,
  spec: TensorSpec,
  shape: number[],
  valueStart: number,
  alloc: TensorAllocator,
): Tensor {
  const dtype = spec.dtype;
  if (dtype === undefined || !JSON_INPUT_DTYPES.has(dtype)) {
    const typeName = dtype ? TF_TYPE_STRING[dtype] : tfEnumName(spec.tfDtype);
    throw new JetserveError(
      'UNIMPLEMENTED',
      `Conversion of JSON Value: ${firstLeafText(reader, valueStart)} to type: ${typeName} (input '${name}')`,
    );
  }
  if (dtype === 'string') {
    let count = 1;
    for (const d of shape) count *= d;
    return { dtype, shape, data: new Array<Uint8Array>(count) };
  }
  return alloc(dtype as NumericDType, shape);
}

function firstLeafText(reader: JsonReader, p: number): string {
  p = reader.ws(p);
  while (reader.at(p) === 0x5b) p = reader.ws(p + 1);
  return reader.at(p) === 0x5d ? '[]' : reader.valueText(p);
}

/** As KServe's, except that strings may also be {"b64": …} objects. */
const MODES: Partial<Record<DType, LeafModeInfo>> = { ...LEAF_MODES, string: { mode: LeafMode.StringOrB64 } };

function fill(
  reader: JsonReader,
  start: number,
  tensor: Tensor,
  offset: number,
  count: number,
  name: string,
  spec: TensorSpec,
  wrap: (message: string, leafIndex: number) => JetserveError,
): void {
  if (count === 0) return;
  const m = MODES[spec.dtype!]!;
  const ctx: FillContext = { dtypeName: TF_TYPE_STRING[spec.dtype!], wrap };
  const written = reader.fillLeaves(start, m.mode, tensor.data, offset, count, ctx, m.min, m.max);
  if (written !== count) {
    // cannot happen after measureTensor; kept as a guard against a reader bug
    throw invalidArgument(`input '${name}': expected ${count} values but found ${written}`);
  }
}

// ---------------------------------------------------------------------------------------------
// predict response
// ---------------------------------------------------------------------------------------------

function formatterFor(name: string, t: Tensor): ElementFormatter {
  return tfElementFormatter(t, {
    bytesAsB64: t.dtype === 'string' && name.endsWith('_bytes'),
    onUnsupported: () => unsupportedOutput(TF_TYPE_STRING[t.dtype]),
  });
}

/**
 * Response JSON for predict outputs. Row format splits every output along dim 0 (all must share
 * it); one output is written unnamed, several as objects keyed by alias.
 */
export function encodePredictResponse(outputs: Readonly<Record<string, Tensor>>, format: JsonFormat): string {
  const names = Object.keys(outputs);
  if (names.length === 0) throw invalidArgument('Cannot convert empty tensor map to JSON');
  if (format === 'row' && names.length === 1) {
    const t = outputs[names[0]!]!;
    if (t.dtype === 'float32' && (t.shape.length === 1 || t.shape.length === 2)) return float32Rows(t.data as Float32Array, t.shape);
  }
  if (format === 'columnar') {
    if (names.length === 1) {
      const t = outputs[names[0]!]!;
      return `{"outputs": ${nestedList(t.shape, 0, 0, formatterFor(names[0]!, t))}}`;
    }
    let s = '{"outputs": {';
    names.forEach((name, k) => {
      const t = outputs[name]!;
      if (k > 0) s += ', ';
      s += `${jsonString(name)}: ${nestedList(t.shape, 0, 0, formatterFor(name, t))}`;
    });
    return s + '}}';
  }
  const batch = rowBatch(outputs, names);
  const fmts = names.map((name) => formatterFor(name, outputs[name]!));
  const strides = names.map((name) => rowStride(outputs[name]!.shape));
  const keys = names.map((name) => jsonString(name));
  let s = '{"predictions": [';
  for (let r = 0; r < batch; r++) {
    if (r > 0) s += ', ';
    if (names.length === 1) {
      s += nestedList(outputs[names[0]!]!.shape, 1, r * strides[0]!, fmts[0]!);
      continue;
    }
    s += '{';
    for (let k = 0; k < names.length; k++) {
      if (k > 0) s += ', ';
      s += `${keys[k]}: ${nestedList(outputs[names[k]!]!.shape, 1, r * strides[k]!, fmts[k]!)}`;
    }
    s += '}';
  }
  return s + ']}';
}

/**
 * encodePredictResponse of one float32 output of shape [batch] or [batch, n] in row format (a
 * classifier's or regressor's usual answer), the same text without the general path's per-call
 * arrays, formatter closures and recursion: 463 → 307 ns for [1, 3] (bench:rest's tiny MLP; best
 * of 7 rounds of 200,000 calls, same process).
 */
function float32Rows(data: Float32Array, shape: readonly number[]): string {
  const batch = shape[0]!;
  let s = '{"predictions": [';
  if (shape.length === 1) {
    for (let r = 0; r < batch; r++) {
      if (r > 0) s += ', ';
      s += formatFloat32(data[r]!);
    }
    return s + ']}';
  }
  const n = shape[1]!;
  for (let r = 0, at = 0; r < batch; r++) {
    s += r > 0 ? ', [' : '[';
    for (let k = 0; k < n; k++, at++) {
      if (k > 0) s += ', ';
      s += formatFloat32(data[at]!);
    }
    s += ']';
  }
  return s + ']}';
}

/** Outputs of at most this many elements are written by predictResponseBytes. */
const BYTES_MAX_ELEMENTS = 64;
/** Its memory: ≤ 64 values of ≤ 16 bytes, their separators and brackets fit with room to spare. */
const rowBytes = new Uint8Array(4096);
/** Views of rowBytes by length (made once each): a response costs no typed array of its own. */
const rowViews: (Uint8Array | undefined)[] = [];
const PREDICTIONS_OPEN = Buffer.from('{"predictions": [', 'latin1');

/**
 * encodePredictResponse's text as bytes, for the tiny answers float32Rows writes (one float32
 * output of shape [batch] or [batch, n], row format, ≤ 64 elements); undefined for anything else.
 * The bytes are a view of memory the next call overwrites: hand them to a writer that copies at
 * once (uWebSockets.js's end() inside cork). Against the string: no concatenations, no flattening
 * of the result and no UTF-8 conversion in the binding (callgrind, tiny predict: see
 * src/server/http/README.md).
 */
export function predictResponseBytes(outputs: Readonly<Record<string, Tensor>>, format: JsonFormat): Uint8Array | undefined {
  if (format !== 'row') return undefined;
  let t: Tensor | undefined;
  for (const name in outputs) {
    if (t !== undefined) return undefined;
    t = outputs[name];
  }
  if (t === undefined || t.dtype !== 'float32' || (t.shape.length !== 1 && t.shape.length !== 2)) return undefined;
  const data = t.data as Float32Array;
  const batch = t.shape[0]!;
  if (data.length > BYTES_MAX_ELEMENTS || data.length !== batch * (t.shape.length === 1 ? 1 : t.shape[1]!)) return undefined;
  const out = rowBytes;
  out.set(PREDICTIONS_OPEN, 0);
  let at = PREDICTIONS_OPEN.length;
  if (t.shape.length === 1) {
    for (let r = 0; r < batch; r++) {
      if (r > 0) at = comma(out, at);
      at = writeFloat32(out, at, data[r]!);
    }
  } else {
    const n = t.shape[1]!;
    for (let r = 0, i = 0; r < batch; r++) {
      if (r > 0) at = comma(out, at);
      out[at++] = 0x5b; // [
      for (let k = 0; k < n; k++, i++) {
        if (k > 0) at = comma(out, at);
        at = writeFloat32(out, at, data[i]!);
      }
      out[at++] = 0x5d; // ]
    }
  }
  out[at++] = 0x5d; // ]
  out[at++] = 0x7d; // }
  let view = rowViews[at];
  if (view === undefined) {
    view = new Uint8Array(out.buffer, 0, at);
    rowViews[at] = view;
  }
  return view;
}

function comma(out: Uint8Array, at: number): number {
  out[at] = 0x2c;
  out[at + 1] = 0x20;
  return at + 2;
}

/** Row format: the batch size every output shares (dim 0). */
function rowBatch(outputs: Readonly<Record<string, Tensor>>, names: readonly string[]): number {
  let batch = -1;
  for (const name of names) {
    const t = outputs[name]!;
    if (t.shape.length === 0) throw invalidArgument(`Tensor name: ${name} has no shape information `);
    const b = t.shape[0]!;
    if (batch >= 0 && b !== batch) {
      throw invalidArgument(`Tensor name: ${name} has inconsistent batch size: ${b} expecting: ${batch}`);
    }
    batch = b;
  }
  return batch;
}

/** Elements per row (the product of dims 1…). */
function rowStride(shape: readonly number[]): number {
  let s = 1;
  for (let d = 1; d < shape.length; d++) s *= shape[d]!;
  return s;
}

/**
 * encodePredictResponse's text in chunks of about `chunkChars` characters (the last may be
 * shorter), for writing a large response while it is produced. Errors (no outputs, inconsistent
 * batch, dtypes JSON cannot hold) are thrown by the first next(), before any text. Small
 * responses are cheaper as one encodePredictResponse string (no generators: ~0.5 µs less per
 * tiny predict); both give the same text (test/wire/streamed-response.test.ts).
 */
export function* predictResponseChunks(
  outputs: Readonly<Record<string, Tensor>>,
  format: JsonFormat,
  chunkChars: number,
): Generator<string, void, undefined> {
  const names = Object.keys(outputs);
  if (names.length === 0) throw invalidArgument('Cannot convert empty tensor map to JSON');
  const out = new ChunkedText(chunkChars);
  if (format === 'columnar') {
    const fmts = names.map((name) => formatterFor(name, outputs[name]!));
    if (names.length === 1) {
      out.text = '{"outputs": ';
      yield* listChunks(outputs[names[0]!]!.shape, 0, 0, fmts[0]!, out);
    } else {
      out.text = '{"outputs": {';
      for (let k = 0; k < names.length; k++) {
        out.text += `${k > 0 ? ', ' : ''}${jsonString(names[k]!)}: `;
        yield* listChunks(outputs[names[k]!]!.shape, 0, 0, fmts[k]!, out);
      }
      out.text += '}';
    }
    out.text += '}';
    yield out.take();
    return;
  }
  // row format
  const batch = rowBatch(outputs, names);
  const fmts = names.map((name) => formatterFor(name, outputs[name]!));
  const strides = names.map((name) => rowStride(outputs[name]!.shape));
  const keys = names.map((name) => jsonString(name));
  out.text = '{"predictions": [';
  for (let r = 0; r < batch; r++) {
    if (r > 0) out.text += ', ';
    if (names.length === 1) {
      const shape = outputs[names[0]!]!.shape;
      if (strides[0]! <= SMALL_LIST) {
        out.text += nestedList(shape, 1, r * strides[0]!, fmts[0]!);
        if (out.text.length >= chunkChars) yield out.take();
      } else {
        yield* nestedListChunks(shape, 1, r * strides[0]!, fmts[0]!, out);
      }
      continue;
    }
    out.text += '{';
    for (let k = 0; k < names.length; k++) {
      out.text += `${k > 0 ? ', ' : ''}${keys[k]}: `;
      yield* listChunks(outputs[names[k]!]!.shape, 1, r * strides[k]!, fmts[k]!, out);
    }
    out.text += '}';
  }
  out.text += ']}';
  yield out.take();
}

/**
 * Lists of at most this many elements are written in one piece (nestedList): a generator per row
 * cost tiny responses ~0.5 µs (a quarter of their encoding); past it a list is sliced into chunks.
 */
const SMALL_LIST = 1024;

/** The list of shape[dim…] from element `base`: in one piece when small, else in chunks. */
function* listChunks(
  shape: readonly number[],
  dim: number,
  base: number,
  fmt: ElementFormatter,
  out: ChunkedText,
): Generator<string, void, undefined> {
  let count = 1;
  for (let d = dim; d < shape.length; d++) count *= shape[d]!;
  if (count > SMALL_LIST) {
    yield* nestedListChunks(shape, dim, base, fmt, out);
    return;
  }
  out.text += nestedList(shape, dim, base, fmt);
  if (out.text.length >= out.chunkChars) yield out.take();
}

// ---------------------------------------------------------------------------------------------
// classify / regress
// ---------------------------------------------------------------------------------------------

export interface ExamplesRequest {
  /** The signature the request names, or "serving_default". */
  signatureName: string;
  /** Each example as a serialized tf.Example (without the context). */
  examples: Uint8Array[];
  /** The shared context as a serialized tf.Example, when the request has one. */
  context?: Uint8Array;
}

export function decodeExamplesRequest(body: Uint8Array | string, limits: RequestLimits = DEFAULT_LIMITS): ExamplesRequest {
  const reader = new JsonReader(body, undefined, limits);
  // the examples are built as a DOM: each of its values counts as a tensor element
  reader.valueBudget = reader.budget;
  const start = openDocument(reader);
  const doc = reader.readValue(start) as JsonObject;
  let signatureName = DEFAULT_SIGNATURE;
  const sig = doc.get('signature_name');
  if (sig !== undefined) {
    if (typeof sig !== 'string') {
      throw invalidArgument(
        `JSON Value: ${shortJson(sig)} not formatted correctly. 'signature_name' key must be a string value.`,
      );
    }
    if (sig !== '') signatureName = sig;
  }
  let context: Uint8Array | undefined;
  const ctx = doc.get('context');
  if (ctx !== undefined) context = exampleFromJson(ctx);
  const examples = doc.get('examples');
  if (examples === undefined) {
    throw invalidArgument("When method is classify, key 'examples' is expected and was not found");
  }
  if (!Array.isArray(examples)) throw invalidArgument("Expecting 'examples' value to be an list/array");
  if (examples.length === 0) throw invalidArgument("'examples' value is an empty array");
  const out: ExamplesRequest = {
    signatureName,
    examples: examples.map((e) => exampleFromJson(e)),
  };
  if (context) out.context = context;
  return out;
}

/** The DT_STRING [n] tensor of serialized examples (context ‖ example when there is a context). */
export function examplesTensor(request: ExamplesRequest): Tensor {
  const data = request.context
    ? request.examples.map((e) => concatBytes([request.context!, e]))
    : request.examples.slice();
  return { dtype: 'string', shape: [data.length], data };
}

function jsonTypeName(v: JsonValue): string {
  if (v === null) return 'Null';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return 'String';
  if (v instanceof JsonNumber) return 'Number';
  if (Array.isArray(v)) return 'Array';
  return 'Object';
}

function shortJson(v: JsonValue): string {
  const s = toPlainJson(v);
  return s.length > 120 ? `${s.slice(0, 120)}...` : s;
}

function toPlainJson(v: JsonValue): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(toPlainJson).join(',')}]`;
  return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}:${toPlainJson(x)}`).join(',')}}`;
}

function isB64Object(v: JsonValue): v is JsonObject {
  return v instanceof Map && v.size === 1 && typeof v.get('b64') === 'string';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const encoder = new TextEncoder();

function exampleFromJson(v: JsonValue): Uint8Array {
  if (!(v instanceof Map)) throw invalidArgument(`Example must be JSON object but got JSON ${jsonTypeName(v)}`);
  const features: [string, Feature][] = [];
  for (const [name, content] of v) {
    const values = Array.isArray(content) ? content : [content];
    let feature: Feature = { kind: 'none' };
    for (const item of values) feature = addFeatureValue(feature, item, name);
    features.push([name, feature]);
  }
  return encodeExample(features);
}

function kindMismatch(name: string, feature: Feature): JetserveError {
  const kind = feature.kind === 'bytes' ? 'bytes' : feature.kind === 'float' ? 'float' : feature.kind === 'int64' ? 'int64' : 'UNKNOWN';
  return invalidArgument(`Unexpected element type in feature: ${name} expecting type: ${kind}`);
}

function addFeatureValue(feature: Feature, v: JsonValue, name: string): Feature {
  const unexpected = () => invalidArgument(`Feature: ${name} has element with unexpected JSON type: ${jsonTypeName(v)}`);
  if (v === null || Array.isArray(v)) throw unexpected();
  if (typeof v === 'boolean') return pushInt(feature, v ? 1 : 0, name);
  if (typeof v === 'string') return pushBytes(feature, encoder.encode(v), name);
  if (v instanceof Map) {
    if (!isB64Object(v)) throw unexpected();
    if (feature.kind !== 'none' && feature.kind !== 'bytes') throw kindMismatch(name, feature);
    const bytes = decodeBase64Strict(v.get('b64') as string);
    if (!bytes) throw invalidArgument('Unable to base64 decode');
    return pushBytes(feature, bytes, name);
  }
  // number
  if (v.isInteger) {
    const big = BigInt(v.text);
    if (big <= INT64_MAX && big >= INT64_MIN) {
      return pushInt(feature, Number.isSafeInteger(v.value) ? v.value : big, name);
    }
    if (big <= UINT64_MAX) throw invalidArgument(`Feature: ${name} has uint64 element. Only int64 is supported.`);
    // beyond uint64, rapidjson holds the number as a double: a float feature
  }
  if (feature.kind !== 'none' && feature.kind !== 'float') throw kindMismatch(name, feature);
  const values = feature.kind === 'float' ? feature.values : [];
  values.push(Math.fround(v.value));
  return { kind: 'float', values };
}

function pushInt(feature: Feature, value: number | bigint, name: string): Feature {
  if (feature.kind !== 'none' && feature.kind !== 'int64') throw kindMismatch(name, feature);
  const values = feature.kind === 'int64' ? feature.values : [];
  values.push(value);
  return { kind: 'int64', values };
}

function pushBytes(feature: Feature, value: Uint8Array, name: string): Feature {
  if (feature.kind !== 'none' && feature.kind !== 'bytes') throw kindMismatch(name, feature);
  const values = feature.kind === 'bytes' ? feature.values : [];
  values.push(value);
  return { kind: 'bytes', values };
}

export interface ClassifyOutputs {
  /** DT_FLOAT [batch, num_classes]. */
  scores?: Tensor;
  /** DT_STRING [batch, num_classes]. */
  classes?: Tensor;
}

/**
 * {"results": [[["label", score], …], …]}: one list per example. Labels are "" without `classes`;
 * scores are 0 without `scores` (TF Serving's classifier). `expectedBatch` (the number of examples)
 * is checked against the outputs' dim 0 when given.
 */
export function encodeClassifyResponse(outputs: ClassifyOutputs, expectedBatch?: number): string {
  const { scores, classes } = outputs;
  if (!scores && !classes) throw invalidArgument('classify signature produced neither classes nor scores');
  if (classes) {
    if (classes.dtype !== 'string') {
      throw invalidArgument(`Expected classes Tensor of DT_STRING. Got: ${TF_DATATYPE_NAME[classes.dtype]}`);
    }
    if (classes.shape.length !== 2) {
      throw invalidArgument(`Expected Tensor shape: [batch_size num_classes] but got ${formatShape(classes.shape)}`);
    }
  }
  if (scores) {
    if (scores.dtype !== 'float32') {
      throw invalidArgument(`Expected scores Tensor of DT_FLOAT. Got: ${TF_DATATYPE_NAME[scores.dtype]}`);
    }
    if (scores.shape.length !== 2) {
      throw invalidArgument(`Expected Tensor shape: [batch_size num_classes] but got ${formatShape(scores.shape)}`);
    }
  }
  if (classes && scores && (classes.shape[0] !== scores.shape[0] || classes.shape[1] !== scores.shape[1])) {
    throw invalidArgument(
      `Tensors class and score should match in shape: ${formatShape(classes.shape)} vs. ${formatShape(scores.shape)}`,
    );
  }
  const ref = (scores ?? classes)!;
  const batch = ref.shape[0]!;
  const numClasses = ref.shape[1]!;
  if (expectedBatch !== undefined && batch !== expectedBatch) {
    throw invalidArgument(`Input batch size did not match output batch size: ${expectedBatch} vs. ${batch}`);
  }
  if (batch === 0) throw invalidArgument('Cannot convert empty ClassificationResults to JSON');
  const labels = classes ? (classes.data as Uint8Array[]) : undefined;
  const values = scores ? (scores.data as Float32Array) : undefined;
  let s = '{"results": [';
  for (let r = 0; r < batch; r++) {
    if (r > 0) s += ', ';
    s += '[';
    for (let c = 0; c < numClasses; c++) {
      const i = r * numClasses + c;
      if (c > 0) s += ', ';
      s += `[${labels ? jsonStringFromBytes(labels[i]!) : '""'}, ${formatFloat32(values ? values[i]! : 0)}]`;
    }
    s += ']';
  }
  return s + ']}';
}

/** {"results": [v, …]}: `outputs` is DT_FLOAT [batch] or [batch, 1]. */
export function encodeRegressResponse(outputs: Tensor, expectedBatch?: number): string {
  if (outputs.dtype !== 'float32') {
    throw invalidArgument(`Expected output Tensor of DT_FLOAT. Got: ${TF_DATATYPE_NAME[outputs.dtype]}`);
  }
  const shape = outputs.shape;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw invalidArgument(
      `Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got ${formatShape(shape)}`,
    );
  }
  const batch = shape[0]!;
  if (expectedBatch !== undefined && batch !== expectedBatch) {
    throw invalidArgument(`Input batch size did not match output batch size: ${expectedBatch} vs. ${batch}`);
  }
  if (batch === 0) throw invalidArgument('Cannot convert empty RegressionResults to JSON');
  const values = outputs.data as Float32Array;
  let s = '{"results": [';
  for (let r = 0; r < batch; r++) {
    if (r > 0) s += ', ';
    s += formatFloat32(values[r]!);
  }
  return s + ']}';
}

// ---------------------------------------------------------------------------------------------
// status, metadata, errors
// ---------------------------------------------------------------------------------------------

/**
 * GetModelStatusResponse as TF Serving's protobuf JSON printer writes it: 1-space indentation,
 * defaults printed, int64 version as a string, enums by name.
 */
/** One version's state as the status encoders read it (the manager's VersionStatus has this shape). */
export interface VersionStatusFields {
  version: number;
  /** TF Serving's ManagerState name: START, LOADING, AVAILABLE, UNLOADING, END. */
  state: string;
  error: { code: string; message: string } | null;
}

export function encodeModelStatus(statuses: readonly VersionStatusFields[]): string {
  return JSON.stringify(
    {
      model_version_status: statuses.map((s) => ({
        version: String(s.version),
        state: s.state,
        status: { error_code: s.error ? s.error.code : 'OK', error_message: s.error ? s.error.message : '' },
      })),
    },
    null,
    1,
  );
}

export interface ModelMetadataArgs {
  name: string;
  version: number | bigint | string;
  signatures: Readonly<Record<string, SignatureInfo>>;
}

function tensorInfoJson(spec: TensorSpec): object {
  const dtype = spec.dtype ? TF_DATATYPE_NAME[spec.dtype] : tfEnumName(spec.tfDtype);
  const tensorShape =
    spec.shape === null
      ? { dim: [], unknown_rank: true }
      : { dim: spec.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false };
  return { dtype, tensor_shape: tensorShape, name: spec.name };
}

/**
 * GetModelMetadataResponse JSON (signature_def only), with TF Serving's doubled "signature_def"
 * key, int64 version and dim sizes as strings, and "unknown_rank".
 */
export function encodeModelMetadata(args: ModelMetadataArgs): string {
  const signatureDef: Record<string, object> = {};
  for (const key of Object.keys(args.signatures)) {
    const sig = args.signatures[key]!;
    const inputs: Record<string, object> = {};
    const outputs: Record<string, object> = {};
    for (const [k, spec] of Object.entries(sig.inputs)) inputs[k] = tensorInfoJson(spec);
    for (const [k, spec] of Object.entries(sig.outputs)) outputs[k] = tensorInfoJson(spec);
    signatureDef[key] = { inputs, outputs, method_name: sig.methodName, defaults: {} };
  }
  const modelSpec = JSON.stringify(
    { name: args.name, signature_name: '', version: String(args.version) },
    null,
    1,
  );
  const defs = JSON.stringify({ signature_def: signatureDef }, null, 1);
  return `{\n"model_spec":${modelSpec}\n,\n"metadata": {"signature_def": ${defs}\n}\n}\n`;
}

/** TF Serving's error body: {"error": "<message>"} (pretty-printed by rapidjson). */
export function encodeErrorBody(message: string): string {
  return `{ "error": ${jsonString(message)} }`;
}
