// inference.ModelInferRequest / ModelInferResponse (KServe v2 gRPC) on the wire, hand-rolled.
//
// Inputs come either as `raw_input_contents` (one bytes entry per input, in the order of
// `inputs`; copied once into an aligned buffer; BYTES elements are 4-byte little-endian length
// prefixed) or as typed InferTensorContents (exactly one value per element, no broadcasting).
// Responses always carry `raw_output_contents`, as Triton does and tritonclient expects.

import { readValueSegments, type ValueKind } from './tensorproto.js';
import { BYTES_PER_ELEMENT, type DType, type NumericData } from '../../engine/dtypes.js';
import { allocTensor, elementCount, type Tensor } from '../../engine/tensor.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import { malformed } from './predict.js';
import { lenFieldSize, varintSize, WireError, WireReader, WireWriter, WT_LEN, WT_VARINT } from './primitives.js';

// The datatype table lives with the KServe codecs; re-exported for the gRPC service.
import { KSERVE_DATATYPE, dtypeOfKServe as dtypeOfDatatype } from '../kserve-binary.js';
export { KSERVE_DATATYPE, dtypeOfDatatype };
const KNOWN_DATATYPES = Object.values(KSERVE_DATATYPE).filter(Boolean).join(', ');

/** InferTensorContents field and value kind for each datatype (FP16/BF16: raw only). */
const CONTENTS_FIELD: Partial<Record<DType, { field: number; kind: Exclude<ValueKind, 'string'> }>> = {
  bool: { field: 1, kind: 'bool' },
  int8: { field: 2, kind: 'i32' },
  int16: { field: 2, kind: 'i32' },
  int32: { field: 2, kind: 'i32' },
  int64: { field: 3, kind: 'i64' },
  uint8: { field: 4, kind: 'u32' },
  uint16: { field: 4, kind: 'u32' },
  uint32: { field: 4, kind: 'u32' },
  uint64: { field: 5, kind: 'i64' },
  float32: { field: 6, kind: 'f32' },
  float64: { field: 7, kind: 'f64' },
};
const F_BYTES_CONTENTS = 8;

/** An InferParameter value (oneof bool / int64 / string / double / uint64). */
export type InferParameterValue = boolean | number | string;

export interface ScannedInferInput {
  name: string;
  datatype: string;
  shape: number[];
  parameters: Record<string, InferParameterValue>;
  /** Where the InferTensorContents message lies; start === end when absent. */
  contentsStart: number;
  contentsEnd: number;
  hasContents: boolean;
}

export interface ScannedInferRequest {
  buf: Buffer;
  modelName: string;
  modelVersion: string;
  id: string;
  parameters: Record<string, InferParameterValue>;
  inputs: ScannedInferInput[];
  outputs: { name: string; parameters: Record<string, InferParameterValue> }[];
  /** [start, end] of each raw_input_contents entry. */
  raw: [number, number][];
}

export function scanModelInferRequest(buf: Buffer): ScannedInferRequest {
  try {
    const r = new WireReader(buf);
    const req: ScannedInferRequest = {
      buf,
      modelName: '',
      modelVersion: '',
      id: '',
      parameters: Object.create(null) as Record<string, InferParameterValue>,
      inputs: [],
      outputs: [],
      raw: [],
    };
    while (r.pos < r.end) {
      const tag = r.tag();
      const field = tag >>> 3;
      const wt = tag & 7;
      if (wt !== WT_LEN) {
        r.skip(wt, field);
        continue;
      }
      switch (field) {
        case 1:
          req.modelName = r.string();
          break;
        case 2:
          req.modelVersion = r.string();
          break;
        case 3:
          req.id = r.string();
          break;
        case 4:
          readParameterEntry(r, req.parameters);
          break;
        case 5:
          req.inputs.push(readInput(r));
          break;
        case 6:
          req.outputs.push(readRequestedOutput(r));
          break;
        case 7: {
          const end = r.lenEnd();
          req.raw.push([r.pos, end]);
          r.pos = end;
          break;
        }
        default:
          r.skip(wt, field);
      }
    }
    return req;
  } catch (err) {
    if (err instanceof WireError) throw malformed('ModelInferRequest', err);
    throw err;
  }
}

