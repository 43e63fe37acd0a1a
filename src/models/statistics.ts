// Per-version inference statistics in the shape of Triton's statistics extension
// (GET /v2/models[/{m}[/versions/{v}]]/stats, gRPC ModelStatistics). Each ServableVersion owns one
// VersionStatistics and records every run that reached it (ServableVersion.run): the hot path only
// adds to number fields of this preallocated object; the snapshot objects are built on request.
//
// What the numbers mean in jetserve:
//   success / fail   count and wall time of ServableVersion.run (batching queue included), by the
//                    run's outcome. Requests that never resolve to a version (unknown model or
//                    version) are not counted, nor are runs refused because the version is not
//                    AVAILABLE. A request the KServe front ends resolved to the version but refused
//                    before its run (malformed body, wrong shape, datatype or input name:
//                    Servable.rejected) counts as a failure with 0 ns (not timed: the hot path reads the clock only
//                    twice, around the run). A request that ran past its deadline counts by the
//                    run's own outcome.
//   inference_count  rows of successful runs: dim 0 of the first input (1 for a scalar input).
//   execution_count  model executions: with batching on, the version's batcher's TF runs (many
//                    requests may share one; reruns after a failed batch count too); without it,
//                    one per run (success or failure).
//   queue            time requests waited in the batching queue (the batcher's per-version
//                    queueTimeMicros, µs resolution; includes requests that later failed); 0 when
//                    batching is off or a request went straight to the engine.
//   compute_infer    success ns − queue ns. compute_input / compute_output are not measured apart
//                    (0 ns), cache_hit / cache_miss are always 0 (jetserve has no response cache);
//                    batch_stats is empty.
//   last_inference   ms since the epoch at which the last run finished (0: never).
// Sums are JS numbers of integer ns: exact up to 2^53 ns (~104 days of cumulative run time), and
// still serialized as integers beyond that (JSON numbers / uint64).
// collectStatistics answers the extension's queries over the manager's models.

import { notFound } from '../errors.js';
import type { RunnerCounters, VersionState } from './servable.js';

export interface StatisticDuration {
  count: number;
  ns: number;
}

export interface InferStatistics {
  success: StatisticDuration;
  fail: StatisticDuration;
  queue: StatisticDuration;
  compute_input: StatisticDuration;
  compute_infer: StatisticDuration;
  compute_output: StatisticDuration;
  cache_hit: StatisticDuration;
  cache_miss: StatisticDuration;
}

export interface InferBatchStatistics {
  batch_size: number;
  compute_input: StatisticDuration;
  compute_infer: StatisticDuration;
  compute_output: StatisticDuration;
}

/** One model version's statistics, with Triton's (snake_case) field names. */
export interface ModelStatistics {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferStatistics;
  batch_stats: InferBatchStatistics[];
}

export class VersionStatistics {
  successCount = 0;
  successNs = 0;
  failCount = 0;
  failNs = 0;
  inferenceCount = 0;
  /** Runs made without a batcher (each is one model execution). */
  directRuns = 0;
  /** performance.now() at which the last run finished (0: never). */
  lastFinished = 0;
  /** The version's batcher counters while batching is on (kept after unload: they stop moving). */
  runnerCounters: RunnerCounters | undefined;

  /** A run that succeeded: `ms` its wall time, `rows` its inference count, `now` performance.now(). */
  success(ms: number, rows: number, now: number): void {
    this.successCount++;
    this.successNs += Math.round(ms * 1e6);
    this.inferenceCount += rows;
    if (this.runnerCounters === undefined) this.directRuns++;
    this.lastFinished = now;
  }

  /** A run that failed. */
  failure(ms: number, now: number): void {
    this.failCount++;
    this.failNs += Math.round(ms * 1e6);
    if (this.runnerCounters === undefined) this.directRuns++;
    this.lastFinished = now;
  }

  /** A request refused before its run (no model execution, no duration). */
  rejected(now: number): void {
    this.failCount++;
    this.lastFinished = now;
  }

  snapshot(name: string, version: number): ModelStatistics {
    const count = this.successCount;
    const queueNs = this.runnerCounters ? this.runnerCounters.queueTimeMicros * 1000 : 0;
    const zero = (): StatisticDuration => ({ count: 0, ns: 0 });
    return {
      name,
      version: String(version),
      last_inference: this.lastFinished === 0 ? 0 : Math.round(performance.timeOrigin + this.lastFinished),
      inference_count: this.inferenceCount,
      execution_count: this.directRuns + (this.runnerCounters ? this.runnerCounters.tfRuns : 0),
      inference_stats: {
        success: { count, ns: this.successNs },
        fail: { count: this.failCount, ns: this.failNs },
        queue: { count, ns: queueNs },
        compute_input: { count, ns: 0 },
        compute_infer: { count, ns: Math.max(0, this.successNs - queueNs) },
        compute_output: { count, ns: 0 },
        cache_hit: zero(),
        cache_miss: zero(),
      },
      batch_stats: [],
    };
  }
}

/** Rows of a request: dim 0 of its first input, 1 for a scalar (or no input). No allocation. */
export function requestRows(inputs: Readonly<Record<string, { readonly shape: readonly number[] }>>): number {
  for (const key in inputs) {
    const shape = inputs[key]!.shape;
    return shape.length > 0 ? shape[0]! : 1;
  }
  return 1;
}

/** What collectStatistics reads of a version (the harness, harness.ts). */
export interface StatisticsOwner {
  readonly version: number;
  readonly state: VersionState;
  statistics(): ModelStatistics;
}

/**
 * Statistics of the loaded (AVAILABLE or draining) versions: every model's when `name` is
 * undefined, else that model's (every loaded version, or `version`). Sorted by name, then
 * version. NOT_FOUND with KServe's wording for an unknown model, or one without such a version.
 */
export function collectStatistics(
  models: ReadonlyMap<string, { readonly versions: ReadonlyMap<number, StatisticsOwner> }>,
  name?: string,
  version?: number,
): ModelStatistics[] {
  const live = (v: StatisticsOwner) => v.state === 'AVAILABLE' || v.state === 'UNLOADING';
  const byVersion = (a: StatisticsOwner, b: StatisticsOwner) => a.version - b.version;
  if (name === undefined) {
    const names = [...models.keys()].sort();
    return names.flatMap((n) => [...models.get(n)!.versions.values()].filter(live).sort(byVersion).map((v) => v.statistics()));
  }
  const model = models.get(name);
  if (version !== undefined) {
    const v = model?.versions.get(version);
    if (!v || !live(v)) throw notFound(`Request for unknown model: '${name}' version ${version} is not found`);
    return [v.statistics()];
  }
  const versions = model ? [...model.versions.values()].filter(live).sort(byVersion) : [];
  if (versions.length === 0) throw notFound(`Request for unknown model: '${name}' is not found`);
  return versions.map((v) => v.statistics());
}
