// KServe v2 / Open Inference Protocol over REST (reference/peers-kserve-triton.md §1.1–1.4, 1.6),
// with Triton's binary tensor data extension (see kserve-binary.ts).
//
// API
//   decodeInferRequest(body, headerLength, signature, { alloc?, limits? }) → KServeInferRequest
//     `headerLength` is the Inference-Header-Content-Length header (undefined: the body is all
//     JSON; 0: a raw binary request for a one-input model). JSON "data" (flat or nested) is parsed
//     straight into the allocTensor buffer (or `alloc`'s); binary inputs are copied once into one.
//     `outputs` lists every output to return — the request's "outputs" when given, else all of the
//     signature's — each with `binary` resolved from "binary_data" / "binary_data_output".
//   encodeInferResponse({ modelName, modelVersion, id, outputs, binaryOutputs, parameters })
//     → { body: Uint8Array, headerLength?: number, contentType }
//     `headerLength` is set (for the Inference-Header-Content-Length response header) when any
//     output is binary; contentType is then application/octet-stream, else application/json.
//   inferResponseChunks(args, binary?, chunkChars?) → the response JSON in chunks (streamed responses)
//   (from kserve-metadata.ts) encodeKServeModelMetadata({ name, versions, platform?, signature }) → model metadata JSON
//   encodeTritonModelConfig({ name, signature, maxBatchSize?, … }) → GET /v2/models/{m}/config JSON
//
// Errors: JetserveError INVALID_ARGUMENT naming the input / field; UNIMPLEMENTED for extensions
// jetserve does not serve (shared memory, classification) and dtypes KServe cannot express;
// LimitExceededError (../limits.ts) for a request over the element budget, checked on declared
// shapes before any tensor is allocated.

import type { DType, NumericDType } from '../../engine/dtypes.js';
import { allocTensor, elementCount, type Tensor, type TensorAllocator } from '../../engine/tensor.js';
import { formatShape, shapeCompatible, type SignatureInfo, type TensorSpec } from '../../engine/signature.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import {
  assembleBinaryBody,
  decodeRawBinaryRequest,
  dtypeOfKServe,
  KSERVE_DATATYPE,
  kserveDatatype,
  rawByteLength,
  tensorFromRaw,
} from '../kserve-binary.js';
import { JsonNumber, JsonReader, LEAF_MODES, MAX_RANK, type FillContext, type JsonValue } from './reader.js';
import { DEFAULT_LIMITS, ElementBudget, type RequestLimits } from '../limits.js';
import { ChunkedText, flatListChunks, jsonString, tfElementFormatter } from './writer.js';

export type ParameterValue = string | number | boolean;
export type Parameters = Record<string, ParameterValue>;

export interface RequestedOutput {
  name: string;
  /** Return this output in binary form (after the JSON header). */
  binary: boolean;
  parameters?: Parameters;
}

export interface KServeInferRequest {
  id?: string;
  inputs: Record<string, Tensor>;
  /** The outputs to compute and return, in response order. */
  outputs: RequestedOutput[];
  /** True when the request listed "outputs"; false when `outputs` is every signature output. */
  outputsRequested: boolean;
  /** Request-level "binary_data_output". */
  binaryDataOutput: boolean;
  /** Request-level parameters (binary_data_output included). */
  parameters: Parameters;
}

export const KSERVE_JSON_CONTENT_TYPE = 'application/json';
export const KSERVE_BINARY_CONTENT_TYPE = 'application/octet-stream';

interface RawInput {
  index: number;
  name?: string;
  datatype?: string;
  shape?: number[];
  parameters?: Parameters;
  dataStart: number;
  /** Set when "data" was parsed straight away (it came after name, datatype and shape). */
  tensor?: Tensor;
}

// ---------------------------------------------------------------------------------------------
// request
// ---------------------------------------------------------------------------------------------

