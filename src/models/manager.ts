// The model manager (TF Serving's AspiredVersionsManager + ServerCore): owns every configured
// model and composes the lifecycle from its parts — each model's version source (source.ts) says
// which version directories are aspired, the availability-preserving policy (policy.ts) decides
// what to load and unload, and each version's harness (harness.ts) carries out its load and unload
// through the legal states. The manager applies configs (files, reloads), polls the sources, runs
// loads on bounded load slots, and routes a request's model spec (name + version | label |
// latest | traffic split | shadow) to one AVAILABLE version. The repository API (repository.ts),
// statistics (statistics.ts) and shadow mirroring (shadow.ts) live in their own modules; the
// manager implements the typed capabilities front ends use (capabilities.ts).
//
// All of a model's transitions are serialized; a swap loads and warms the new version before the
// old one drains and unloads, so it never leaves a gap; a version that fails to load is END with
// its error and disturbs nothing else.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { loadSavedModel, type LoadSavedModelOptions } from '../engine/model.js';
import { asJetserveError, invalidArgument, JetserveError, notFound } from '../errors.js';
import type {
  ReadinessSource,
  ReloadableConfig,
  RepositoryIndexEntry,
  RepositorySource,
  ResourceReport,
  ResourceSource,
  ShadowReport,
  ShadowSource,
  StatisticsSource,
} from './capabilities.js';
import { modelConfigsFromObject, type ModelConfig } from './config.js';
import { ServableVersion, type LoadSettings, type ModelLoader, type RunObserver } from './harness.js';
import { LoadSlots } from './load-slots.js';
import { checkName } from './names.js';
import { InflightGate, MemoryBudget } from './resources.js';
import { ManagedModel } from './managed-model.js';
import { decide, type PolicyInput } from './policy.js';
import { ModelRepository } from './repository.js';
import { DEFAULT_REQUEST_LOG_SETTINGS, RequestLogFiles, RequestLogger, type RequestLogSettings } from './request-logger.js';
import type { ModelResolver, ModelSpec, Servable, ServableRunnerFactory, VersionState, VersionStatus } from './servable.js';
import { shadowed } from './shadow.js';
import { PollTimer, type SourceScan, type VersionDir } from './source.js';
import { collectStatistics, type ModelStatistics } from './statistics.js';
import type { WarmupOptions } from './warmup.js';

export type { ModelConfig, VersionPolicy } from './config.js';
export type { ModelLoader, RunObserver } from './harness.js';

/**
 * A log sink: the message and its level (info when omitted; a plain (message) => void works). The
 * models room defines the shape it needs; the server's logger (src/observability/logging) fits it.
 */
export type ModelLog = (message: string, level?: 'debug' | 'info' | 'warn' | 'error') => void;

