// Model: one loaded TF session (SavedModel or frozen GraphDef) with its signatures. Validates
// inputs against a signature (names and dtypes always, shapes unless the model was loaded with
// validateShapes: false), then runs it where the placement policy says (placement.ts): on the
// native executor, or — for runs measured below `inlineBelowMicros` while the session has nothing
// on the executor — on the calling thread. predictSync() always runs on the calling thread.

import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { dtypeFromTfEnum, type DType, type TensorData } from './dtypes.js';
import { native, type NativeSession, type NativeSignature, type NativeTensorList } from './native.js';
import {
  bucketRange,
  costSlot,
  BATCH_BUCKETS,
  DEFAULT_INLINE_BELOW_MICROS,
  inlineBelowMicrosProblem,
  PLACE_EXECUTOR_ALWAYS,
  PLACE_INLINE_ALWAYS,
} from './placement.js';
import { EXECUTOR_MODES, loadWithRewrites, REMAPPER_MODES, type ExecutorMode, type GraphRewrites, type RemapperMode } from './graph-rewrites.js';
import { readRunOutputs, writeRunCall } from './run-io.js';
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

export interface PlacementOptions {
  /**
   * A run whose measured cost (per signature and batch-size bucket) is below this many µs, while
   * the model has no run on the native executor, executes on the calling thread and predict()
   * returns an already-settled promise. The first runs of each bucket always go to the executor
   * (they are what is measured), and one run over the threshold sends the next ones back there.
   * Default 200; 0 disables inline runs.
   */
  inlineBelowMicros?: number;
}

export interface ValidationOptions {
  /**
   * Check input shapes against the signature before running (default true): a mismatch is an
   * INVALID_ARGUMENT naming the input and the shape expected. false: only names and dtypes are
   * checked and TF decides about shapes — TF Serving's behaviour, which feeds e.g. x of shape [3]
   * to a signature declaring [-1,1] and answers whatever TF computes (or TF's own error).
   */
  validateShapes?: boolean;
}

export interface LoadSavedModelOptions extends SessionOptions, PlacementOptions, ValidationOptions {
  /** MetaGraph tags to load. Default ['serve']. */
  tags?: string[];
  /**
   * grappler's remapper (op fusion into oneDNN kernels) for this model's session. 'auto' (default)
   * measures small models both ways and keeps the faster (graph-rewrites.ts; model.graphRewrites
   * says what was chosen and why); 'on' is TF's default; 'off' skips the fusion.
   */
  remapper?: RemapperMode;
  /**
   * The executor that runs the session's graph. 'auto' (default) measures TF's single-threaded
   * executor against its default one on small models whose graphs it can run (no control flow,
   * reference edges, collectives or accelerators) and keeps the faster; 'default' is TF's;
   * 'single-threaded' is refused for a model it cannot run.
   */
  executor?: ExecutorMode;
}

export interface LoadGraphDefOptions extends SessionOptions, PlacementOptions, ValidationOptions {
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

/** The measured cost of one (signature, batch-size bucket): what model.stats() reports. */
export interface RunCost {
  signature: string;
  /** Batch sizes (rows of the first input) this bucket covers, [min, max]. */
  batchSizes: [number, number];
  runs: number;
  /** Runs executed on the calling thread (inline policy or predictSync). */
  inlineRuns: number;
  /** Runs executed on the native executor. */
  offloadedRuns: number;
  /** TF_SessionRun wall time: EWMA (weight 1/8, first run left out), p99 of the last 128 runs, last, max. */
  ewmaMicros: number;
  p99Micros: number;
  lastMicros: number;
  maxMicros: number;
  /** What the policy compares with inlineBelowMicros, max(EWMA, last); null until 2 runs were measured. */
  estimateMicros: number | null;
}

export interface ModelStats {
  inlineBelowMicros: number;
  /** Graph rewrites this session was created with, and why. */
  graphRewrites: GraphRewrites;
  /** Runs on the native executor now. */
  inFlight: number;
  /** One entry per (signature, batch-size bucket) that has run. */
  runs: RunCost[];
}

/** A signature with its endpoints resolved for fast runs. */
interface PreparedSignature {
  name: string;
  /** Its cost slots start at index * BATCH_BUCKETS. */
  index: number;
  info: SignatureInfo;
  inputKeys: string[];
  /** "input 'x'" for each input key: error-message prefixes built once, not per call. */
  inputLabels: Record<string, string>;
  inputEndpoints: number[];
  outputKeys: string[];
  outputEndpoints: Map<string, number>;
  allOutputEndpoints: number[];
}

export class Model {
  readonly signatures: Readonly<Record<string, SignatureInfo>>;
  private readonly prepared = new Map<string, PreparedSignature>();
  private closing: Promise<void> | undefined;
  private rewrites: GraphRewrites = { remapper: 'on', executor: 'default', chosenBy: 'default', reason: "TF's default rewrites" };

