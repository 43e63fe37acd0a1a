// tensorflow.serving.PredictionService and ModelService over the model resolver. Predict is the
// hot path (hand-rolled wire codec, tensor_content straight into aligned buffers); the others use
// protobufjs reflection. Error codes and messages follow TF Serving's gRPC server.

import type * as grpc from '@grpc/grpc-js';
import { DEFAULT_SIGNATURE, type SignatureInfo } from '../../engine/signature.js';
import { ERROR_CODES, invalidArgument, JetserveError, type ErrorCode } from '../../errors.js';
import type { ReloadableConfig } from '../../models/capabilities.js';
import { releaseRequestInputs, type ModelResolver, type ModelSpec, type RunOptions, type Servable, type VersionState } from '../../models/servable.js';
import { releaseBodyOf } from '../body-pool.js';
import { checkPredictSignature, classifyOrRegress, multiInference, requireSpec } from '../../models/example-methods.js';
import {
  decodePredictInputs,
  encodePredictResponseGather,
  scanModelSpecField,
  scanPredictRequest,
  type ModelSpecMessage,
} from '../../wire/protobuf/predict.js';
import { decodeMessage, encodeMessage } from '../../wire/protobuf/schemas.js';
import { rawMethod, unary, type CallContext, type Logger } from './common.js';

/** Servable.run's options plus the call's cancellation signal (the batcher drops a cancelled queued call). */

export const PREDICTION_SERVICE = 'tensorflow.serving.PredictionService';
export const MODEL_SERVICE = 'tensorflow.serving.ModelService';

export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

/** What ModelService needs from the model manager (ModelManager implements it). */
export interface ReloadableModelSource extends ModelResolver, ReloadableConfig {}

export interface TfServingOptions {
  /** Numeric outputs in tensor_content (true) or the typed *_val fields (false: TF Serving's default). */
  tensorContent: boolean;
  log?: Logger;
}

const STATE_NUMBER: Record<VersionState, number> = {
  START: 10,
  LOADING: 20,
  AVAILABLE: 30,
  UNLOADING: 40,
  END: 50,
};

function toModelSpec(spec: ModelSpecMessage): ModelSpec {
  const out: ModelSpec = { name: spec.name };
  if (spec.version !== undefined) out.version = spec.version;
  if (spec.versionLabel !== undefined) out.label = spec.versionLabel;
  return out;
}

function signatureOf(servable: Servable, name: string): SignatureInfo {
  const sig = Object.hasOwn(servable.model.signatures, name) ? servable.model.signatures[name] : undefined;
  if (!sig) throw new JetserveError('FAILED_PRECONDITION', `Serving signature key "${name}" not found.`);
  return sig;
}

/** TF Serving's input-set checks (predict_util.cc), before any tensor is decoded. */
function checkInputNames(sentKeys: readonly string[], sig: SignatureInfo): void {
  let keys = sentKeys;
  const expected = Object.keys(sig.inputs);
  const sent = new Set(keys);
  if (keys.length !== expected.length) {
    keys = [...keys].sort(); // map order on the wire is arbitrary: keep messages stable
    const extra = keys.filter((k) => !Object.hasOwn(sig.inputs, k));
    const missing = expected.filter((k) => !sent.has(k));
    throw invalidArgument(
      `input size does not match signature: ${keys.length}!=${expected.length} len({${keys.join(',')}}) != len({${expected.join(',')}}). ` +
        `Sent extra: {${extra.join(',')}}. Missing but required: {${missing.join(',')}}.`,
    );
  }
  for (const key of keys) {
    if (!Object.hasOwn(sig.inputs, key)) {
      throw invalidArgument(
        `input tensor alias not found in signature: ${key}. Inputs expected to be in the set {${expected.join(',')}}.`,
      );
    }
  }
}