export interface ModelManagerOptions {
  /** Session options (threads, tags) for every load. */
  load?: LoadSavedModelOptions;
  /** Replaces loadSavedModel (tests, warmup wrappers). */
  loader?: ModelLoader;
  /** Where lifecycle events go (a message and its level, info when omitted). Default: nothing. */
  log?: ModelLog;
  /**
   * Makes each version's runner: src/batching's Batching (one batch scheduler shared by every
   * version), which the composition root (src/serve) creates from --enable_batching and
   * --batching_parameters_file. Default (or false): none, each run goes to the version's Model.
   */
  batching?: ServableRunnerFactory | false;
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
  /**
   * --enable_signature_method_name_check: Classify / Regress / Predict (requests and warmup) insist
   * on the signature's method_name. Default false, as TF Serving (TF2 signatures all say predict).
   */
  signatureMethodNameCheck?: boolean;
  /** Every state change and label move, timestamped with performance.now(). */
  onEvent?: (event: LifecycleEvent) => void;
  /** Every successful run of any version (monitoring: runtime latency). Default: none, no timing. */
  onRun?: RunObserver;
  /**
   * A Triton-style model repository (--model_repository): the repository API's index lists every
   * model directory in it and its load adds one that is not configured yet (see repositoryModelConfigs).
   */
  repositoryRoot?: string;
  /** --max_inflight_requests_per_model: requests one model may have running or queued (0 = unbounded). Default 0. */
  maxInflightRequestsPerModel?: number;
  /** --model_memory_budget_mb in bytes: memory all loaded versions may take (0 = no budget). Default 0. */
  memoryBudgetBytes?: number;
  /** Limits of request logging (a model config's logging_config). Default: 16 MiB buffered, 8 files of 256 MiB. */
  requestLog?: Partial<RequestLogSettings>;
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

interface ReconcileMode {
  /** Accept complete directories without waiting for a second, identical poll. */
  trustNew: boolean;
  /** Start-up: no loadable version is an error. */
  strict: boolean;
}

/** Load rounds per look: after a failed load, the source aspires again among what is left. */
const MAX_LOAD_ROUNDS = 4;

export class ModelManager
  implements ModelResolver, ReadinessSource, StatisticsSource, RepositorySource, ShadowSource, ReloadableConfig, ResourceSource
{
  private readonly models = new Map<string, ManagedModel>();
  /** Every version not END yet, of every model (also of models removed while they unload). */
  private readonly harnesses = new Set<ServableVersion>();
  private readonly loadSettings: LoadSettings;
  private readonly log: ModelLog;
  private readonly slots: LoadSlots;
  private readonly allowUnavailableLabels: boolean;
  private readonly onEvent: ((e: LifecycleEvent) => void) | undefined;
  private readonly onRun: RunObserver | undefined;
  private readonly poller: PollTimer;
  private readonly repository: ModelRepository;
  private readonly unloading = new Set<Promise<void>>();
  private readonly maxInflight: number;
  /** Every version's measured memory, and the --model_memory_budget_mb limit. */
  readonly memory: MemoryBudget;
  private readonly requestLogFiles: RequestLogFiles;
  private configChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** The server is shutting down: readiness is false, requests are still served. */
  private draining = false;

  constructor(options: ModelManagerOptions = {}) {
    this.log = options.log ?? (() => {});
    this.maxInflight = Math.max(0, options.maxInflightRequestsPerModel ?? 0);
    this.memory = new MemoryBudget(Math.max(0, options.memoryBudgetBytes ?? 0));
    this.loadSettings = {
      memory: this.memory,
      loader: options.loader ?? loadSavedModel,
      options: options.load ?? {},
      runners: options.batching || undefined,
      warmup: options.warmup ?? false,
      signatureMethodNameCheck: options.signatureMethodNameCheck ?? false,
      maxRetries: Math.max(0, options.maxNumLoadRetries ?? 0),
      retryMs: Math.max(0, (options.loadRetryIntervalMicros ?? 0) / 1000),
      log: this.log,
    };
    const poll = options.fileSystemPollWaitSeconds ?? 1;
    this.poller = new PollTimer(poll > 0 ? poll * 1000 : 0, () => this.pollTick());
    this.slots = new LoadSlots(options.numLoadThreads ?? 0);
    this.allowUnavailableLabels = options.allowVersionLabelsForUnavailableModels ?? false;
    this.onEvent = options.onEvent;
    this.onRun = options.onRun;
    this.requestLogFiles = new RequestLogFiles(
      { ...DEFAULT_REQUEST_LOG_SETTINGS, savedModelTags: options.load?.tags ?? DEFAULT_REQUEST_LOG_SETTINGS.savedModelTags, ...options.requestLog },
      (message) => this.log(message, 'error'),
    );
    this.repository = new ModelRepository(
      {
        models: this.models,
        addModel: (config) => this.addModel(config),
        enable: async (model) => {
          model.disabled = false;
          model.source.clearFailures();
          await model.serial(() => this.reconcile(model, { trustNew: true, strict: true }));
        },
        disable: async (model) => {
          model.disabled = true;
          this.cancelLoads(model, 'the model was unloaded');
          await model.serial(() => this.unloadAll(model));
        },
      },
      options.repositoryRoot,
    );
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

  // --- configuration ---

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
    checkName(name);
    for (const label of Object.keys(config.versionLabels ?? {})) checkName(label, `model ${name}: version label`);
    if (this.models.has(name)) throw new JetserveError('ALREADY_EXISTS', `model ${name} is already configured`);
    const model = new ManagedModel(name, absolute(config.basePath), new InflightGate(name, this.maxInflight));
    this.configure(model, config);
    if (!strictLabels) {
      model.versionLabels = new Map(Object.entries(config.versionLabels ?? {}));
    }
    this.models.set(name, model);
    this.poller.start();
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
    this.configureRequestLog(model, config);
  }

  /** logging_config: keeps the model's logger when unchanged, else swaps it (every version's too). */
  private configureRequestLog(model: ManagedModel, config: ModelConfig): void {
    const current = model.requestLogger;
    const wanted = config.loggingConfig;
    if (JSON.stringify(current?.config) === JSON.stringify(wanted)) return;
    model.requestLogger = wanted
      ? new RequestLogger(wanted, this.requestLogFiles.acquire(wanted.filenamePrefix), this.requestLogFiles.settings.savedModelTags)
      : undefined;
    for (const sv of model.versions.values()) sv.requestLogger = model.requestLogger;
    if (current) void this.requestLogFiles.release(current.file);
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
    const errors: string[] = [];
    const removals: Promise<void>[] = [];
    const wanted = new Set(configs.map((c) => c.name));
    for (const [name, model] of this.models) {
      if (wanted.has(name)) continue;
      this.log(`model ${name} is no longer configured: unloading it`);
      this.models.delete(name);
      if (model.requestLogger) void this.requestLogFiles.release(model.requestLogger.file);
      this.cancelLoads(model, 'the model was removed from the config');
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
          if (moved) existing.source.moveTo(basePath);
          if (moved || !samePolicy) {
            await existing.serial(() => this.reconcile(existing, { trustNew: true, strict: false }));
            const missing = this.failedVersions(existing);
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

  private failedVersions(model: ManagedModel): string[] {
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
    for (const label of Object.keys(labels)) checkName(label, `model ${name}: version label`);
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

  // --- the lifecycle: source → policy → harnesses ---

  /** Polls every model's base path once now (tests, SIGHUP); resolves when transitions settle. */
  async pollNow(): Promise<void> {
    await Promise.all([...this.models.values()].map((m) => m.serial(() => this.reconcile(m, { trustNew: false, strict: false }))));
  }

  private pollTick(): void {
    if (this.closed) return;
    for (const model of this.models.values()) {
      if (model.busy) continue;
      void model.serial(() => this.reconcile(model, { trustNew: false, strict: false })).catch((err: unknown) => {
        this.log(`model ${model.name}: ${asJetserveError(err).message}`, 'error');
      });
    }
  }

  /** One look at a model's base path, and the transitions the policy decides on. */
  private async reconcile(model: ManagedModel, mode: ReconcileMode): Promise<void> {
    if (this.closed || this.models.get(model.name) !== model) return;
    let scan: SourceScan;
    try {
      scan = model.source.scan(mode.trustNew);
    } catch (err) {
      const e = asJetserveError(err);
      if (mode.strict) throw e;
      this.log(`${e.message} (keeping the versions already loaded)`, 'warn');
      return;
    }
    // Aspire, load; if a load failed, the source aspires again among what is left (so a corrupt
    // newest version leaves the older ones in place rather than retiring them).
    let aspired: VersionDir[] = [];
    const attempted: ServableVersion[] = [];
    for (let round = 0; round < MAX_LOAD_ROUNDS; round++) {
      aspired = model.disabled ? [] : model.source.aspired(model.policy, scan);
      if (mode.strict && round === 0 && aspired.length === 0) throw model.source.noVersionError(model.policy, model.disabled, scan.dirs);
      const toLoad = new Set(decide(this.policyInput(model, aspired, scan)).load);
      if (toLoad.size === 0) break;
      const dirs = aspired.filter((d) => toLoad.has(d.version));
      await Promise.all(dirs.map((d) => this.loadVersion(model, d)));
      if (this.closed || this.models.get(model.name) !== model) return;
      const loaded = dirs.map((d) => model.versions.get(d.version)!);
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

    const { unload, forget } = decide(this.policyInput(model, aspired, scan));
    for (const version of unload) this.unloadVersion(model, model.versions.get(version)!);
    for (const version of forget) model.versions.delete(version);
  }

  private policyInput(model: ManagedModel, aspired: readonly VersionDir[], scan: SourceScan): PolicyInput {
    return {
      aspired: aspired.map((d) => d.version),
      versions: [...model.versions.values()],
      onDisk: new Set(scan.dirs.map((d) => d.version)),
      disabled: model.disabled,
      waiting: scan.pending > 0 || model.source.failedOnDisk(scan),
    };
  }

  /** A new harness for `dir`, loaded on a load slot; resolves when its load has ended. */
  private async loadVersion(model: ManagedModel, dir: VersionDir): Promise<void> {
    const fingerprint = model.source.fingerprint(dir.version);
    const sv = new ServableVersion(model.name, dir.version, dir.path, (v) => this.changed(model, v), this.onRun, model.inflight);
    sv.requestLogger = model.requestLogger;
    model.versions.set(dir.version, sv);
    this.harnesses.add(sv);
    this.changed(model, sv);
    await this.slots.acquire();
    try {
      if (sv.state !== 'START') return; // cancelled while it waited for a slot
      this.log(`loading model ${model.name} version ${sv.version} from ${sv.path}`);
      const started = performance.now();
      const outcome = await sv.load(this.loadSettings);
      const what = `model ${model.name} version ${sv.version}`;
      if (outcome === 'available') {
        this.log(`${what} AVAILABLE (loaded in ${(performance.now() - started).toFixed(0)} ms)`);
      } else if (outcome === 'failed') {
        model.source.markFailed(sv.version, fingerprint);
        this.log(`${what} failed to load: ${sv.error?.message}`, 'error');
      } else {
        this.log(`${what}: ${sv.error?.message}`);
      }
    } finally {
      this.slots.release();
    }
  }

  /** Cancels the model's loads in flight (they end END, their sessions freed); unloads are not touched. */
  private cancelLoads(model: ManagedModel, reason: string): void {
    for (const sv of model.versions.values()) {
      if (sv.state === 'START' || sv.state === 'LOADING') void sv.unload(reason);
    }
  }

  private unloadVersion(model: ManagedModel, sv: ServableVersion): void {
    this.log(`unloading model ${model.name} version ${sv.version}`);
    const p = sv
      .unload()
      .catch((err: unknown) => this.log(`unloading ${model.name} version ${sv.version}: ${asJetserveError(err).message}`, 'error'))
      .finally(() => this.unloading.delete(p));
    this.unloading.add(p);
  }

  private async unloadAll(model: ManagedModel): Promise<void> {
    for (const sv of model.versions.values()) if (sv.state === 'AVAILABLE') this.unloadVersion(model, sv);
    await Promise.all([...this.unloading]);
  }

  private changed(model: ManagedModel, sv: ServableVersion): void {
    if (sv.state === 'END') this.harnesses.delete(sv);
    model.refresh();
    this.emit({ model: model.name, kind: 'state', version: sv.version, state: sv.state, ...(sv.error ? { error: sv.error.message } : {}) });
  }

  private emit(e: Omit<LifecycleEvent, 'time'>): void {
    this.onEvent?.({ time: performance.now(), ...e });
  }

  // --- resolution and status (ModelResolver) ---

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

  private specific(model: ManagedModel | undefined, name: string, version: number): ServableVersion {
    const v = model?.versions.get(version);
    if (!v || v.state !== 'AVAILABLE') throw notFound(`Servable not found for request: Specific(${name}, ${version})`);
    return v;
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

  /** The managed model (its versions' harnesses, labels, traffic settings). */
  model(name: string): ManagedModel | undefined {
    return this.models.get(name);
  }

  /**
   * True when every configured (and not repository-unloaded) model has an AVAILABLE version, and
   * the server is not shutting down.
   */
  ready(): boolean {
    if (this.closed || this.draining) return false;
    for (const model of this.models.values()) if (!model.disabled && !model.latestAvailable()) return false;
    return true;
  }

  // --- the other capabilities: repository API, statistics, shadow ---

  repositoryIndex(): RepositoryIndexEntry[] {
    return this.repository.repositoryIndex();
  }

  repositoryLoad(name: string, parameterNames: readonly string[] = []): Promise<void> {
    return this.repository.repositoryLoad(name, parameterNames);
  }

  repositoryUnload(name: string): Promise<void> {
    return this.repository.repositoryUnload(name);
  }

  /** Triton's statistics of the loaded versions (statistics.ts collectStatistics). */
  modelStatistics(name?: string, version?: number): ModelStatistics[] {
    return collectStatistics(this.models, name, version);
  }

  shadowReport(name: string): ShadowReport | undefined {
    return this.models.get(name)?.shadowReport();
  }

  /** Requests in flight and measured memory per model and version, and the memory budget. */
  resources(): ResourceReport {
    const models = [...this.models.values()].map((m) => ({
      name: m.name,
      inFlight: m.inflight.active,
      maxInFlight: m.inflight.limit,
      versions: [...m.versions.values()]
        .filter((v) => v.state !== 'END')
        .sort((a, b) => a.version - b.version)
        .map((v) => ({ version: v.version, state: v.state, memoryBytes: v.memoryBytes })),
    }));
    return { models, memoryBudgetBytes: this.memory.limitBytes, memoryUsedBytes: this.memory.usedBytes };
  }

  /**
   * The start of a shutdown (lame duck): ready() answers false from now on, so load balancers take
   * this server out, while every model keeps serving until close().
   */
  beginDrain(): void {
    this.draining = true;
  }

  /**
   * Stops polling, cancels the loads in flight and unloads every version (each drains its
   * in-flight requests first); resolves once every session is freed. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.poller.stop();
    const ends = [...this.harnesses].map((sv) =>
      sv.unload('the server is shutting down').catch((err: unknown) => {
        this.log(`unloading ${sv.name} version ${sv.version}: ${asJetserveError(err).message}`, 'error');
      }),
    );
    await Promise.all([...ends, ...this.unloading]);
    await this.requestLogFiles.close();
  }
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolvePath(p);
}
