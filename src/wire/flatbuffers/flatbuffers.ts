// jetserve's binary predict protocol: FlatBuffers (schema/predict.fbs, generated/ by flatc).
// Content-Type application/x-jetserve-flatbuffers on POST /v1/models/{m}…:predict.
//
// API
//   FLATBUFFERS_CONTENT_TYPE
//   decodeFlatPredict(body, resolveSignature, opts?) → { signatureName, inputs, outputFilter }
//     Server side. Numeric inputs reach TF with at most one copy: copied into an allocTensor
//     buffer, or — with opts.zeroCopy, when the body itself is a 64-byte aligned native block that
//     outlives the request — viewed in place when the data sits 64-byte aligned. DT_STRING
//     elements are views into the body. The buffer is bounds-checked before any field is read
//     (the FlatBuffers JS runtime has no verifier).
//   encodeFlatPredictResponse(outputs, { modelVersion?, signatureName? }) → Uint8Array
//   encodeFlatPredictError(code, message) → Uint8Array (a response with error_code ≠ 0)
//   encodeFlatPredictRequest(inputs, { signatureName?, outputFilter? }) → Uint8Array   (client side)
//   decodeFlatPredictResponse(body) → { outputs, modelVersion, signatureName }          (client side;
//     throws JetserveError for an error response; numeric outputs are views when aligned)
//
// Tensor data is 64-byte aligned inside every buffer this module builds (flatc 2.0.8's TS output
// ignores force_align, so the vectors are laid out here).

import * as flatbuffers from 'flatbuffers';
import {
  BYTES_PER_ELEMENT,
  componentsPerElement,
  dtypeFromTfEnum,
  TF_DATATYPE,
  TYPED_ARRAY_OF,
  type DType,
  type NumericData,
  type NumericDType,
} from '../../engine/dtypes.js';
import { allocTensor, elementCount, type Tensor } from '../../engine/tensor.js';
import { DEFAULT_SIGNATURE, formatShape, shapeCompatible, type SignatureInfo } from '../../engine/signature.js';
import { ERROR_CODES, invalidArgument, JetserveError, type ErrorCode } from '../../errors.js';
import { PredictRequest, PredictResponse, Tensor as FbTensor } from './generated/predict_generated.js';
import { DEFAULT_LIMITS, ElementBudget, type RequestLimits } from '../limits.js';

export const FLATBUFFERS_CONTENT_TYPE = 'application/x-jetserve-flatbuffers';
export const FLATBUFFERS_FILE_IDENTIFIER = 'JSFB';

/** Alignment of tensor data inside the buffers (TF's allocator alignment). */
const DATA_ALIGN = 64;

export interface FlatPredictRequest {
  signatureName: string;
  inputs: Record<string, Tensor>;
  /** Output aliases to compute; empty: all. */
  outputFilter: string[];
}

export interface FlatDecodeOptions {
  /**
   * The body is a 64-byte aligned native block (allocAligned) kept alive while the tensors are
   * used: 64-aligned numeric data is viewed instead of copied.
   */
  zeroCopy?: boolean;
  /** Element budget (default DEFAULT_LIMITS), checked against each input's shape before its data is copied. */
  limits?: RequestLimits;
}

// ---------------------------------------------------------------------------------------------
// verification (the JS runtime reads without bounds checks)
// ---------------------------------------------------------------------------------------------

function malformed(what: string): JetserveError {
  return invalidArgument(`malformed FlatBuffers message: ${what}`);
}

