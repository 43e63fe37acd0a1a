// inference.GRPCInferenceService (KServe v2 / Open Inference Protocol) over the model resolver:
// health, server and model metadata, ModelInfer (typed contents and raw_input_contents in, raw
// outputs back), Triton's bidirectional ModelStreamInfer, Triton's statistics extension
// (ModelStatistics) and Triton's model repository extension (RepositoryIndex /
// RepositoryModelLoad / RepositoryModelUnload, with --enable_model_repository_api).
// Messages follow Triton's so that tritonclient works unchanged.

import type * as grpc from '@grpc/grpc-js';
import { DEFAULT_SIGNATURE, formatShape, shapeCompatible, type SignatureInfo, type TensorSpec } from '../../engine/signature.js';
import type { Tensor } from '../../engine/tensor.js';
import { invalidArgument, JetserveError, notFound } from '../../errors.js';
import type { ReadinessSource, RepositorySource, StatisticsSource } from '../../models/capabilities.js';
import { releaseRequestInputs, type ModelResolver, type ModelSpec, type RunOptions } from '../../models/servable.js';
import { releaseBodyOf } from '../body-pool.js';
import {
  decodeInferInputs,
  encodeModelInferResponse,
  KSERVE_DATATYPE,
  scanModelInferRequest,
} from '../../wire/protobuf/kserve.js';
import { decodeMessage, encodeMessage } from '../../wire/protobuf/schemas.js';
import { lenFieldSize, WireWriter } from '../../wire/protobuf/primitives.js';
import { callContext, rawMethod, toStatus, unary, type CallContext, type Logger } from './common.js';

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const KSERVE_PLATFORM = 'tensorflow_savedmodel';

/** Request parameter choosing the SignatureDef to run (default "serving_default"). */
export const SIGNATURE_PARAMETER = 'signature_name';

export interface KServeOptions {
  serverName: string;
  serverVersion: string;
  /** Listed in ServerMetadata.extensions ("model_repository" is added when repositoryApi is on). */
  extensions: string[];
  /**
   * Serve Triton's model repository RPCs (--enable_model_repository_api). Off (default): they answer
   * UNIMPLEMENTED naming the flag.
   */
  repositoryApi?: boolean;
  log?: Logger;
}

/** The flag that turns the repository RPCs on (named in the error when it is off). */
export const REPOSITORY_API_FLAG = '--enable_model_repository_api';

export function inferenceServiceDefinition(): grpc.ServiceDefinition {
  return {
    ServerLive: rawMethod(INFERENCE_SERVICE, 'ServerLive'),
    ServerReady: rawMethod(INFERENCE_SERVICE, 'ServerReady'),
    ModelReady: rawMethod(INFERENCE_SERVICE, 'ModelReady'),
    ServerMetadata: rawMethod(INFERENCE_SERVICE, 'ServerMetadata'),
    ModelMetadata: rawMethod(INFERENCE_SERVICE, 'ModelMetadata'),
    ModelInfer: rawMethod(INFERENCE_SERVICE, 'ModelInfer'),
    ModelStreamInfer: rawMethod(INFERENCE_SERVICE, 'ModelStreamInfer', { request: true, response: true }),
    ModelStatistics: rawMethod(INFERENCE_SERVICE, 'ModelStatistics'),
    RepositoryIndex: rawMethod(INFERENCE_SERVICE, 'RepositoryIndex'),
    RepositoryModelLoad: rawMethod(INFERENCE_SERVICE, 'RepositoryModelLoad'),
    RepositoryModelUnload: rawMethod(INFERENCE_SERVICE, 'RepositoryModelUnload'),
  };
}

/** "" → latest; a non-negative integer → that version. */
export function parseVersion(text: string): number | undefined {
  if (text === '') return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalidArgument(`failed to parse model version '${text}': expected a non-negative integer`);
  }
  return Number(text);
}

