// Model: one loaded TF session (SavedModel or frozen GraphDef) with its signatures. Validates
// inputs against a signature, then runs on the addon's native executor (never the JS thread).

import { dtypeFromTfEnum, TF_DATATYPE, type DType } from './dtypes.js';
import { native, type NativeSession, type NativeSignature, type NativeTensor } from './native.js';
import { encodeConfigProto, type SessionOptions } from './session-config.js';
import {
  DEFAULT_SIGNATURE,
  formatShape,
  shapeCompatible,
  type SignatureInfo,
  type TensorSpec,
  signatureNotFound,
} from './signature.js';
import { assertConsistent, toTensor, type Tensor, type TensorLike } from './tensor.js';
import { invalidArgument, JetserveError } from '../errors.js';

export interface LoadSavedModelOptions extends SessionOptions {
  /** MetaGraph tags to load. Default ['serve']. */
  tags?: string[];
}

export interface LoadGraphDefOptions extends SessionOptions {
  /** Graph tensors to feed: names ("x:0" or "x") or alias → graph tensor name. */
  inputs: string[] | Record<string, string>;
  /** Graph tensors to fetch: names or alias → graph tensor name. */
  outputs: string[] | Record<string, string>;
  /** Signature name the graph is exposed under. Default "serving_default". */
  signatureName?: string;
}

export interface PredictOptions {
  /** Signature to run. Default "serving_default". */
  signature?: string;
  /** Subset of the signature's outputs to compute (TF Serving's output_filter). Default: all. */
  outputs?: readonly string[];
}

/** A signature with its endpoints resolved for fast runs. */
interface PreparedSignature {
  info: SignatureInfo;
  inputKeys: string[];
  inputEndpoints: number[];
  outputKeys: string[];
  outputEndpoints: Map<string, number>;
}

