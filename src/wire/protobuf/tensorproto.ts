// TensorProto (tensorflow/core/framework/tensor.proto) <-> Tensor, hand-rolled on the wire format.
//
// Decoding follows TF's Tensor::FromProto: a non-empty `tensor_content` wins (raw little-endian
// bytes, copied once into a 64-byte-aligned native buffer that TF adopts without another copy; for
// DT_STRING the varint-lengths-then-bytes list encoding); otherwise the dtype's typed `*_val` field
// is read straight into the aligned buffer: no values → zeros, fewer values than elements → the last
// value repeats (scalar broadcast), more → the first N are used. Packed and unpacked encodings of
// repeated fields are both accepted, as protobuf requires. DT_STRING elements are views into the
// request buffer (no copy).
//
// Encoding writes `tensor_content` for numeric tensors (fast for every client: one memcpy here, a
// frombuffer in numpy) or, on request, the typed `*_val` fields as TF Serving does by default;
// DT_STRING always goes in `string_val`.

import {
  BYTES_PER_ELEMENT,
  componentsPerElement,
  dtypeFromTfEnum,
  TF_DATATYPE,
  TF_DATATYPE_NAME,
  tfEnumName,
  type DType,
  type NumericData,
  type NumericDType,
} from '../../engine/dtypes.js';
import { allocTensor, elementCount, type Tensor } from '../../engine/tensor.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import {
  lenFieldSize,
  tagSize,
  varint64Size,
  varintSize,
  WireError,
  WireReader,
  WireWriter,
  WT_FIXED32,
  WT_FIXED64,
  WT_LEN,
  WT_VARINT,
} from './primitives.js';

// TensorProto field numbers.
const F_DTYPE = 1;
const F_TENSOR_SHAPE = 2;
const F_TENSOR_CONTENT = 4;
const F_FLOAT_VAL = 5;
const F_DOUBLE_VAL = 6;
const F_INT_VAL = 7;
const F_STRING_VAL = 8;
const F_SCOMPLEX_VAL = 9;
const F_INT64_VAL = 10;
const F_BOOL_VAL = 11;
const F_DCOMPLEX_VAL = 12;
const F_HALF_VAL = 13;
const F_UINT32_VAL = 16;
const F_UINT64_VAL = 17;
// TensorShapeProto / Dim field numbers.
const F_SHAPE_DIM = 2;
const F_SHAPE_UNKNOWN_RANK = 3;
const F_DIM_SIZE = 1;

/** How each dtype's values travel in the typed fields. */
export type ValueKind = 'f32' | 'f64' | 'i32' | 'u32' | 'i64' | 'bool' | 'half' | 'string';

interface FieldOf {
  field: number;
  kind: ValueKind;
}

/** The typed `*_val` field TF reads and writes for each dtype (TF's ProtoHelper table). */
export const VALUE_FIELD: Record<DType, FieldOf> = {
  float32: { field: F_FLOAT_VAL, kind: 'f32' },
  float64: { field: F_DOUBLE_VAL, kind: 'f64' },
  int32: { field: F_INT_VAL, kind: 'i32' },
  int16: { field: F_INT_VAL, kind: 'i32' },
  int8: { field: F_INT_VAL, kind: 'i32' },
  uint8: { field: F_INT_VAL, kind: 'i32' },
  uint16: { field: F_INT_VAL, kind: 'i32' },
  string: { field: F_STRING_VAL, kind: 'string' },
  complex64: { field: F_SCOMPLEX_VAL, kind: 'f32' },
  int64: { field: F_INT64_VAL, kind: 'i64' },
  bool: { field: F_BOOL_VAL, kind: 'bool' },
  complex128: { field: F_DCOMPLEX_VAL, kind: 'f64' },
  float16: { field: F_HALF_VAL, kind: 'half' },
  bfloat16: { field: F_HALF_VAL, kind: 'half' },
  uint32: { field: F_UINT32_VAL, kind: 'u32' },
  uint64: { field: F_UINT64_VAL, kind: 'i64' },
};

