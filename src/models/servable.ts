// What a request runs on: a model spec resolves to one loaded version (a "servable"), which runs a
// signature through its runner. The manager (manager.ts) implements ModelResolver; the version
// harness (harness.ts) is the Servable; a runner factory (src/batching's Batching, handed in by the
// composition root) makes each version's runner. The other services the manager offers front
// ends (readiness, statistics, repository, shadow, config reloads) are in capabilities.ts.

import type { Model } from '../engine/model.js';
import { releaseTensor, type Tensor } from '../engine/tensor.js';

/** Which servable a request asks for: latest version when neither version nor label is given. */
export interface ModelSpec {
  name: string;
  version?: number;
  label?: string;
}

/** TF Serving's ManagerState names for a version. */
export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export interface VersionStatus {
  version: number;
  state: VersionState;
  /** null when OK; otherwise the load error. */
  error: { code: string; message: string } | null;
}

/** Options passed to each run; `deadline` is an absolute Date.now() timestamp in ms. */
export interface RunOptions {
  signature: string;
  outputs?: readonly string[];
  deadline?: number;
  /** Aborted when the caller gave up (client cancel): a run not yet started is dropped (CANCELLED). */
  signal?: AbortSignal;
  /** Called when the run starts executing, after any batching queue (tracing's queue / run split). */
  onStart?: () => void;
}

/** Called exactly once with a run's outputs, or with its error (outputs undefined). */
export type RunCallback = (err: unknown, outputs: Record<string, Tensor> | undefined) => void;

/** One loaded, AVAILABLE model version. */
export interface Servable {
  name: string;
  version: number;
  model: Model;
  /**
   * Runs a signature through the version's runner (a batcher when batching is on) or the model.
   * Front ends call this, never model.run, so batching and in-flight accounting apply.
   */
  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>>;
  /**
   * run() with a callback instead of a promise, for front ends that answer from the callback (the
   * REST predict route): the promises of the version and its batcher, and their reactions, are
   * not made. `done` may be called before runWith returns (a request refused at once). Absent:
   * use run().
   */
  runWith?(inputs: Readonly<Record<string, Tensor>>, options: RunOptions, done: RunCallback): void;
  /**
   * --enable_signature_method_name_check: Classify / Regress / Predict insist on the signature's
   * method_name (example-methods.ts). Absent or false: only its inputs and outputs are checked.
   */
  readonly signatureMethodNameCheck?: boolean;
  /**
   * A request resolved to this version was refused before its run (input validation, decoding):
   * counted as a failed inference in the statistics (statistics.ts), with no duration.
   */
  rejected?(): void;
  /**
   * True when the servable reads a request's inputs after run() settled (a shadow mirrors them to
   * its candidate afterwards): the front end must then leave them to the GC.
   */
  readonly readsInputsAfterRun?: boolean;
  /**
   * What adaptive batching (--batching_target_p99_ms) has settled on, per signature it has
   * batched; empty or absent without a p99 target.
   */
  adaptiveState?(): Readonly<Record<string, AdaptiveBatchingView>>;
}

/** The adaptive batching controller's current choice for one signature (src/batching/adaptive.ts). */
export interface AdaptiveBatchingView {
  readonly targetP99Micros: number;
  /** The batch cap in force now (within the static max_batch_size). */
  readonly maxBatchSize: number;
  /** The batch timeout in force now (within the static batch_timeout_micros). */
  readonly batchTimeoutMicros: number;
  /** The signature's batches that may run at once (num_batch_threads, at most the executor's threads). */
  readonly maxConcurrentBatches: number;
  /** p99 of the batcher's queue + run time in the last decision window; null before the first. */
  readonly lastP99Micros: number | null;
}

/**
 * Gives back a decoded request's input tensors once its run succeeded and the answer is written:
 * no batcher queue or TF run reads them any more, and their memory goes back now instead of at a
 * GC that V8 schedules by the external bytes it sees live (a 602 KB ResNet50 image per request).
 * Only for tensors the front end's decoder made (each numeric one in memory of its own; slab
 * regions and views are left alone by releaseTensor); never after a failed run, whose batch may
 * still be queued.
 */
export function releaseRequestInputs(servable: Servable, inputs: Readonly<Record<string, Tensor>>): void {
  if (servable.readsInputsAfterRun === true) return;
  for (const key in inputs) releaseTensor(inputs[key]!);
}

/** Whatever executes a version's runs in place of Model.run (Model.run's contract plus a deadline). */
export interface ServableRunner {
  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>>;
  /** run() with a callback (Servable.runWith); absent: the version calls run(). */
  runWith?(inputs: Readonly<Record<string, Tensor>>, options: RunOptions, done: RunCallback): void;
  /**
   * The runner's own counts, when it shares model executions between requests (a batcher): the
   * version's statistics take their execution count and queue time from here. Absent: each run is
   * one execution and nothing queues.
   */
  readonly metrics?: RunnerCounters;
  /** Servable.adaptiveState, for a runner that adapts its batching. */
  adaptiveState?(): Readonly<Record<string, AdaptiveBatchingView>>;
}

/** The counters a batching runner keeps per version (src/batching/metrics.ts BatchingMetrics). */
export interface RunnerCounters {
  /** Model executions made (a batch is one; reruns count too). */
  readonly tfRuns: number;
  /** Total time requests waited before their execution started, in µs. */
  readonly queueTimeMicros: number;
}

/**
 * Makes the runner of each version the manager loads (src/batching's Batching: one shared batch
 * scheduler for every version). Without one, each run goes straight to the version's Model.
 */
export interface ServableRunnerFactory {
  runnerFor(model: Model): ServableRunner;
}

export interface ModelResolver {
  /** Throws JetserveError NOT_FOUND / INVALID_ARGUMENT with TF Serving's messages. */
  resolve(spec: ModelSpec): Servable;
  /** Status of every version of a model (or one version); NOT_FOUND for an unknown model. */
  status(name: string, version?: number): VersionStatus[];
  /** Names of models configured. */
  modelNames(): string[];
  /** Labels → version for a model. */
  labels(name: string): Record<string, number>;
}