class Verifier {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private range(pos: number, size: number, what: string): void {
    if (!(pos >= 0 && size >= 0 && pos + size <= this.bytes.length)) throw malformed(`${what} lies outside the buffer`);
  }
  u32(pos: number, what: string): number {
    this.range(pos, 4, what);
    return this.view.getUint32(pos, true);
  }
  /** Follows the uoffset at `pos`; returns the target. */
  deref(pos: number, what: string): number {
    const target = pos + this.u32(pos, what);
    this.range(target, 4, what);
    return target;
  }
  /** Checks a table at `pos`; returns a field-offset lookup (0 = absent). */
  table(pos: number, what: string): (vtableOffset: number, size: number) => number {
    const vtable = pos - this.view.getInt32(pos, true);
    this.range(vtable, 4, `${what} vtable`);
    const vtableSize = this.view.getUint16(vtable, true);
    const objectSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw malformed(`${what} vtable size ${vtableSize}`);
    this.range(vtable, vtableSize, `${what} vtable`);
    this.range(pos, objectSize, what);
    return (vtableOffset, size) => {
      if (vtableOffset >= vtableSize) return 0;
      const off = this.view.getUint16(vtable + vtableOffset, true);
      if (off !== 0 && off + size > objectSize) throw malformed(`${what} field at ${vtableOffset} outside its table`);
      return off;
    };
  }
  /** Vector at the uoffset in field position `ref`; returns [dataStart, length]. */
  vector(ref: number, elemSize: number, what: string): [number, number] {
    const v = this.deref(ref, what);
    const len = this.view.getUint32(v, true);
    this.range(v + 4, len * elemSize, what);
    return [v + 4, len];
  }
  string(ref: number, what: string): void {
    const [start, len] = this.vector(ref, 1, what);
    this.range(start, len + 1, `${what} (terminator)`);
  }
  tensorTable(pos: number, what: string): void {
    const field = this.table(pos, what);
    let off = field(4, 4);
    if (off) this.string(pos + off, `${what} name`);
    field(6, 1); // dtype
    off = field(8, 4);
    if (off) this.vector(pos + off, 8, `${what} shape`);
    off = field(10, 4);
    if (off) this.vector(pos + off, 1, `${what} data`);
    off = field(12, 4);
    if (off) {
      const [start, len] = this.vector(pos + off, 4, `${what} strings`);
      for (let i = 0; i < len; i++) this.string(start + 4 * i, `${what} string ${i}`);
    }
  }
  tensorVector(ref: number, what: string): void {
    const [start, len] = this.vector(ref, 4, what);
    for (let i = 0; i < len; i++) this.tensorTable(this.deref(start + 4 * i, `${what}[${i}]`), `${what}[${i}]`);
  }
  stringVector(ref: number, what: string): void {
    const [start, len] = this.vector(ref, 4, what);
    for (let i = 0; i < len; i++) this.string(start + 4 * i, `${what}[${i}]`);
  }
  root(kind: string): number {
    if (this.bytes.length < 8) throw malformed(`${this.bytes.length} bytes is too short for a ${kind}`);
    const id = String.fromCharCode(this.bytes[4]!, this.bytes[5]!, this.bytes[6]!, this.bytes[7]!);
    if (id !== FLATBUFFERS_FILE_IDENTIFIER) {
      throw invalidArgument(`not a jetserve FlatBuffers ${kind} (file identifier '${FLATBUFFERS_FILE_IDENTIFIER}' missing)`);
    }
    return this.deref(0, 'root table');
  }
  request(): void {
    const pos = this.root('PredictRequest');
    const field = this.table(pos, 'PredictRequest');
    let off = field(4, 4);
    if (off) this.string(pos + off, 'signature_name');
    off = field(6, 4);
    if (off) this.tensorVector(pos + off, 'inputs');
    off = field(8, 4);
    if (off) this.stringVector(pos + off, 'output_filter');
  }
  response(): void {
    const pos = this.root('PredictResponse');
    const field = this.table(pos, 'PredictResponse');
    let off = field(4, 4);
    if (off) this.tensorVector(pos + off, 'outputs');
    field(6, 4);
    off = field(8, 4);
    if (off) this.string(pos + off, 'error_message');
    field(10, 8);
    off = field(12, 4);
    if (off) this.string(pos + off, 'signature_name');
  }
}

function byteBuffer(body: Uint8Array): flatbuffers.ByteBuffer {
  return new flatbuffers.ByteBuffer(body);
}

