// What front ends need from the model manager: resolve a request's model spec to one loaded
// version (a "servable"), and report versions' states. The manager (manager.ts) implements it;
// the lifecycle work (policies, labels, hot swap) grows behind this interface.

import type { Model } from '../engine/model.js';
import type { Tensor } from '../engine/tensor.js';
import type { ModelStatistics } from './statistics.js';

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

/** One loaded, AVAILABLE model version. */
export interface Servable {
  name: string;
  version: number;
  model: Model;
  /**
   * Runs a signature through the version's batcher (when batching is on) or directly.
   * Front ends call this, never model.run, so batching and in-flight accounting apply.
   */
  run(
    inputs: Readonly<Record<string, Tensor>>,
    options: { signature: string; outputs?: readonly string[]; deadline?: number },
  ): Promise<Record<string, Tensor>>;
  /**
   * A request resolved to this version was refused before its run (input validation, decoding):
   * counted as a failed inference in the statistics (statistics.ts), with no duration.
   */
  rejected?(): void;
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

/** One model in the repository index (Triton's shape: version absent when none is loaded). */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  /** "READY", "UNAVAILABLE" or "LOADING". */
  state: string;
  /** "unloaded", a load error, or "". */
  reason: string;
}

/**
 * What the KServe / Triton model repository API needs from the manager (ModelManager implements
 * it); both the REST and the gRPC front end serve it. Failures are JetserveErrors (NOT_FOUND for
 * a model that is neither configured nor a repository directory).
 */
export interface RepositorySource {
  /** Every model with its state, sorted by name. */
  repositoryIndex(): RepositoryIndexEntry[];
  /**
   * Loads (again) or adds a model; resolves once its versions are AVAILABLE. `parameterNames` are
   * the load request's parameter keys (Triton's "config" / "file:<path>" overrides are refused).
   */
  repositoryLoad(name: string, parameterNames?: readonly string[]): Promise<void>;
  /** Unloads every version of a model (draining in-flight requests); it stays listed. */
  repositoryUnload(name: string): Promise<void>;
}

/** The repository API of a model source, when it has one (duck-typed: front ends take a resolver). */
export function repositorySourceOf(models: object): RepositorySource | undefined {
  const source = models as Partial<RepositorySource>;
  return typeof source.repositoryIndex === 'function' &&
    typeof source.repositoryLoad === 'function' &&
    typeof source.repositoryUnload === 'function'
    ? (source as RepositorySource)
    : undefined;
}

/**
 * Triton's statistics extension (statistics.ts): ModelManager implements it; the REST and gRPC
 * front ends serve it. Throws JetserveError NOT_FOUND for an unknown model or version.
 */
export interface StatisticsSource {
  /** Every loaded version's statistics (name undefined), a model's, or one version's. */
  modelStatistics(name?: string, version?: number): ModelStatistics[];
}

/** The statistics of a model source, when it keeps them (duck-typed, as repositorySourceOf). */
export function statisticsSourceOf(models: object): StatisticsSource | undefined {
  const source = models as Partial<StatisticsSource>;
  return typeof source.modelStatistics === 'function' ? (source as StatisticsSource) : undefined;
}
