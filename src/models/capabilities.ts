// The services the model manager offers front ends beyond resolving requests (servable.ts), each
// a typed interface ModelManager implements. A front end declares the ones it serves (e.g. REST:
// ModelResolver & ReadinessSource & StatisticsSource & RepositorySource & ShadowSource), so the
// compiler, not a run-time probe, checks that the server it is given provides them.

import type { ModelStatistics } from './statistics.js';
import type { ShadowMetrics } from './shadow.js';

/** KServe's server readiness: every configured (and not repository-unloaded) model serves. */
export interface ReadinessSource {
  ready(): boolean;
}

/**
 * Triton's statistics extension (statistics.ts); the REST and gRPC front ends serve it. Throws
 * JetserveError NOT_FOUND for an unknown model or version.
 */
export interface StatisticsSource {
  /** Every loaded version's statistics (name undefined), a model's, or one version's. */
  modelStatistics(name?: string, version?: number): ModelStatistics[];
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
 * The KServe / Triton model repository API (repository.ts); both front ends serve it. Failures are
 * JetserveErrors (NOT_FOUND for a model that is neither configured nor a repository directory).
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

/** A model's traffic settings and its shadow version's output-diff metrics (shadow.ts). */
export interface ShadowReport {
  shadow: { version: number; percent: number } | undefined;
  trafficSplit: { version: number; weight: number }[] | undefined;
  metrics: ShadowMetrics;
}

/** jetserve's shadow mode: GET /v2/models/{m}/shadow and the :jetserve:shadow:* metrics. */
export interface ShadowSource {
  /** undefined for a model that is not configured. */
  shadowReport(name: string): ShadowReport | undefined;
}

/** gRPC ModelService/HandleReloadConfigRequest. */
export interface ReloadableConfig {
  /**
   * Replaces the served model list with a ModelServerConfig (as protobufjs decodes it: snake_case
   * fields, int64 as numbers). Resolves when the new models are AVAILABLE.
   */
  reloadConfig(config: unknown): Promise<void>;
}

/** One model's resource use (resources.ts): requests in flight and each version's measured memory. */
export interface ModelResources {
  name: string;
  /** Requests running or queued now, over all versions. */
  inFlight: number;
  /** --max_inflight_requests_per_model (0 = unbounded). */
  maxInFlight: number;
  /** Versions not END: the resident memory each took when it loaded (0 while loading). */
  versions: { version: number; state: string; memoryBytes: number }[];
}

export interface ResourceReport {
  models: ModelResources[];
  /** --model_memory_budget_mb in bytes (0 = none). */
  memoryBudgetBytes: number;
  /** What the loaded and loading versions hold of it. */
  memoryUsedBytes: number;
}

/** Resource use for monitoring (per-model memory and in-flight gauges, the dashboard). */
export interface ResourceSource {
  resources(): ResourceReport;
}
