// Client for KServe v2 / Open Inference Protocol REST infer with the binary tensor data extension
// (the same bytes Triton's and jetserve's servers take): one POST per call with fetch. Tensors go
// out as raw little-endian bytes after a JSON header, and outputs are asked for in binary too, so
// no number is ever printed as text. Works against any v2 server (jetserve, Triton, KServe
// runtimes); a server that answers JSON instead is decoded as well.
//
//   inferKServe(url, modelName, inputs, opts?)          → Promise<Record<string, Tensor>>
//   inferKServeDetailed(url, modelName, inputs, opts?)  → Promise<{ outputs, modelName, modelVersion, id }>
//
// Errors: the server's {"error": …} as a JetserveError with the code of its HTTP status;
// UNAVAILABLE when the request fails, CANCELLED when aborted, INTERNAL for a malformed response.

import { BYTES_PER_ELEMENT, TYPED_ARRAY_OF, type DType, type NumericDType, type TensorData } from '../engine/dtypes.js';
import type { Tensor } from '../engine/tensor.js';
import { codeOfHttpStatus, JetserveError } from '../errors.js';
import { dtypeOfKServe, kserveDatatype, rawByteLength, writeRaw } from '../wire/kserve-binary.js';

export interface InferKServeOptions {
  /** A specific model version (default: the server's choice). */
  version?: number | string;
  /** Output names to compute (default: all). */
  outputs?: readonly string[];
  /** Request id, echoed by the server. */
  id?: string;
  /** Extra request-level parameters. */
  parameters?: Record<string, string | number | boolean>;
  /** Extra request headers. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface InferKServeResult {
  outputs: Record<string, Tensor>;
  modelName: string;
  modelVersion: string | undefined;
  id: string | undefined;
}

interface ResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: { binary_data_size?: number };
  data?: unknown[];
}

interface ResponseHeader {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs?: ResponseOutput[];
}

export const INFERENCE_HEADER_CONTENT_LENGTH = 'Inference-Header-Content-Length';

export function inferUrl(url: string, modelName: string, version?: number | string): string {
  let path = `/v2/models/${encodeURIComponent(modelName)}`;
  if (version !== undefined) path += `/versions/${encodeURIComponent(String(version))}`;
  return `${url.replace(/\/+$/, '')}${path}/infer`;
}

/** The request body: JSON header (every input binary, outputs asked for in binary) + blobs. */
export function encodeKServeBinaryRequest(
  inputs: Readonly<Record<string, Tensor>>,
  opts: Pick<InferKServeOptions, 'outputs' | 'id' | 'parameters'> = {},
): { body: Uint8Array; headerLength: number } {
  const entries = Object.entries(inputs);
  const header = {
    ...(opts.id !== undefined ? { id: opts.id } : {}),
    parameters: { ...opts.parameters, binary_data_output: true },
    inputs: entries.map(([name, t]) => ({
      name,
      shape: t.shape,
      datatype: kserveDatatype(t.dtype, `input '${name}'`),
      parameters: { binary_data_size: rawByteLength(t) },
    })),
    ...(opts.outputs ? { outputs: opts.outputs.map((name) => ({ name, parameters: { binary_data: true } })) } : {}),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let total = json.length;
  for (const [, t] of entries) total += rawByteLength(t);
  const body = new Uint8Array(total);
  body.set(json, 0);
  let offset = json.length;
  for (const [, t] of entries) offset = writeRaw(t, body, offset);
  return { body, headerLength: json.length };
}

/** Decodes an infer response body (binary extension or plain JSON) into tensors. */
export function decodeKServeResponse(bytes: Uint8Array, headerLength: number | undefined): InferKServeResult {
  const jsonEnd = headerLength ?? bytes.length;
  if (jsonEnd > bytes.length) throw malformed(`${INFERENCE_HEADER_CONTENT_LENGTH} ${jsonEnd} exceeds the body (${bytes.length} bytes)`);
  let header: ResponseHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, jsonEnd))) as ResponseHeader;
  } catch (err) {
    throw malformed(`response header is not JSON: ${(err as Error).message}`);
  }
  const outputs: Record<string, Tensor> = {};
  let offset = jsonEnd;
  for (const o of header.outputs ?? []) {
    const dtype = dtypeOfKServe(o.datatype);
    if (!dtype) throw malformed(`output '${o.name}' has unknown datatype '${o.datatype}'`);
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || size < 0 || offset + size > bytes.length) {
        throw malformed(`output '${o.name}': binary_data_size ${size} runs past the body`);
      }
      outputs[o.name] = tensorOfBlob(bytes.subarray(offset, offset + size), dtype, o.shape, o.name);
      offset += size;
    } else {
      outputs[o.name] = tensorOfJson(o.data ?? [], dtype, o.shape, o.name);
    }
  }
  return { outputs, modelName: header.model_name, modelVersion: header.model_version, id: header.id };
}