function checkOutputFilter(filter: readonly string[], sig: SignatureInfo): void {
  const seen = new Set<string>();
  for (const alias of filter) {
    if (!Object.hasOwn(sig.outputs, alias)) {
      throw invalidArgument(
        `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${Object.keys(sig.outputs).join(',')}}.`,
      );
    }
    if (seen.has(alias)) throw invalidArgument(`duplicate output tensor alias: ${alias}`);
    seen.add(alias);
  }
}

export function predictionServiceDefinition(): grpc.ServiceDefinition {
  return {
    Classify: rawMethod(PREDICTION_SERVICE, 'Classify'),
    Regress: rawMethod(PREDICTION_SERVICE, 'Regress'),
    Predict: rawMethod(PREDICTION_SERVICE, 'Predict'),
    MultiInference: rawMethod(PREDICTION_SERVICE, 'MultiInference'),
    GetModelMetadata: rawMethod(PREDICTION_SERVICE, 'GetModelMetadata'),
  };
}

export function modelServiceDefinition(): grpc.ServiceDefinition {
  return {
    GetModelStatus: rawMethod(MODEL_SERVICE, 'GetModelStatus'),
    HandleReloadConfigRequest: rawMethod(MODEL_SERVICE, 'HandleReloadConfigRequest'),
  };
}

// ---------------------------------------------------------------------------------------------
// PredictionService

export function predictionServiceHandlers(models: ModelResolver, options: TfServingOptions): grpc.UntypedServiceImplementation {
  const log = options.log;
  const encodeOptions = { tensorContent: options.tensorContent };

  const predict = async (buf: Buffer, context: CallContext): Promise<Buffer | Buffer[]> => {
    const req = scanPredictRequest(buf);
    const spec = requireSpec(req.modelSpec);
    const servable = models.resolve(toModelSpec(spec));
    const signatureName = spec.signatureName || DEFAULT_SIGNATURE;
    const sig = signatureOf(servable, signatureName);
    checkPredictSignature(servable, signatureName);
    checkInputNames(
      req.inputs.map((e) => e.key),
      sig,
    );
    const inputs = decodePredictInputs(req);
    // numeric inputs are copies: the message's block can serve the next one while this one runs
    // (what is read of `req` after the run, the output filter, is strings of its own)
    releaseBodyOf(buf, inputs);
    checkOutputFilter(req.outputFilter, sig);
    // decoding took time: a call cancelled or expired meanwhile never reaches the batcher
    context.checkLive();
    const runOptions: RunOptions = { signature: signatureName, signal: context.signal };
    if (req.outputFilter.length > 0) runOptions.outputs = req.outputFilter;
    if (context.deadline !== undefined) runOptions.deadline = context.deadline;
    const outputs = await servable.run(inputs, runOptions);
    const spec2 = { name: servable.name, version: servable.version, signatureName };
    // a list of pieces: large outputs leave from the tensors without a copy (the inputs are not read)
    const response = encodePredictResponseGather(outputs, spec2, encodeOptions);
    releaseRequestInputs(servable, inputs);
    return response;
  };

  const getModelMetadata = (buf: Buffer): Buffer => {
    const req = decodeMessage<{ model_spec: unknown; metadata_field: string[] }>(
      'tensorflow.serving.GetModelMetadataRequest',
      buf,
    );
    const spec = requireSpec(scanModelSpecField(buf, 'GetModelMetadataRequest'));
    if (req.metadata_field.length === 0) {
      throw invalidArgument('GetModelMetadataRequest must specify at least one metadata_field');
    }
    for (const field of req.metadata_field) {
      if (field !== 'signature_def') throw invalidArgument(`Metadata field ${field} is not supported`);
    }
    const servable = models.resolve(toModelSpec(spec));
    const signatureDefMap = encodeMessage('tensorflow.serving.SignatureDefMap', {
      signature_def: signatureDefs(servable.model.signatures),
    });
    return encodeMessage('tensorflow.serving.GetModelMetadataResponse', {
      model_spec: { name: servable.name, version: { value: servable.version } },
      metadata: { signature_def: { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: signatureDefMap } },
    });
  };

  const resolveSpec = (spec: ModelSpecMessage): Servable => models.resolve(toModelSpec(spec));

  return {
    Predict: unary(predict, log),
    GetModelMetadata: unary(getModelMetadata, log),
    Classify: unary((buf, context) => classifyOrRegress(buf, 'classify', resolveSpec, context.deadline), log),
    Regress: unary((buf, context) => classifyOrRegress(buf, 'regress', resolveSpec, context.deadline), log),
    MultiInference: unary((buf, context) => multiInference(buf, resolveSpec, context.deadline), log),
  };
}