export function decodeInferRequest(
  body: Uint8Array,
  headerLength: number | undefined,
  signature: SignatureInfo,
  options: { alloc?: TensorAllocator; limits?: RequestLimits } = {},
): KServeInferRequest {
  const alloc = options.alloc ?? allocTensor;
  const limits = options.limits ?? DEFAULT_LIMITS;
  if (headerLength === 0) {
    const { name, tensor } = decodeRawBinaryRequest(body, signature, new ElementBudget(limits));
    return {
      inputs: { [name]: tensor },
      outputs: Object.keys(signature.outputs).map((o) => ({ name: o, binary: true })),
      outputsRequested: false,
      binaryDataOutput: true,
      parameters: {},
    };
  }
  let jsonLength = body.length;
  if (headerLength !== undefined) {
    if (!Number.isSafeInteger(headerLength) || headerLength < 0) {
      throw invalidArgument(`Inference-Header-Content-Length must be a non-negative integer, got ${headerLength}`);
    }
    if (headerLength > body.length) {
      throw invalidArgument(
        `Inference-Header-Content-Length ${headerLength} exceeds the request body size (${body.length} bytes)`,
      );
    }
    jsonLength = headerLength;
  }
  const reader = new JsonReader(body, jsonLength, limits);
  const budget = reader.budget;
  // parameters, shapes and outputs are read as small DOMs and inputs entries are collected before
  // their data is decoded: they are counted against a budget of the same size as the tensors'
  // (counted apart from it, so a request of exactly the tensor budget still fits)
  reader.valueBudget = new ElementBudget(limits, 'values in its inputs, outputs and parameters entries');
  let p = reader.ws(0);
  if (p >= reader.n) throw invalidArgument('inference request: the JSON body is empty');
  if (reader.at(p) !== 0x7b) {
    reader.skipValue(p);
    throw invalidArgument('inference request: the JSON body must be an object');
  }

  let id: string | undefined;
  let parameters: Parameters = {};
  let rawInputs: RawInput[] | undefined;
  let rawOutputs: RequestedOutput[] | undefined;
  const seen = new Set<string>();
  p = reader.members(p, (key, start) => {
    reader.valueBudget!.take(1); // the duplicate check remembers every key
    if (seen.has(key)) throw invalidArgument(`inference request has a duplicate '${key}' field`);
    seen.add(key);
    switch (key) {
      case 'id': {
        if (reader.at(start) !== 0x22) throw invalidArgument("inference request field 'id' must be a string");
        id = reader.readString(start);
        return reader.pos;
      }
      case 'parameters':
        parameters = readParameters(reader, start, 'inference request');
        return reader.pos;
      case 'inputs':
        rawInputs = [];
        if (reader.at(start) !== 0x5b) {
          reader.skipValue(start);
          throw invalidArgument("inference request field 'inputs' must be a list");
        }
        return reader.elements(start, (i, q) => {
          reader.valueBudget!.take(1);
          const input = readInput(reader, q, i, signature, alloc);
          rawInputs!.push(input);
          return reader.pos;
        });
      case 'outputs':
        rawOutputs = [];
        if (reader.at(start) !== 0x5b) {
          reader.skipValue(start);
          throw invalidArgument("inference request field 'outputs' must be a list");
        }
        return reader.elements(start, (i, q) => {
          rawOutputs!.push(readOutput(reader, q, i));
          return reader.pos;
        });
      default:
        return reader.skipValue(start);
    }
  });
  if (!rawInputs) throw invalidArgument("inference request is missing the 'inputs' field");

  const binaryOutput = parameters.binary_data_output;
  if (binaryOutput !== undefined && typeof binaryOutput !== 'boolean') {
    throw invalidArgument("request parameter 'binary_data_output' must be a boolean");
  }
  const binaryDataOutput = binaryOutput === true;

  // ---- inputs: names, binary blobs in order, JSON data parsed late ----
  const inputs: Record<string, Tensor> = {};
  let binaryOffset = jsonLength;
  for (const raw of rawInputs) {
    const name = raw.name!;
    if (Object.hasOwn(inputs, name)) throw invalidArgument(`input '${name}' appears more than once`);
    const spec = signature.inputs[name]!;
    const binarySize = raw.parameters?.binary_data_size;
    if (binarySize !== undefined) {
      if (raw.dataStart >= 0 || raw.tensor) {
        throw invalidArgument(`input '${name}' has both 'data' and a 'binary_data_size' parameter`);
      }
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw invalidArgument(`input '${name}': parameter 'binary_data_size' must be a non-negative integer`);
      }
      if (headerLength === undefined) {
        throw invalidArgument(
          `input '${name}' has a 'binary_data_size' parameter but the request has no Inference-Header-Content-Length header`,
        );
      }
      if (binaryOffset + binarySize > body.length) {
        throw invalidArgument(
          `input '${name}': binary_data_size ${binarySize} runs past the end of the request body (${body.length - binaryOffset} bytes of binary data left)`,
        );
      }
      const blob = body.subarray(binaryOffset, binaryOffset + binarySize);
      binaryOffset += binarySize;
      budget.take(elementCount(raw.shape!), `input '${name}' declares shape ${formatShape(raw.shape!)}`);
      inputs[name] = tensorFromRaw(blob, spec.dtype!, raw.shape!, `input '${name}'`, alloc);
      continue;
    }
    if (raw.tensor) {
      inputs[name] = raw.tensor;
      continue;
    }
    if (raw.dataStart < 0) {
      throw invalidArgument(`input '${name}' has neither 'data' nor a 'binary_data_size' parameter`);
    }
    inputs[name] = fillData(reader, raw.dataStart, name, spec.dtype!, raw.datatype!, raw.shape!, alloc);
  }
  if (binaryOffset < body.length) {
    throw invalidArgument(
      `the request body has ${body.length - binaryOffset} bytes of binary data that no input claims (binary_data_size)`,
    );
  }
  const missing = Object.keys(signature.inputs).filter((n) => !Object.hasOwn(inputs, n));
  if (missing.length > 0) {
    throw invalidArgument(
      `expected ${Object.keys(signature.inputs).length} inputs but got ${Object.keys(inputs).length}; missing input(s): ${missing.join(', ')}`,
    );
  }

  // ---- outputs ----
  let outputs: RequestedOutput[];
  if (rawOutputs) {
    const names = new Set<string>();
    for (const o of rawOutputs) {
      if (!Object.hasOwn(signature.outputs, o.name)) {
        throw invalidArgument(
          `unexpected inference output '${o.name}'; the model's outputs are: ${Object.keys(signature.outputs).join(', ')}`,
        );
      }
      if (names.has(o.name)) throw invalidArgument(`output '${o.name}' is requested more than once`);
      names.add(o.name);
      const b = o.parameters?.binary_data;
      if (b !== undefined && typeof b !== 'boolean') {
        throw invalidArgument(`output '${o.name}': parameter 'binary_data' must be a boolean`);
      }
      o.binary = b ?? binaryDataOutput;
    }
    outputs = rawOutputs;
  } else {
    outputs = Object.keys(signature.outputs).map((name) => ({ name, binary: binaryDataOutput }));
  }
  for (const o of outputs) {
    const spec = signature.outputs[o.name]!;
    if (spec.dtype) kserveDatatype(spec.dtype, `output '${o.name}'`);
  }

  const out: KServeInferRequest = {
    inputs,
    outputs,
    outputsRequested: rawOutputs !== undefined,
    binaryDataOutput,
    parameters,
  };
  if (id !== undefined) out.id = id;
  return out;
}

