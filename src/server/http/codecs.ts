// The HTTP routes' view of the wire codecs (src/wire/): one function per direction and format,
// taking the servable's Model (for signatures), so route code does not change when a codec's
// internals do.

import type { Model } from '../../engine/model.js';
import { DEFAULT_SIGNATURE, type SignatureInfo } from '../../engine/signature.js';
import {
  decodeFlatPredict,
  encodeFlatPredictError,
  encodeFlatPredictResponse,
  FLATBUFFERS_CONTENT_TYPE,
} from '../../wire/flatbuffers/flatbuffers.js';
import {
  decodeInferRequest,
  encodeInferResponse,
  encodeKServeModelMetadata,
  inferResponseChunks,
  encodeTritonModelConfig,
} from '../../wire/json/kserve.js';
import { elementCount, type Tensor, type TensorAllocator } from '../../engine/tensor.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import { exampleSignature, type ExampleMethod } from '../../models/example-methods.js';
import type { Servable } from '../../models/servable.js';
import { DEFAULT_LIMITS, type RequestLimits } from '../../wire/limits.js';
import { JsonReader } from '../../wire/json/reader.js';
import {
  decodeInferRequestNative,
  decodePredictRequestNative,
  inferResponseChunksNative,
  nativeJsonAvailable,
  nativeLimitsSupported,
  predictResponseChunksNative,
} from '../../wire/json/native.js';
import {
  decodeExamplesRequest,
  decodePredictRequest,
  encodeClassifyResponse,
  encodePredictResponse,
  predictResponseBytes,
  encodeRegressResponse,
  examplesTensor,
  predictResponseChunks,
} from '../../wire/json/tfserving.js';

export { FLATBUFFERS_CONTENT_TYPE };

/** What decoding needs from a model: its signatures (a Model, or plain data in a worker thread). */
export type SignatureSource = Pick<Model, 'signatures' | 'signature' | 'source'>;

export interface DecodedRequest {
  signature: string;
  inputs: Record<string, Tensor>;
  /** Output aliases to compute (absent: all). */
  outputs?: string[];
}

export interface TfPredictRequest extends DecodedRequest {
  format: 'row' | 'columnar';
}

export interface KServeInferRequest extends DecodedRequest {
  id?: string;
  /** Outputs the client wants in binary form (after the JSON header). */
  binaryOutputs: string[];
}

let nativeJson: boolean | undefined;

/**
 * Whether the native codec (native/json_*.cc) decodes and encodes REST JSON: when the addon has
 * it, unless JETSERVE_JSON_CODEC=ts asks for the TypeScript reference codec (tests and
 * benchmarks compare the two). Decided at the first request (loading the addon at import would
 * load TF before the CLI has even parsed its flags).
 */
function useNative(): boolean {
  nativeJson ??= process.env.JETSERVE_JSON_CODEC !== 'ts' && nativeJsonAvailable();
  return nativeJson;
}

/** The JSON codec the REST routes use: "native" or "ts". */
export function jsonCodec(): 'native' | 'ts' {
  return useNative() ? 'native' : 'ts';
}

/**
 * TF Serving predict JSON: row (instances) or columnar (inputs). `alloc`: numeric tensor memory
 * (default aligned native; the JSON offload workers pass plainTensor, which the TypeScript codec
 * serves).
 */
export function decodeTfPredict(
  body: Uint8Array,
  model: SignatureSource,
  alloc?: TensorAllocator,
  limits: RequestLimits = DEFAULT_LIMITS,
): TfPredictRequest {
  const resolve = (name: string) => model.signature(name);
  const decoded =
    useNative() && !alloc && nativeLimitsSupported(limits)
      ? decodePredictRequestNative(body, model.signatures, { limits, resolveSignature: resolve })
      : decodePredictRequest(body, resolve, alloc ? { alloc, limits } : { limits });
  return { signature: decoded.signatureName, inputs: decoded.inputs, format: decoded.format };
}

/**
 * Outputs of at most this many elements are encoded by the TypeScript writer (same text): a call
 * into the native encoder costs ~1.5 µs before its first element (arguments, a Buffer), the
 * TypeScript writer ~0.6 µs plus ~0.15 µs an element (3 floats: 1.2 vs 1.8 µs; 16: 3.2 vs 2.5).
 */
const NATIVE_ENCODE_MIN_ELEMENTS = 8;

/** Outputs of at most this many elements (in all) are encoded as one string. */
const SMALL_RESPONSE_ELEMENTS = 4096;