/** Largest tensor a request may ask for (data bytes; DT_STRING counts 8 bytes per element). */
export const MAX_TENSOR_BYTES = 2 ** 31;

const EMPTY_BYTES = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Decoding

/** Parsed fields of a TensorProto before its data is materialized. */
interface Scan {
  dtypeNum: number;
  shape: number[];
  unknownRank: boolean;
  contentStart: number;
  contentEnd: number;
  /** Flat [field, wireType, start, end] quadruples of every typed-value field occurrence. */
  segments: number[];
}

/**
 * Decodes the TensorProto in buf[start, end) into a Tensor. Numeric data lands in a 64-byte-aligned
 * buffer (allocTensor); strings are views into `buf`. `where` names the tensor in errors, which are
 * INVALID_ARGUMENT "tensor parsing error: <where>: <detail>".
 */
export function decodeTensorProto(buf: Buffer, start = 0, end = buf.length, where = 'tensor'): Tensor {
  try {
    return materialize(buf, scanTensorProto(buf, start, end), where);
  } catch (err) {
    if (err instanceof WireError) throw parsingError(where, `malformed TensorProto: ${err.message}`);
    throw err;
  }
}

function parsingError(where: string, detail: string): JetserveError {
  return invalidArgument(`tensor parsing error: ${where}: ${detail}`);
}

function scanTensorProto(buf: Buffer, start: number, end: number): Scan {
  const r = new WireReader(buf, start, end);
  const scan: Scan = {
    dtypeNum: 0,
    shape: [],
    unknownRank: false,
    contentStart: 0,
    contentEnd: 0,
    segments: [],
  };
  while (r.pos < r.end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === F_DTYPE && wt === WT_VARINT) {
      scan.dtypeNum = r.int32();
    } else if (field === F_TENSOR_SHAPE && wt === WT_LEN) {
      // proto3: a repeated occurrence of a message field merges; dims append
      const shapeEnd = r.lenEnd();
      scanShape(r, shapeEnd, scan);
      r.pos = shapeEnd;
    } else if (field === F_TENSOR_CONTENT && wt === WT_LEN) {
      scan.contentEnd = r.lenEnd();
      scan.contentStart = r.pos;
      r.pos = scan.contentEnd;
    } else if (field >= F_FLOAT_VAL && field <= F_UINT64_VAL && field !== 14 && field !== 15) {
      const segStart = r.pos;
      if (wt === WT_LEN) {
        const segEnd = r.lenEnd();
        scan.segments.push(field, wt, r.pos, segEnd);
        r.pos = segEnd;
      } else {
        r.skip(wt, field);
        scan.segments.push(field, wt, segStart, r.pos);
      }
    } else {
      r.skip(wt, field);
    }
  }
  return scan;
}

function scanShape(r: WireReader, end: number, scan: Scan): void {
  const outerEnd = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (field === F_SHAPE_DIM && wt === WT_LEN) {
      const dimEnd = r.lenEnd();
      r.end = dimEnd;
      let size = 0;
      while (r.pos < dimEnd) {
        const dtag = r.tag();
        if (dtag >>> 3 === F_DIM_SIZE && (dtag & 7) === WT_VARINT) size = r.int64Number();
        else r.skip(dtag & 7, dtag >>> 3);
      }
      r.end = end;
      scan.shape.push(size);
    } else if (field === F_SHAPE_UNKNOWN_RANK && wt === WT_VARINT) {
      scan.unknownRank = r.bool();
    } else {
      r.skip(wt, field);
    }
  }
  r.end = outerEnd;
}