// ---------------------------------------------------------------------------------------------
// tensors out of a (verified) buffer
// ---------------------------------------------------------------------------------------------

function shapeOf(t: FbTensor, where: string): number[] {
  const n = t.shapeLength();
  const shape = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const d = t.shape(i)!;
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`${where}: invalid dimension ${d} in its shape`);
    shape[i] = Number(d);
  }
  return shape;
}

/**
 * The tensor's values: a view into the buffer when `mayView(offset in its ArrayBuffer)` allows it
 * and the data is naturally aligned for its typed array, else a copy into `alloc`'s buffer.
 */
type Alloc = (dtype: NumericDType, shape: number[]) => Tensor & { data: NumericData };

/** Client side: plain typed arrays (no native addon needed). */
const plainAlloc: Alloc = (dtype, shape) => {
  const Ctor = TYPED_ARRAY_OF[dtype];
  return { dtype, shape, data: new Ctor(elementCount(shape) * componentsPerElement(dtype)) };
};

function tensorData(
  t: FbTensor,
  dtype: DType,
  shape: number[],
  where: string,
  mayView: (offset: number) => boolean,
  alloc: Alloc,
): Tensor {
  const count = elementCount(shape);
  if (dtype === 'string') {
    const n = t.stringsLength();
    if (n !== count) throw invalidArgument(`${where}: ${n} strings but shape ${formatShape(shape)} needs ${count}`);
    const data = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) data[i] = t.strings(i, flatbuffers.Encoding.UTF8_BYTES) as Uint8Array;
    return { dtype, shape, data };
  }
  const bytes = count * BYTES_PER_ELEMENT[dtype];
  const raw = t.dataArray() ?? new Uint8Array(0);
  if (raw.length !== bytes) {
    throw invalidArgument(`${where}: data has ${raw.length} bytes but shape ${formatShape(shape)} of ${dtype} needs ${bytes}`);
  }
  if (dtype === 'bool') {
    for (let i = 0; i < raw.length; i++) {
      if (raw[i]! > 1) throw invalidArgument(`${where}: bool element ${i} is ${raw[i]}, not 0 or 1`);
    }
  }
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const values = count * componentsPerElement(dtype);
  if (raw.byteOffset % Ctor.BYTES_PER_ELEMENT === 0 && mayView(raw.byteOffset)) {
    return { dtype, shape, data: new Ctor(raw.buffer, raw.byteOffset, values) };
  }
  const tensor = alloc(dtype as NumericDType, shape);
  const d = tensor.data;
  new Uint8Array(d.buffer, d.byteOffset, bytes).set(raw);
  return tensor;
}

