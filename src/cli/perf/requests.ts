// The requests `jetserve perf` sends: input tensors (random data shaped from the model's metadata,
// or read from --input-data) encoded once, before any load, into the bytes each protocol puts on
// the wire — a whole HTTP/1.1 request, or a gRPC message — so the load loop only writes bytes.
// Tensors here hold plain typed arrays (never native memory): a remote target needs no TF.

import { readFileSync } from 'node:fs';
import { BYTES_PER_ELEMENT, TF_DATATYPE, TYPED_ARRAY_OF, type DType, type NumericDType } from '../../engine/dtypes.js';
import type { Tensor } from '../../engine/tensor.js';
import { encodeFlatPredictRequest, FLATBUFFERS_CONTENT_TYPE } from '../../wire/flatbuffers/flatbuffers.js';
import { assembleBinaryBody, kserveDatatype, rawBytesOf } from '../../wire/kserve-binary.js';
import { encodeMessage } from '../../wire/protobuf/schemas.js';
import { restBase, type InputSpec, type ModelInfo } from './model-info.js';
import type { PerfOptions, Protocol } from './options.js';

/** The encoded requests one worker cycles through, and how to send them. */
export type WirePlan =
  | { kind: 'http'; host: string; port: number; tls: boolean; requests: Uint8Array[] }
  | { kind: 'grpc'; address: string; path: string; requests: Uint8Array[] }
  | { kind: 'in-process'; dir: string; signature: string; requests: Record<string, Tensor>[] };

/** Bytes of generated data kept at most: the number of distinct requests shrinks for big inputs. */
const VARIANT_BYTES = 64 * 1024 * 1024;
const MAX_VARIANTS = 16;

export class InputError extends Error {}

function resolveShape(name: string, spec: InputSpec, opts: PerfOptions): number[] {
  const given = opts.shapes[name];
  if (spec.shape === null) {
    if (!given) throw new InputError(`input '${name}' has unknown rank: give its full shape with --shape ${name}:D1,D2… or use --input-data`);
    return [opts.batchSize, ...given];
  }
  const shape = [...spec.shape];
  const variable = shape.map((d, i) => (d < 0 && i > 0 ? i : -1)).filter((i) => i > 0);
  if (given && given.length !== variable.length) {
    throw new InputError(`--shape ${name}: input '${name}' has ${variable.length} variable dimension(s) past the batch one (shape [${spec.shape.join(',')}]), got ${given.length}`);
  }
  variable.forEach((axis, k) => (shape[axis] = given ? given[k]! : 1));
  if (shape.length > 0 && shape[0]! < 0) shape[0] = opts.batchSize;
  return shape;
}

let seed = 0x2545f491;
function random(): number {
  // xorshift32: reproducible runs, and far cheaper than crypto for megabytes of data
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

function randomTensor(dtype: DType, shape: number[]): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'string') {
    const data: Uint8Array[] = [];
    for (let i = 0; i < count; i++) data.push(Buffer.from(Math.floor(random() * 2 ** 48).toString(36).padStart(10, 'a')));
    return { dtype, shape, data };
  }
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const per = dtype === 'complex64' || dtype === 'complex128' ? 2 : 1;
  const data = new Ctor(count * per) as unknown as { [i: number]: number | bigint; length: number };
  for (let i = 0; i < data.length; i++) {
    const u = random();
    switch (dtype) {
      case 'float32':
      case 'float64':
      case 'complex64':
      case 'complex128':
        data[i] = u;
        break;
      case 'float16':
        data[i] = Math.floor(u * 0x3bff); // [0, 1) as IEEE half bits
        break;
      case 'bfloat16':
        data[i] = Math.floor(u * 0x3f7f); // [0, 1) as bfloat16 bits
        break;
      case 'bool':
        data[i] = u < 0.5 ? 0 : 1;
        break;
      case 'int64':
      case 'uint64':
        data[i] = BigInt(Math.floor(u * 10));
        break;
      default:
        // small non-negative integers: valid ids for embedding lookups and vocabularies
        data[i] = Math.floor(u * 10);
    }
  }
  return { dtype, shape, data: data as unknown as Tensor['data'] };
}