function malformed(message: string): JetserveError {
  return new JetserveError('INTERNAL', `malformed KServe response: ${message}`);
}

function elementsOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** A tensor over a binary blob: a typed-array view when aligned, else one copy. */
function tensorOfBlob(blob: Uint8Array, dtype: DType, shape: number[], name: string): Tensor {
  const count = elementsOf(shape);
  if (dtype === 'string') {
    const data: Uint8Array[] = [];
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 4 > blob.length) throw malformed(`output '${name}': BYTES data ends at element ${i} of ${count}`);
      const len = view.getUint32(p, true);
      if (p + 4 + len > blob.length) throw malformed(`output '${name}': BYTES element ${i} runs past its data`);
      data.push(blob.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    return { dtype, shape, data };
  }
  const width = BYTES_PER_ELEMENT[dtype];
  if (blob.length !== count * width) throw malformed(`output '${name}': ${blob.length} bytes for shape [${shape.join(', ')}] of ${dtype}`);
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const aligned = (blob.byteOffset % width === 0 ? blob : blob.slice()) as Uint8Array;
  return { dtype, shape, data: new Ctor(aligned.buffer, aligned.byteOffset, count) as TensorData };
}

/** A tensor from a JSON `data` array (a server that ignored binary_data_output). */
function tensorOfJson(values: unknown[], dtype: DType, shape: number[], name: string): Tensor {
  const flat = (values as unknown[]).flat(Infinity);
  if (flat.length !== elementsOf(shape)) throw malformed(`output '${name}': ${flat.length} values for shape [${shape.join(', ')}]`);
  if (dtype === 'string') {
    const enc = new TextEncoder();
    return { dtype, shape, data: flat.map((v) => enc.encode(String(v))) };
  }
  if (dtype === 'float16' || dtype === 'bfloat16') throw malformed(`output '${name}': ${dtype} cannot be read from JSON numbers`);
  const Ctor = TYPED_ARRAY_OF[dtype as NumericDType];
  const big = dtype === 'int64' || dtype === 'uint64';
  const data = new Ctor(flat.length) as TensorData & { [i: number]: number | bigint };
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    data[i] = big ? BigInt(v as number) : typeof v === 'boolean' ? Number(v) : (v as number);
  }
  return { dtype, shape, data };
}

export async function inferKServeDetailed(
  url: string,
  modelName: string,
  inputs: Readonly<Record<string, Tensor>>,
  opts: InferKServeOptions = {},
): Promise<InferKServeResult> {
  const { body, headerLength } = encodeKServeBinaryRequest(inputs, opts);
  const doFetch = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await doFetch(inferUrl(url, modelName, opts.version), {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        [INFERENCE_HEADER_CONTENT_LENGTH]: String(headerLength),
        ...opts.headers,
      },
      body,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') throw new JetserveError('CANCELLED', 'infer request aborted');
    throw new JetserveError('UNAVAILABLE', `infer request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) {
    let message = new TextDecoder().decode(bytes);
    try {
      const parsed = JSON.parse(message) as { error?: unknown };
      if (typeof parsed.error === 'string') message = parsed.error;
    } catch {
      // keep the raw text
    }
    throw new JetserveError(codeOfHttpStatus(res.status), message || `HTTP ${res.status}`);
  }
  const declared = res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH);
  let jsonLength: number | undefined;
  if (declared !== null) {
    jsonLength = Number(declared);
    if (!/^\d+$/.test(declared.trim())) throw malformed(`${INFERENCE_HEADER_CONTENT_LENGTH} '${declared}' is not a byte count`);
  }
  return decodeKServeResponse(bytes, jsonLength);
}

export async function inferKServe(
  url: string,
  modelName: string,
  inputs: Readonly<Record<string, Tensor>>,
  opts: InferKServeOptions = {},
): Promise<Record<string, Tensor>> {
  return (await inferKServeDetailed(url, modelName, inputs, opts)).outputs;
}
