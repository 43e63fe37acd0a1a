// The HTTP routes' view of the wire codecs (src/codec/): one function per direction and format,
// taking the servable's Model (for signatures), so route code does not change when a codec's
// internals do.

import type { Model } from '../../engine/model.js';
import { DEFAULT_SIGNATURE, type SignatureInfo } from '../../engine/signature.js';
import {
  decodeFlatPredict,
  encodeFlatPredictError,
  encodeFlatPredictResponse,
  FLATBUFFERS_CONTENT_TYPE,
} from '../../codec/flatbuffers/flatbuffers.js';
import {
  decodeInferRequest,
  encodeInferResponse,
  encodeKServeModelMetadata,
  encodeTritonModelConfig,
} from '../../codec/kserve-json.js';
import type { Tensor, TensorAllocator } from '../../engine/tensor.js';
import { invalidArgument, JetserveError } from '../../errors.js';
import { JsonReader } from '../../codec/json/reader.js';
import {
  decodeExamplesRequest,
  decodePredictRequest,
  encodeClassifyResponse,
  encodePredictResponse,
  encodeRegressResponse,
  examplesTensor,
} from '../../codec/tfserving-json.js';

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

/**
 * TF Serving predict JSON: row (instances) or columnar (inputs). `alloc`: numeric tensor memory
 * (default aligned native; the JSON offload workers pass plainTensor).
 */
export function decodeTfPredict(body: Uint8Array, model: SignatureSource, alloc?: TensorAllocator): TfPredictRequest {
  const decoded = decodePredictRequest(body, (name) => model.signature(name), alloc ? { alloc } : {});
  return { signature: decoded.signatureName, inputs: decoded.inputs, format: decoded.format };
}

export function encodeTfPredict(outputs: Record<string, Tensor>, request: TfPredictRequest): string {
  return encodePredictResponse(outputs, request.format);
}

export interface TfExamplesRequest extends DecodedRequest {
  /** Number of examples (the batch the outputs must match). */
  count: number;
}

/**
 * classify / regress JSON: examples (+ context) become the serialized tf.Example DT_STRING tensor
 * fed to the signature's one input; only the outputs the method reads are computed.
 */
export function decodeTfExamples(body: Uint8Array, verb: 'classify' | 'regress', model: Model): TfExamplesRequest {
  const request = decodeExamplesRequest(body);
  const sig = model.signature(request.signatureName);
  const inputKeys = Object.keys(sig.inputs);
  if (inputKeys.length !== 1) {
    throw invalidArgument(
      `Expected one input Tensor: signature "${request.signatureName}" has ${inputKeys.length} inputs (${inputKeys.join(', ')}), so it cannot ${verb} tf.Examples`,
    );
  }
  const key = inputKeys[0]!;
  if (sig.inputs[key]!.dtype !== 'string') {
    throw invalidArgument(
      `signature "${request.signatureName}" input '${key}' is ${sig.inputs[key]!.dtype ?? 'of an unsupported type'}, not the DT_STRING serialized tf.Example input ${verb} needs`,
    );
  }
  let outputs: string[];
  if (verb === 'classify') {
    outputs = ['classes', 'scores'].filter((k) => k in sig.outputs);
    if (outputs.length === 0) {
      throw invalidArgument(`signature "${request.signatureName}" has neither a 'classes' nor a 'scores' output to classify with`);
    }
  } else {
    if (!('outputs' in sig.outputs)) {
      throw invalidArgument(`signature "${request.signatureName}" has no 'outputs' output to regress with`);
    }
    outputs = ['outputs'];
  }
  return { signature: request.signatureName, inputs: { [key]: examplesTensor(request) }, outputs, count: request.examples.length };
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
): KServeInferRequest {
  const requested = requestedSignature(body, jsonLength);
  const [signature, info] = requested === undefined ? kserveSignature(model) : [requested, model.signature(requested)];
  const decoded = decodeInferRequest(body, jsonLength, info, alloc ? { alloc } : {});
  return {
    signature,
    inputs: decoded.inputs,
    outputs: decoded.outputs.map((o) => o.name),
    binaryOutputs: decoded.outputs.filter((o) => o.binary).map((o) => o.name),
    ...(decoded.id !== undefined ? { id: decoded.id } : {}),
  };
}

export function encodeKServeInfer(
  outputs: Record<string, Tensor>,
  request: KServeInferRequest,
  name: string,
  version: number,
): { body: Uint8Array; jsonLength?: number } {
  // response order = the request's "outputs" order (or the signature's)
  const ordered: Record<string, Tensor> = {};
  for (const key of request.outputs ?? Object.keys(outputs)) ordered[key] = outputs[key]!;
  const encoded = encodeInferResponse({
    modelName: name,
    modelVersion: String(version),
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: ordered,
    binaryOutputs: request.binaryOutputs,
  });
  return encoded.headerLength === undefined ? { body: encoded.body } : { body: encoded.body, jsonLength: encoded.headerLength };
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
export function decodeFlatbuffersPredict(body: Uint8Array, model: Model, zeroCopy: boolean): DecodedRequest {
  const decoded = decodeFlatPredict(body, (name) => model.signature(name), { zeroCopy });
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