export class Model {
  readonly signatures: Readonly<Record<string, SignatureInfo>>;
  private readonly prepared = new Map<string, PreparedSignature>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly session: NativeSession,
    /** Directory or file the model came from. */
    readonly source: string,
    rawSignatures: Record<string, NativeSignature>,
  ) {
    const signatures: Record<string, SignatureInfo> = {};
    for (const [key, raw] of Object.entries(rawSignatures)) {
      const prepared = prepareSignature(raw);
      this.prepared.set(key, prepared);
      signatures[key] = prepared.info;
    }
    this.signatures = Object.freeze(signatures);
  }

  /** @internal */
  static fromSession(
    session: NativeSession,
    source: string,
    rawSignatures: Record<string, NativeSignature> = session.signatures(),
  ): Model {
    return new Model(session, source, rawSignatures);
  }

  get disposed(): boolean {
    return this.closing !== undefined;
  }

  /** Runs currently executing or queued on the native executor. */
  get inFlight(): number {
    return this.session.inFlight;
  }

  /** Looks up a signature, throwing a clear INVALID_ARGUMENT (naming the known ones) if absent. */
  signature(name: string = DEFAULT_SIGNATURE): SignatureInfo {
    return this.preparedSignature(name).info;
  }

  /**
   * Converts `inputs` (Tensors, typed arrays, nested arrays, strings) to the signature's dtypes,
   * validates names, dtypes and shapes, and runs the signature.
   */
  async predict(
    inputs: Readonly<Record<string, TensorLike>>,
    options: PredictOptions = {},
  ): Promise<Record<string, Tensor>> {
    const sig = this.preparedSignature(options.signature ?? DEFAULT_SIGNATURE);
    const tensors: Record<string, Tensor> = {};
    for (const key of Object.keys(inputs)) {
      const spec = sig.info.inputs[key];
      if (!spec) throw unknownInput(key, sig);
      if (!spec.dtype) throw unsupportedDtype(key, spec);
      tensors[key] = toTensor(inputs[key]!, spec.dtype, `input '${key}'`);
    }
    return this.run(tensors, options);
  }

  /**
   * Runs a signature on Tensors (the server's path: codecs already built Tensors in aligned
   * buffers). Validates names, dtypes and shapes against the signature first.
   */
  run(inputs: Readonly<Record<string, Tensor>>, options: PredictOptions = {}): Promise<Record<string, Tensor>> {
    if (this.closing) {
      return Promise.reject(new JetserveError('FAILED_PRECONDITION', `model ${this.source} has been disposed`));
    }
    let sig: PreparedSignature;
    let nativeInputs: NativeTensor[];
    let outputKeys: string[];
    let outputEndpoints: number[];
    try {
      sig = this.preparedSignature(options.signature ?? DEFAULT_SIGNATURE);
      nativeInputs = validateInputs(inputs, sig);
      outputKeys = options.outputs ? [...options.outputs] : sig.outputKeys;
      outputEndpoints = outputKeys.map((key) => {
        const endpoint = sig.outputEndpoints.get(key);
        if (endpoint === undefined) throw unknownOutput(key, sig);
        return endpoint;
      });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.session.run(sig.inputEndpoints, nativeInputs, outputEndpoints).then(
      (results) => {
        const out: Record<string, Tensor> = {};
        for (let i = 0; i < outputKeys.length; i++) out[outputKeys[i]!] = fromNative(results[i]!);
        return out;
      },
      (err: unknown) => {
        throw toJetserveError(err);
      },
    );
  }

  /**
   * Checks `inputs` and `options` against the signature exactly as run() does (names, dtypes,
   * shapes, output filter) without running. Throws JetserveError. The batcher validates each
   * request with it before enqueueing, so a bad request fails alone instead of poisoning a batch.
   */
  validate(inputs: Readonly<Record<string, Tensor>>, options: PredictOptions = {}): void {
    const sig = this.preparedSignature(options.signature ?? DEFAULT_SIGNATURE);
    validateInputs(inputs, sig);
    for (const key of options.outputs ?? []) {
      if (!sig.outputEndpoints.has(key)) throw unknownOutput(key, sig);
    }
  }

  /** Waits for in-flight runs, then frees the TF session. Later calls reject with FAILED_PRECONDITION. */
  dispose(): Promise<void> {
    this.closing ??= this.session.close();
    return this.closing;
  }

  private preparedSignature(name: string): PreparedSignature {
    const sig = this.prepared.get(name);
    if (!sig) throw signatureNotFound(name, [...this.prepared.keys()]);
    return sig;
  }
}

function prepareSignature(raw: NativeSignature): PreparedSignature {
  const toSpec = (t: NativeSignature['inputs'][string]): TensorSpec => ({
    name: t.name,
    dtype: dtypeFromTfEnum(t.dtype),
    tfDtype: t.dtype,
    shape: t.shape,
  });
  const inputs: Record<string, TensorSpec> = {};
  const outputs: Record<string, TensorSpec> = {};
  // sorted keys: the order TF Serving uses and a stable feed order for batching
  const inputKeys = Object.keys(raw.inputs).sort();
  const outputKeys = Object.keys(raw.outputs).sort();
  for (const key of inputKeys) inputs[key] = toSpec(raw.inputs[key]!);
  for (const key of outputKeys) outputs[key] = toSpec(raw.outputs[key]!);
  return {
    info: { methodName: raw.methodName, inputs, outputs },
    inputKeys,
    inputEndpoints: inputKeys.map((k) => raw.inputs[k]!.endpoint),
    outputKeys,
    outputEndpoints: new Map(outputKeys.map((k) => [k, raw.outputs[k]!.endpoint])),
  };
}

function validateInputs(inputs: Readonly<Record<string, Tensor>>, sig: PreparedSignature): NativeTensor[] {
  for (const key of Object.keys(inputs)) {
    if (!(key in sig.info.inputs)) throw unknownInput(key, sig);
  }
  return sig.inputKeys.map((key) => {
    const spec = sig.info.inputs[key]!;
    const tensor = inputs[key];
    if (!tensor) {
      throw invalidArgument(`missing input '${key}': the signature needs ${sig.inputKeys.join(', ')}`);
    }
    if (!spec.dtype) throw unsupportedDtype(key, spec);
    if (tensor.dtype !== spec.dtype) {
      throw invalidArgument(`input '${key}' expects dtype ${spec.dtype} but got ${tensor.dtype}`);
    }
    assertConsistent(tensor, `input '${key}'`);
    if (!shapeCompatible(spec.shape, tensor.shape)) {
      throw invalidArgument(
        `input '${key}' expects shape ${formatShape(spec.shape)} but got ${formatShape(tensor.shape)}`,
      );
    }
    return { dtype: TF_DATATYPE[tensor.dtype], shape: tensor.shape, data: tensor.data };
  });
}

