// One version of one model, from its directory to its freed session (TF Serving's LoaderHarness):
// its state, its loaded Model and runner while AVAILABLE, the requests running on it, and its
// statistics. The state changes only through transition(), checked against TRANSITIONS: an
// illegal transition is a bug and throws IllegalTransitionError.
//
//   START ──load()──▶ LOADING ──▶ AVAILABLE ──unload()──▶ UNLOADING ──▶ END
//     │                  │
//     └──unload()──▶ END └──failed for good, or unload() while loading──▶ END (with the error)
//
// A load retries (--max_num_load_retries, --load_retry_interval_micros) and warms the version up
// before it becomes AVAILABLE. unload() of a LOADING version cancels it: the load runs to its end
// (TF cannot stop a session load half-way), its session is freed, and the version ends END — never
// AVAILABLE — before unload() resolves. Unloading an AVAILABLE version stops new requests, drains
// the ones in flight, then frees the session.

import type { LoadSavedModelOptions, Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import { asJetserveError, JetserveError } from '../errors.js';
import type { AdaptiveBatchingView, RunCallback, RunOptions, Servable, ServableRunner, ServableRunnerFactory, VersionState, VersionStatus } from './servable.js';
import { requestRows, VersionStatistics, type ModelStatistics } from './statistics.js';
import { directoryBytes, residentMemoryBytes, type InflightGate, type MemoryBudget } from './resources.js';
import type { RequestLogger } from './request-logger.js';
import { currentRunTracer, type RunSpan } from './run-trace.js';
import { runWarmup, type WarmupOptions } from './warmup.js';
import { RunDeadline, RunDeadlines } from './run-deadlines.js';

/** The legal transitions: state → the states it may move to. Anything else throws. */
export const TRANSITIONS: Readonly<Record<VersionState, readonly VersionState[]>> = Object.freeze({
  START: ['LOADING', 'END'], // END: unloaded before its load began
  LOADING: ['AVAILABLE', 'END'], // END: the load failed for good, or was cancelled (session freed first)
  AVAILABLE: ['UNLOADING'],
  UNLOADING: ['END'],
  END: [],
});

/** A state change TRANSITIONS does not allow: a bug in the caller. */
export class IllegalTransitionError extends JetserveError {
  constructor(
    readonly from: VersionState,
    readonly to: VersionState,
    servable: string,
  ) {
    const legal = TRANSITIONS[from];
    super('INTERNAL', `${servable}: illegal state transition ${from} → ${to} (${from} may only become ${legal.length ? legal.join(' or ') : 'nothing'})`);
  }
}

export type ModelLoader = (dir: string, options: LoadSavedModelOptions) => Promise<Model>;

/**
 * Sees every run of a version that succeeded: `micros` is the wall time of the runner's run (the
 * batcher's queueing included, as TF Serving's runtime_latency includes its batching session's).
 */
export type RunObserver = (servable: Servable, signature: string, micros: number) => void;

/** How versions are loaded (the manager's options, the same for every version). */
export interface LoadSettings {
  loader: ModelLoader;
  options: LoadSavedModelOptions;
  /** Makes each version's runner; undefined: runs go to the Model. */
  runners: ServableRunnerFactory | undefined;
  warmup: WarmupOptions | false;
  /** --enable_signature_method_name_check, for the version's requests and its warmup. */
  signatureMethodNameCheck: boolean;
  /** Retries after a failed attempt (--max_num_load_retries). */
  maxRetries: number;
  /** Wait between attempts, ms (--load_retry_interval_micros / 1000). */
  retryMs: number;
  log: (message: string, level?: 'debug' | 'info' | 'warn' | 'error') => void;
  /** Holds each version's memory (--model_memory_budget_mb); undefined: loads are not measured. */
  memory?: MemoryBudget;
}

/** How a load ended. */
export type LoadOutcome = 'available' | 'failed' | 'cancelled';

/**
 * How long an UNLOADING version keeps accepting runs of requests that had already resolved it
 * (no new request can resolve it), before it drains and frees its session.
 */
const UNLOAD_GRACE_MS = 25;

export class ServableVersion implements Servable {
  private current: VersionState = 'START';
  error: { code: string; message: string } | null = null;
  private loaded: Model | undefined;
  private runner: ServableRunner | undefined;
  private active = 0;
  private drained: (() => void) | undefined;
  private lateRunsAccepted = false;
  /** The load in progress (LOADING), settled when it ended. */
  private loading: Promise<LoadOutcome> | undefined;
  /** The unload in progress (UNLOADING), settled once the session is freed. */
  private unloading: Promise<void> | undefined;
  /** Set by unload() while START or LOADING: the load ends END with this error. */
  private cancellation: JetserveError | undefined;
  private wakeRetryWait: (() => void) | undefined;
  /** Triton-style inference statistics of this version (statistics.ts); updated by run(). */
  readonly stats = new VersionStatistics();
  /** Set by load() from the manager's settings. */
  signatureMethodNameCheck = false;
  /** Resident memory its load and warmup took, at least its size on disk, in bytes (resources.ts; 0 until loaded). */
  memoryBytes = 0;
  /** The budget holding this version's memory while it loads and serves. */
  private budget: MemoryBudget | undefined;
  /** The model's request logging (logging_config); the manager sets it, undefined: none. */
  requestLogger: RequestLogger | undefined;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly path: string,
    private readonly onChange?: (v: ServableVersion) => void,
    private readonly onRun?: RunObserver,
    /** The model's bound on requests in flight (shared by its versions); none: unbounded, uncounted. */
    private readonly gate?: InflightGate,
  ) {}

  get state(): VersionState {
    return this.current;
  }

  get model(): Model {
    if (!this.loaded) {
      throw new JetserveError('UNAVAILABLE', `version ${this.version} of model ${this.name} is not loaded`);
    }
    return this.loaded;
  }

  /** Requests currently running on this version. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Moves to `to` when TRANSITIONS allows it and tells the manager (latest-version cache, events);
   * throws IllegalTransitionError (state unchanged) otherwise. The operations below are its callers.
   */
  transition(to: VersionState): void {
    if (!TRANSITIONS[this.current].includes(to)) {
      throw new IllegalTransitionError(this.current, to, `model ${this.name} version ${this.version}`);
    }
    this.current = to;
    if (to === 'END') this.budget?.release(this);
    this.onChange?.(this);
  }

  /**
   * Loads the version: LOADING, then attempts (session, warmup, runner) with retries until one
   * succeeds (AVAILABLE), they run out (END with the last error) or unload() cancels (END, the
   * session freed). Legal from START only.
   */
  load(settings: LoadSettings): Promise<LoadOutcome> {
    this.transition('LOADING');
    this.signatureMethodNameCheck = settings.signatureMethodNameCheck;
    this.loading = this.attempts(settings);
    return this.loading;
  }

  private async attempts(settings: LoadSettings): Promise<LoadOutcome> {
    const budget = settings.memory;
    this.budget = budget;
    const what = `model ${this.name} version ${this.version}`;
    for (let attempt = 0; ; attempt++) {
      let model: Model | undefined;
      let runner: ServableRunner | undefined;
      try {
        const onDisk = budget ? directoryBytes(this.path) : 0;
        budget?.reserve(this, onDisk, what);
        const residentBefore = budget ? residentMemoryBytes() : 0;
        model = await settings.loader(this.path, settings.options);
        if (settings.warmup && !this.cancellation) {
          await runWarmup(model, this.path, { ...settings.warmup, signatureMethodNameCheck: settings.signatureMethodNameCheck });
        }
        runner = settings.runners?.runnerFor(model);
        if (budget) {
          // at least its files: memory freed by an earlier unload is reused without growing RSS
          this.memoryBytes = Math.max(onDisk, residentMemoryBytes() - residentBefore);
          budget.settle(this, this.memoryBytes, what);
        }
      } catch (err) {
        budget?.release(this);
        await model?.dispose().catch(() => {});
        const e = asJetserveError(err);
        // over the memory budget: another attempt cannot fit either
        if (attempt >= settings.maxRetries || e.code === 'RESOURCE_EXHAUSTED') {
          this.end(e);
          return 'failed';
        }
        if (this.cancellation) return this.endCancelled();
        settings.log(`model ${this.name} version ${this.version} load attempt ${attempt + 1} failed (${e.message}); retrying`, 'warn');
        await this.retryWait(settings.retryMs);
        if (this.cancellation) return this.endCancelled();
        continue;
      }
      if (this.cancellation) {
        await model.dispose().catch(() => {});
        return this.endCancelled();
      }
      this.loaded = model;
      this.runner = runner;
      // a batching runner's per-version counters give the statistics' execution count and queue time
      this.stats.runnerCounters = runner?.metrics;
      this.transition('AVAILABLE');
      return 'available';
    }
  }

  private endCancelled(): LoadOutcome {
    this.end(this.cancellation ?? this.cancelled('the version was unloaded'));
    return 'cancelled';
  }

  /** Waits between load attempts; unload() cuts the wait short. */
  private retryWait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeRetryWait = done;
    });
  }

  /** END with an error (a failed or cancelled load). */
  private end(error: JetserveError): void {
    this.error = { code: error.code, message: error.message };
    this.transition('END');
  }

  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>> {
    // An UNLOADING version still takes runs from requests that resolved it while it was AVAILABLE
    // (a front end may await between resolve() and run()) until its grace period ends.
    if ((this.current !== 'AVAILABLE' && !(this.current === 'UNLOADING' && this.lateRunsAccepted)) || !this.loaded) {
      return Promise.reject(
        new JetserveError('UNAVAILABLE', `version ${this.version} of model ${this.name} is ${this.current}, not AVAILABLE`),
      );
    }
    const runner: ServableRunner = this.runner ?? this.loaded;
    const gate = this.gate;
    if (gate && !gate.tryEnter()) {
      this.rejected();
      return Promise.reject(gate.refusal());
    }
    this.active++;
    let result: Promise<Record<string, Tensor>>;
    // the run's wall time feeds the statistics and the run observer: performance.now() here and
    // once when it settles, numbers into preallocated fields (no allocation on this path)
    const started = performance.now();
    const rows = requestRows(inputs);
    const signature = options.signature;
    let span: RunSpan | undefined;
    if (currentRunTracer !== undefined) {
      span = currentRunTracer.start(this.name, this.version, signature);
      if (span !== undefined) options = this.traced(span, options);
    }
    try {
      result = runner.run(inputs, options);
    } catch (err) {
      result = Promise.reject(err);
    }
    if (span !== undefined) result = spanEnded(span, result);
    // one reaction settles everything (release, statistics, observer, deadline timer, caller):
    // this is on every request's path, and finally() + a separate deadline wrapper cost three
    // promise hops
    const deadline = options.deadline;
    if (this.requestLogger !== undefined) result = this.logged(result, inputs, options);
    if (deadline === undefined) {
      return result.then(
        (outputs) => {
          this.release();
          this.succeeded(started, rows, signature);
          return outputs;
        },
        (err: unknown) => {
          this.release();
          this.failed(started);
          throw err;
        },
      );
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      result.then(
        () => {
          this.release();
          this.succeeded(started, rows, signature);
        },
        () => {
          this.release();
          this.failed(started);
        },
      );
      return Promise.reject(deadlineExceeded());
    }
    return new Promise((resolve, reject) => {
      const watched = new RunDeadline(deadline, () => reject(deadlineExceeded()));
      runDeadlines.add(watched);
      result.then(
        (outputs) => {
          runDeadlines.delete(watched);
          this.release();
          this.succeeded(started, rows, signature);
          resolve(outputs);
        },
        (err: unknown) => {
          runDeadlines.delete(watched);
          this.release();
          this.failed(started);
          reject(err);
        },
      );
    });
  }

  /**
   * run() with a callback (Servable.runWith): the same checks, accounting, statistics, observer and
   * deadline, without the version's promise and the runner's (when the runner has runWith: the
   * batcher). With tracing or request logging on, which wrap the run's promise, it is run().
   */
  runWith(inputs: Readonly<Record<string, Tensor>>, options: RunOptions, done: RunCallback): void {
    const runner: ServableRunner | undefined = this.runner ?? this.loaded;
    if (
      runner?.runWith === undefined ||
      currentRunTracer !== undefined ||
      this.requestLogger !== undefined ||
      (this.current !== 'AVAILABLE' && !(this.current === 'UNLOADING' && this.lateRunsAccepted))
    ) {
      this.run(inputs, options).then(
        (outputs) => done(undefined, outputs),
        (err: unknown) => done(err, undefined),
      );
      return;
    }
    const gate = this.gate;
    if (gate && !gate.tryEnter()) {
      this.rejected();
      done(gate.refusal(), undefined);
      return;
    }
    this.active++;
    const started = performance.now();
    const rows = requestRows(inputs);
    const signature = options.signature;
    const deadline = options.deadline;
    let runSettled = false;
    let answered = false;
    let watched: RunDeadline | undefined;
    const settled = (err: unknown, outputs: Record<string, Tensor> | undefined) => {
      if (runSettled) return;
      runSettled = true;
      if (watched !== undefined) runDeadlines.delete(watched);
      this.release();
      if (outputs !== undefined) this.succeeded(started, rows, signature);
      else this.failed(started);
      if (answered) return;
      answered = true;
      done(err, outputs);
    };
    try {
      runner.runWith(inputs, options, settled);
    } catch (err) {
      settled(err, undefined);
    }
    if (deadline === undefined || answered) return;
    if (deadline - Date.now() <= 0) {
      answered = true;
      done(deadlineExceeded(), undefined);
      return;
    }
    watched = new RunDeadline(deadline, () => {
      if (answered) return;
      answered = true;
      done(deadlineExceeded(), undefined);
    });
    runDeadlines.add(watched);
  }

  /** Run options that tell the span when execution starts (at once when no batcher queues it). */
  private traced(span: RunSpan, options: RunOptions): RunOptions {
    if (this.runner === undefined) {
      span.executionStarted();
      return options;
    }
    return { ...options, onStart: () => span.executionStarted() };
  }

  /** The run's result, logged when it succeeds (logging_config; the logger samples). */
  private logged(
    result: Promise<Record<string, Tensor>>,
    inputs: Readonly<Record<string, Tensor>>,
    options: RunOptions,
  ): Promise<Record<string, Tensor>> {
    const logger = this.requestLogger!;
    return result.then((outputs) => {
      logger.log(this.name, this.version, options.signature, inputs, outputs, options.outputs);
      return outputs;
    });
  }

  /** A run succeeded: statistics, then the run observer (monitoring: runtime latency). */
  private succeeded(started: number, rows: number, signature: string): void {
    const now = performance.now();
    const ms = now - started;
    this.stats.success(ms, rows, now);
    if (this.onRun) {
      try {
        this.onRun(this, signature, ms * 1000);
      } catch {
        // a monitoring observer's bug must not fail the request or leave it unsettled
      }
    }
  }

  /** A run failed (the model, the batcher's queue, or a deadline). */
  private failed(started: number): void {
    const now = performance.now();
    this.stats.failure(now - started, now);
  }

  /** A request resolved to this version was refused before its run: a failure in the statistics. */
  rejected(): void {
    this.stats.rejected(performance.now());
  }

  /** Servable.adaptiveState: the batching runner's adaptive choices (none without a runner that adapts). */
  adaptiveState(): Readonly<Record<string, AdaptiveBatchingView>> {
    return this.runner?.adaptiveState?.() ?? {};
  }

  /** Triton's statistics for this version (statistics.ts). */
  statistics(): ModelStatistics {
    return this.stats.snapshot(this.name, this.version);
  }

  /**
   * Ends the version; resolves once it is END and its session (if it had one) is freed. AVAILABLE:
   * stops new requests (UNLOADING), drains the ones in flight, frees the session. START or
   * LOADING: cancels the load (`reason` goes into the CANCELLED error the status shows). Idempotent.
   */
  unload(reason = 'the version was unloaded'): Promise<void> {
    switch (this.current) {
      case 'START':
        this.end(this.cancelled(reason));
        return Promise.resolve();
      case 'LOADING':
        this.cancellation ??= this.cancelled(reason);
        this.wakeRetryWait?.();
        return this.loading!.then(() => {});
      case 'AVAILABLE':
        this.unloading = this.drainAndFree();
        return this.unloading;
      case 'UNLOADING':
        return this.unloading!;
      case 'END':
        return Promise.resolve();
    }
  }

  private cancelled(reason: string): JetserveError {
    return new JetserveError('CANCELLED', `model ${this.name} version ${this.version}: load cancelled: ${reason}`);
  }

  private async drainAndFree(): Promise<void> {
    this.lateRunsAccepted = true;
    this.transition('UNLOADING');
    await new Promise((r) => setTimeout(r, UNLOAD_GRACE_MS));
    this.lateRunsAccepted = false;
    await this.waitDrained();
    const model = this.loaded;
    this.loaded = undefined;
    this.runner = undefined;
    try {
      await model?.dispose();
    } finally {
      this.transition('END');
    }
  }

  status(): VersionStatus {
    return { version: this.version, state: this.current, error: this.error };
  }

  private release(): void {
    this.gate?.leave();
    this.active--;
    if (this.active === 0 && this.drained) {
      const done = this.drained;
      this.drained = undefined;
      done();
    }
  }

  private waitDrained(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.drained;
      this.drained = () => {
        previous?.();
        resolve();
      };
    });
  }
}

function spanEnded(span: RunSpan, result: Promise<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
  return result.then(
    (outputs) => {
      span.ended();
      return outputs;
    },
    (err: unknown) => {
      span.ended(err);
      throw err;
    },
  );
}

/** Every version's runs with a deadline, under one timer (run-deadlines.ts). */
const runDeadlines = new RunDeadlines();

function deadlineExceeded(): JetserveError {
  return new JetserveError('DEADLINE_EXCEEDED', 'Deadline exceeded: the model run did not finish in time');
}