function withSubmessage<T>(r: WireReader, read: (end: number) => T): T {
  const end = r.lenEnd();
  const saved = r.end;
  r.end = end;
  try {
    return read(end);
  } finally {
    r.end = saved;
    r.pos = end;
  }
}

function readInput(r: WireReader): ScannedInferInput {
  return withSubmessage(r, (end) => {
    const input: ScannedInferInput = {
      name: '',
      datatype: '',
      shape: [],
      parameters: Object.create(null) as Record<string, InferParameterValue>,
      contentsStart: 0,
      contentsEnd: 0,
      hasContents: false,
    };
    while (r.pos < end) {
      const tag = r.tag();
      const field = tag >>> 3;
      const wt = tag & 7;
      if (field === 1 && wt === WT_LEN) input.name = r.string();
      else if (field === 2 && wt === WT_LEN) input.datatype = r.string();
      else if (field === 3 && wt === WT_LEN) {
        const shapeEnd = r.lenEnd();
        while (r.pos < shapeEnd) input.shape.push(r.int64Number());
      } else if (field === 3 && wt === WT_VARINT) input.shape.push(r.int64Number());
      else if (field === 4 && wt === WT_LEN) readParameterEntry(r, input.parameters);
      else if (field === 5 && wt === WT_LEN) {
        input.contentsEnd = r.lenEnd();
        input.contentsStart = r.pos;
        input.hasContents = true;
        r.pos = input.contentsEnd;
      } else r.skip(wt, field);
    }
    return input;
  });
}

function readRequestedOutput(r: WireReader): { name: string; parameters: Record<string, InferParameterValue> } {
  return withSubmessage(r, (end) => {
    const out = { name: '', parameters: Object.create(null) as Record<string, InferParameterValue> };
    while (r.pos < end) {
      const tag = r.tag();
      if (tag === ((1 << 3) | WT_LEN)) out.name = r.string();
      else if (tag === ((2 << 3) | WT_LEN)) readParameterEntry(r, out.parameters);
      else r.skip(tag & 7, tag >>> 3);
    }
    return out;
  });
}

/** A map<string, InferParameter> entry. */
function readParameterEntry(r: WireReader, into: Record<string, InferParameterValue>): void {
  withSubmessage(r, (end) => {
    let key = '';
    let value: InferParameterValue = '';
    while (r.pos < end) {
      const tag = r.tag();
      if (tag === ((1 << 3) | WT_LEN)) key = r.string();
      else if (tag === ((2 << 3) | WT_LEN)) {
        value = withSubmessage(r, (pend) => {
          let v: InferParameterValue = '';
          while (r.pos < pend) {
            const ptag = r.tag();
            const f = ptag >>> 3;
            const wt = ptag & 7;
            if (f === 1 && wt === WT_VARINT) v = r.bool();
            else if ((f === 2 || f === 5) && wt === WT_VARINT) v = r.int64Number();
            else if (f === 3 && wt === WT_LEN) v = r.string();
            else if (f === 4 && wt === 1) v = r.double();
            else r.skip(wt, f);
          }
          return v;
        });
      } else r.skip(tag & 7, tag >>> 3);
    }
    into[key] = value;
  });
}

/**
 * Decodes the request's input tensors. Each input's datatype must name a jetserve dtype; data comes
 * from raw_input_contents (when present, for every input) or the typed contents.
 */
export function decodeInferInputs(req: ScannedInferRequest): Record<string, Tensor> {
  const useRaw = req.raw.length > 0;
  if (useRaw && req.raw.length !== req.inputs.length) {
    throw invalidArgument(
      `expected ${req.inputs.length} raw_input_contents (one per input) but got ${req.raw.length}`,
    );
  }
  const out: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  for (let i = 0; i < req.inputs.length; i++) {
    const input = req.inputs[i]!;
    if (input.name in out) throw invalidArgument(`input '${input.name}' is given more than once`);
    try {
      out[input.name] = decodeInput(req.buf, input, useRaw ? req.raw[i]! : undefined);
    } catch (err) {
      if (err instanceof WireError) throw malformed(`contents of input '${input.name}'`, err);
      throw err;
    }
  }
  return out;
}