/** Random requests shaped from the metadata: as many distinct ones as fit VARIANT_BYTES (≤ 16). */
export function generateRequests(info: ModelInfo, opts: PerfOptions): Record<string, Tensor>[] {
  const names = Object.keys(info.inputs);
  if (names.length === 0) throw new InputError(`signature '${info.signature}' of '${info.name}' has no inputs`);
  const shapes = Object.fromEntries(names.map((n) => [n, resolveShape(n, info.inputs[n]!, opts)]));
  let bytes = 0;
  for (const n of names) bytes += shapes[n]!.reduce((a, b) => a * b, 1) * (info.inputs[n]!.dtype === 'string' ? 10 : BYTES_PER_ELEMENT[info.inputs[n]!.dtype]);
  const variants = Math.max(1, Math.min(MAX_VARIANTS, Math.floor(VARIANT_BYTES / Math.max(1, bytes))));
  return Array.from({ length: variants }, () => Object.fromEntries(names.map((n) => [n, randomTensor(info.inputs[n]!.dtype, shapes[n]!)])));
}

type DataEntry = unknown[] | { content?: unknown[]; shape?: number[]; b64?: string };

/**
 * --input-data: perf_analyzer's JSON, {"data": [{"<input>": values | {"content": values, "shape":
 * dims} | {"b64": "…"}}, …]}. Values may be flat or nested; without a shape, the model's shape
 * with its batch dimension inferred from the element count.
 */
export function readInputData(file: string, info: ModelInfo): Record<string, Tensor>[] {
  let doc: { data?: Record<string, DataEntry>[] };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch (err) {
    throw new InputError(`--input-data ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc.data) || doc.data.length === 0) throw new InputError(`--input-data ${file}: expected {"data": [ {<input>: values}, … ]} with at least one request`);
  return doc.data.map((entry, i) => {
    const out: Record<string, Tensor> = {};
    for (const [name, spec] of Object.entries(info.inputs)) {
      const where = `--input-data ${file}: request ${i}, input '${name}'`;
      const value = entry[name];
      if (value === undefined) throw new InputError(`${where} is missing (the signature's inputs: ${Object.keys(info.inputs).join(', ')})`);
      out[name] = tensorFromEntry(value, spec, where);
    }
    return out;
  });
}

function tensorFromEntry(value: DataEntry, spec: InputSpec, where: string): Tensor {
  const { dtype } = spec;
  if (!Array.isArray(value) && typeof value.b64 === 'string') {
    const bytes = Buffer.from(value.b64, 'base64');
    if (dtype === 'string') return { dtype, shape: value.shape ?? [1], data: [bytes] };
    const per = BYTES_PER_ELEMENT[dtype];
    if (bytes.length % per) throw new InputError(`${where}: ${bytes.length} bytes is not a whole number of ${dtype} elements`);
    const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
    const copy = new Uint8Array(bytes);
    const data = new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
    return { dtype, shape: value.shape ?? inferShape(spec, bytes.length / per, where), data: data as Tensor['data'] };
  }
  const flat = (Array.isArray(value) ? value : (value.content ?? [])).flat(Infinity) as unknown[];
  const shape = (!Array.isArray(value) && value.shape) || inferShape(spec, flat.length, where);
  if (dtype === 'string') return { dtype, shape, data: flat.map((s) => Buffer.from(String(s))) };
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const data = new Ctor(flat.length) as unknown as { [i: number]: number | bigint };
  const big = dtype === 'int64' || dtype === 'uint64';
  flat.forEach((v, k) => {
    const n = typeof v === 'boolean' ? Number(v) : Number(v);
    if (!Number.isFinite(n) && typeof v !== 'number') throw new InputError(`${where}: element ${k} is not a number`);
    data[k] = big ? BigInt(Math.trunc(n)) : n;
  });
  return { dtype, shape, data: data as unknown as Tensor['data'] };
}

