// The Tensor value type that moves through every stage (codecs, batching, engine), and the
// conversions from friendlier JS values (nested arrays, strings) into it.

import {
  BYTES_PER_ELEMENT,
  componentsPerElement,
  isBigIntDType,
  TYPED_ARRAY_OF,
  type DType,
  type NumericData,
  type NumericDType,
  type TensorData,
} from './dtypes.js';
import { allocAligned, releaseAligned } from './native.js';
import { invalidArgument } from '../errors.js';

/**
 * A dense tensor. `data` is a typed-array view for numeric dtypes (interleaved re/im for complex,
 * raw uint16 bits for float16/bfloat16, 0/1 bytes for bool) and an array of byte strings for
 * DT_STRING. `shape` is row-major.
 */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** What predict() accepts for one input: a Tensor, a typed array (1-D), nested arrays, or strings. */
export type TensorLike =
  | Tensor
  | NumericData
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | TensorLikeArray;
export interface TensorLikeArray extends ReadonlyArray<TensorLike> {}

/**
 * A dimension read from a Float64Array (the addon's run and decode metadata) as a small integer.
 * V8 keeps an array of small integers as PACKED_SMI_ELEMENTS and one holding a float64 value as
 * PACKED_DOUBLE_ELEMENTS; shape arrays of mixed kinds made every optimized reader of `shape`
 * convert each incoming array to a common kind (a runtime call copying it): 28k such conversions
 * per 30k tiny REST predicts (`node --trace-elements-transitions`). Dimensions past 2^30 stay
 * plain numbers.
 */
export function shapeDim(value: number): number {
  return value <= 0x3fffffff ? value | 0 : value;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    !ArrayBuffer.isView(value) &&
    !Array.isArray(value) &&
    'dtype' in value &&
    'shape' in value &&
    'data' in value
  );
}

/**
 * Allocates a zero-filled tensor whose buffer is 64-byte aligned native memory, so the engine hands
 * it to TF without copying. Decoders write straight into `data`.
 */
export function allocTensor(dtype: NumericDType, shape: readonly number[]): Tensor & { data: NumericData } {
  const count = elementCount(shape);
  const Ctor = TYPED_ARRAY_OF[dtype];
  const byteLength = count * BYTES_PER_ELEMENT[dtype];
  let buffer: ArrayBuffer;
  let offset = 0;
  if (byteLength === 0 || byteLength > SLAB_MAX_BYTES) {
    buffer = allocAligned(byteLength);
  } else {
    const size = (byteLength + 63) & ~63;
    if (slabUsed + size > SLAB_BYTES) {
      slab = allocAligned(SLAB_BYTES);
      slabUsed = 0;
    }
    buffer = slab!;
    offset = slabUsed;
    slabUsed += size;
  }
  return { dtype, shape: [...shape], data: new Ctor(buffer, offset, count * componentsPerElement(dtype)) };
}

/**
 * Gives back the memory of a tensor its caller owns alone and will not read again (a batch's
 * gathered inputs once their run settled): the tensor's data becomes empty. Only a numeric tensor
 * that spans its whole buffer is released (an allocTensor block of its own); slab regions and
 * views into a larger buffer are left to the GC.
 */
export function releaseTensor(tensor: Tensor): void {
  if (tensor.dtype === 'string') return;
  const data = tensor.data as NumericData;
  const buffer = data.buffer;
  if (data.byteLength > SLAB_MAX_BYTES && data.byteOffset === 0 && data.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) {
    releaseAligned(buffer);
  }
}

/**
 * How a decoder allocates numeric tensors: allocTensor (aligned native memory, zero copy into TF)
 * by default; plainTensor where native memory cannot be used (worker threads: native-backed
 * ArrayBuffers cannot be transferred between threads).
 */
export type TensorAllocator = (dtype: NumericDType, shape: readonly number[]) => Tensor & { data: NumericData };

/** A zero-filled tensor in a plain (transferable) ArrayBuffer of its own; TF copies it once. */
export const plainTensor: TensorAllocator = (dtype, shape) => {
  const count = elementCount(shape);
  const Ctor = TYPED_ARRAY_OF[dtype];
  return { dtype, shape: [...shape], data: new Ctor(count * componentsPerElement(dtype)) };
};

// Small tensors are carved from a shared slab: each allocAligned() call creates an external
// ArrayBuffer with a finalizer (~3 µs, more with the GC work it causes), which for a request's
// 16-byte input was the largest single cost on the REST hot path. Slab regions are 64-byte aligned
// at a 64-byte aligned offset of a registered native block, so TF still adopts them without a copy
// (the addon looks the block up by its base and keeps it alive while any TF tensor uses it).
// Regions are never reused: a slab is freed when its last view and TF tensor are gone, so a
// long-lived small tensor keeps at most SLAB_BYTES alive. Fresh slabs are zero-filled.
const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_BYTES = 1024;
let slab: ArrayBuffer | undefined;
let slabUsed = SLAB_BYTES;

/** Number of typed-array values a numeric tensor of this shape needs. */
export function valueCount(dtype: DType, shape: readonly number[]): number {
  return elementCount(shape) * componentsPerElement(dtype);
}