function decodeInput(buf: Buffer, input: ScannedInferInput, raw: [number, number] | undefined): Tensor {
  const where = `input '${input.name}'`;
  const dtype = dtypeOfDatatype(input.datatype);
  if (!dtype) {
    throw invalidArgument(
      `${where} has invalid datatype '${input.datatype}' (expected one of ${KNOWN_DATATYPES})`,
    );
  }
  for (const d of input.shape) {
    if (d < 0 || !Number.isSafeInteger(d)) throw invalidArgument(`${where} has an invalid shape [${input.shape.join(',')}]`);
  }
  const shape = input.shape;
  const count = elementCount(shape);
  if (raw && input.hasContents) {
    throw invalidArgument(`${where}: contents and raw_input_contents are mutually exclusive`);
  }
  if (raw) {
    const [start, end] = raw;
    if (dtype === 'string') return { dtype, shape, data: decodeRawBytes(buf, start, end, count, where) };
    const expected = count * BYTES_PER_ELEMENT[dtype];
    if (end - start !== expected) {
      throw invalidArgument(
        `unexpected size ${end - start} bytes in raw_input_contents for ${where}: shape [${shape.join(',')}] of ${input.datatype} needs ${expected}`,
      );
    }
    const tensor = allocTensor(dtype, shape);
    new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, expected).set(buf.subarray(start, end));
    return tensor;
  }
  // typed contents
  const segments: number[] = [];
  if (input.hasContents) {
    const r = new WireReader(buf, input.contentsStart, input.contentsEnd);
    while (r.pos < r.end) {
      const tag = r.tag();
      const field = tag >>> 3;
      const wt = tag & 7;
      const segStart = r.pos;
      if (wt === WT_LEN) {
        const segEnd = r.lenEnd();
        segments.push(field, wt, r.pos, segEnd);
        r.pos = segEnd;
      } else {
        r.skip(wt, field);
        segments.push(field, wt, segStart, r.pos);
      }
    }
  }
  if (dtype === 'string') {
    const data: Uint8Array[] = [];
    for (let s = 0; s < segments.length; s += 4) {
      if (segments[s] === F_BYTES_CONTENTS && segments[s + 1] === WT_LEN) {
        data.push(buf.subarray(segments[s + 2], segments[s + 3]));
      }
    }
    if (data.length !== count) {
      throw invalidArgument(
        `${where}: shape [${shape.join(',')}] needs ${count} BYTES elements but contents.bytes_contents has ${data.length}`,
      );
    }
    return { dtype, shape, data };
  }
  const spec = CONTENTS_FIELD[dtype];
  if (!spec) {
    throw invalidArgument(`${where}: ${input.datatype} data must be sent in raw_input_contents (there is no typed contents field for it)`);
  }
  const tensor = allocTensor(dtype, shape);
  const n = readValueSegments(buf, segments, spec.field, spec.kind, tensor.data as NumericData);
  if (n !== count) {
    throw invalidArgument(
      `${where}: shape [${shape.join(',')}] needs ${count} values but contents has ${n}` +
        (n === 0 && count > 0 ? ` (${input.datatype} values go in ${CONTENTS_NAME[spec.field]})` : ''),
    );
  }
  return tensor;
}

const CONTENTS_NAME: Record<number, string> = {
  1: 'bool_contents',
  2: 'int_contents',
  3: 'int64_contents',
  4: 'uint_contents',
  5: 'uint64_contents',
  6: 'fp32_contents',
  7: 'fp64_contents',
};