function tensorsOf(
  n: number,
  at: (i: number) => FbTensor,
  mayView: (offset: number) => boolean,
  alloc: Alloc,
  check: (name: string, dtype: DType | undefined, tfDtype: number, shape: number[]) => DType,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (let i = 0; i < n; i++) {
    const t = at(i);
    const name = t.name() ?? '';
    if (name === '') throw invalidArgument(`tensor #${i} has no name`);
    if (Object.hasOwn(out, name)) throw invalidArgument(`tensor '${name}' appears more than once`);
    const tfDtype = t.dtype() as number;
    const shape = shapeOf(t, `tensor '${name}'`);
    const dtype = check(name, dtypeFromTfEnum(tfDtype), tfDtype, shape);
    // defineProperty: a tensor named "__proto__" is an own property like any other name
    Object.defineProperty(out, name, { value: tensorData(t, dtype, shape, `tensor '${name}'`, mayView, alloc), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// server side
// ---------------------------------------------------------------------------------------------

export function decodeFlatPredict(
  body: Uint8Array,
  resolveSignature: (name: string) => SignatureInfo,
  opts: FlatDecodeOptions = {},
): FlatPredictRequest {
  new Verifier(body).request();
  const req = PredictRequest.getRootAsPredictRequest(byteBuffer(body));
  const requested = req.signatureName() ?? '';
  const signatureName = requested === '' ? DEFAULT_SIGNATURE : requested;
  const signature = resolveSignature(signatureName);
  const zeroCopy = opts.zeroCopy === true;
  const budget = new ElementBudget(opts.limits ?? DEFAULT_LIMITS);
  const inputs = tensorsOf(
    req.inputsLength(),
    (i) => req.inputs(i)!,
    (offset) => zeroCopy && offset % DATA_ALIGN === 0,
    allocTensor,
    (name, dtype, tfDtype, shape) => {
      const spec = Object.hasOwn(signature.inputs, name) ? signature.inputs[name] : undefined;
      if (!spec) {
        throw invalidArgument(
          `unknown input '${name}': the signature's inputs are ${Object.keys(signature.inputs).join(', ')}`,
        );
      }
      if (!dtype) throw new JetserveError('UNIMPLEMENTED', `input '${name}' has TF dtype enum ${tfDtype}, which jetserve cannot feed`);
      if (dtype !== spec.dtype) throw invalidArgument(`input '${name}' expects dtype ${spec.dtype} but got ${dtype}`);
      if (!shapeCompatible(spec.shape, shape)) {
        throw invalidArgument(`input '${name}' expects shape ${formatShape(spec.shape)} but got ${formatShape(shape)}`);
      }
      budget.take(elementCount(shape), `input '${name}' has shape ${formatShape(shape)}`);
      return dtype;
    },
  );
  const missing = Object.keys(signature.inputs).filter((n) => !Object.hasOwn(inputs, n));
  if (missing.length > 0) {
    throw invalidArgument(`missing input(s) ${missing.map((m) => `'${m}'`).join(', ')}: the signature needs ${Object.keys(signature.inputs).join(', ')}`);
  }
  const outputFilter: string[] = [];
  for (let i = 0; i < req.outputFilterLength(); i++) {
    const alias = req.outputFilter(i);
    if (!Object.hasOwn(signature.outputs, alias)) throw invalidArgument(`output tensor alias not found in signature: ${alias}`);
    if (outputFilter.includes(alias)) throw invalidArgument(`duplicate output tensor alias in output_filter: ${alias}`);
    outputFilter.push(alias);
  }
  return { signatureName, inputs, outputFilter };
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Bytes of data + per-tensor overhead, for sizing the builder once. */
function estimateSize(tensors: Readonly<Record<string, Tensor>>): number {
  let n = 256;
  for (const [name, t] of Object.entries(tensors)) {
    n += 160 + 2 * name.length + 8 * t.shape.length;
    if (t.dtype === 'string') for (const s of t.data as Uint8Array[]) n += s.length + 12;
    else n += (t.data as ArrayBufferView).byteLength + DATA_ALIGN;
  }
  return roundUp(n, DATA_ALIGN);
}

function buildTensor(builder: flatbuffers.Builder, name: string, t: Tensor): flatbuffers.Offset {
  const nameOff = builder.createString(name);
  FbTensor.startShapeVector(builder, t.shape.length);
  for (let i = t.shape.length - 1; i >= 0; i--) builder.addInt64(BigInt(t.shape[i]!));
  const shapeOff = builder.endVector();
  let dataOff = 0;
  let stringsOff = 0;
  if (t.dtype === 'string') {
    const offs = (t.data as Uint8Array[]).map((s) => builder.createString(s));
    stringsOff = FbTensor.createStringsVector(builder, offs);
  } else {
    const d = t.data as NumericData;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    // align the vector's first byte (not its length prefix) to DATA_ALIGN from the buffer's end;
    // finish() pads the whole buffer to a multiple of DATA_ALIGN, so it holds from the start too
    builder.prep(DATA_ALIGN, bytes.length);
    dataOff = builder.createByteVector(bytes);
  }
  return FbTensor.createTensor(builder, nameOff, TF_DATATYPE[t.dtype], shapeOff, dataOff, stringsOff);
}

function tensorVector(builder: flatbuffers.Builder, tensors: Readonly<Record<string, Tensor>>): flatbuffers.Offset {
  const offs = Object.keys(tensors).map((name) => buildTensor(builder, name, tensors[name]!));
  return PredictResponse.createOutputsVector(builder, offs);
}

function finished(builder: flatbuffers.Builder, root: flatbuffers.Offset): Uint8Array {
  builder.finish(root, FLATBUFFERS_FILE_IDENTIFIER);
  return builder.asUint8Array();
}

export interface FlatResponseOptions {
  modelVersion?: number | bigint;
  signatureName?: string;
}

export function encodeFlatPredictResponse(outputs: Readonly<Record<string, Tensor>>, opts: FlatResponseOptions = {}): Uint8Array {
  const builder = new flatbuffers.Builder(estimateSize(outputs));
  const outs = tensorVector(builder, outputs);
  const sig = opts.signatureName !== undefined ? builder.createString(opts.signatureName) : 0;
  PredictResponse.startPredictResponse(builder);
  PredictResponse.addOutputs(builder, outs);
  if (opts.modelVersion !== undefined) PredictResponse.addModelVersion(builder, BigInt(opts.modelVersion));
  if (sig) PredictResponse.addSignatureName(builder, sig);
  return finished(builder, PredictResponse.endPredictResponse(builder));
}

export function encodeFlatPredictError(code: ErrorCode, message: string): Uint8Array {
  const builder = new flatbuffers.Builder(roundUp(message.length * 3 + 128, DATA_ALIGN));
  const msg = builder.createString(message);
  PredictResponse.startPredictResponse(builder);
  PredictResponse.addErrorCode(builder, ERROR_CODES[code]);
  PredictResponse.addErrorMessage(builder, msg);
  return finished(builder, PredictResponse.endPredictResponse(builder));
}

// ---------------------------------------------------------------------------------------------
// client side
// ---------------------------------------------------------------------------------------------

export interface FlatRequestOptions {
  signatureName?: string;
  outputFilter?: readonly string[];
}

export function encodeFlatPredictRequest(inputs: Readonly<Record<string, Tensor>>, opts: FlatRequestOptions = {}): Uint8Array {
  const builder = new flatbuffers.Builder(estimateSize(inputs));
  const ins = tensorVector(builder, inputs);
  const filter = opts.outputFilter?.length
    ? PredictRequest.createOutputFilterVector(
        builder,
        opts.outputFilter.map((s) => builder.createString(s)),
      )
    : 0;
  const sig = opts.signatureName ? builder.createString(opts.signatureName) : 0;
  PredictRequest.startPredictRequest(builder);
  if (sig) PredictRequest.addSignatureName(builder, sig);
  PredictRequest.addInputs(builder, ins);
  if (filter) PredictRequest.addOutputFilter(builder, filter);
  return finished(builder, PredictRequest.endPredictRequest(builder));
}

export interface FlatPredictResponse {
  outputs: Record<string, Tensor>;
  /** 0 when the server did not say. */
  modelVersion: bigint;
  signatureName: string;
}

/**
 * Decodes a response; throws the server's error (JetserveError with its code) for an error
 * response. Numeric outputs view the body when naturally aligned (they are, in a buffer received
 * whole, e.g. from fetch), else they are copied.
 */
export function decodeFlatPredictResponse(body: Uint8Array): FlatPredictResponse {
  new Verifier(body).response();
  const res = PredictResponse.getRootAsPredictResponse(byteBuffer(body));
  const code = res.errorCode();
  if (code !== 0) {
    throw JetserveError.fromTfCode(code, res.errorMessage() ?? '');
  }
  const outputs = tensorsOf(
    res.outputsLength(),
    (i) => res.outputs(i)!,
    () => true,
    plainAlloc,
    (name, dtype, tfDtype) => {
      if (!dtype) throw new JetserveError('UNIMPLEMENTED', `output '${name}' has TF dtype enum ${tfDtype}`);
      return dtype;
    },
  );
  return { outputs, modelVersion: res.modelVersion(), signatureName: res.signatureName() ?? '' };
}