function materialize(buf: Buffer, scan: Scan, where: string): Tensor {
  const dtype = dtypeFromTfEnum(scan.dtypeNum);
  if (!dtype) {
    throw parsingError(where, `unsupported dtype ${tfEnumName(scan.dtypeNum)} (${scan.dtypeNum})`);
  }
  if (scan.unknownRank) throw parsingError(where, 'tensor_shape has unknown_rank set; a tensor needs a full shape');
  const shape = scan.shape;
  for (const d of shape) {
    if (d < 0 || !Number.isSafeInteger(d)) {
      throw parsingError(where, `tensor_shape [${shape.join(',')}] has an invalid dimension ${d}`);
    }
  }
  const count = elementCount(shape);
  const elementBytes = dtype === 'string' ? 8 : BYTES_PER_ELEMENT[dtype];
  if (!(count * elementBytes <= MAX_TENSOR_BYTES)) {
    throw parsingError(where, `shape [${shape.join(',')}] of ${TF_DATATYPE_NAME[dtype]} is too large`);
  }
  const hasContent = scan.contentEnd > scan.contentStart;
  if (dtype === 'string') {
    const data = hasContent
      ? decodeStringList(buf, scan.contentStart, scan.contentEnd, count, where)
      : stringValues(buf, scan.segments, count);
    return { dtype, shape, data };
  }
  const tensor = allocTensor(dtype, shape);
  const data = tensor.data;
  if (hasContent) {
    const byteLength = scan.contentEnd - scan.contentStart;
    const expected = count * BYTES_PER_ELEMENT[dtype];
    if (byteLength !== expected) {
      throw parsingError(
        where,
        `tensor_content has ${byteLength} bytes but shape [${shape.join(',')}] of ${TF_DATATYPE_NAME[dtype]} needs ${expected}`,
      );
    }
    bytesOf(data).set(buf.subarray(scan.contentStart, scan.contentEnd));
    return tensor;
  }
  if (data.length > 0) fillTypedValues(buf, scan.segments, dtype, data);
  return tensor;
}