function inferShape(spec: InputSpec, count: number, where: string): number[] {
  if (spec.shape === null) return [count];
  const shape = [...spec.shape];
  const known = shape.reduce((a, d) => (d > 0 ? a * d : a), 1);
  const unknown = shape.filter((d) => d < 0).length;
  if (unknown === 0) {
    if (known !== count) throw new InputError(`${where}: ${count} elements do not fill shape [${shape.join(',')}]`);
    return shape;
  }
  if (unknown > 1 || count % known !== 0) throw new InputError(`${where}: cannot tell the shape of ${count} elements for [${shape.join(',')}]; give {"content": […], "shape": […]}`);
  return shape.map((d) => (d < 0 ? count / known : d));
}

// ---------------------------------------------------------------------------------------------
// encodings

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** JSON text of each element of a tensor, flat. */
function jsonElements(t: Tensor): string[] {
  if (t.dtype === 'string') {
    return (t.data as Uint8Array[]).map((s) => {
      const text = Buffer.from(s).toString('utf8');
      return Buffer.from(text, 'utf8').equals(Buffer.from(s)) ? JSON.stringify(text) : JSON.stringify({ b64: Buffer.from(s).toString('base64') });
    });
  }
  const out: string[] = [];
  const d = t.data as unknown as ArrayLike<number | bigint>;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (t.dtype === 'bool') out.push(v ? 'true' : 'false');
    else if (t.dtype === 'float16') out.push(String(halfToFloat(Number(v))));
    else if (t.dtype === 'bfloat16') out.push(String(new Float32Array(new Uint32Array([Number(v) << 16]).buffer)[0]));
    else out.push(String(v));
  }
  return out;
}

function nested(shape: readonly number[], items: string[]): string {
  if (shape.length === 0) return items[0] ?? 'null';
  let pos = 0;
  const walk = (dim: number): string => {
    if (dim === shape.length - 1) {
      const part = items.slice(pos, pos + shape[dim]!);
      pos += shape[dim]!;
      return `[${part.join(',')}]`;
    }
    const parts: string[] = [];
    for (let i = 0; i < shape[dim]!; i++) parts.push(walk(dim + 1));
    return `[${parts.join(',')}]`;
  };
  return walk(0);
}