function readParameters(reader: JsonReader, start: number, where: string): Parameters {
  return parametersOf(reader.readValue(start), where);
}

function parametersOf(value: JsonValue, where: string): Parameters {
  if (!(value instanceof Map)) throw invalidArgument(`${where}: 'parameters' must be an object`);
  // keys are the client's: no prototype for "__proto__" or "toString" to collide with
  const out: Parameters = Object.create(null) as Parameters;
  for (const [k, v] of value) {
    if (typeof v === 'string' || typeof v === 'boolean') out[k] = v;
    else if (v instanceof JsonNumber) out[k] = v.value;
    else throw invalidArgument(`${where}: parameter '${k}' must be a string, number or boolean`);
  }
  return out;
}

function readStringField(reader: JsonReader, start: number, field: string, where: string): string {
  if (reader.at(start) !== 0x22) throw invalidArgument(`${where}: '${field}' must be a string`);
  return reader.readString(start);
}

function readShape(reader: JsonReader, start: number, where: string): number[] {
  const notShape = () => invalidArgument(`${where}: 'shape' must be a list of non-negative integers`);
  if (reader.at(start) !== 0x5b) {
    reader.skipValue(start);
    throw notShape();
  }
  const shape: number[] = [];
  reader.pos = reader.elements(start, (i, p) => {
    if (i >= MAX_RANK) throw invalidArgument(`${where}: 'shape' has more than ${MAX_RANK} dimensions`);
    const d = reader.readValue(p);
    if (!(d instanceof JsonNumber) || !d.isInteger || d.value < 0 || !Number.isSafeInteger(d.value)) throw notShape();
    shape.push(d.value);
    return reader.pos;
  });
  return shape;
}

