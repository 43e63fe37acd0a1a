// The model manager: owns every configured model, its versions on disk, each version's lifecycle
// state (START → LOADING → AVAILABLE → UNLOADING → END, TF Serving's ManagerState) and the routing
// of a request's model spec (name + version | label | latest | traffic split) to one AVAILABLE
// version.
//
// Lifecycle: each model's base path is polled (--file_system_poll_wait_seconds). A version
// directory is *ready* once it holds saved_model.pb and its files did not change between two polls.
// The model's version policy (latest N / all / specific) picks the aspired versions among the ready
// ones that have not failed. Aspired versions are loaded (and warmed up) on a bounded number of
// load slots with retries; only then are versions that are no longer aspired unloaded, and an
// unloading version drains its in-flight requests before its session is freed — so a swap never
// leaves a gap. A version that fails to load is END with its error and disturbs nothing else; the
// failure is remembered until its directory changes. All of a model's transitions are serialized.

import { readdirSync, statSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { loadSavedModel, type LoadSavedModelOptions, type Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import { asJetserveError, invalidArgument, JetserveError, notFound } from '../errors.js';
import type { ModelResolver, ModelSpec, RepositoryIndexEntry, RepositorySource, Servable, VersionState, VersionStatus } from './servable.js';
import { Batching } from '../batching/index.js'; // batching integration (src/batching)
import { modelConfigsFromObject, repositoryModelConfigs, type ModelConfig, type VersionPolicy } from './config.js';
import { runWarmup, type WarmupOptions } from './warmup.js';
import { requestRows, VersionStatistics, type ModelStatistics } from './statistics.js';

export type { ModelConfig, VersionPolicy } from './config.js';

/** Options passed to each run; `deadline` is an absolute Date.now() timestamp in ms. */
export interface RunOptions {
  signature: string;
  outputs?: readonly string[];
  deadline?: number;
}

/**
 * Whatever executes a version's runs. The default is the version's Model; the batching issue
 * installs a batcher here (`ServableVersion.setRunner`) without front ends noticing.
 */
export interface ServableRunner {
  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>>;
}

export type ModelLoader = (dir: string, options: LoadSavedModelOptions) => Promise<Model>;

/**
 * Sees every run of a version that succeeded: `micros` is the wall time of the runner's run (the
 * batcher's queueing included, as TF Serving's runtime_latency includes its batching session's).
 */
export type RunObserver = (servable: Servable, signature: string, micros: number) => void;

export interface ModelManagerOptions {
  /** Session options (threads, tags) for every load. */
  load?: LoadSavedModelOptions;
  /** Replaces loadSavedModel (tests, warmup wrappers). */
  loader?: ModelLoader;
  /** Where lifecycle events go. Default: nothing. */
  log?: (message: string) => void;
  // --- batching integration (src/batching) ---
  /**
   * Request batching, one shared scheduler for every version. Default: on with jetserve's defaults
   * (batch_timeout_micros 0: only requests that arrive while the executor is busy are merged, so
   * it never adds latency when idle). `false` turns it off (--enable_batching=false).
   */
  batching?: Batching | false;
  /** Seconds between base-path polls (fractions allowed). 0 or less: look once, at load. Default 1. */
  fileSystemPollWaitSeconds?: number;
  /** Concurrent loads (--num_load_threads; 0 = one at a time). Default 0. */
  numLoadThreads?: number;
  /** Retries after a failed load attempt (--max_num_load_retries). Default 0 here (the CLI passes TF's 5). */
  maxNumLoadRetries?: number;
  /** Wait between load attempts in µs (--load_retry_interval_micros). Default 0 here (the CLI passes 60 s). */
  loadRetryIntervalMicros?: number;
  /** --allow_version_labels_for_unavailable_models: a *new* label may point at a version not yet AVAILABLE. */
  allowVersionLabelsForUnavailableModels?: boolean;
  /** Replay assets.extra/tf_serving_warmup_requests before a version becomes AVAILABLE. Default off here. */
  warmup?: WarmupOptions | false;
  /** Every state change and label move, timestamped with performance.now(). */
  onEvent?: (event: LifecycleEvent) => void;
  /** Every successful run of any version (monitoring: runtime latency). Default: none, no timing. */
  onRun?: RunObserver;
  /**
   * A Triton-style model repository (--model_repository): the repository API's index lists every
   * model directory in it and its load adds one that is not configured yet (see repositoryModelConfigs).
   */
  repositoryRoot?: string;
}

export interface LifecycleEvent {
  /** performance.now() when it happened. */
  time: number;
  model: string;
  kind: 'state' | 'labels';
  version?: number;
  state?: VersionState;
  labels?: Record<string, number>;
  error?: string;
}

/** A version directory found under a base path. */
export interface VersionDir {
  version: number;
  path: string;
  /** Holds saved_model.pb (or .pbtxt): safe to load. */
  complete: boolean;
}

/**
 * How long an UNLOADING version keeps accepting runs of requests that had already resolved it
 * (no new request can resolve it), before it drains and frees its session.
 */
const UNLOAD_GRACE_MS = 25;

const SAVED_MODEL_FILES = ['saved_model.pb', 'saved_model.pbtxt'];
const MAX_VERSION = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Lists the integer version sub-directories of `basePath`, highest first. Names that do not parse
 * as non-negative integers are ignored (as TF Serving does); of duplicates like `007` and `7`, the
 * first in directory order wins.
 */
export function listVersionDirs(basePath: string): VersionDir[] {
  const found = new Map<number, VersionDir>();
  for (const entry of readdirSync(basePath, { withFileTypes: true })) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (BigInt(entry.name) > MAX_VERSION) continue;
    const path = join(basePath, entry.name);
    let isDir = entry.isDirectory();
    if (!isDir && entry.isSymbolicLink()) {
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        isDir = false;
      }
    }
    if (!isDir) continue;
    const version = Number(entry.name);
    if (found.has(version)) continue;
    found.set(version, { version, path, complete: SAVED_MODEL_FILES.some((f) => existsSync(join(path, f))) });
  }
  return [...found.values()].sort((a, b) => b.version - a.version);
}