function httpRequest(host: string, path: string, contentType: string, body: Uint8Array, extra: Record<string, string> = {}): Uint8Array {
  let head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n`;
  for (const [k, v] of Object.entries(extra)) head += `${k}: ${v}\r\n`;
  head += '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function modelPath(info: ModelInfo, opts: PerfOptions, api: 'v1' | 'v2'): string {
  const name = encodeURIComponent(info.name);
  const prefix = new URL(restBase(opts.url)).pathname.replace(/\/+$/, '');
  if (api === 'v1') return `${prefix}/v1/models/${name}${opts.modelVersion ? `/versions/${opts.modelVersion}` : ''}:predict`;
  return `${prefix}/v2/models/${name}${opts.modelVersion ? `/versions/${opts.modelVersion}` : ''}/infer`;
}

/** One request's bytes for `protocol`. */
export function encodeRequest(protocol: Exclude<Protocol, 'in-process'>, inputs: Record<string, Tensor>, info: ModelInfo, opts: PerfOptions): Uint8Array {
  const url = new URL(protocol.endsWith('grpc') ? 'http://x' : opts.url);
  const host = url.host;
  const signature = info.signature;
  switch (protocol) {
    case 'tfserving-rest': {
      const fields = Object.entries(inputs).map(([k, t]) => `${JSON.stringify(k)}:${nested(t.shape, jsonElements(t))}`);
      const body = `{"signature_name":${JSON.stringify(signature)},"inputs":{${fields.join(',')}}}`;
      return httpRequest(host, modelPath(info, opts, 'v1'), 'application/json', Buffer.from(body));
    }
    case 'kserve-rest': {
      const tensors = Object.entries(inputs).map(
        ([k, t]) => `{"name":${JSON.stringify(k)},"shape":${JSON.stringify(t.shape)},"datatype":"${kserveDatatype(t.dtype, `input '${k}'`)}","data":[${jsonElements(t).join(',')}]}`,
      );
      return httpRequest(host, modelPath(info, opts, 'v2'), 'application/json', Buffer.from(`{"inputs":[${tensors.join(',')}]}`));
    }
    case 'kserve-binary': {
      const entries = Object.entries(inputs);
      const header = {
        inputs: entries.map(([k, t]) => ({ name: k, shape: t.shape, datatype: kserveDatatype(t.dtype, `input '${k}'`), parameters: { binary_data_size: rawBytesOf(t).length } })),
        outputs: info.outputs.map((name) => ({ name, parameters: { binary_data: true } })),
      };
      const json = Buffer.from(JSON.stringify(header));
      const body = assembleBinaryBody(json, entries.map(([, t]) => t));
      return httpRequest(host, modelPath(info, opts, 'v2'), 'application/octet-stream', body, { 'Inference-Header-Content-Length': String(json.length) });
    }
    case 'flatbuffers': {
      const body = encodeFlatPredictRequest(inputs, { signatureName: signature });
      return httpRequest(host, modelPath(info, opts, 'v1'), FLATBUFFERS_CONTENT_TYPE, body, { Accept: FLATBUFFERS_CONTENT_TYPE });
    }
    case 'tfserving-grpc':
      return encodeMessage('tensorflow.serving.PredictRequest', {
        model_spec: { name: info.name, signature_name: signature, ...(opts.modelVersion ? { version: { value: opts.modelVersion } } : {}) },
        inputs: Object.fromEntries(
          Object.entries(inputs).map(([k, t]) => [
            k,
            t.dtype === 'string'
              ? { dtype: TF_DATATYPE.string, tensor_shape: { dim: t.shape.map((size) => ({ size })) }, string_val: t.data as Uint8Array[] }
              : { dtype: TF_DATATYPE[t.dtype], tensor_shape: { dim: t.shape.map((size) => ({ size })) }, tensor_content: rawBytesOf(t) },
          ]),
        ),
      });
    case 'kserve-grpc': {
      const entries = Object.entries(inputs);
      return encodeMessage('inference.ModelInferRequest', {
        model_name: info.name,
        model_version: opts.modelVersion ? String(opts.modelVersion) : '',
        inputs: entries.map(([k, t]) => ({ name: k, datatype: kserveDatatype(t.dtype, `input '${k}'`), shape: t.shape })),
        raw_input_contents: entries.map(([, t]) => rawBytesOf(t)),
      });
    }
  }
}

/** What the workers need to send these requests with `opts.protocol`. */
export function wirePlan(requests: Record<string, Tensor>[], info: ModelInfo, opts: PerfOptions): WirePlan {
  const protocol = opts.protocol;
  if (protocol === 'in-process') return { kind: 'in-process', dir: opts.inProcess!, signature: info.signature, requests };
  const encoded = requests.map((r) => encodeRequest(protocol, r, info, opts));
  if (protocol === 'tfserving-grpc' || protocol === 'kserve-grpc') {
    const path = protocol === 'tfserving-grpc' ? '/tensorflow.serving.PredictionService/Predict' : '/inference.GRPCInferenceService/ModelInfer';
    return { kind: 'grpc', address: opts.url.replace(/^grpcs?:\/\//, '').replace(/\/+$/, ''), path, requests: encoded };
  }
  const url = new URL(opts.url);
  const tls = url.protocol === 'https:';
  return { kind: 'http', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (tls ? 443 : 80)), tls, requests: encoded };
}