/** Parses one element of "inputs"; fills "data" at once when it comes after name, datatype and shape. */
function readInput(
  reader: JsonReader,
  start: number,
  index: number,
  signature: SignatureInfo,
  alloc: TensorAllocator,
): RawInput {
  if (reader.at(start) !== 0x7b) {
    reader.skipValue(start);
    throw invalidArgument(`input #${index} must be an object`);
  }
  const raw: RawInput = { index, dataStart: -1 };
  let where = `input #${index}`;
  let checked = false;
  const check = (): TensorSpec => {
    // validates name / datatype / shape against the signature (once all three are known)
    const spec = Object.hasOwn(signature.inputs, raw.name!) ? signature.inputs[raw.name!] : undefined;
    if (!checked) {
      checked = true;
      if (!spec) {
        throw invalidArgument(
          `unexpected inference input '${raw.name}'; the model's inputs are: ${Object.keys(signature.inputs).join(', ')}`,
        );
      }
      if (!spec.dtype || !KSERVE_DATATYPE[spec.dtype]) {
        throw new JetserveError('UNIMPLEMENTED', `input '${raw.name}' has a dtype KServe v2 cannot express`);
      }
      const dtype = dtypeOfKServe(raw.datatype!);
      if (!dtype) throw invalidArgument(`input '${raw.name}': unknown datatype '${raw.datatype}'`);
      if (dtype !== spec.dtype) {
        throw invalidArgument(
          `input '${raw.name}': datatype '${raw.datatype}' does not match the model's '${KSERVE_DATATYPE[spec.dtype]}'`,
        );
      }
      if (!shapeCompatible(spec.shape, raw.shape!)) {
        throw invalidArgument(
          `input '${raw.name}': shape ${formatShape(raw.shape!)} is not compatible with the model's ${formatShape(spec.shape)}`,
        );
      }
    }
    return spec!;
  };
  const seen = new Set<string>();
  reader.pos = reader.members(start, (key, v) => {
    reader.valueBudget!.take(1); // the duplicate check remembers every key
    if (seen.has(key)) throw invalidArgument(`${where} has a duplicate '${key}' field`);
    seen.add(key);
    switch (key) {
      case 'name':
        raw.name = readStringField(reader, v, 'name', where);
        where = `input '${raw.name}'`;
        return reader.pos;
      case 'datatype':
        raw.datatype = readStringField(reader, v, 'datatype', where);
        return reader.pos;
      case 'shape':
        raw.shape = readShape(reader, v, where);
        return reader.pos;
      case 'parameters':
        raw.parameters = readParameters(reader, v, where);
        for (const k of ['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset']) {
          if (k in raw.parameters) {
            throw new JetserveError('UNIMPLEMENTED', `${where}: shared memory ('${k}') is not supported`);
          }
        }
        return reader.pos;
      case 'data':
        if (raw.name !== undefined && raw.datatype !== undefined && raw.shape !== undefined) {
          const spec = check();
          raw.tensor = fillData(reader, v, raw.name, spec.dtype!, raw.datatype, raw.shape, alloc);
          return reader.pos;
        }
        raw.dataStart = v;
        return reader.skipValue(v);
      default:
        return reader.skipValue(v);
    }
  });
  for (const field of ['name', 'datatype', 'shape'] as const) {
    if (raw[field] === undefined) throw invalidArgument(`${where} is missing the '${field}' field`);
  }
  check();
  return raw;
}

function readOutput(reader: JsonReader, start: number, index: number): RequestedOutput {
  const v = reader.readValue(start);
  if (!(v instanceof Map)) throw invalidArgument(`output #${index} must be an object`);
  const name = v.get('name');
  if (typeof name !== 'string') throw invalidArgument(`output #${index} is missing the 'name' field (a string)`);
  const out: RequestedOutput = { name, binary: false };
  if (v.has('parameters')) {
    const params = parametersOf(v.get('parameters')!, `output '${name}'`);
    for (const k of ['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset']) {
      if (k in params) throw new JetserveError('UNIMPLEMENTED', `output '${name}': shared memory ('${k}') is not supported`);
    }
    if ('classification' in params) {
      throw new JetserveError('UNIMPLEMENTED', `output '${name}': the classification extension is not supported`);
    }
    out.parameters = params;
  }
  return out;
}

const MODES = LEAF_MODES;

/**
 * Parses "data" (flat or nested, row-major) straight into a new tensor of `shape`. The declared
 * element count is checked against the request's budget and against what the rest of the body
 * could hold before the tensor is allocated.
 */
function fillData(
  reader: JsonReader,
  start: number,
  name: string,
  dtype: DType,
  datatype: string,
  shape: number[],
  alloc: TensorAllocator,
): Tensor {
  const count = elementCount(shape);
  reader.budget.take(count, `input '${name}' declares shape ${formatShape(shape)}`);
  // n elements take at least 2n - 1 bytes of JSON ("1,1,…,1")
  const room = Math.floor((reader.n - start + 1) / 2);
  if (count > room) {
    throw invalidArgument(
      `input '${name}': shape ${formatShape(shape)} declares ${count} elements but the rest of the request can hold at most ${room}`,
    );
  }
  const tensor: Tensor =
    dtype === 'string' ? { dtype, shape, data: new Array<Uint8Array>(count) } : alloc(dtype as NumericDType, shape);
  const m = MODES[dtype as keyof typeof MODES];
  const ctx: FillContext = {
    dtypeName: datatype,
    wrap: (message, leaf) =>
      invalidArgument(
        message.startsWith('more values')
          ? `input '${name}': 'data' has more than the ${count} elements shape ${formatShape(shape)} holds`
          : `input '${name}': 'data' element ${leaf}: ${message}`,
      ),
  };
  const written = reader.fillLeaves(start, m.mode, tensor.data, 0, count, ctx, m.min, m.max);
  if (written !== count) {
    throw invalidArgument(`input '${name}': 'data' has ${written} elements but shape ${formatShape(shape)} needs ${count}`);
  }
  return tensor;
}