function bytesOf(data: NumericData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** TF's string-list encoding: `count` varint32 lengths, then the concatenated bytes. */
function decodeStringList(buf: Buffer, start: number, end: number, count: number, where: string): Uint8Array[] {
  const r = new WireReader(buf, start, end);
  const lengths = new Array<number>(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const len = r.uint32();
    lengths[i] = len;
    total += len;
  }
  if (r.pos + total !== end) {
    throw parsingError(
      where,
      `DT_STRING tensor_content lengths add up to ${total} bytes but ${end - r.pos} bytes follow them`,
    );
  }
  const out = new Array<Uint8Array>(count);
  let pos = r.pos;
  for (let i = 0; i < count; i++) {
    out[i] = buf.subarray(pos, pos + lengths[i]!);
    pos += lengths[i]!;
  }
  return out;
}

function stringValues(buf: Buffer, segments: number[], count: number): Uint8Array[] {
  const out = new Array<Uint8Array>(count);
  let n = 0;
  for (let s = 0; s < segments.length && n < count; s += 4) {
    if (segments[s] !== F_STRING_VAL || segments[s + 1] !== WT_LEN) continue;
    out[n++] = buf.subarray(segments[s + 2], segments[s + 3]);
  }
  const fill = n === 0 ? EMPTY_BYTES : out[n - 1]!;
  for (let i = n; i < count; i++) out[i] = fill;
  return out;
}

/** Reads the dtype's typed field segments into `data`, then broadcasts the last value (TF rules). */
function fillTypedValues(buf: Buffer, segments: number[], dtype: NumericDType, data: NumericData): void {
  const { field, kind } = VALUE_FIELD[dtype];
  const capacity = data.length;
  let n = Math.min(readValueSegments(buf, segments, field, kind as Exclude<ValueKind, 'string'>, data), capacity);
  if (n === 0 || n === capacity) return;
  // Broadcast the last element over the rest (for complex: the last whole (re, im) pair).
  if (componentsPerElement(dtype) === 2) {
    if (n % 2 === 1) data[--n] = 0;
    if (n === 0) return;
    const re = data[n - 2] as number;
    const im = data[n - 1] as number;
    for (let i = n; i < capacity; i += 2) {
      data[i] = re;
      data[i + 1] = im;
    }
    return;
  }
  (data as unknown as { fill(value: unknown, start: number): void }).fill(data[n - 1], n);
}

/**
 * Reads the numeric values of repeated field `field` (packed or not) from the flat
 * [field, wireType, start, end] `segments` into `data` (at most data.length values are stored)
 * and returns how many values the segments hold in total. Shared with the KServe codec
 * (InferTensorContents). Varints are stored through typed-array conversion, which wraps like
 * TF's static_cast to a narrower integer type.
 */
export function readValueSegments(
  buf: Buffer,
  segments: readonly number[],
  field: number,
  kind: Exclude<ValueKind, 'string'>,
  data: NumericData,
): number {
  const capacity = data.length;
  let n = 0;
  const r = new WireReader(buf);
  for (let s = 0; s < segments.length; s += 4) {
    if (segments[s] !== field) continue;
    const wt = segments[s + 1]!;
    r.pos = segments[s + 2]!;
    r.end = segments[s + 3]!;
    switch (kind) {
      case 'f32':
      case 'f64': {
        const width = kind === 'f32' ? 4 : 8;
        if (wt !== WT_LEN && wt !== (width === 4 ? WT_FIXED32 : WT_FIXED64)) break;
        const bytes = r.end - r.pos;
        if (bytes % width !== 0) throw new WireError(`packed field ${field} length ${bytes} is not a multiple of ${width}`);
        const take = Math.max(0, Math.min(bytes / width, capacity - n));
        if (take > 0) bytesOf(data).set(buf.subarray(r.pos, r.pos + take * width), n * width);
        n += bytes / width;
        break;
      }
      case 'i64': {
        if (wt !== WT_LEN && wt !== WT_VARINT) break;
        const words = new Uint32Array(data.buffer, data.byteOffset, capacity * 2);
        while (r.pos < r.end) {
          r.readVarint64();
          if (n < capacity) {
            words[2 * n] = r.lo;
            words[2 * n + 1] = r.hi;
          }
          n++;
        }
        break;
      }
      case 'bool': {
        if (wt !== WT_LEN && wt !== WT_VARINT) break;
        while (r.pos < r.end) {
          const v = r.bool() ? 1 : 0;
          if (n < capacity) data[n] = v;
          n++;
        }
        break;
      }
      default: {
        // i32 (int_val), u32 (uint32_val), half (half_val): varints
        if (wt !== WT_LEN && wt !== WT_VARINT) break;
        while (r.pos < r.end) {
          const v = r.uint32();
          if (n < capacity) data[n] = v;
          n++;
        }
        break;
      }
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface TensorProtoEncodeOptions {
  /**
   * true (default): numeric data goes in `tensor_content` (one memcpy; fastest to decode anywhere).
   * false: typed `*_val` fields, as TF Serving writes them without
   * --enable_serialization_as_tensor_content (clients reading e.g. `float_val` directly need this).
   */
  tensorContent?: boolean;
}

/** A TensorProto's encoded layout, computed once by planTensorProto and used by writeTensorProto. */
export interface TensorProtoPlan {
  tensor: Tensor;
  /** Total encoded bytes of the TensorProto message (without an outer tag/length). */
  size: number;
  shapeSize: number;
  /** Payload bytes of the data field (tensor_content or the packed typed field); -1 for strings. */
  dataSize: number;
  tensorContent: boolean;
}

function shapeProtoSize(shape: readonly number[]): number {
  let size = 0;
  for (const d of shape) {
    const dimSize = d === 0 ? 0 : tagSize(F_DIM_SIZE) + varintSize(d);
    size += lenFieldSize(F_SHAPE_DIM, dimSize);
  }
  return size;
}

export function planTensorProto(tensor: Tensor, options: TensorProtoEncodeOptions = {}): TensorProtoPlan {
  const tensorContent = options.tensorContent ?? true;
  const dtypeNum = TF_DATATYPE[tensor.dtype];
  const shapeSize = shapeProtoSize(tensor.shape);
  let size = tagSize(F_DTYPE) + varintSize(dtypeNum) + lenFieldSize(F_TENSOR_SHAPE, shapeSize);
  let dataSize: number;
  if (tensor.dtype === 'string') {
    dataSize = -1;
    for (const s of tensor.data as Uint8Array[]) size += lenFieldSize(F_STRING_VAL, s.length);
  } else {
    const data = tensor.data as NumericData;
    dataSize = tensorContent ? data.byteLength : packedSize(tensor.dtype, data);
    if (dataSize > 0) {
      size += lenFieldSize(tensorContent ? F_TENSOR_CONTENT : VALUE_FIELD[tensor.dtype].field, dataSize);
    }
  }
  return { tensor, size, shapeSize, dataSize, tensorContent };
}

/** Payload size of the packed typed field holding `data`. */
function packedSize(dtype: NumericDType, data: NumericData): number {
  const { kind } = VALUE_FIELD[dtype];
  switch (kind) {
    case 'f32':
    case 'f64':
      return data.byteLength;
    case 'bool':
      return data.length;
    case 'i64': {
      const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
      let size = 0;
      for (let i = 0; i < words.length; i += 2) size += varint64Size(words[i]!, words[i + 1]!);
      return size;
    }
    case 'i32': {
      let size = 0;
      for (let i = 0; i < data.length; i++) {
        const v = data[i] as number;
        size += v < 0 ? 10 : varintSize(v);
      }
      return size;
    }
    default: {
      // u32, half: non-negative
      let size = 0;
      for (let i = 0; i < data.length; i++) size += varintSize(data[i] as number);
      return size;
    }
  }
}

/** tensor_content at least this large is referenced, not copied, when writing a gather list. */
export const EXTERNAL_CONTENT_MIN = 64 * 1024;

/** Bytes of `plan` that writeTensorProto(w, plan, true) leaves external (not in the buffer). */
export function externalBytes(plan: TensorProtoPlan): number {
  return plan.tensorContent && plan.dataSize >= EXTERNAL_CONTENT_MIN ? plan.dataSize : 0;
}

/**
 * Writes the TensorProto message body (no outer tag/length) as planned. With `gather`, a large
 * tensor_content is referenced (WireWriter.external) instead of copied.
 */
export function writeTensorProto(w: WireWriter, plan: TensorProtoPlan, gather = false): void {
  const { tensor, shapeSize, dataSize } = plan;
  w.tag(F_DTYPE, WT_VARINT);
  w.varint(TF_DATATYPE[tensor.dtype]);
  w.lenHeader(F_TENSOR_SHAPE, shapeSize);
  for (const d of tensor.shape) {
    if (d === 0) {
      w.lenHeader(F_SHAPE_DIM, 0);
    } else {
      w.lenHeader(F_SHAPE_DIM, tagSize(F_DIM_SIZE) + varintSize(d));
      w.tag(F_DIM_SIZE, WT_VARINT);
      w.varint(d);
    }
  }
  if (tensor.dtype === 'string') {
    for (const s of tensor.data as Uint8Array[]) w.bytesField(F_STRING_VAL, s);
    return;
  }
  if (dataSize <= 0) return;
  const data = tensor.data as NumericData;
  if (plan.tensorContent) {
    w.lenHeader(F_TENSOR_CONTENT, dataSize);
    if (gather && externalBytes(plan) > 0) w.external(bytesOf(data));
    else w.raw(bytesOf(data));
    return;
  }
  const { field, kind } = VALUE_FIELD[tensor.dtype];
  w.lenHeader(field, dataSize);
  switch (kind) {
    case 'f32':
    case 'f64':
    case 'bool':
      w.raw(bytesOf(data));
      return;
    case 'i64': {
      const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
      for (let i = 0; i < words.length; i += 2) w.varint64(words[i]!, words[i + 1]!);
      return;
    }
    default:
      for (let i = 0; i < data.length; i++) w.varint(data[i] as number);
  }
}

/** Encodes one Tensor as a standalone TensorProto message. */
export function encodeTensorProto(tensor: Tensor, options: TensorProtoEncodeOptions = {}): Buffer {
  const plan = planTensorProto(tensor, options);
  const w = new WireWriter(plan.size);
  writeTensorProto(w, plan);
  return w.finish();
}