/**
 * The predict response JSON for Exchange.sendChunks: chunks of about `chunkBytes` bytes (native
 * codec) or `chunkChars` characters (TypeScript codec: one string for small outputs).
 * `reuseChunks`: the native codec may write later chunks into memory it reuses two chunks later
 * (for a writer that copies each chunk before it asks for more: uWebSockets.js; see
 * predictResponseChunksNative).
 */
export function encodeTfPredictChunks(
  outputs: Record<string, Tensor>,
  request: TfPredictRequest,
  chunkChars: number,
  chunkBytes = chunkChars,
  reuseChunks = false,
): Iterator<string | Uint8Array, void, undefined> {
  let total = 0;
  for (const t of Object.values(outputs)) total += elementCount(t.shape);
  if (total > NATIVE_ENCODE_MIN_ELEMENTS && useNative()) return predictResponseChunksNative(outputs, request.format, chunkBytes, reuseChunks);
  if (total <= SMALL_RESPONSE_ELEMENTS) return [encodePredictResponse(outputs, request.format)][Symbol.iterator]() as Iterator<string, void, undefined>;
  return predictResponseChunks(outputs, request.format, chunkChars);
}

/**
 * The predict response as one string when its outputs are small enough for the TypeScript writer
 * (encodeTfPredictChunks' choice for them), else undefined: a tiny answer skips the chunk
 * iterator (an array, its iterator and two next() results per request). `transientBytes`: the
 * answers predictResponseBytes writes come as bytes the next call overwrites (for a writer that
 * copies them at once: native uWS).
 */
export function encodeTfPredictSmall(outputs: Record<string, Tensor>, request: TfPredictRequest, transientBytes = false): string | Uint8Array | undefined {
  let total = 0;
  for (const key in outputs) total += elementCount(outputs[key]!.shape);
  if (total > NATIVE_ENCODE_MIN_ELEMENTS && useNative()) return undefined;
  if (total > SMALL_RESPONSE_ELEMENTS) return undefined;
  if (transientBytes) {
    const bytes = predictResponseBytes(outputs, request.format);
    if (bytes !== undefined) return bytes;
  }
  return encodePredictResponse(outputs, request.format);
}

export interface TfExamplesRequest extends DecodedRequest {
  /** Number of examples (the batch the outputs must match). */
  count: number;
}

/**
 * classify / regress JSON: examples (+ context) become the serialized tf.Example DT_STRING tensor
 * fed to the signature's "inputs"; only the outputs the method reads are computed. The signature is
 * checked as for gRPC Classify / Regress (exampleSignature: TF Serving's checks and messages).
 */
export function decodeTfExamples(
  body: Uint8Array,
  verb: ExampleMethod,
  servable: Servable,
  limits: RequestLimits = DEFAULT_LIMITS,
): TfExamplesRequest {
  const request = decodeExamplesRequest(body, limits);
  const { inputKey, outputs } = exampleSignature(servable, request.signatureName, verb);
  return { signature: request.signatureName, inputs: { [inputKey]: examplesTensor(request) }, outputs, count: request.examples.length };
}

export function encodeTfClassify(outputs: Record<string, Tensor>, request: TfExamplesRequest): string {
  return encodeClassifyResponse({ scores: outputs.scores, classes: outputs.classes }, request.count);
}

export function encodeTfRegress(outputs: Record<string, Tensor>, request: TfExamplesRequest): string {
  return encodeRegressResponse(outputs.outputs!, request.count);
}

const SIGNATURE_KEY = Buffer.from('"signature_name"');

/**
 * jetserve extension: request parameter "signature_name" picks the SignatureDef (KServe has no
 * signatures). Found by a byte scan of the JSON header first, so requests without it pay nothing.
 */
function requestedSignature(body: Uint8Array, jsonLength: number | undefined): string | undefined {
  if (jsonLength === 0) return undefined;
  const header = Buffer.from(body.buffer, body.byteOffset, Math.min(jsonLength ?? body.byteLength, body.byteLength));
  if (header.indexOf(SIGNATURE_KEY) === -1) return undefined;
  let value: unknown;
  try {
    // the codec's reader: TF Serving style NaN / Infinity tokens in "data" must not stop us
    const reader = new JsonReader(header);
    reader.members(reader.ws(0), (key, start) => {
      if (key !== 'parameters' || reader.at(start) !== 0x7b) return reader.skipValue(start);
      return reader.members(start, (name, at) => {
        if (name === 'signature_name') value = reader.readValue(at);
        return reader.skipValue(at);
      });
    });
  } catch {
    return undefined; // the codec reports the syntax error
  }
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw invalidArgument('request parameter "signature_name" must be a non-empty string');
  }
  return value;
}