// ---------------------------------------------------------------------------------------------
// response
// ---------------------------------------------------------------------------------------------

export interface InferResponseArgs {
  modelName: string;
  modelVersion?: string | number;
  id?: string;
  /** Outputs in response order. */
  outputs: Readonly<Record<string, Tensor>>;
  /** Which outputs go binary: all (true), none (false/undefined), or the names listed. */
  binaryOutputs?: boolean | Iterable<string>;
  parameters?: Parameters;
}

export interface EncodedInferResponse {
  body: Uint8Array;
  /** Byte length of the JSON header when binary outputs follow it (Inference-Header-Content-Length). */
  headerLength?: number;
  contentType: string;
}

const encoder = new TextEncoder();

export function encodeInferResponse(args: InferResponseArgs): EncodedInferResponse {
  const names = Object.keys(args.outputs);
  const binarySet =
    args.binaryOutputs === true
      ? new Set(names)
      : args.binaryOutputs === false || args.binaryOutputs === undefined
        ? new Set<string>()
        : new Set(args.binaryOutputs);
  let json = '';
  for (const chunk of inferResponseChunks(args, binarySet, Infinity)) json += chunk;
  const header = encoder.encode(json);
  if (binarySet.size === 0 || !names.some((n) => binarySet.has(n))) return { body: header, contentType: KSERVE_JSON_CONTENT_TYPE };
  const blobs = names.filter((n) => binarySet.has(n)).map((n) => args.outputs[n]!);
  return { body: assembleBinaryBody(header, blobs), headerLength: header.length, contentType: KSERVE_BINARY_CONTENT_TYPE };
}

/**
 * The JSON of an infer response in chunks of about `chunkChars` characters, for writing a large
 * all-JSON response while it is produced; outputs in `binary` are described by their
 * binary_data_size only (their bytes follow the JSON, see encodeInferResponse). Errors (dtypes
 * KServe cannot express) are thrown by the first next(), before any text.
 */
export function* inferResponseChunks(
  args: InferResponseArgs,
  binary: ReadonlySet<string> = new Set(),
  chunkChars = Infinity,
): Generator<string, void, undefined> {
  const names = Object.keys(args.outputs);
  const fmts = names.map((name) => {
    const t = args.outputs[name]!;
    const datatype = kserveDatatype(t.dtype, `output '${name}'`);
    const fmt = binary.has(name)
      ? undefined
      : tfElementFormatter(t, { bytesAsB64: false, onUnsupported: () => kserveDatatype(t.dtype, `output '${name}'`) as never });
    return { datatype, fmt };
  });
  const out = new ChunkedText(chunkChars);
  out.text = `{"model_name":${jsonString(args.modelName)}`;
  if (args.modelVersion !== undefined) out.text += `,"model_version":${jsonString(String(args.modelVersion))}`;
  if (args.id !== undefined && args.id !== '') out.text += `,"id":${jsonString(args.id)}`;
  if (args.parameters && Object.keys(args.parameters).length > 0) out.text += `,"parameters":${JSON.stringify(args.parameters)}`;
  out.text += ',"outputs":[';
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    const t = args.outputs[name]!;
    const { datatype, fmt } = fmts[k]!;
    if (k > 0) out.text += ',';
    out.text += `{"name":${jsonString(name)},"datatype":"${datatype}","shape":[${t.shape.join(',')}]`;
    if (!fmt) {
      out.text += `,"parameters":{"binary_data_size":${rawByteLength(t)}}}`;
    } else {
      out.text += ',"data":';
      yield* flatListChunks(elementCount(t.shape), fmt, out);
      out.text += '}';
    }
  }
  out.text += ']}';
  yield out.take();
}

export {
  encodeKServeModelMetadata,
  encodeTritonModelConfig,
  TRITON_DATA_TYPE,
  type KServeModelMetadataArgs,
  type TritonModelConfigArgs,
} from './kserve-metadata.js';