function fromNative(t: NativeTensor): Tensor {
  const dtype: DType | undefined = dtypeFromTfEnum(t.dtype);
  if (!dtype) throw new JetserveError('UNIMPLEMENTED', `output has unsupported TF dtype enum ${t.dtype}`);
  return { dtype, shape: t.shape, data: t.data };
}

function unknownInput(key: string, sig: PreparedSignature): JetserveError {
  return invalidArgument(`unknown input '${key}': the signature's inputs are ${sig.inputKeys.join(', ')}`);
}

function unknownOutput(key: string, sig: PreparedSignature): JetserveError {
  return invalidArgument(`output filter '${key}' is not an output of the signature (outputs: ${sig.outputKeys.join(', ')})`);
}

function unsupportedDtype(key: string, spec: TensorSpec): JetserveError {
  return new JetserveError('UNIMPLEMENTED', `input '${key}' has TF dtype enum ${spec.tfDtype}, which jetserve cannot feed`);
}

/** The addon rejects with { code: TF_Code, message }; wrap it as a JetserveError. */
export function toJetserveError(err: unknown): JetserveError {
  if (err instanceof JetserveError) return err;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number') {
    return JetserveError.fromTfCode(err.code, String((err as { message?: unknown }).message ?? ''));
  }
  return new JetserveError('INTERNAL', err instanceof Error ? err.message : String(err));
}

export async function loadSavedModel(dir: string, options: LoadSavedModelOptions = {}): Promise<Model> {
  const config = encodeConfigProto(options);
  try {
    const session = await native().loadSavedModel(dir, options.tags ?? ['serve'], config);
    return Model.fromSession(session, dir);
  } catch (err) {
    throw toJetserveError(err);
  }
}

export async function loadGraphDef(file: string, options: LoadGraphDefOptions): Promise<Model> {
  const toPairs = (spec: string[] | Record<string, string>): [string, string][] =>
    Array.isArray(spec) ? spec.map((name) => [name.replace(/:0$/, ''), name]) : Object.entries(spec);
  const inputs = toPairs(options.inputs);
  const outputs = toPairs(options.outputs);
  if (inputs.length === 0 || outputs.length === 0) {
    throw invalidArgument('loadGraphDef needs at least one input and one output tensor name');
  }
  const config = encodeConfigProto(options);
  try {
    const session = await native().loadGraphDef(
      file,
      inputs.map(([, name]) => name),
      outputs.map(([, name]) => name),
      config,
    );
    return Model.fromSession(
      session,
      file,
      aliasGraphDefSignature(session, options.signatureName ?? 'serving_default', inputs, outputs),
    );
  } catch (err) {
    throw toJetserveError(err);
  }
}

/**
 * The addon names a GraphDef's tensors by their graph names under one signature; expose them
 * under the caller's aliases and signature name.
 */
function aliasGraphDefSignature(
  session: NativeSession,
  signatureName: string,
  inputs: [string, string][],
  outputs: [string, string][],
): Record<string, NativeSignature> {
  const raw = Object.values(session.signatures())[0]!;
  const alias = (pairs: [string, string][], table: NativeSignature['inputs']) =>
    Object.fromEntries(pairs.map(([aliasName, graphName]) => [aliasName, table[graphName]!]));
  const signature: NativeSignature = {
    methodName: raw.methodName,
    inputs: alias(inputs, raw.inputs),
    outputs: alias(outputs, raw.outputs),
  };
  return { [signatureName]: signature };
}
