// The model manager: owns every configured model, its versions on disk, each version's lifecycle
// state (START → LOADING → AVAILABLE → UNLOADING → END, TF Serving's ManagerState) and the routing
// of a request's model spec (name + version | label | latest) to one AVAILABLE version.
//
// Today a model comes from `--model_name` / `--model_base_path`: the highest *complete* integer
// version directory (one holding saved_model.pb) is loaded and served. The lifecycle work (version
// policies, labels from config, polling, availability-preserving hot swap, warmup) grows inside
// this file: ManagedModel keeps a map of ServableVersion objects, each with its own state and
// in-flight counter, so a poller only has to add versions and retire old ones.

import { readdirSync, statSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { loadSavedModel, type LoadSavedModelOptions, type Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import { asJetserveError, invalidArgument, JetserveError, notFound } from '../errors.js';
import type { ModelResolver, ModelSpec, Servable, VersionState, VersionStatus } from './servable.js';
import { Batching } from '../batching/index.js'; // batching integration (src/batching)

/** One model to serve: TF Serving's ModelConfig subset that exists today. */
export interface ModelConfig {
  name: string;
  /** Directory holding integer version sub-directories. Relative paths resolve against the cwd. */
  basePath: string;
  /** label → version (TF Serving's version_labels). */
  versionLabels?: Record<string, number>;
}

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
}

/** A version directory found under a base path. */
export interface VersionDir {
  version: number;
  path: string;
  /** Holds saved_model.pb (or .pbtxt): safe to load. */
  complete: boolean;
}

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

  constructor(
    readonly name: string,
    readonly version: number,
    readonly path: string,
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

  async load(loader: ModelLoader, options: LoadSavedModelOptions, batching?: Batching): Promise<void> {
    this.state = 'LOADING';
    try {
      this.loaded = await loader(this.path, options);
      if (batching) this.runner = batching.runnerFor(this.loaded); // batching integration (src/batching)
      this.state = 'AVAILABLE';
    } catch (err) {
      const e = asJetserveError(err);
      this.error = { code: e.code, message: e.message };
      this.state = 'END';
      throw e;
    }
  }

  run(inputs: Readonly<Record<string, Tensor>>, options: RunOptions): Promise<Record<string, Tensor>> {
    if (this.state !== 'AVAILABLE' || !this.loaded) {
      return Promise.reject(
        new JetserveError('UNAVAILABLE', `version ${this.version} of model ${this.name} is ${this.state}, not AVAILABLE`),
      );
    }
    const runner: ServableRunner = this.runner ?? this.loaded;
    this.active++;
    let result: Promise<Record<string, Tensor>>;
    try {
      result = runner.run(inputs, options);
    } catch (err) {
      result = Promise.reject(err);
    }
    const settled = result.finally(() => this.release());
    return options.deadline === undefined ? settled : withDeadline(settled, options.deadline);
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
    this.state = 'UNLOADING';
    await this.waitDrained();
    const model = this.loaded;
    this.loaded = undefined;
    this.runner = undefined;
    try {
      await model?.dispose();
    } finally {
      this.state = 'END';
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
function withDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
  const remaining = deadline - Date.now();
  const exceeded = () => new JetserveError('DEADLINE_EXCEEDED', 'Deadline exceeded: the model run did not finish in time');
  if (remaining <= 0) {
    work.catch(() => {});
    return Promise.reject(exceeded());
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(exceeded()), remaining);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** One configured model: its versions (by number) and labels. */
export class ManagedModel {
  readonly versions = new Map<number, ServableVersion>();
  readonly versionLabels = new Map<string, number>();
  /** Highest AVAILABLE version, cached: resolve() is on every request's path. */
  private latest: ServableVersion | undefined;

  constructor(
    readonly name: string,
    readonly basePath: string,
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
}

export class ModelManager implements ModelResolver {
  private readonly models = new Map<string, ManagedModel>();
  private readonly loader: ModelLoader;
  private readonly loadOptions: LoadSavedModelOptions;
  private readonly log: (message: string) => void;
  private closed = false;
  /** Request batching shared by every version (undefined: off). Its `metrics` are the server's batching metrics. */
  readonly batching: Batching | undefined; // batching integration (src/batching)

  constructor(options: ModelManagerOptions = {}) {
    this.loader = options.loader ?? loadSavedModel;
    this.loadOptions = options.load ?? {};
    this.log = options.log ?? (() => {});
    this.batching = options.batching === false ? undefined : (options.batching ?? new Batching()); // batching integration
  }

  /**
   * Creates a manager and loads every model's served version. Like TF Serving, it does not return
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
   * Adds a model and loads the highest complete version under its base path. Rejects with a clear
   * message when the base path is missing or holds no loadable version.
   */
  async addModel(config: ModelConfig): Promise<void> {
    if (this.closed) throw new JetserveError('FAILED_PRECONDITION', 'model manager is closed');
    const name = config.name;
    if (!name) throw invalidArgument('model name must not be empty');
    if (this.models.has(name)) throw new JetserveError('ALREADY_EXISTS', `model ${name} is already configured`);
    const basePath = isAbsolute(config.basePath) ? config.basePath : resolvePath(config.basePath);
    const chosen = pickServedVersion(name, basePath);
    const model = new ManagedModel(name, basePath);
    for (const [label, version] of Object.entries(config.versionLabels ?? {})) model.versionLabels.set(label, version);
    this.models.set(name, model);

    const sv = new ServableVersion(name, chosen.version, chosen.path);
    model.versions.set(sv.version, sv);
    this.log(`loading model ${name} version ${sv.version} from ${sv.path}`);
    const started = performance.now();
    try {
      await sv.load(this.loader, this.loadOptions, this.batching); // batching integration: installs the version's batcher
    } catch (err) {
      const e = asJetserveError(err);
      this.log(`model ${name} version ${sv.version} failed to load: ${e.message}`);
      throw new JetserveError(e.code, `model ${name} version ${sv.version} (${sv.path}) failed to load: ${e.message}`);
    } finally {
      model.refresh();
    }
    if (this.closed) {
      await sv.unload();
      model.refresh();
      return;
    }
    this.log(`model ${name} version ${sv.version} AVAILABLE (loaded in ${(performance.now() - started).toFixed(0)} ms)`);
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
    const latest = model?.latestAvailable();
    if (!latest) throw notFound(`Servable not found for request: Latest(${spec.name})`);
    return latest;
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

  /** True when every configured model has an AVAILABLE version (KServe /v2/health/ready). */
  ready(): boolean {
    if (this.closed) return false;
    for (const model of this.models.values()) if (!model.latestAvailable()) return false;
    return true;
  }

  /** Requests running on any version. */
  get inFlight(): number {
    let n = 0;
    for (const model of this.models.values()) for (const v of model.versions.values()) n += v.inFlight;
    return n;
  }

  /** Unloads every version (each drains its in-flight requests first). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const unloads: Promise<void>[] = [];
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

function pickServedVersion(name: string, basePath: string): VersionDir {
  let dirs: VersionDir[];
  try {
    dirs = listVersionDirs(basePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`model ${name}: base path ${basePath} does not exist`);
    if (code === 'ENOTDIR') throw invalidArgument(`model ${name}: base path ${basePath} is not a directory`);
    throw new JetserveError('FAILED_PRECONDITION', `model ${name}: cannot read base path ${basePath}: ${String(err)}`);
  }
  const complete = dirs.find((d) => d.complete);
  if (complete) return complete;
  if (dirs.length > 0) {
    throw new JetserveError(
      'FAILED_PRECONDITION',
      `model ${name}: no complete version under ${basePath} (version directories ${dirs
        .map((d) => d.version)
        .join(', ')} hold no saved_model.pb)`,
    );
  }
  const hint = SAVED_MODEL_FILES.some((f) => existsSync(join(basePath, f)))
    ? `; ${basePath} itself is a SavedModel — TF Serving layout is <base_path>/<version>/saved_model.pb, so move it into a numbered sub-directory (e.g. ${join(basePath, '1')})`
    : '';
  throw notFound(`model ${name}: no version directories (integer names) under ${basePath}${hint}`);
}