/** The signature KServe requests run: serving_default, else the first public one. */
export function kserveSignature(model: SignatureSource): [string, SignatureInfo] {
  const sigs = model.signatures;
  const def = sigs[DEFAULT_SIGNATURE];
  if (def) return [DEFAULT_SIGNATURE, def];
  const key = Object.keys(sigs).find((k) => !k.startsWith('__'));
  if (key === undefined) throw new JetserveError('FAILED_PRECONDITION', `model ${model.source} has no callable signature`);
  return [key, sigs[key]!];
}

/**
 * KServe v2 infer: JSON, or JSON header + binary tensors when `jsonLength` (the
 * Inference-Header-Content-Length header) is set; 0 = a raw binary request.
 */
export function decodeKServeInfer(
  body: Uint8Array,
  jsonLength: number | undefined,
  model: SignatureSource,
  alloc?: TensorAllocator,
  limits: RequestLimits = DEFAULT_LIMITS,
): KServeInferRequest {
  const requested = requestedSignature(body, jsonLength);
  const [signature, info] = requested === undefined ? kserveSignature(model) : [requested, model.signature(requested)];
  const decoded =
    jsonLength === undefined && !alloc && useNative() && nativeLimitsSupported(limits) && Object.hasOwn(model.signatures, signature)
      ? decodeInferRequestNative(body, model.signatures, signature, { limits })
      : decodeInferRequest(body, jsonLength, info, alloc ? { alloc, limits } : { limits });
  return {
    signature,
    inputs: decoded.inputs,
    outputs: decoded.outputs.map((o) => o.name),
    binaryOutputs: decoded.outputs.filter((o) => o.binary).map((o) => o.name),
    ...(decoded.id !== undefined ? { id: decoded.id } : {}),
  };
}

/**
 * The infer response: with binary outputs one body (JSON header + tensor bytes, `jsonLength` for
 * Inference-Header-Content-Length); all-JSON responses as chunks of about `chunkBytes` bytes
 * (native codec) or `chunkChars` characters, for Exchange.sendChunks. `reuseChunks`: as
 * encodeTfPredictChunks'.
 */
export function encodeKServeInfer(
  outputs: Record<string, Tensor>,
  request: KServeInferRequest,
  name: string,
  version: number,
  chunkChars: number,
  chunkBytes = chunkChars,
  reuseChunks = false,
): { body: Uint8Array; jsonLength: number } | { chunks: Iterator<string | Uint8Array, void, undefined> } {
  // response order = the request's "outputs" order (or the signature's)
  const ordered: Record<string, Tensor> = {};
  for (const key of request.outputs ?? Object.keys(outputs)) ordered[key] = outputs[key]!;
  const args = {
    modelName: name,
    modelVersion: String(version),
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: ordered,
    binaryOutputs: request.binaryOutputs,
  };
  if (request.binaryOutputs.length === 0) {
    return {
      chunks: useNative() ? inferResponseChunksNative(args, chunkBytes, reuseChunks) : inferResponseChunks(args, undefined, chunkChars),
    };
  }
  const encoded = encodeInferResponse(args);
  return { body: encoded.body, jsonLength: encoded.headerLength ?? encoded.body.byteLength };
}

export function kserveModelMetadata(name: string, versions: readonly string[], model: Model): string {
  return encodeKServeModelMetadata({ name, versions, signature: kserveSignature(model)[1] });
}

export function tritonModelConfig(name: string, model: Model): string {
  return encodeTritonModelConfig({ name, signature: kserveSignature(model)[1] });
}

/**
 * FlatBuffers predict. `zeroCopy`: the body is an aligned native block (allocAligned), so 64-byte
 * aligned tensor payloads are handed to TF in place.
 */
export function decodeFlatbuffersPredict(
  body: Uint8Array,
  model: Model,
  zeroCopy: boolean,
  limits: RequestLimits = DEFAULT_LIMITS,
): DecodedRequest {
  const decoded = decodeFlatPredict(body, (name) => model.signature(name), { zeroCopy, limits });
  return {
    signature: decoded.signatureName,
    inputs: decoded.inputs,
    ...(decoded.outputFilter.length > 0 ? { outputs: decoded.outputFilter } : {}),
  };
}

export function encodeFlatbuffersPredict(outputs: Record<string, Tensor>, version: number, signature: string): Uint8Array {
  return encodeFlatPredictResponse(outputs, { modelVersion: version, signatureName: signature });
}

export function encodeFlatbuffersError(err: JetserveError): Uint8Array {
  return encodeFlatPredictError(err.code, err.message);
}