  private constructor(
    private readonly session: NativeSession,
    /** Directory or file the model came from. */
    readonly source: string,
    rawSignatures: Record<string, NativeSignature>,
    /** See PlacementOptions. */
    readonly inlineBelowMicros: number,
    /** See ValidationOptions. */
    readonly validatesShapes: boolean,
  ) {
    const signatures: Record<string, SignatureInfo> = {};
    for (const [key, raw] of Object.entries(rawSignatures)) {
      const prepared = prepareSignature(key, this.prepared.size, raw);
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
    inlineBelowMicros = DEFAULT_INLINE_BELOW_MICROS,
    validateShapes = true,
  ): Model {
    return new Model(session, source, rawSignatures, inlineBelowMicros, validateShapes);
  }

  get disposed(): boolean {
    return this.closing !== undefined;
  }

  /** How the session was built: remapper and executor (see LoadSavedModelOptions.remapper, .executor). */
  get graphRewrites(): GraphRewrites {
    return this.rewrites;
  }

  /** @internal */
  setGraphRewrites(rewrites: GraphRewrites): void {
    this.rewrites = rewrites;
  }

  /** @internal The session's serialized GraphDef. */
  graphDef(): Uint8Array {
    return this.session.graphDef();
  }

  /** @internal The type of each device the session places ops on ("CPU", "GPU", …). */
  deviceTypes(): string[] {
    return this.session.deviceTypes();
  }

  /** @internal Forgets measured run costs (runs made before the caller had the model). */
  resetCostStats(): void {
    this.session.resetCostStats();
  }

  signatureKeys(): string[] {
    return Object.keys(this.signatures);
  }

  /**
   * Runs that execute at once at most: the native executor's threads (one per core unless set
   * otherwise). A run submitted beyond them waits in the executor's queue.
   */
  get parallelRuns(): number {
    return native().stats().executorThreads || availableParallelism();
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
   * validates names, dtypes and (see ValidationOptions) shapes, and runs the signature. A run the placement policy keeps
   * on this thread returns an already-settled promise.
   */
  predict(inputs: Readonly<Record<string, TensorLike>>, options: PredictOptions = {}): Promise<Record<string, Tensor>> {
    let tensors: Record<string, Tensor>;
    try {
      tensors = this.convertInputs(inputs, options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.run(tensors, options);
  }

  /**
   * predict() on the calling thread, always: returns the outputs or throws the same
   * JetserveError predict() would reject with. It blocks the event loop for the whole TF run (see
   * model.stats() for what a signature costs), so it is for scripts, CLIs and worker threads —
   * not for a server's event loop. Safe while predict() runs of the same model are in flight.
   */
  predictSync(inputs: Readonly<Record<string, TensorLike>>, options: PredictOptions = {}): Record<string, Tensor> {
    return this.runSync(this.convertInputs(inputs, options), options);
  }

  /**
   * Runs a signature on Tensors (the server's path: codecs already built Tensors in aligned
   * buffers). Validates names, dtypes and (see ValidationOptions) shapes against the signature
   * first. Placed like predict().
   */
  run(inputs: Readonly<Record<string, Tensor>>, options: PredictOptions = {}): Promise<Record<string, Tensor>> {
    let call: PreparedCall;
    let result: NativeTensorList | undefined | Promise<NativeTensorList>;
    try {
      call = this.prepareCall(inputs, options, this.inlineBelowMicros > 0 ? this.inlineBelowMicros : PLACE_EXECUTOR_ALWAYS);
      result = this.session.run(call.data);
    } catch (err) {
      return Promise.reject(toJetserveError(err));
    }
    if (result === undefined) return Promise.resolve(readRunOutputs(call.outputKeys));
    if (Array.isArray(result)) return Promise.resolve(toOutputs(call.outputKeys, result));
    return result.then(
      (results) => toOutputs(call.outputKeys, results),
      (err: unknown) => {
        throw toJetserveError(err);
      },
    );
  }

  /** run() on the calling thread, always (see predictSync). */
  runSync(inputs: Readonly<Record<string, Tensor>>, options: PredictOptions = {}): Record<string, Tensor> {
    try {
      const call = this.prepareCall(inputs, options, PLACE_INLINE_ALWAYS);
      const results = this.session.run(call.data) as NativeTensorList | undefined;
      return results === undefined ? readRunOutputs(call.outputKeys) : toOutputs(call.outputKeys, results);
    } catch (err) {
      throw toJetserveError(err);
    }
  }

  /** The measured cost of each (signature, batch-size bucket) that has run, and where runs went. */
  stats(): ModelStats {
    const byIndex = [...this.prepared.values()];
    const runs: RunCost[] = [];
    if (!this.closing) {
      for (const raw of this.session.costStats()) {
        const sig = byIndex[Math.floor(raw.slot / BATCH_BUCKETS)];
        if (!sig) continue;
        runs.push({
          signature: sig.name,
          batchSizes: bucketRange(raw.slot % BATCH_BUCKETS),
          runs: raw.runs,
          inlineRuns: raw.inlineRuns,
          offloadedRuns: raw.offloadedRuns,
          ewmaMicros: raw.ewmaMicros,
          p99Micros: raw.p99Micros,
          lastMicros: raw.lastMicros,
          maxMicros: raw.maxMicros,
          estimateMicros: raw.estimateMicros < 0 ? null : raw.estimateMicros,
        });
      }
    }
    return { inlineBelowMicros: this.inlineBelowMicros, graphRewrites: this.rewrites, inFlight: this.inFlight, runs };
  }

  private convertInputs(inputs: Readonly<Record<string, TensorLike>>, options: PredictOptions): Record<string, Tensor> {
    const sig = this.preparedSignature(options.signature ?? DEFAULT_SIGNATURE);
    const tensors: Record<string, Tensor> = {};
    for (const key of Object.keys(inputs)) {
      const spec = Object.hasOwn(sig.info.inputs, key) ? sig.info.inputs[key] : undefined;
      if (!spec) throw unknownInput(key, sig);
      if (!spec.dtype) throw unsupportedDtype(key, spec);
      tensors[key] = toTensor(inputs[key]!, spec.dtype, sig.inputLabels[key]!);
    }
    return tensors;
  }

  /**
   * Validation, then the call written into the run buffer (run-io.ts) with `placement`; returns
   * what session.run() and the outputs need. Throws JetserveError.
   */
  private prepareCall(inputs: Readonly<Record<string, Tensor>>, options: PredictOptions, placement: number): PreparedCall {
    if (this.closing) throw new JetserveError('FAILED_PRECONDITION', `model ${this.source} has been disposed`);
    const sig = this.preparedSignature(options.signature ?? DEFAULT_SIGNATURE);
    const tensors = validateInputs(inputs, sig, this.validatesShapes);
    const outputKeys = options.outputs ? [...options.outputs] : sig.outputKeys;
    const outputEndpoints = options.outputs
      ? outputKeys.map((key) => {
          const endpoint = sig.outputEndpoints.get(key);
          if (endpoint === undefined) throw unknownOutput(key, sig);
          return endpoint;
        })
      : sig.allOutputEndpoints;
    // The batch size of the cost slot: the first dimension of the first input that has one.
    let rows = -1;
    const data: TensorData[] = [];
    for (let i = 0; i < tensors.length; i++) {
      const tensor = tensors[i]!;
      if (rows < 0 && tensor.shape.length > 0) rows = tensor.shape[0]!;
      data.push(tensor.data);
    }
    writeRunCall(costSlot(sig.index, rows < 0 ? 1 : rows), placement, sig.inputEndpoints, tensors, outputEndpoints);
    return { data, outputKeys };
  }

  /**
   * Checks `inputs` and `options` against the signature exactly as run() does (names, dtypes,
   * shapes, output filter) without running. Throws JetserveError. The batcher validates each
   * request with it before enqueueing, so a bad request fails alone instead of poisoning a batch.
   */
  validate(inputs: Readonly<Record<string, Tensor>>, options: PredictOptions = {}): void {
    const sig = this.preparedSignature(options.signature ?? DEFAULT_SIGNATURE);
    validateInputs(inputs, sig, this.validatesShapes);
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

interface PreparedCall {
  /** Each input's data, in the signature's input order (the rest of the call is in the run buffer). */
  data: TensorData[];
  outputKeys: string[];
}

function toOutputs(keys: string[], results: NativeTensorList): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (let i = 0; i < keys.length; i++) {
    const tfDtype = results[i * 3] as number;
    const dtype: DType | undefined = dtypeFromTfEnum(tfDtype);
    if (!dtype) throw new JetserveError('UNIMPLEMENTED', `output has unsupported TF dtype enum ${tfDtype}`);
    out[keys[i]!] = { dtype, shape: results[i * 3 + 1] as number[], data: results[i * 3 + 2] } as Tensor;
  }
  return out;
}

function prepareSignature(name: string, index: number, raw: NativeSignature): PreparedSignature {
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
    name,
    index,
    info: { methodName: raw.methodName, inputs, outputs },
    inputKeys,
    inputLabels: Object.fromEntries(inputKeys.map((k) => [k, `input '${k}'`])),
    inputEndpoints: inputKeys.map((k) => raw.inputs[k]!.endpoint),
    outputKeys,
    outputEndpoints: new Map(outputKeys.map((k) => [k, raw.outputs[k]!.endpoint])),
    allOutputEndpoints: outputKeys.map((k) => raw.outputs[k]!.endpoint),
  };
}

/** The inputs in the signature's input order, checked against it; throws JetserveError. */
function validateInputs(inputs: Readonly<Record<string, Tensor>>, sig: PreparedSignature, checkShapes: boolean): Tensor[] {
  for (const key of Object.keys(inputs)) {
    if (!Object.hasOwn(sig.info.inputs, key)) throw unknownInput(key, sig);
  }
  const ordered: Tensor[] = [];
  for (const key of sig.inputKeys) {
    const spec = sig.info.inputs[key]!;
    const tensor = inputs[key];
    if (!tensor) {
      throw invalidArgument(`missing input '${key}': the signature needs ${sig.inputKeys.join(', ')}`);
    }
    if (!spec.dtype) throw unsupportedDtype(key, spec);
    if (tensor.dtype !== spec.dtype) {
      throw invalidArgument(`input '${key}' expects dtype ${spec.dtype} but got ${tensor.dtype}`);
    }
    assertConsistent(tensor, sig.inputLabels[key]!);
    if (checkShapes && !shapeCompatible(spec.shape, tensor.shape)) {
      throw invalidArgument(
        `input '${key}' expects shape ${formatShape(spec.shape)} but got ${formatShape(tensor.shape)}`,
      );
    }
    ordered.push(tensor);
  }
  return ordered;
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

function inlineThreshold(options: PlacementOptions): number {
  const problem = inlineBelowMicrosProblem(options.inlineBelowMicros);
  if (problem) throw invalidArgument(problem);
  return options.inlineBelowMicros ?? DEFAULT_INLINE_BELOW_MICROS;
}

export async function loadSavedModel(dir: string, options: LoadSavedModelOptions = {}): Promise<Model> {
  const inlineBelowMicros = inlineThreshold(options);
  const modes = { remapper: options.remapper ?? 'auto', executor: options.executor ?? 'auto' };
  if (!REMAPPER_MODES.includes(modes.remapper)) {
    throw invalidArgument(`remapper must be one of ${REMAPPER_MODES.join(', ')} (got ${String(modes.remapper)})`);
  }
  if (!EXECUTOR_MODES.includes(modes.executor)) {
    throw invalidArgument(`executor must be one of ${EXECUTOR_MODES.join(', ')} (got ${String(modes.executor)})`);
  }
  try {
    const measuring = modes.remapper === 'auto' || modes.executor === 'auto';
    const diskBytes = measuring ? savedModelBytes(dir) : 0;
    const { model, rewrites } = await loadWithRewrites(modes, diskBytes, async (variant) => {
      const session = await native().loadSavedModel(dir, options.tags ?? ['serve'], encodeConfigProto(options, variant));
      return Model.fromSession(session, dir, session.signatures(), inlineBelowMicros, options.validateShapes ?? true);
    });
    model.setGraphRewrites(rewrites);
    return model;
  } catch (err) {
    throw toJetserveError(err);
  }
}

/** Bytes of a SavedModel directory's files (saved_model.pb, variables/, assets/), 0 if unreadable. */
function savedModelBytes(dir: string): number {
  let total = 0;
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) total += statSync(child).size;
    }
  };
  try {
    walk(dir);
  } catch {
    return 0;
  }
  return total;
}

export async function loadGraphDef(file: string, options: LoadGraphDefOptions): Promise<Model> {
  const toPairs = (spec: string[] | Record<string, string>): [string, string][] =>
    Array.isArray(spec) ? spec.map((name) => [name.replace(/:0$/, ''), name]) : Object.entries(spec);
  const inputs = toPairs(options.inputs);
  const outputs = toPairs(options.outputs);
  if (inputs.length === 0 || outputs.length === 0) {
    throw invalidArgument('loadGraphDef needs at least one input and one output tensor name');
  }
  const inlineBelowMicros = inlineThreshold(options);
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
      inlineBelowMicros,
      options.validateShapes ?? true,
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