/** Checks a tensor's data length against its shape; `where` names the tensor in the message. */
export function assertConsistent(tensor: Tensor, where: string): void {
  const expected = tensor.dtype === 'string' ? elementCount(tensor.shape) : valueCount(tensor.dtype, tensor.shape);
  if (tensor.data.length !== expected) {
    throw invalidArgument(
      `${where}: shape [${tensor.shape.join(',')}] needs ${expected} values for ${tensor.dtype} but data has ${tensor.data.length}`,
    );
  }
}

const textEncoder = new TextEncoder();

/**
 * Converts a TensorLike to a Tensor of `dtype`. Nested arrays must be rectangular; strings are
 * UTF-8 encoded for DT_STRING. `where` names the input in error messages.
 */
export function toTensor(value: TensorLike, dtype: DType, where: string): Tensor {
  if (isTensor(value)) {
    if (value.dtype !== dtype) {
      throw invalidArgument(`${where}: expects dtype ${dtype} but got a ${value.dtype} tensor`);
    }
    assertConsistent(value, where);
    return value;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if (dtype === 'string') {
      return { dtype, shape: [], data: [value as Uint8Array] };
    }
    const data = value as NumericData;
    const perElement = componentsPerElement(dtype);
    if (!(data instanceof TYPED_ARRAY_OF[dtype])) {
      throw invalidArgument(
        `${where}: expects dtype ${dtype} (${TYPED_ARRAY_OF[dtype].name}) but got a ${data.constructor.name}`,
      );
    }
    return { dtype, shape: [data.length / perElement], data };
  }
  const shape = inferShape(value, dtype, where);
  const flat: TensorLike[] = [];
  flatten(value, flat);
  if (dtype === 'string') {
    return {
      dtype,
      shape,
      data: flat.map((v, i) => {
        if (typeof v === 'string') return textEncoder.encode(v);
        if (v instanceof Uint8Array) return v;
        throw invalidArgument(`${where}: element ${i} must be a string or bytes for dtype string`);
      }),
    };
  }
  const tensor = allocTensor(dtype, shape);
  const perElement = componentsPerElement(dtype);
  const data = tensor.data;
  if (perElement === 2) {
    // complex: each element is [re, im]
    if (flat.length * 1 !== elementCount(shape) * 2) {
      throw invalidArgument(`${where}: complex values must be given as [re, im] pairs`);
    }
  }
  for (let i = 0; i < flat.length; i++) {
    writeScalar(data, i, flat[i], dtype, where);
  }
  return tensor;
}

function inferShape(value: TensorLike, dtype: DType, where: string): number[] {
  const shape: number[] = [];
  let cursor: TensorLike = value;
  while (Array.isArray(cursor)) {
    shape.push(cursor.length);
    if (cursor.length === 0) break;
    cursor = cursor[0] as TensorLike;
  }
  if (componentsPerElement(dtype) === 2) {
    // the innermost [re, im] pair is not a dimension
    if (shape.length === 0 || shape[shape.length - 1] !== 2) {
      throw invalidArgument(`${where}: complex values must be given as [re, im] pairs`);
    }
    shape.pop();
  }
  checkRectangular(value, shape.concat(componentsPerElement(dtype) === 2 ? [2] : []), 0, where);
  return shape;
}

function checkRectangular(value: TensorLike, shape: number[], depth: number, where: string): void {
  if (depth === shape.length) {
    if (Array.isArray(value)) throw invalidArgument(`${where}: ragged nested array (too deep at depth ${depth})`);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw invalidArgument(
      `${where}: ragged nested array: expected length ${shape[depth]} at depth ${depth}, shape [${shape.join(',')}]`,
    );
  }
  for (const item of value) checkRectangular(item as TensorLike, shape, depth + 1, where);
}

function flatten(value: TensorLike, out: TensorLike[]): void {
  if (Array.isArray(value)) {
    for (const item of value) flatten(item as TensorLike, out);
  } else {
    out.push(value);
  }
}

function writeScalar(data: NumericData, index: number, v: TensorLike, dtype: DType, where: string): void {
  if (isBigIntDType(dtype)) {
    if (typeof v === 'bigint') (data as BigInt64Array)[index] = v;
    else if (typeof v === 'number' && Number.isInteger(v)) (data as BigInt64Array)[index] = BigInt(v);
    else throw invalidArgument(`${where}: element ${index} is not an integer for dtype ${dtype}`);
    return;
  }
  if (dtype === 'bool') {
    if (typeof v === 'boolean') data[index] = v ? 1 : 0;
    else if (v === 0 || v === 1) data[index] = v;
    else throw invalidArgument(`${where}: element ${index} is not a boolean`);
    return;
  }
  if (typeof v === 'number') {
    if (dtype === 'float16' || dtype === 'bfloat16') {
      data[index] = dtype === 'float16' ? float32ToHalfBits(v) : float32ToBfloat16Bits(v);
    } else {
      data[index] = v;
    }
    return;
  }
  if (typeof v === 'boolean') {
    data[index] = v ? 1 : 0;
    return;
  }
  throw invalidArgument(`${where}: element ${index} is not a number for dtype ${dtype}`);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of a number, rounding to nearest even. */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function halfBitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits (upper half of float32), rounding to nearest even. */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40; // keep NaN a NaN
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bfloat16BitsToFloat32(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}