function specOf(name: string, version: string): ModelSpec {
  const spec: ModelSpec = { name };
  const v = parseVersion(version);
  if (v !== undefined) spec.version = v;
  return spec;
}

function tensorMetadata(name: string, spec: TensorSpec): { name: string; datatype: string; shape: number[] } {
  return {
    name,
    datatype: (spec.dtype && KSERVE_DATATYPE[spec.dtype]) ?? 'INVALID',
    shape: spec.shape ?? [-1],
  };
}

function signatureFor(sig: SignatureInfo | undefined, name: string, modelName: string): SignatureInfo {
  if (!sig) {
    throw invalidArgument(`model '${modelName}' has no signature '${name}' (set the '${SIGNATURE_PARAMETER}' parameter)`);
  }
  return sig;
}

/** What GRPCInferenceService needs from the model manager (ModelManager implements it). */
export interface KServeModelSource extends ModelResolver, ReadinessSource, StatisticsSource, RepositorySource {}

export function inferenceServiceHandlers(models: KServeModelSource, options: KServeOptions): grpc.UntypedServiceImplementation {
  const log = options.log;

  const infer = async (buf: Buffer, context: CallContext): Promise<Buffer> => {
    const req = scanModelInferRequest(buf);
    const servable = models.resolve(specOf(req.modelName, req.modelVersion));
    const modelName = servable.name;
    let signatureName: string;
    let outputNames: string[];
    let inputs: Record<string, Tensor>;
    try {
      const sigParam = req.parameters[SIGNATURE_PARAMETER];
      signatureName = typeof sigParam === 'string' && sigParam !== '' ? sigParam : DEFAULT_SIGNATURE;
      const sig = signatureFor(Object.hasOwn(servable.model.signatures, signatureName) ? servable.model.signatures[signatureName] : undefined, signatureName, servable.name);
      // names, count and datatypes first (Triton's messages), then the data
      for (const input of req.inputs) {
        const spec = Object.hasOwn(sig.inputs, input.name) ? sig.inputs[input.name] : undefined;
        if (!spec) {
          throw invalidArgument(
            `unexpected inference input '${input.name}' for model '${modelName}' (inputs: ${Object.keys(sig.inputs).join(', ')})`,
          );
        }
        const want = spec.dtype && KSERVE_DATATYPE[spec.dtype];
        if (want && input.datatype !== want) {
          throw invalidArgument(
            `inference input '${input.name}' data-type is '${input.datatype}', but model '${modelName}' expects '${want}'`,
          );
        }
        // Triton checks shapes against the model's config; the engine of a TF Serving-style server
        // leaves them to TF (--validate_input_shapes), so KServe requests are checked here
        if (!shapeCompatible(spec.shape, input.shape)) {
          throw invalidArgument(
            `unexpected shape for input '${input.name}' for model '${modelName}'. Expected ${formatShape(spec.shape)}, got ${formatShape(input.shape)}`,
          );
        }
      }
      const expectedInputs = Object.keys(sig.inputs);
      if (req.inputs.length !== expectedInputs.length) {
        const sent = new Set(req.inputs.map((i) => i.name));
        throw invalidArgument(
          `expected ${expectedInputs.length} inputs but got ${req.inputs.length} inputs for model '${modelName}'; missing: ${expectedInputs
            .filter((k) => !sent.has(k))
            .join(', ')}`,
        );
      }
      outputNames = req.outputs.map((o) => o.name);
      const seen = new Set<string>();
      for (const name of outputNames) {
        if (!Object.hasOwn(sig.outputs, name)) {
          throw invalidArgument(
            `unexpected inference output '${name}' for model '${modelName}' (outputs: ${Object.keys(sig.outputs).join(', ')})`,
          );
        }
        if (seen.has(name)) throw invalidArgument(`inference output '${name}' is requested more than once`);
        seen.add(name);
      }
      inputs = decodeInferInputs(req);
    } catch (err) {
      // refused before the run: a failed inference in the version's statistics (the version
      // counts failures of the run itself)
      servable.rejected?.();
      throw err;
    }
    // numeric inputs are copies: the message's block can serve the next one while this one runs
    // (what is read of `req` after the run, its id, is a string of its own)
    releaseBodyOf(buf, inputs);
    // decoding took time: a call cancelled or expired meanwhile never reaches the batcher
    context.checkLive();
    const runOptions: RunOptions = { signature: signatureName, signal: context.signal };
    if (outputNames.length > 0) runOptions.outputs = outputNames;
    if (context.deadline !== undefined) runOptions.deadline = context.deadline;
    const outputs = await servable.run(inputs, runOptions);
    const order = outputNames.length > 0 ? outputNames : Object.keys(outputs);
    const response = encodeModelInferResponse({
      modelName,
      modelVersion: String(servable.version),
      id: req.id,
      outputs: order.map((name) => ({ name, tensor: outputs[name] as Tensor })),
    });
    releaseRequestInputs(servable, inputs);
    return response;
  };

  const modelMetadata = (buf: Buffer): Buffer => {
    const req = decodeMessage<{ name: string; version: string }>('inference.ModelMetadataRequest', buf);
    const spec = specOf(req.name, req.version);
    let servable;
    try {
      servable = models.resolve(spec);
    } catch (err) {
      if (err instanceof JetserveError && err.code === 'NOT_FOUND') {
        throw notFound(
          spec.version === undefined
            ? `Request for unknown model: '${req.name}' is not found`
            : `Request for unknown model: '${req.name}' version ${spec.version} is not found`,
        );
      }
      throw err;
    }
    const versions =
      spec.version !== undefined
        ? [String(spec.version)]
        : models
            .status(servable.name)
            .filter((s) => s.state === 'AVAILABLE')
            .map((s) => String(s.version));
    const sig = servable.model.signatures[DEFAULT_SIGNATURE] ?? Object.values(servable.model.signatures)[0];
    return encodeMessage('inference.ModelMetadataResponse', {
      name: servable.name,
      versions,
      platform: KSERVE_PLATFORM,
      inputs: sig ? Object.entries(sig.inputs).map(([k, t]) => tensorMetadata(k, t)) : [],
      outputs: sig ? Object.entries(sig.outputs).map(([k, t]) => tensorMetadata(k, t)) : [],
    });
  };

  const modelReady = (buf: Buffer): Buffer => {
    const req = decodeMessage<{ name: string; version: string }>('inference.ModelReadyRequest', buf);
    let ready = false;
    try {
      models.resolve(specOf(req.name, req.version));
      ready = true;
    } catch (err) {
      if (!(err instanceof JetserveError) || (err.code !== 'NOT_FOUND' && err.code !== 'UNAVAILABLE')) throw err;
    }
    return encodeMessage('inference.ModelReadyResponse', { ready });
  };

  const streamInfer = (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    let pending = 0;
    let ended = false;
    const context = callContext(call);
    const maybeEnd = () => {
      if (ended && pending === 0) call.end();
    };
    call.on('data', (buf: Buffer) => {
      pending++;
      let work: Promise<Buffer>;
      try {
        context.checkLive();
        work = infer(buf, context);
      } catch (err) {
        work = Promise.reject(err);
      }
      work.then(
        (response) => {
          // ModelStreamInferResponse { infer_response = 2 }
          const w = new WireWriter(lenFieldSize(2, response.length));
          w.bytesField(2, response);
          call.write(w.finish());
        },
        (err: unknown) => {
          const status = toStatus(err, log);
          call.write(encodeMessage('inference.ModelStreamInferResponse', { error_message: status.details ?? status.message }));
        },
      ).finally(() => {
        pending--;
        maybeEnd();
      });
    });
    call.on('end', () => {
      ended = true;
      maybeEnd();
    });
    call.on('error', () => {
      ended = true;
    });
  };

  // --- Triton's statistics extension ---

  const modelStatistics = (buf: Buffer): Buffer => {
    const req = decodeMessage<{ name: string; version: string }>('inference.ModelStatisticsRequest', buf);
    // an empty name asks for every model (a version without a name is ignored, as Triton does)
    const stats = req.name === '' ? models.modelStatistics() : models.modelStatistics(req.name, parseVersion(req.version));
    return encodeMessage('inference.ModelStatisticsResponse', { model_stats: stats });
  };

  // --- Triton's model repository extension ---

  /** The manager's repository API, or the error that says why it is not served. */
  const repository = (): RepositorySource => {
    if (!options.repositoryApi) {
      throw new JetserveError(
        'UNIMPLEMENTED',
        `the model repository API is disabled; start jetserve with ${REPOSITORY_API_FLAG}`,
      );
    }
    return models;
  };

  /** jetserve has one repository: a named one is unsupported (as Triton answers). */
  const checkRepositoryName = (repositoryName: string): void => {
    if (repositoryName !== '') {
      throw new JetserveError('UNIMPLEMENTED', `'repository_name' specification is not supported (got '${repositoryName}')`);
    }
  };

  const repositoryIndex = (buf: Buffer): Buffer => {
    const source = repository();
    const req = decodeMessage<{ repository_name: string; ready: boolean }>('inference.RepositoryIndexRequest', buf);
    checkRepositoryName(req.repository_name);
    let index = source.repositoryIndex();
    if (req.ready) index = index.filter((m) => m.state === 'READY');
    return encodeMessage('inference.RepositoryIndexResponse', { models: index });
  };

  type RepositoryParameter = { bool_param?: boolean; int64_param?: number; string_param?: string; bytes_param?: Buffer };
  type RepositoryModelRequest = { repository_name: string; model_name: string; parameters: Record<string, RepositoryParameter> };

  const repositoryLoad = async (buf: Buffer): Promise<Buffer> => {
    const source = repository();
    const req = decodeMessage<RepositoryModelRequest>('inference.RepositoryModelLoadRequest', buf);
    checkRepositoryName(req.repository_name);
    await source.repositoryLoad(req.model_name, Object.keys(req.parameters));
    return encodeMessage('inference.RepositoryModelLoadResponse', {});
  };

  const repositoryUnload = async (buf: Buffer): Promise<Buffer> => {
    const source = repository();
    // parameters: "unload_dependents" only matters for ensembles, which jetserve does not have
    const req = decodeMessage<RepositoryModelRequest>('inference.RepositoryModelUnloadRequest', buf);
    checkRepositoryName(req.repository_name);
    await source.repositoryUnload(req.model_name);
    return encodeMessage('inference.RepositoryModelUnloadResponse', {});
  };

  const extensions = options.repositoryApi && !options.extensions.includes('model_repository')
    ? [...options.extensions, 'model_repository']
    : options.extensions;

  return {
    ServerLive: unary(() => encodeMessage('inference.ServerLiveResponse', { live: true }), log),
    ServerReady: unary(() => encodeMessage('inference.ServerReadyResponse', { ready: models.ready() }), log),
    ModelReady: unary(modelReady, log),
    ServerMetadata: unary(
      () =>
        encodeMessage('inference.ServerMetadataResponse', {
          name: options.serverName,
          version: options.serverVersion,
          extensions,
        }),
      log,
    ),
    ModelMetadata: unary(modelMetadata, log),
    ModelInfer: unary(infer, log),
    ModelStreamInfer: streamInfer,
    ModelStatistics: unary(modelStatistics, log),
    RepositoryIndex: unary(repositoryIndex, log),
    RepositoryModelLoad: unary(repositoryLoad, log),
    RepositoryModelUnload: unary(repositoryUnload, log),
  };
}
