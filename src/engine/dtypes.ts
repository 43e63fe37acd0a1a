// The dtype table: jetserve's dtype names, TF's DataType enum numbers, element sizes and the
// typed-array class that holds each dtype's data. Every codec maps to and from these names.

export const DTYPES = [
  'float16',
  'bfloat16',
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
  'string',
  'complex64',
  'complex128',
] as const;

export type DType = (typeof DTYPES)[number];
export type NumericDType = Exclude<DType, 'string'>;

/** TF DataType enum (tensorflow/core/framework/types.proto). */
export const TF_DATATYPE: Record<DType, number> = {
  float32: 1,
  float64: 2,
  int32: 3,
  uint8: 4,
  int16: 5,
  int8: 6,
  string: 7,
  complex64: 8,
  int64: 9,
  bool: 10,
  bfloat16: 14,
  uint16: 17,
  complex128: 18,
  float16: 19,
  uint32: 22,
  uint64: 23,
};

const DTYPE_BY_TF_ENUM = new Map<number, DType>(
  (Object.entries(TF_DATATYPE) as [DType, number][]).map(([name, num]) => [num, name]),
);

/** TF's enum names as TF Serving prints them in metadata ("DT_FLOAT"). */
export const TF_DATATYPE_NAME: Record<DType, string> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  int32: 'DT_INT32',
  uint8: 'DT_UINT8',
  int16: 'DT_INT16',
  int8: 'DT_INT8',
  string: 'DT_STRING',
  complex64: 'DT_COMPLEX64',
  int64: 'DT_INT64',
  bool: 'DT_BOOL',
  bfloat16: 'DT_BFLOAT16',
  uint16: 'DT_UINT16',
  complex128: 'DT_COMPLEX128',
  float16: 'DT_HALF',
  uint32: 'DT_UINT32',
  uint64: 'DT_UINT64',
};

/** Names of TF enum values jetserve cannot carry (resource handles, variants, quantized types). */
const UNSUPPORTED_TF_NAMES: Record<number, string> = {
  0: 'DT_INVALID',
  11: 'DT_QINT8',
  12: 'DT_QUINT8',
  13: 'DT_QINT32',
  15: 'DT_QINT16',
  16: 'DT_QUINT16',
  20: 'DT_RESOURCE',
  21: 'DT_VARIANT',
};

export function dtypeFromTfEnum(num: number): DType | undefined {
  return DTYPE_BY_TF_ENUM.get(num);
}

export function tfEnumName(num: number): string {
  const dtype = DTYPE_BY_TF_ENUM.get(num);
  return dtype ? TF_DATATYPE_NAME[dtype] : (UNSUPPORTED_TF_NAMES[num] ?? `DT_UNKNOWN_${num}`);
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** Bytes per element in TF's buffer (complex types hold two components). 0 for string. */
export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
  bool: 1,
  string: 0,
  complex64: 8,
  complex128: 16,
};

/** Typed-array values per tensor element: 2 for complex (interleaved re, im), else 1. */
export function componentsPerElement(dtype: DType): 1 | 2 {
  return dtype === 'complex64' || dtype === 'complex128' ? 2 : 1;
}

export type NumericData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

export type TensorData = NumericData | Uint8Array[];

type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericData;
  new (length: number): NumericData;
  readonly BYTES_PER_ELEMENT: number;
};

/** The typed-array class that views each numeric dtype's data. */
export const TYPED_ARRAY_OF: Record<NumericDType, TypedArrayCtor> = {
  float16: Uint16Array,
  bfloat16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
  complex64: Float32Array,
  complex128: Float64Array,
} as unknown as Record<NumericDType, TypedArrayCtor>;

/** True for dtypes whose JS values are bigint. */
export function isBigIntDType(dtype: DType): dtype is 'int64' | 'uint64' {
  return dtype === 'int64' || dtype === 'uint64';
}