/** SignatureDefMap.signature_def as protobufjs objects. */
function signatureDefs(signatures: Readonly<Record<string, SignatureInfo>>): Record<string, unknown> {
  const tensorInfo = (t: SignatureInfo['inputs'][string]) => ({
    name: t.name,
    dtype: t.tfDtype,
    tensor_shape: t.shape === null ? { unknown_rank: true } : { dim: t.shape.map((size) => ({ size })) },
  });
  const out: Record<string, unknown> = {};
  for (const [key, sig] of Object.entries(signatures)) {
    out[key] = {
      method_name: sig.methodName,
      inputs: Object.fromEntries(Object.entries(sig.inputs).map(([k, t]) => [k, tensorInfo(t)])),
      outputs: Object.fromEntries(Object.entries(sig.outputs).map(([k, t]) => [k, tensorInfo(t)])),
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ModelService

/** The flag that serves HandleReloadConfigRequest (named in the error when it is off). */
export const RELOAD_CONFIG_API_FLAG = '--enable_reload_config_api';

/**
 * ModelService. `reloadApi` (--enable_reload_config_api) serves HandleReloadConfigRequest; off, it
 * answers UNIMPLEMENTED naming the flag (an administrative API, off by default).
 */
export function modelServiceHandlers(models: ReloadableModelSource, log?: Logger, reloadApi = false): grpc.UntypedServiceImplementation {
  const getModelStatus = (buf: Buffer): Buffer => {
    const spec = requireSpec(scanModelSpecField(buf, 'GetModelStatusRequest'));
    let version = spec.version;
    if (spec.versionLabel !== undefined) {
      version = Object.hasOwn(models.labels(spec.name), spec.versionLabel) ? models.labels(spec.name)[spec.versionLabel] : undefined;
      if (version === undefined) throw invalidArgument(`Unrecognized servable version label: ${spec.versionLabel}`);
    }
    const statuses = models.status(spec.name, version);
    return encodeMessage('tensorflow.serving.GetModelStatusResponse', {
      model_version_status: statuses.map((s) => ({
        version: s.version,
        state: STATE_NUMBER[s.state],
        status: s.error
          ? { error_code: ERROR_CODES[s.error.code as ErrorCode] ?? ERROR_CODES.UNKNOWN, error_message: s.error.message }
          : { error_code: 0, error_message: '' },
      })),
    });
  };

  const reload = async (buf: Buffer): Promise<Buffer> => {
    if (!reloadApi) {
      throw new JetserveError('UNIMPLEMENTED', `HandleReloadConfigRequest is disabled; start jetserve with ${RELOAD_CONFIG_API_FLAG}`);
    }
    const req = decodeMessage<{ config: unknown }>('tensorflow.serving.ReloadConfigRequest', buf);
    if (!req.config) throw invalidArgument('ReloadConfigRequest has no config');
    await models.reloadConfig(req.config);
    return encodeMessage('tensorflow.serving.ReloadConfigResponse', { status: { error_code: 0, error_message: '' } });
  };

  return {
    GetModelStatus: unary(getModelStatus, log),
    HandleReloadConfigRequest: unary(reload, log),
  };
}
