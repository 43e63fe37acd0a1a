// KServe v2 / Triton binary tensor data extension (reference/peers-kserve-triton.md §1.4):
// the request/response body is the JSON header followed by raw tensor bytes, one tensor after
// another in the order the JSON lists them. Little-endian, row-major, unpadded; BOOL is one byte;
// each BYTES element is a 4-byte little-endian length followed by its bytes.
//
// API (used by kserve-json.ts, exported for the gRPC front end's raw_input_contents too)
//   KSERVE_DATATYPE / dtypeOfKServe(datatype)     jetserve dtype ↔ KServe datatype string
//   tensorFromRaw(raw, dtype, shape, where)        one input from its binary blob (one copy into
//                                                  an allocTensor buffer; BYTES elements are views)
//   rawBytesOf(tensor) / rawByteLength(tensor)     a tensor's binary blob (numeric: a view, no copy)
//   writeRaw(tensor, dest, offset)                 writes that blob into dest
//   decodeRawBinaryRequest(body, signature)        "Inference-Header-Content-Length: 0" requests
//   assembleBinaryBody(json, blobs)                JSON header + blobs → one Uint8Array

import { BYTES_PER_ELEMENT, type DType, type NumericDType } from '../engine/dtypes.js';
import { allocTensor, elementCount, type Tensor, type TensorAllocator } from '../engine/tensor.js';
import { formatShape, type SignatureInfo } from '../engine/signature.js';
import { invalidArgument, JetserveError } from '../errors.js';
import { ElementBudget } from './limits.js';

/** KServe v2 datatype of each jetserve dtype (complex types have none). */
export const KSERVE_DATATYPE: Record<DType, string | undefined> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  bfloat16: 'BF16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
  complex64: undefined,
  complex128: undefined,
};

const DTYPE_OF_KSERVE = new Map<string, DType>(
  (Object.entries(KSERVE_DATATYPE) as [DType, string | undefined][])
    .filter((e): e is [DType, string] => e[1] !== undefined)
    .map(([dtype, name]) => [name, dtype]),
);

export function dtypeOfKServe(datatype: string): DType | undefined {
  return DTYPE_OF_KSERVE.get(datatype);
}

/** The KServe datatype for a dtype, or UNIMPLEMENTED when the protocol has none. */
export function kserveDatatype(dtype: DType, where: string): string {
  const name = KSERVE_DATATYPE[dtype];
  if (!name) throw new JetserveError('UNIMPLEMENTED', `${where} has dtype ${dtype}, which KServe v2 cannot express`);
  return name;
}

/**
 * Builds a tensor from its binary blob. Numeric data is copied once into a 64-byte aligned
 * allocTensor buffer; BYTES elements are views into `raw` (the engine copies strings into TF's
 * own string tensor anyway), so `raw` must stay unmodified until the request is done.
 */
export function tensorFromRaw(
  raw: Uint8Array,
  dtype: DType,
  shape: number[],
  where: string,
  alloc: TensorAllocator = allocTensor,
): Tensor {
  const count = elementCount(shape);
  if (dtype === 'string') {
    // grown element by element: a declared shape the data cannot hold fails at the first missing
    // element, without an array sized from the declaration
    const data: Uint8Array[] = [];
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 4 > raw.length) {
        throw invalidArgument(`${where}: BYTES data holds ${i} elements but shape ${formatShape(shape)} needs ${count}`);
      }
      const len = view.getUint32(p, true);
      p += 4;
      if (p + len > raw.length) {
        throw invalidArgument(`${where}: BYTES element ${i} has length ${len}, past the end of its ${raw.length}-byte data`);
      }
      data.push(raw.subarray(p, p + len));
      p += len;
    }
    if (p !== raw.length) {
      throw invalidArgument(`${where}: BYTES data has ${raw.length - p} bytes after its ${count} elements`);
    }
    return { dtype, shape, data };
  }
  const expected = count * BYTES_PER_ELEMENT[dtype];
  if (raw.length !== expected) {
    throw invalidArgument(
      `${where}: binary data has ${raw.length} bytes but shape ${formatShape(shape)} of ${KSERVE_DATATYPE[dtype] ?? dtype} needs ${expected}`,
    );
  }
  const tensor = alloc(dtype as NumericDType, shape);
  const d = tensor.data;
  new Uint8Array(d.buffer, d.byteOffset, expected).set(raw);
  if (dtype === 'bool') {
    const b = d as Uint8Array;
    for (let i = 0; i < b.length; i++) {
      if (b[i]! > 1) throw invalidArgument(`${where}: BOOL element ${i} is ${b[i]}, not 0 or 1`);
    }
  }
  return tensor;
}