/** BYTES in raw form: per element a uint32 little-endian length, then the bytes. */
function decodeRawBytes(buf: Buffer, start: number, end: number, count: number, where: string): Uint8Array[] {
  const out = new Array<Uint8Array>(count);
  let pos = start;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > end) {
      throw invalidArgument(`${where}: raw BYTES data ends after ${i} of ${count} elements`);
    }
    const len = buf.readUInt32LE(pos);
    pos += 4;
    if (pos + len > end) throw invalidArgument(`${where}: raw BYTES element ${i} (length ${len}) runs past the data`);
    out[i] = buf.subarray(pos, pos + len);
    pos += len;
  }
  if (pos !== end) {
    throw invalidArgument(`${where}: raw BYTES data has ${end - pos} bytes after the ${count} elements of shape`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Response

export interface InferResponseInput {
  modelName: string;
  modelVersion: string;
  id: string;
  outputs: { name: string; tensor: Tensor }[];
}

function bytesOf(data: NumericData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Encodes a ModelInferResponse with every output in raw_output_contents. */
export function encodeModelInferResponse(res: InferResponseInput): Buffer {
  const nameBytes = Buffer.byteLength(res.modelName);
  const versionBytes = Buffer.byteLength(res.modelVersion);
  const idBytes = Buffer.byteLength(res.id);
  const n = res.outputs.length;
  const outNameBytes = new Array<number>(n);
  const datatypes = new Array<string>(n);
  const shapeSizes = new Array<number>(n);
  const tensorSizes = new Array<number>(n);
  const rawSizes = new Array<number>(n);
  let size = lenFieldSize(1, nameBytes) + lenFieldSize(2, versionBytes) + (idBytes > 0 ? lenFieldSize(3, idBytes) : 0);
  for (let i = 0; i < n; i++) {
    const { name, tensor } = res.outputs[i]!;
    const datatype = KSERVE_DATATYPE[tensor.dtype];
    if (!datatype) {
      throw new JetserveError('UNIMPLEMENTED', `output '${name}' has dtype ${tensor.dtype}, which KServe v2 cannot carry`);
    }
    datatypes[i] = datatype;
    outNameBytes[i] = Buffer.byteLength(name);
    let shapeSize = 0;
    for (const d of tensor.shape) shapeSize += varintSize(d);
    shapeSizes[i] = shapeSize;
    tensorSizes[i] =
      lenFieldSize(1, outNameBytes[i]!) + lenFieldSize(2, datatype.length) + (shapeSize > 0 ? lenFieldSize(3, shapeSize) : 0);
    size += lenFieldSize(5, tensorSizes[i]!);
    let rawSize: number;
    if (tensor.dtype === 'string') {
      rawSize = 0;
      for (const s of tensor.data as Uint8Array[]) rawSize += 4 + s.length;
    } else {
      rawSize = (tensor.data as NumericData).byteLength;
    }
    rawSizes[i] = rawSize;
    size += lenFieldSize(6, rawSize);
  }
  const w = new WireWriter(size);
  w.stringField(1, res.modelName, nameBytes);
  w.stringField(2, res.modelVersion, versionBytes);
  if (idBytes > 0) w.stringField(3, res.id, idBytes);
  for (let i = 0; i < n; i++) {
    const { name, tensor } = res.outputs[i]!;
    w.lenHeader(5, tensorSizes[i]!);
    w.stringField(1, name, outNameBytes[i]!);
    w.stringField(2, datatypes[i]!, datatypes[i]!.length);
    if (shapeSizes[i]! > 0) {
      w.lenHeader(3, shapeSizes[i]!);
      for (const d of tensor.shape) w.varint(d);
    }
  }
  for (let i = 0; i < n; i++) {
    const { tensor } = res.outputs[i]!;
    w.lenHeader(6, rawSizes[i]!);
    if (tensor.dtype === 'string') {
      for (const s of tensor.data as Uint8Array[]) {
        w.buf.writeUInt32LE(s.length, w.pos);
        w.pos += 4;
        w.raw(s);
      }
    } else {
      w.raw(bytesOf(tensor.data as NumericData));
    }
  }
  return w.finish();
}