/**
 * One version of one model: its lifecycle state, its loaded Model while AVAILABLE, and a count of
 * requests running on it (an unloading version drains to zero before its session is freed).
 */
export class ServableVersion implements Servable {
  state: VersionState = 'START';
  error: { code: string; message: string } | null = null;
  private loaded: Model | undefined;
  private runner: ServableRunner | undefined;
  private active = 0;
  private drained: (() => void) | undefined;
  private lateRunsAccepted = false;
  /** Triton-style inference statistics of this version (statistics.ts); updated by run(). */
  readonly stats = new VersionStatistics();

  constructor(
    readonly name: string,
    readonly version: number,
    readonly path: string,
    private readonly onChange?: (v: ServableVersion) => void,
    private readonly onRun?: RunObserver,
  ) {}

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

  /** Installs (or removes, with undefined) the runner that executes requests, e.g. a batcher. */
  setRunner(runner: ServableRunner | undefined): void {
    this.runner = runner;
  }

  /** Sets the state and tells the manager (latest-cache refresh, events). */
  setState(state: VersionState): void {
    this.state = state;
    this.onChange?.(this);
  }

  /**
   * One load attempt: LOADING, the session, warmup, the batcher, then AVAILABLE. A failed attempt
   * leaves the version LOADING (the manager retries or calls fail()).
   */
  async attemptLoad(
    loader: ModelLoader,
    options: LoadSavedModelOptions,
    batching?: Batching,
    warmup?: WarmupOptions | false,
  ): Promise<void> {
    if (this.state !== 'LOADING') this.setState('LOADING');
    const model = await loader(this.path, options);
    try {
      if (warmup) await runWarmup(model, this.path, warmup);
    } catch (err) {
      await model.dispose().catch(() => {});
      throw err;
    }
    this.loaded = model;
    if (batching) {
      // batching integration (src/batching): the batcher's per-version counters give the
      // statistics' execution count (shared TF runs) and queue time
      const batcher = batching.runnerFor(model);
      this.runner = batcher;
      this.stats.batcher = batcher.metrics;
    }
    this.setState('AVAILABLE');
  }

  /** The load failed for good: END with the error. */
  fail(err: unknown): JetserveError {
    const e = asJetserveError(err);
    this.error = { code: e.code, message: e.message };
    this.setState('END');
    return e;
  }

