// The two REST JSON codecs behind one interface, so the codec tests run against both: the
// TypeScript reference (src/wire/json/tfserving.ts, kserve.ts) and the native codec
// (native/json_*.cc through src/wire/json/native.ts). The native codec takes a model's signature
// table instead of a resolver: built here from the resolver's answer for serving_default; other
// names reach the resolver through the codec's resolveSignature option.
import type { SignatureInfo } from '../../src/engine/signature.js';
import type { Tensor } from '../../src/engine/tensor.js';
import {
  decodePredictRequest,
  encodePredictResponse,
  type DecodedPredictRequest,
  type DecodeOptions,
  type JsonFormat,
  type ResolveSignature,
} from '../../src/wire/json/tfserving.js';
import {
  decodeInferRequest,
  encodeInferResponse,
  type EncodedInferResponse,
  type InferResponseArgs,
  type KServeInferRequest,
} from '../../src/wire/json/kserve.js';
import {
  decodeInferRequestNative,
  decodePredictRequestNative,
  encodePredictResponseNative,
  inferResponseChunksNative,
  nativeJsonAvailable,
} from '../../src/wire/json/native.js';
import type { RequestLimits } from '../../src/wire/limits.js';

export interface JsonCodec {
  name: 'ts' | 'native';
  decodePredictRequest(body: Uint8Array | string, resolve: ResolveSignature, options?: DecodeOptions): DecodedPredictRequest;
  decodeInferRequest(
    body: Uint8Array,
    headerLength: number | undefined,
    signature: SignatureInfo,
    options?: { limits?: RequestLimits },
  ): KServeInferRequest;
  encodePredictResponse(outputs: Readonly<Record<string, Tensor>>, format: JsonFormat): string;
  encodeInferResponse(args: InferResponseArgs): EncodedInferResponse;
}

const bytesOf = (body: Uint8Array | string) => (typeof body === 'string' ? Buffer.from(body, 'utf8') : body);

function tableFor(resolve: ResolveSignature): Record<string, SignatureInfo> {
  try {
    return { serving_default: resolve('serving_default') };
  } catch {
    return {};
  }
}

const ts: JsonCodec = { name: 'ts', decodePredictRequest, decodeInferRequest, encodePredictResponse, encodeInferResponse };

const native: JsonCodec = {
  name: 'native',
  decodePredictRequest(body, resolve, options = {}) {
    if (options.alloc) throw new Error('the native codec allocates its own tensor memory');
    return decodePredictRequestNative(bytesOf(body), tableFor(resolve), { ...options, resolveSignature: resolve });
  },
  decodeInferRequest(body, headerLength, signature, options = {}) {
    // the binary tensor extension stays on the TypeScript codec
    if (headerLength !== undefined) return decodeInferRequest(body, headerLength, signature, options);
    return decodeInferRequestNative(body, { serving_default: signature }, 'serving_default', options);
  },
  encodePredictResponse(outputs, format) {
    return Buffer.from(encodePredictResponseNative(outputs, format)).toString('utf8');
  },
  encodeInferResponse(args) {
    const names = Object.keys(args.outputs);
    const binary = args.binaryOutputs === true ? names : args.binaryOutputs ? [...args.binaryOutputs] : [];
    // responses with binary outputs stay on the TypeScript codec
    if (binary.some((n) => names.includes(n))) return encodeInferResponse(args);
    const parts: Buffer[] = [];
    const it = inferResponseChunksNative(args, 1 << 30);
    for (let r = it.next(); !r.done; r = it.next()) parts.push(Buffer.from(r.value));
    return { body: new Uint8Array(Buffer.concat(parts)), contentType: 'application/json' };
  },
};

/** The codecs to run a suite against (the native one when the addon has it). */
export const JSON_CODECS: JsonCodec[] = nativeJsonAvailable() ? [ts, native] : [ts];