/** Byte length of a tensor's binary blob. */
export function rawByteLength(t: Tensor): number {
  if (t.dtype === 'string') {
    let n = 0;
    for (const s of t.data as Uint8Array[]) n += 4 + s.length;
    return n;
  }
  const d = t.data as ArrayBufferView;
  return d.byteLength;
}

/** Writes a tensor's binary blob at dest[offset]; returns the offset after it. */
export function writeRaw(t: Tensor, dest: Uint8Array, offset: number): number {
  if (t.dtype === 'string') {
    const view = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
    for (const s of t.data as Uint8Array[]) {
      view.setUint32(offset, s.length, true);
      dest.set(s, offset + 4);
      offset += 4 + s.length;
    }
    return offset;
  }
  const d = t.data as ArrayBufferView;
  dest.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), offset);
  return offset + d.byteLength;
}

/** A tensor's binary blob: a view for numeric tensors, a new buffer for BYTES. */
export function rawBytesOf(t: Tensor): Uint8Array {
  if (t.dtype !== 'string') {
    const d = t.data as ArrayBufferView;
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
  const out = new Uint8Array(rawByteLength(t));
  writeRaw(t, out, 0);
  return out;
}

/**
 * "Raw binary request" (Inference-Header-Content-Length: 0): the body is the bytes of the model's
 * only input, batch 1. The shape comes from the signature with its variable dims resolved: a
 * leading -1 is the batch (1), at most one other -1 is inferred from the byte count. BYTES inputs
 * take the whole body as their single element.
 */
export function decodeRawBinaryRequest(
  body: Uint8Array,
  signature: SignatureInfo,
  budget: ElementBudget = new ElementBudget(),
): { name: string; tensor: Tensor } {
  const names = Object.keys(signature.inputs);
  if (names.length !== 1) {
    throw invalidArgument(
      `raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; this one has ${names.length}`,
    );
  }
  const name = names[0]!;
  const spec = signature.inputs[name]!;
  const where = `input '${name}'`;
  if (!spec.dtype || !KSERVE_DATATYPE[spec.dtype]) {
    throw new JetserveError('UNIMPLEMENTED', `${where} has a dtype KServe v2 cannot express`);
  }
  if (spec.dtype === 'string') {
    const shape = spec.shape === null ? [1] : spec.shape.map(() => 1);
    if (elementCount(shape) !== 1) throw invalidArgument(`${where}: a raw binary BYTES input must hold one element`);
    return { name, tensor: { dtype: 'string', shape, data: [body] } };
  }
  if (spec.shape === null) {
    throw invalidArgument(`${where} has unknown rank: a raw binary request cannot tell its shape; send a JSON header`);
  }
  const shape = [...spec.shape];
  if (shape.length > 0 && shape[0] === -1) shape[0] = 1;
  const unknown = shape.flatMap((d, i) => (d < 0 ? [i] : []));
  if (unknown.length > 1) {
    throw invalidArgument(
      `${where} has shape ${formatShape(spec.shape)}: a raw binary request allows at most one variable dimension besides the batch`,
    );
  }
  const elemSize = BYTES_PER_ELEMENT[spec.dtype];
  if (body.length % elemSize !== 0) {
    throw invalidArgument(`${where}: ${body.length} bytes is not a whole number of ${elemSize}-byte elements`);
  }
  const total = body.length / elemSize;
  if (unknown.length === 1) {
    let known = 1;
    shape.forEach((d, i) => {
      if (i !== unknown[0]) known *= d;
    });
    if (known === 0 || total % known !== 0) {
      throw invalidArgument(`${where}: ${total} elements do not fill shape ${formatShape(spec.shape)}`);
    }
    shape[unknown[0]!] = total / known;
  }
  budget.take(elementCount(shape), `${where} of shape ${formatShape(shape)}`);
  return { name, tensor: tensorFromRaw(body, spec.dtype, shape, where) };
}

/** JSON header bytes followed by every blob. */
export function assembleBinaryBody(json: Uint8Array, blobs: readonly Tensor[]): Uint8Array {
  let total = json.length;
  for (const t of blobs) total += rawByteLength(t);
  const body = new Uint8Array(total);
  body.set(json, 0);
  let offset = json.length;
  for (const t of blobs) offset = writeRaw(t, body, offset);
  return body;
}