  /** Single attempt, END on failure. */
  async load(loader: ModelLoader, options: LoadSavedModelOptions, batching?: Batching): Promise<void> {
    try {
      await this.attemptLoad(loader, options, batching);
    } catch (err) {
      throw this.fail(err);
    }
  }

  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>> {
    // An UNLOADING version still takes runs from requests that resolved it while it was AVAILABLE
    // (a front end may await between resolve() and run()) until its grace period ends.
    if ((this.state !== 'AVAILABLE' && !(this.state === 'UNLOADING' && this.lateRunsAccepted)) || !this.loaded) {
      return Promise.reject(
        new JetserveError('UNAVAILABLE', `version ${this.version} of model ${this.name} is ${this.state}, not AVAILABLE`),
      );
    }
    const runner: ServableRunner = this.runner ?? this.loaded;
    this.active++;
    let result: Promise<Record<string, Tensor>>;
    // the run's wall time feeds the statistics and the run observer: performance.now() here and
    // once when it settles, numbers into preallocated fields (no allocation on this path)
    const started = performance.now();
    const rows = requestRows(inputs);
    const signature = options.signature;
    try {
      result = runner.run(inputs, options);
    } catch (err) {
      result = Promise.reject(err);
    }
    // one reaction settles everything (release, statistics, observer, deadline timer, caller):
    // this is on every request's path, and finally() + a separate deadline wrapper cost three
    // promise hops
    const deadline = options.deadline;
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
      const timer = setTimeout(() => reject(deadlineExceeded()), remaining);
      result.then(
        (outputs) => {
          clearTimeout(timer);
          this.release();
          this.succeeded(started, rows, signature);
          resolve(outputs);
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.release();
          this.failed(started);
          reject(err);
        },
      );
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

  /** Triton's statistics for this version (statistics.ts). */
  statistics(): ModelStatistics {
    return this.stats.snapshot(this.name, this.version);
  }

  /**
   * Stops new requests (UNLOADING), waits for in-flight ones to finish, frees the session (END).
   * Idempotent.
   */
  async unload(): Promise<void> {
    if (this.state === 'END' || this.state === 'UNLOADING') {
      if (this.state === 'UNLOADING') await this.waitDrained();
      return;
    }
    this.lateRunsAccepted = true;
    this.setState('UNLOADING');
    await new Promise((r) => setTimeout(r, UNLOAD_GRACE_MS));
    this.lateRunsAccepted = false;
    await this.waitDrained();
    const model = this.loaded;
    this.loaded = undefined;
    this.runner = undefined;
    try {
      await model?.dispose();
    } finally {
      this.setState('END');
    }
  }

  status(): VersionStatus {
    return { version: this.version, state: this.state, error: this.error };
  }

  private release(): void {
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

/** Rejects with DEADLINE_EXCEEDED if `work` has not settled by `deadline` (Date.now() ms). */
function deadlineExceeded(): JetserveError {
  return new JetserveError('DEADLINE_EXCEEDED', 'Deadline exceeded: the model run did not finish in time');
}


/** Output-difference metrics of a model's shadow version (candidate vs. the version that answered). */
export interface ShadowMetrics {
  /** Requests mirrored to the shadow version. */
  mirrored: number;
  /** Mirrored requests whose outputs were compared. */
  compared: number;
  /** Compared requests with any output differing (shape, or a value beyond 1e-6 relative). */
  mismatches: number;
  /** mismatches / compared. */
  mismatchRate: number;
  /** Largest absolute difference seen in any numeric output element. */
  maxAbsDiff: number;
  /** Mirrored runs that failed (the caller never sees these). */
  errors: number;
  /** Requests picked for mirroring but not mirrored: MAX_SHADOW_IN_FLIGHT mirrors were still running. */
  skipped: number;
  /** Gauge: mirrored runs not finished yet. */
  inFlight: number;
}

function emptyShadowMetrics(): ShadowMetrics {
  return { mirrored: 0, compared: 0, mismatches: 0, mismatchRate: 0, maxAbsDiff: 0, errors: 0, skipped: 0, inFlight: 0 };
}

/** One configured model: its versions (by number), labels, policy and traffic settings. */
export class ManagedModel {
  readonly versions = new Map<number, ServableVersion>();
  /** label → version. Replaced as a whole, so a label move is atomic for resolve(). */
  versionLabels = new Map<string, number>();
  policy: VersionPolicy = { kind: 'latest', numVersions: 1 };
  trafficSplit: { version: number; weight: number }[] | undefined;
  shadow: { version: number; percent: number } | undefined;
  readonly shadowMetrics: ShadowMetrics = emptyShadowMetrics();
  /** Unloaded through the repository API: no version is aspired until it is loaded again. */
  disabled = false;
  /** Directory fingerprints from the last poll (a version is ready once its fingerprint repeats). */
  seen = new Map<number, string>();
  /** Versions whose load failed, with the fingerprint they failed at (retried once it changes). */
  readonly failed = new Map<number, string>();
  /** Serializes this model's transitions (polls, reloads, repository calls). */
  private chain: Promise<void> = Promise.resolve();
  busy = false;
  /** Highest AVAILABLE version, cached: resolve() is on every request's path. */
  private latest: ServableVersion | undefined;

  constructor(
    readonly name: string,
    public basePath: string,
  ) {}

  latestAvailable(): ServableVersion | undefined {
    return this.latest;
  }

  /** Recomputes the latest-AVAILABLE cache; call after any version changes state. */
  refresh(): void {
    let best: ServableVersion | undefined;
    for (const v of this.versions.values()) {
      if (v.state === 'AVAILABLE' && (!best || v.version > best.version)) best = v;
    }
    this.latest = best;
  }

  /** Runs `fn` after every earlier transition of this model has finished. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      this.busy = true;
      try {
        return await fn();
      } finally {
        this.busy = false;
      }
    });
    this.chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** An unversioned request's version: weighted split when configured, else the latest. */
  pick(): ServableVersion | undefined {
    const split = this.trafficSplit;
    if (split) {
      let total = 0;
      for (const s of split) if (this.versions.get(s.version)?.state === 'AVAILABLE') total += s.weight;
      if (total > 0) {
        let r = Math.random() * total;
        for (const s of split) {
          const v = this.versions.get(s.version);
          if (v?.state !== 'AVAILABLE') continue;
          r -= s.weight;
          if (r < 0) return v;
        }
      }
    }
    return this.latest;
  }
}

/** The versions a policy aspires to, among ready (complete, stable, not failed) directories. */
export function aspiredVersions(policy: VersionPolicy, ready: readonly VersionDir[]): VersionDir[] {
  const sorted = [...ready].sort((a, b) => b.version - a.version);
  if (policy.kind === 'latest') return sorted.slice(0, policy.numVersions);
  if (policy.kind === 'all') return sorted;
  const want = new Set(policy.versions);
  return sorted.filter((d) => want.has(d.version));
}

/** Names, sizes and mtimes of every file under a version directory: equal twice → not being written. */
export function fingerprintDir(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      parts.push(`${rel}:unreadable`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}/${e.name}`);
      else {
        try {
          const s = statSync(p);
          parts.push(`${rel}/${e.name}:${s.size}:${s.mtimeMs}`);
        } catch {
          parts.push(`${rel}/${e.name}:gone`);
        }
      }
    }
  };
  walk(dir, '');
  return parts.join('|');
}

class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = Math.max(1, n);
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

interface ReconcileMode {
  /** Accept complete directories without waiting for a second, identical poll. */
  trustNew: boolean;
  /** Start-up: no loadable version is an error. */
  strict: boolean;
}

export class ModelManager implements ModelResolver, RepositorySource {
  private readonly models = new Map<string, ManagedModel>();
  private readonly loader: ModelLoader;
  private readonly loadOptions: LoadSavedModelOptions;
  private readonly log: (message: string) => void;
  private readonly pollMs: number;
  private readonly slots: Slots;
  private readonly maxRetries: number;
  private readonly retryMs: number;
  private readonly allowUnavailableLabels: boolean;
  private readonly warmup: WarmupOptions | false;
  private readonly onEvent: ((e: LifecycleEvent) => void) | undefined;
  private readonly onRun: RunObserver | undefined;
  private readonly repositoryRoot: string | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly unloading = new Set<Promise<void>>();
  private configChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Request batching shared by every version (undefined: off). Its `metrics` are the server's batching metrics. */
  readonly batching: Batching | undefined; // batching integration (src/batching)

  constructor(options: ModelManagerOptions = {}) {
    this.loader = options.loader ?? loadSavedModel;
    this.loadOptions = options.load ?? {};
    this.log = options.log ?? (() => {});
    this.batching = options.batching === false ? undefined : (options.batching ?? new Batching()); // batching integration
    const poll = options.fileSystemPollWaitSeconds ?? 1;
    this.pollMs = poll > 0 ? poll * 1000 : 0;
    this.slots = new Slots(options.numLoadThreads ?? 0);
    this.maxRetries = Math.max(0, options.maxNumLoadRetries ?? 0);
    this.retryMs = Math.max(0, (options.loadRetryIntervalMicros ?? 0) / 1000);
    this.allowUnavailableLabels = options.allowVersionLabelsForUnavailableModels ?? false;
    this.warmup = options.warmup ?? false;
    this.onEvent = options.onEvent;
    this.onRun = options.onRun;
    this.repositoryRoot = options.repositoryRoot;
  }

  /**
   * Creates a manager and loads every model's aspired versions. Like TF Serving, it does not return
   * until all of them are AVAILABLE, and fails (listing each failure) if any is not.
   */
  static async create(configs: readonly ModelConfig[], options: ModelManagerOptions = {}): Promise<ModelManager> {
    const manager = new ModelManager(options);
    const results = await Promise.allSettled(configs.map((c) => manager.addModel(c)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [asJetserveError(r.reason).message] : []));
    if (failures.length > 0) {
      await manager.close();
      throw new JetserveError(
        'FAILED_PRECONDITION',
        `${failures.length} model(s) did not become available: ${failures.join('; ')}`,
      );
    }
    return manager;
  }

  /**
   * Adds a model and loads the versions its policy aspires to. Rejects with a clear message when
   * the base path is missing, holds no loadable version, or an aspired version fails to load (the
   * model stays configured, its failed versions END with their errors, and polling continues).
   * Labels given here are taken as they are (a config file's labels go through applyConfig).
   */
  async addModel(config: ModelConfig): Promise<void> {
    await this.add(config, false);
  }

  private async add(config: ModelConfig, strictLabels: boolean): Promise<void> {
    if (this.closed) throw new JetserveError('FAILED_PRECONDITION', 'model manager is closed');
    const name = config.name;
    if (!name) throw invalidArgument('model name must not be empty');
    if (this.models.has(name)) throw new JetserveError('ALREADY_EXISTS', `model ${name} is already configured`);
    const model = new ManagedModel(name, absolute(config.basePath));
    this.configure(model, config);
    if (!strictLabels) {
      model.versionLabels = new Map(Object.entries(config.versionLabels ?? {}));
    }
    this.models.set(name, model);
    this.startPolling();
    await model.serial(() => this.reconcile(model, { trustNew: true, strict: true }));
    if (strictLabels) this.setLabels(name, config.versionLabels ?? {});
  }

  /** Applies policy and traffic settings (not labels) from a config. */
  private configure(model: ManagedModel, config: ModelConfig): void {
    model.policy = config.versionPolicy ?? { kind: 'latest', numVersions: 1 };
    model.trafficSplit = config.trafficSplit
      ? Object.entries(config.trafficSplit).map(([v, w]) => ({ version: Number(v), weight: w }))
      : undefined;
    model.shadow = config.shadow;
  }

  /**
   * Makes the served model list equal to `configs` (a config-file load or reload, SIGHUP,
   * HandleReloadConfigRequest): removed models are unloaded, new ones loaded, changed policies and
   * base paths applied, then labels set (atomically per model). Resolves once every model's aspired
   * versions are AVAILABLE; rejects listing what failed (everything else is still applied).
   * Reloads are serialized.
   */
  applyConfig(configs: readonly ModelConfig[]): Promise<void> {
    const run = this.configChain.then(() => this.apply(configs));
    this.configChain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** gRPC HandleReloadConfigRequest: a ModelServerConfig as protobufjs decodes it. */
  async reloadConfig(config: unknown): Promise<void> {
    const configs = modelConfigsFromObject(config, 'ReloadConfigRequest.config');
    await this.applyConfig(configs);
  }

  private async apply(configs: readonly ModelConfig[]): Promise<void> {
    if (this.closed) throw new JetserveError('FAILED_PRECONDITION', 'model manager is closed');
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const errors: string[] = [];
    const removals: Promise<void>[] = [];
    for (const [name, model] of this.models) {
      if (wanted.has(name)) continue;
      this.log(`model ${name} is no longer configured: unloading it`);
      this.models.delete(name);
      removals.push(model.serial(() => this.unloadAll(model)));
    }
    await Promise.all(
      configs.map(async (c) => {
        const existing = this.models.get(c.name);
        try {
          if (!existing) {
            await this.add(c, true);
            return;
          }
          const basePath = absolute(c.basePath);
          const moved = basePath !== existing.basePath;
          const samePolicy = JSON.stringify(existing.policy) === JSON.stringify(c.versionPolicy ?? { kind: 'latest', numVersions: 1 });
          this.configure(existing, c);
          if (moved) {
            existing.basePath = basePath;
            existing.seen = new Map();
            existing.failed.clear();
          }
          if (moved || !samePolicy) {
            await existing.serial(() => this.reconcile(existing, { trustNew: true, strict: false }));
            const missing = this.aspiredNotAvailable(existing);
            if (missing.length > 0) throw new JetserveError('FAILED_PRECONDITION', `model ${c.name}: ${missing.join('; ')}`);
          }
          this.setLabels(c.name, c.versionLabels ?? {});
        } catch (err) {
          errors.push(asJetserveError(err).message);
        }
      }),
    );
    await Promise.all(removals);
    if (errors.length > 0) {
      throw new JetserveError('FAILED_PRECONDITION', `model config not fully applied: ${errors.join('; ')}`);
    }
  }

  private aspiredNotAvailable(model: ManagedModel): string[] {
    const out: string[] = [];
    for (const v of model.versions.values()) {
      if (v.state === 'END' && v.error) out.push(`version ${v.version} (${v.path}) failed to load: ${v.error.message}`);
    }
    return out;
  }

  /**
   * Sets a model's labels in one step. A label may only point at an AVAILABLE version, except that
   * with --allow_version_labels_for_unavailable_models a label not yet in use may point anywhere.
   */
  setLabels(name: string, labels: Readonly<Record<string, number>>): void {
    const model = this.models.get(name);
    if (!model) throw notFound(`Could not find any versions of model ${name}`);
    for (const [label, version] of Object.entries(labels)) {
      if (model.versions.get(version)?.state === 'AVAILABLE') continue;
      if (model.versionLabels.get(label) === version) continue;
      if (this.allowUnavailableLabels && !model.versionLabels.has(label)) continue;
      throw new JetserveError(
        'FAILED_PRECONDITION',
        `model ${name}: cannot assign version label '${label}' to version ${version}, which is not currently available for inference` +
          (this.allowUnavailableLabels ? ' (only a new label may point at an unavailable version)' : ' (see --allow_version_labels_for_unavailable_models)'),
      );
    }
    model.versionLabels = new Map(Object.entries(labels));
    this.emit({ model: name, kind: 'labels', labels: { ...labels } });
  }

  /** Polls every model's base path once now (tests, SIGHUP); resolves when transitions settle. */
  async pollNow(): Promise<void> {
    await Promise.all([...this.models.values()].map((m) => m.serial(() => this.reconcile(m, { trustNew: false, strict: false }))));
  }

  private startPolling(): void {
    if (this.pollTimer || this.pollMs === 0 || this.closed) return;
    const tick = () => {
      this.pollTimer = undefined;
      if (this.closed) return;
      for (const model of this.models.values()) {
        if (model.busy) continue;
        void model.serial(() => this.reconcile(model, { trustNew: false, strict: false })).catch((err: unknown) => {
          this.log(`model ${model.name}: ${asJetserveError(err).message}`);
        });
      }
      this.pollTimer = setTimeout(tick, this.pollMs);
      this.pollTimer.unref();
    };
    this.pollTimer = setTimeout(tick, this.pollMs);
    this.pollTimer.unref();
  }

  /** One look at a model's base path, and the transitions it implies. */
  private async reconcile(model: ManagedModel, mode: ReconcileMode): Promise<void> {
    if (this.closed || this.models.get(model.name) !== model) return;
    let dirs: VersionDir[];
    try {
      dirs = listVersionDirs(model.basePath);
    } catch (err) {
      const e = basePathError(model.name, model.basePath, err);
      if (mode.strict) throw e;
      this.log(`${e.message} (keeping the versions already loaded)`);
      return;
    }
    const fingerprints = new Map<number, string>();
    const ready: VersionDir[] = [];
    let pending = 0;
    for (const d of dirs) {
      if (!d.complete) continue;
      const fp = fingerprintDir(d.path);
      fingerprints.set(d.version, fp);
      if (mode.trustNew || model.seen.get(d.version) === fp) ready.push(d);
      else pending++;
    }
    model.seen = fingerprints;
    for (const [v, fp] of model.failed) if (fingerprints.get(v) !== fp) model.failed.delete(v);
    // Aspire, load; if a load failed, the policy chooses again among what is left (so a corrupt
    // newest version leaves the older ones in place rather than retiring them).
    let aspired: VersionDir[] = [];
    const attempted: ServableVersion[] = [];
    for (let round = 0; round < 4; round++) {
      const candidates = ready.filter((d) => !model.failed.has(d.version));
      aspired = model.disabled ? [] : aspiredVersions(model.policy, candidates);
      if (mode.strict && round === 0 && aspired.length === 0) throw noVersionError(model, dirs);
      const toLoad = aspired.filter((d) => {
        const sv = model.versions.get(d.version);
        return !sv || sv.state === 'END' || sv.state === 'UNLOADING';
      });
      if (toLoad.length === 0) break;
      await Promise.all(toLoad.map((d) => this.loadVersion(model, d, fingerprints.get(d.version) ?? '')));
      if (this.closed || this.models.get(model.name) !== model) return;
      const loaded = toLoad.map((d) => model.versions.get(d.version)!);
      attempted.push(...loaded);
      if (loaded.every((sv) => sv.state === 'AVAILABLE')) break;
    }

    if (mode.strict && !model.latestAvailable()) {
      // start-up / repository load: fail only when nothing serves (an older version that loaded
      // in place of a broken newer one serves, and the broken one shows END with its error)
      const failedNow = attempted.filter((sv) => sv.state !== 'AVAILABLE');
      if (failedNow.length > 0) {
        const sv = failedNow[0]!;
        throw new JetserveError(
          (sv.error?.code as JetserveError['code'] | undefined) ?? 'UNKNOWN',
          `model ${model.name} version ${sv.version} (${sv.path}) failed to load: ${sv.error?.message ?? sv.state}`,
        );
      }
    }

    // Retire what is no longer aspired — only once an aspired version serves (availability first),
    // or when nothing is left to serve from disk at all.
    const aspiredSet = new Set(aspired.map((d) => d.version));
    const anyAspiredAvailable = aspired.some((d) => model.versions.get(d.version)?.state === 'AVAILABLE');
    const failedOnDisk = [...fingerprints.keys()].some((v) => model.failed.has(v));
    const retire = model.disabled || anyAspiredAvailable || (aspired.length === 0 && pending === 0 && !failedOnDisk);
    const onDisk = new Set(dirs.map((d) => d.version));
    for (const sv of [...model.versions.values()]) {
      if (aspiredSet.has(sv.version)) continue;
      if (sv.state === 'AVAILABLE' && retire) this.unloadVersion(model, sv);
      else if (sv.state === 'END' && !onDisk.has(sv.version) && model.versions.get(sv.version) === sv) {
        model.versions.delete(sv.version);
      }
    }
  }

  private async loadVersion(model: ManagedModel, dir: VersionDir, fingerprint: string): Promise<void> {
    const sv = new ServableVersion(model.name, dir.version, dir.path, (v) => this.changed(model, v), this.onRun);
    model.versions.set(dir.version, sv);
    this.changed(model, sv);
    await this.slots.acquire();
    const started = performance.now();
    try {
      this.log(`loading model ${model.name} version ${sv.version} from ${sv.path}`);
      for (let attempt = 0; ; attempt++) {
        if (this.closed) {
          sv.fail(new JetserveError('CANCELLED', 'the server is shutting down'));
          return;
        }
        try {
          await sv.attemptLoad(this.loader, this.loadOptions, this.batching, this.warmup);
          break;
        } catch (err) {
          const e = asJetserveError(err);
          if (attempt >= this.maxRetries) {
            sv.fail(e);
            model.failed.set(sv.version, fingerprint);
            this.log(`model ${model.name} version ${sv.version} failed to load: ${e.message}`);
            return;
          }
          this.log(`model ${model.name} version ${sv.version} load attempt ${attempt + 1} failed (${e.message}); retrying`);
          if (this.retryMs > 0) await new Promise((r) => setTimeout(r, this.retryMs));
        }
      }
    } finally {
      this.slots.release();
    }
    this.log(`model ${model.name} version ${sv.version} AVAILABLE (loaded in ${(performance.now() - started).toFixed(0)} ms)`);
    if (this.closed) await sv.unload();
  }

  private unloadVersion(model: ManagedModel, sv: ServableVersion): void {
    this.log(`unloading model ${model.name} version ${sv.version}`);
    const p = sv
      .unload()
      .catch((err: unknown) => this.log(`unloading ${model.name} version ${sv.version}: ${asJetserveError(err).message}`))
      .finally(() => this.unloading.delete(p));
    this.unloading.add(p);
  }

  private async unloadAll(model: ManagedModel): Promise<void> {
    for (const sv of model.versions.values()) if (sv.state === 'AVAILABLE') this.unloadVersion(model, sv);
    await Promise.all([...this.unloading]);
  }

  private changed(model: ManagedModel, sv: ServableVersion): void {
    model.refresh();
    this.emit({ model: model.name, kind: 'state', version: sv.version, state: sv.state, ...(sv.error ? { error: sv.error.message } : {}) });
  }

  private emit(e: Omit<LifecycleEvent, 'time'>): void {
    this.onEvent?.({ time: performance.now(), ...e });
  }

  resolve(spec: ModelSpec): Servable {
    const model = this.models.get(spec.name);
    if (spec.label !== undefined) {
      if (spec.version !== undefined) {
        throw invalidArgument('A model spec cannot set both a version and a version label');
      }
      const version = model?.versionLabels.get(spec.label);
      if (version === undefined) throw invalidArgument(`Unrecognized servable version label: ${spec.label}`);
      return this.specific(model, spec.name, version);
    }
    if (spec.version !== undefined) return this.specific(model, spec.name, spec.version);
    const chosen = model?.pick();
    if (!chosen) throw notFound(`Servable not found for request: Latest(${spec.name})`);
    const shadow = model!.shadow;
    if (shadow && shadow.version !== chosen.version && Math.random() * 100 < shadow.percent) {
      const candidate = model!.versions.get(shadow.version);
      if (candidate?.state === 'AVAILABLE') return shadowed(chosen, candidate, model!.shadowMetrics);
    }
    return chosen;
  }

  status(name: string, version?: number): VersionStatus[] {
    const model = this.models.get(name);
    if (!model || model.versions.size === 0) throw notFound(`Could not find any versions of model ${name}`);
    if (version !== undefined) {
      const v = model.versions.get(version);
      if (!v) throw notFound(`Could not find version ${version} of model ${name}`);
      return [v.status()];
    }
    return [...model.versions.values()].sort((a, b) => b.version - a.version).map((v) => v.status());
  }

  modelNames(): string[] {
    return [...this.models.keys()];
  }

  labels(name: string): Record<string, number> {
    const model = this.models.get(name);
    if (!model) throw notFound(`Could not find any versions of model ${name}`);
    return Object.fromEntries(model.versionLabels);
  }

  /** The managed model (for front ends that list versions, e.g. KServe metadata). */
  model(name: string): ManagedModel | undefined {
    return this.models.get(name);
  }

  /** True when every configured (and not repository-unloaded) model has an AVAILABLE version. */
  ready(): boolean {
    if (this.closed) return false;
    for (const model of this.models.values()) if (!model.disabled && !model.latestAvailable()) return false;
    return true;
  }

  // --- KServe / Triton model repository API ---

  /**
   * Every configured model with its state (Triton's repository index), plus the repository's model
   * directories not loaded yet (UNAVAILABLE, "unloaded"). Sorted by name.
   */
  repositoryIndex(): RepositoryIndexEntry[] {
    const index = [...this.models.values()].map((m): RepositoryIndexEntry => {
      const latest = m.latestAvailable();
      const failed = [...m.versions.values()].find((v) => v.error);
      return {
        name: m.name,
        ...(latest ? { version: String(latest.version) } : {}),
        state: latest ? 'READY' : m.disabled ? 'UNAVAILABLE' : m.busy ? 'LOADING' : 'UNAVAILABLE',
        reason: latest ? '' : m.disabled ? 'unloaded' : failed?.error ? `version ${failed.version} failed to load: ${failed.error.message}` : '',
      };
    });
    if (this.repositoryRoot) {
      for (const c of repositoryModelConfigs(this.repositoryRoot)) {
        if (!this.models.has(c.name)) index.push({ name: c.name, state: 'UNAVAILABLE', reason: 'unloaded' });
      }
    }
    return index.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Loads (again) a configured model, or adds a repository model directory that is not configured
   * yet; resolves when its aspired versions are AVAILABLE. A failed load leaves the model listed
   * with its error (index: UNAVAILABLE + reason) and rejects.
   */
  async repositoryLoad(name: string, parameterNames: readonly string[] = []): Promise<void> {
    // Triton's "config" / "file:<path>" parameters replace the model's configuration or files for
    // this load; jetserve serves the directory as it is, so loading something else is refused.
    for (const key of parameterNames) {
      if (key === 'config' || key.startsWith('file:')) {
        throw new JetserveError(
          'UNIMPLEMENTED',
          `failed to load '${name}': load parameter '${key}' (a configuration or file override) is not supported by jetserve`,
        );
      }
    }
    const model = this.models.get(name);
    if (!model) {
      const dir = this.repositoryDir(name);
      if (!dir) {
        throw notFound(
          `failed to load '${name}', failed to poll from model repository: ` +
            (this.repositoryRoot ? `no model directory ${name} in ${this.repositoryRoot}` : `model ${name} is not configured`),
        );
      }
      await this.addModel({ name, basePath: dir });
      return;
    }
    model.disabled = false;
    model.failed.clear();
    await model.serial(() => this.reconcile(model, { trustNew: true, strict: true }));
  }

  /** Unloads every version of a model (draining in-flight requests); it stays listed. */
  async repositoryUnload(name: string): Promise<void> {
    const model = this.models.get(name);
    if (!model) {
      if (this.repositoryDir(name)) return; // listed but never loaded: nothing to unload
      throw notFound(`failed to unload '${name}': model ${name} is not configured`);
    }
    model.disabled = true;
    await model.serial(() => this.unloadAll(model));
  }

  /** The repository's directory for a model name, when there is one (names never leave the root). */
  private repositoryDir(name: string): string | undefined {
    if (!this.repositoryRoot) return undefined;
    return repositoryModelConfigs(this.repositoryRoot).find((c) => c.name === name)?.basePath;
  }

  // --- Triton's statistics extension ---

  /**
   * Statistics of the loaded (AVAILABLE or draining) versions: every model's when `name` is
   * undefined, else that model's (every loaded version, or `version`). Sorted by name, then
   * version. NOT_FOUND with KServe's wording for an unknown model, or one without such a version.
   */
  modelStatistics(name?: string, version?: number): ModelStatistics[] {
    const live = (v: ServableVersion) => v.state === 'AVAILABLE' || v.state === 'UNLOADING';
    const byVersion = (a: ServableVersion, b: ServableVersion) => a.version - b.version;
    if (name === undefined) {
      const names = [...this.models.keys()].sort();
      return names.flatMap((n) => [...this.models.get(n)!.versions.values()].filter(live).sort(byVersion).map((v) => v.statistics()));
    }
    const model = this.models.get(name);
    if (version !== undefined) {
      const v = model?.versions.get(version);
      if (!v || !live(v)) throw notFound(`Request for unknown model: '${name}' version ${version} is not found`);
      return [v.statistics()];
    }
    const versions = model ? [...model.versions.values()].filter(live).sort(byVersion) : [];
    if (versions.length === 0) throw notFound(`Request for unknown model: '${name}' is not found`);
    return versions.map((v) => v.statistics());
  }

  /** Requests running on any version. */
  get inFlight(): number {
    let n = 0;
    for (const model of this.models.values()) for (const v of model.versions.values()) n += v.inFlight;
    return n;
  }

  /** Stops polling and unloads every version (each drains its in-flight requests first). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    const unloads: Promise<void>[] = [...this.unloading];
    for (const model of this.models.values()) {
      for (const v of model.versions.values()) {
        unloads.push(
          v.unload().then(
            () => model.refresh(),
            (err: unknown) => this.log(`unloading ${model.name} version ${v.version}: ${asJetserveError(err).message}`),
          ),
        );
      }
    }
    await Promise.all(unloads);
  }

  private specific(model: ManagedModel | undefined, name: string, version: number): ServableVersion {
    const v = model?.versions.get(version);
    if (!v || v.state !== 'AVAILABLE') throw notFound(`Servable not found for request: Specific(${name}, ${version})`);
    return v;
  }
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolvePath(p);
}

function basePathError(name: string, basePath: string, err: unknown): JetserveError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return notFound(`model ${name}: base path ${basePath} does not exist`);
  if (code === 'ENOTDIR') return invalidArgument(`model ${name}: base path ${basePath} is not a directory`);
  return new JetserveError('FAILED_PRECONDITION', `model ${name}: cannot read base path ${basePath}: ${String(err)}`);
}

function noVersionError(model: ManagedModel, dirs: readonly VersionDir[]): JetserveError {
  const { name, basePath, policy } = model;
  if (model.disabled) return new JetserveError('FAILED_PRECONDITION', `model ${name} is unloaded`);
  const complete = dirs.filter((d) => d.complete);
  if (complete.length > 0 && policy.kind === 'specific') {
    return notFound(
      `model ${name}: none of the versions its policy names (${policy.versions.join(', ')}) is under ${basePath} (found ${complete
        .map((d) => d.version)
        .join(', ')})`,
    );
  }
  if (complete.length > 0) {
    return new JetserveError('FAILED_PRECONDITION', `model ${name}: every version under ${basePath} failed to load earlier`);
  }
  if (dirs.length > 0) {
    return new JetserveError(
      'FAILED_PRECONDITION',
      `model ${name}: no complete version under ${basePath} (version directories ${dirs
        .map((d) => d.version)
        .join(', ')} hold no saved_model.pb)`,
    );
  }
  const hint = SAVED_MODEL_FILES.some((f) => existsSync(join(basePath, f)))
    ? `; ${basePath} itself is a SavedModel — TF Serving layout is <base_path>/<version>/saved_model.pb, so move it into a numbered sub-directory (e.g. ${join(basePath, '1')})`
    : '';
  return notFound(`model ${name}: no version directories (integer names) under ${basePath}${hint}`);
}

/** Relative tolerance for "same output" in shadow comparisons. */
const SHADOW_TOLERANCE = 1e-6;

/**
 * Mirrors still running per model beyond which a picked request is not mirrored: a slow or stuck
 * candidate must not pile work onto the executor the served version shares.
 */
export const MAX_SHADOW_IN_FLIGHT = 16;

/**
 * The servable that answers (`primary`) plus a mirror to `candidate`. The mirror starts from
 * setImmediate, after the primary's outputs reached the caller's continuation (which encodes and
 * writes the response in the same turn), so it never delays the caller; its result only feeds
 * `metrics`, and its errors are counted, never returned.
 */
function shadowed(primary: ServableVersion, candidate: ServableVersion, metrics: ShadowMetrics): Servable {
  return {
    name: primary.name,
    version: primary.version,
    get model() {
      return primary.model;
    },
    run(inputs, options) {
      const result = primary.run(inputs, options);
      result.then(
        (expected) => {
          if (metrics.inFlight >= MAX_SHADOW_IN_FLIGHT) {
            metrics.skipped++;
            return;
          }
          metrics.mirrored++;
          metrics.inFlight++;
          const shadowOptions: RunOptions = { signature: options.signature, ...(options.outputs ? { outputs: options.outputs } : {}) };
          setImmediate(() => {
            candidate.run(inputs, shadowOptions).then(
              (actual) => {
                metrics.inFlight--;
                compareOutputs(expected, actual, metrics);
              },
              () => {
                metrics.inFlight--;
                metrics.errors++;
              },
            );
          });
        },
        () => {},
      );
      return result;
    },
    rejected() {
      primary.rejected();
    },
  };
}

function compareOutputs(expected: Record<string, Tensor>, actual: Record<string, Tensor>, metrics: ShadowMetrics): void {
  let mismatch = false;
  for (const [key, e] of Object.entries(expected)) {
    const a = actual[key];
    if (!a || a.dtype !== e.dtype || a.shape.join(',') !== e.shape.join(',')) {
      mismatch = true;
      continue;
    }
    const ed = e.data as ArrayLike<number | bigint | string | Uint8Array>;
    const ad = a.data as ArrayLike<number | bigint | string | Uint8Array>;
    if (ed.length !== ad.length) {
      mismatch = true;
      continue;
    }
    for (let i = 0; i < ed.length; i++) {
      const x = ed[i];
      const y = ad[i];
      if (typeof x === 'number' && typeof y === 'number') {
        const d = Math.abs(x - y);
        if (d > metrics.maxAbsDiff) metrics.maxAbsDiff = d;
        if (d > SHADOW_TOLERANCE * Math.max(1, Math.abs(x))) mismatch = true;
      } else if (typeof x === 'bigint' && typeof y === 'bigint') {
        const d = Number(x > y ? x - y : y - x);
        if (d > metrics.maxAbsDiff) metrics.maxAbsDiff = d;
        if (d !== 0) mismatch = true;
      } else if (x instanceof Uint8Array && y instanceof Uint8Array) {
        if (Buffer.compare(x, y) !== 0) mismatch = true;
      } else if (x !== y) {
        mismatch = true;
      }
    }
  }
  metrics.compared++;
  if (mismatch) metrics.mismatches++;
  metrics.mismatchRate = metrics.mismatches / metrics.compared;
}
