// The metrics TF Serving exports on its Prometheus endpoint, under TF Serving's names (its metric
// paths with '/' turned into ':', as its PrometheusExporter writes them), so dashboards made for
// tensorflow_model_server work unchanged, plus jetserve's own (model version states, batching,
// shadow diffs).
//
//   :tensorflow:serving:request_count{model_name,status}             counter, every request
//   :tensorflow:serving:request_latency{model_name,API,entrypoint}   histogram, µs, OK requests
//   :tensorflow:serving:runtime_latency{model_name,API,runtime}      histogram, µs, OK model runs
//   :tensorflow:cc:saved_model:load_attempt_count{model_path,status} counter, success / fail
//   :tensorflow:cc:saved_model:load_latency{model_path}              counter, µs of successful loads
//   :tensorflow:serving:model_warmup_latency{model_path,status}      histogram, µs
//   :tensorflow:serving:batching_session:wrapped_run_count           counter, TF runs by the batcher
//   :jetserve:model_version_state{model_name,version,state}          gauge, 1 for the current state
//   :jetserve:engine:run_cost_microseconds{model_name,version,signature,batch_size,stat}
//                                                                    gauge, the engine's measured
//                                                                    TF run time (stat ewma | p99)
//   :jetserve:batching:*                                             the batcher's counters
//   :jetserve:batching:adaptive_*{model_name,version,signature}      gauges, adaptive batching's cap,
//                                                                    timeout, batches at once, target
//                                                                    and last p99
//   :jetserve:shadow:*{model_name}                                   shadow mode's diff metrics
//   :jetserve:model_memory_bytes{model_name,version}                 gauge, resident memory each load took
//   :jetserve:model_inflight_requests{model_name}                    gauge, requests running or queued
//   :jetserve:model_memory_budget_bytes, :jetserve:model_memory_used_bytes
//   process_*, nodejs_*                                              runtime-metrics.ts (attachRuntime)
//
// Front ends get a RequestRecorder per (model, API, entrypoint) once and keep it: counting a
// request is then two additions and a histogram observation, with no lookup and no allocation.

import { loadSavedModel } from '../engine/model.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import type { BatchingMetrics } from '../batching/metrics.js';
import type { ResourceReport, ResourceSource, ShadowSource } from '../models/capabilities.js';
import type { ModelLoader, RunObserver } from '../models/harness.js';
import type { ModelManagerOptions } from '../models/manager.js';
import type { AdaptiveBatchingView, ModelResolver, Servable, VersionState } from '../models/servable.js';
import type { ShadowMetrics } from '../models/shadow.js';
import type { Counter, CounterChild } from './counter.js';
import { exponentialBuckets, type Histogram, type HistogramChild } from './histogram.js';
import { Registry } from './registry.js';
import { registerRuntimeMetrics, type RuntimeMetrics } from './runtime-metrics.js';

export type Entrypoint = 'REST' | 'GRPC';

/** TF Serving's latency buckets: Buckets::Exponential(10, 1.8, 33), 10 µs … ~24 min. */
export const LATENCY_BUCKETS_MICROS: readonly number[] = exponentialBuckets(10, 1.8, 33);

/**
 * Distinct request model names tracked before further unknown names are counted under
 * OTHER_MODEL_NAME (clients choose the names in their URLs; the label set must stay bounded).
 */
export const MAX_MODEL_NAMES = 1000;
export const OTHER_MODEL_NAME = '__other__';

const CODE_NAMES = Object.keys(ERROR_CODES) as ErrorCode[];
const VERSION_STATES: readonly VersionState[] = ['START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END'];

/** One model name's label-set children, created on first use. */
class ModelEntry {
  /** request_count children by canonical code number (OK = 0). */
  readonly statuses: (CounterChild | undefined)[] = new Array<CounterChild | undefined>(CODE_NAMES.length);
  readonly rest = new Map<string, RequestRecorder>();
  readonly grpc = new Map<string, RequestRecorder>();
  /** runtime_latency children by signature name. */
  readonly runtime = new Map<string, HistogramChild>();

  constructor(
    readonly name: string,
    private readonly requestCount: Counter,
  ) {}

  status(code: number): CounterChild {
    let child = this.statuses[code];
    if (!child) {
      child = this.requestCount.labels(this.name, CODE_NAMES[code] ?? 'UNKNOWN');
      this.statuses[code] = child;
    }
    return child;
  }
}

/**
 * Counts the requests of one (model, API, entrypoint). Its children are made on first use, so a
 * model name that only ever fails (an unknown model) shows no OK count and no latency series.
 */
export class RequestRecorder {
  private okCount: CounterChild | undefined;
  private latency: HistogramChild | undefined;

  constructor(
    private readonly entry: ModelEntry,
    private readonly histogram: Histogram,
    private readonly api: string,
    private readonly entrypoint: Entrypoint,
  ) {}

  /** An OK request: counts it, and its latency since `started` (a performance.now() time), in whole µs. */
  ok(started: number): void {
    const micros = Math.round((performance.now() - started) * 1000);
    (this.okCount ??= this.entry.status(0)).value++;
    (this.latency ??= this.histogram.labels(this.entry.name, this.api, this.entrypoint)).observe(micros);
  }

  /** A failed request, by its canonical code (TF Serving records no latency for these). */
  failed(code: ErrorCode): void {
    this.entry.status(ERROR_CODES[code] ?? ERROR_CODES.UNKNOWN).value++;
  }

  /** A failed request, by its gRPC status number. */
  failedWithStatus(grpcCode: number): void {
    this.entry.status(grpcCode >= 0 && grpcCode < CODE_NAMES.length ? grpcCode : ERROR_CODES.UNKNOWN).value++;
  }
}

/** What attachManager reads at scrape time (ModelManager implements it; resources() is optional). */
export interface MonitoredModelSource extends Pick<ModelResolver, 'modelNames' | 'status' | 'resolve'>, ShadowSource, Partial<ResourceSource> {}

export class ServingMetrics {
  readonly registry: Registry;
  readonly requestCount: Counter;
  readonly requestLatency: Histogram;
  readonly runtimeLatency: Histogram;
  readonly loadAttemptCount: Counter;
  readonly loadLatency: Counter;
  readonly warmupLatency: Histogram;
  private readonly models = new Map<string, ModelEntry>();
  private attached = false;
  private batchingAttached = false;
  private runtime: RuntimeMetrics | undefined;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.requestCount = registry.counter({
      name: ':tensorflow:serving:request_count',
      help: 'The total number of requests.',
      labelNames: ['model_name', 'status'],
    });
    this.requestLatency = registry.histogram({
      name: ':tensorflow:serving:request_latency',
      help: 'Distribution of wall time (in microseconds) for Tensorflow Serving request.',
      labelNames: ['model_name', 'API', 'entrypoint'],
      buckets: LATENCY_BUCKETS_MICROS,
    });
    this.runtimeLatency = registry.histogram({
      name: ':tensorflow:serving:runtime_latency',
      help: 'Distribution of wall time (in microseconds) for Tensorflow runtime.',
      labelNames: ['model_name', 'API', 'runtime'],
      buckets: LATENCY_BUCKETS_MICROS,
    });
    this.loadAttemptCount = registry.counter({
      name: ':tensorflow:cc:saved_model:load_attempt_count',
      help: 'The number of times a SavedModel was successfully loaded.',
      labelNames: ['model_path', 'status'],
    });
    this.loadLatency = registry.counter({
      name: ':tensorflow:cc:saved_model:load_latency',
      help: 'Latency in microseconds for SavedModels that were successfully loaded.',
      labelNames: ['model_path'],
    });
    this.warmupLatency = registry.histogram({
      name: ':tensorflow:serving:model_warmup_latency',
      help: 'Distribution of wall time (in microseconds) for warming up the model.',
      labelNames: ['model_path', 'status'],
      buckets: LATENCY_BUCKETS_MICROS,
    });
  }

  /**
   * The recorder for requests to `model` through `api` (REST: "predict" / "classify" / "regress" /
   * "infer"; gRPC: the method, "Predict", "ModelInfer", … as TF Serving labels them) arriving over
   * `entrypoint`. Cached: the same object every time.
   */
  request(model: string, api: string, entrypoint: Entrypoint): RequestRecorder {
    const entry = this.entry(model);
    const byApi = entrypoint === 'REST' ? entry.rest : entry.grpc;
    let recorder = byApi.get(api);
    if (!recorder) {
      recorder = new RequestRecorder(entry, this.requestLatency, api, entrypoint);
      byApi.set(api, recorder);
    }
    return recorder;
  }

  /** ModelManagerOptions.onRun: runtime_latency, API from the signature's method name. */
  readonly observeRun: RunObserver = (servable: Servable, signature: string, micros: number) => {
    const entry = this.entry(servable.name);
    let child = entry.runtime.get(signature);
    if (!child) {
      const method = servable.model.signatures[signature]?.methodName;
      child = this.runtimeLatency.labels(entry.name, runtimeApi(method), 'TF1');
      entry.runtime.set(signature, child);
    }
    child.observe(Math.round(micros));
  };

  /** WarmupOptions.observe: model_warmup_latency. */
  readonly observeWarmup = (versionDir: string, micros: number, status: string): void => {
    this.warmupLatency.labels(versionDir, status).observe(Math.round(micros));
  };

  /** Wraps a loader: load_attempt_count (success / fail) and load_latency per version directory. */
  instrumentLoader(loader: ModelLoader): ModelLoader {
    return async (dir, options) => {
      const started = performance.now();
      let model;
      try {
        model = await loader(dir, options);
      } catch (err) {
        this.loadAttemptCount.labels(dir, 'fail').inc();
        throw err;
      }
      this.loadAttemptCount.labels(dir, 'success').inc();
      this.loadLatency.labels(dir).inc(Math.round((performance.now() - started) * 1000));
      return model;
    };
  }

  /** Manager options with the loader, run and warmup hooks of these metrics added. */
  instrument(options: ModelManagerOptions): ModelManagerOptions {
    const previousOnRun = options.onRun;
    const observeRun = this.observeRun;
    return {
      ...options,
      loader: this.instrumentLoader(options.loader ?? loadSavedModel),
      onRun: previousOnRun
        ? (servable, signature, micros) => {
            observeRun(servable, signature, micros);
            previousOnRun(servable, signature, micros);
          }
        : observeRun,
      ...(options.warmup ? { warmup: { ...options.warmup, observe: this.observeWarmup } } : {}),
    };
  }

  /**
   * Exposes a model source's state, read at scrape time: every version's state and the shadow
   * diff metrics. Once per ServingMetrics.
   */
  attachManager(source: MonitoredModelSource): void {
    if (this.attached) throw new Error('ServingMetrics.attachManager: a model source is already attached');
    this.attached = true;
    const reg = this.registry;
    reg.collectedGauge(
      {
        name: ':jetserve:model_version_state',
        help: 'jetserve: 1 for the state each model version is in (START, LOADING, AVAILABLE, UNLOADING, END), 0 for the others.',
        labelNames: ['model_name', 'version', 'state'],
      },
      (emit) => {
        for (const { name, status } of versionStatuses(source)) {
          const version = String(status.version);
          for (const state of VERSION_STATES) emit([name, version, state], status.state === state ? 1 : 0);
        }
      },
    );
    this.attachRunCosts(source);
    this.attachAdaptiveBatching(source);
    this.attachShadow(source);
    if (source.resources) this.attachResources(() => source.resources!());
  }

  /**
   * Process and Node runtime metrics (runtime-metrics.ts: CPU, memory, fds, event-loop delay, GC,
   * heap). Once per ServingMetrics; close() stops their observers.
   */
  attachRuntime(): void {
    if (this.runtime) throw new Error('ServingMetrics.attachRuntime: the runtime metrics are already attached');
    this.runtime = registerRuntimeMetrics(this.registry);
  }

  /** Stops what the runtime metrics observe between scrapes (GC, event-loop delay). Idempotent. */
  close(): void {
    this.runtime?.stop();
  }

  /** Per-model memory and in-flight gauges, and the memory budget, read at scrape time. */
  private attachResources(read: () => ResourceReport): void {
    const reg = this.registry;
    reg.collectedGauge(
      {
        name: ':jetserve:model_memory_bytes',
        help: 'jetserve: resident (anonymous) memory each loaded version took across its load and warmup, in bytes.',
        labelNames: ['model_name', 'version'],
      },
      (emit) => {
        for (const m of read().models) for (const v of m.versions) if (v.state === 'AVAILABLE') emit([m.name, String(v.version)], v.memoryBytes);
      },
    );
    reg.collectedGauge(
      { name: ':jetserve:model_inflight_requests', help: 'jetserve: requests of each model running or queued now, over all its versions.', labelNames: ['model_name'] },
      (emit) => {
        for (const m of read().models) emit([m.name], m.inFlight);
      },
    );
    reg.collectedGauge(
      { name: ':jetserve:model_memory_budget_bytes', help: 'jetserve: --model_memory_budget_mb in bytes (0: no budget).' },
      (emit) => emit([], read().memoryBudgetBytes),
    );
    reg.collectedGauge(
      { name: ':jetserve:model_memory_used_bytes', help: 'jetserve: memory the loaded and loading versions hold of the budget, in bytes.' },
      (emit) => emit([], read().memoryUsedBytes),
    );
  }

  /** Exposes the batcher's metrics (the server's one Batching), read at scrape time. Once per ServingMetrics. */
  attachBatching(batching: { readonly metrics: BatchingMetrics }): void {
    if (this.batchingAttached) throw new Error('ServingMetrics.attachBatching: batching is already attached');
    this.batchingAttached = true;
    const reg = this.registry;
    const m = () => batching.metrics;
    const counter = (name: string, help: string, value: () => number) =>
      reg.collectedCounter({ name, help }, (emit) => emit([], value()));
    const gauge = (name: string, help: string, value: () => number) => reg.collectedGauge({ name, help }, (emit) => emit([], value()));
    counter(':tensorflow:serving:batching_session:wrapped_run_count', 'Total count of run calls on the wrapped session.', () => m().tfRuns);
    counter(':jetserve:batching:requests', 'jetserve: requests accepted into a batching queue.', () => m().requests);
    counter(':jetserve:batching:batches', 'jetserve: batches dispatched.', () => m().batches);
    counter(':jetserve:batching:merged_requests', 'jetserve: requests that shared a batch with at least one other request.', () => m().mergedRequests);
    counter(':jetserve:batching:padding_rows', 'jetserve: padding rows added for allowed_batch_sizes.', () => m().paddingRows);
    counter(':jetserve:batching:reruns', 'jetserve: requests rerun one by one after their merged batch failed or could not be split.', () => m().reruns);
    reg.collectedCounter(
      { name: ':jetserve:batching:rejected_requests', help: 'jetserve: requests refused by the batcher (queue full: UNAVAILABLE; deadline passed in the queue: DEADLINE_EXCEEDED).', labelNames: ['reason'] },
      (emit) => {
        emit(['queue_full'], m().rejectedQueueFull);
        emit(['expired_in_queue'], m().expiredInQueue);
      },
    );
    counter(':jetserve:batching:queue_time_microseconds', 'jetserve: total time requests spent queued before their batch started, in microseconds.', () => m().queueTimeMicros);
    gauge(':jetserve:batching:queued_requests', 'jetserve: requests waiting in batching queues now.', () => m().queuedRequests);
    gauge(':jetserve:batching:queued_rows', 'jetserve: rows waiting in batching queues now.', () => m().queuedRows);
    gauge(':jetserve:batching:in_flight_batches', 'jetserve: batches running now.', () => m().inFlightBatches);
    const sizes = m().batchSizeHistogram;
    reg.collectedHistogram(
      { name: ':jetserve:batching:batch_size', help: 'jetserve: rows per dispatched batch, padding included.', buckets: sizes.le },
      (emit) => emit([], m().batchSizeHistogram.counts, m().rows),
    );
  }

  /**
   * The engine's cost model (Model.stats()): per AVAILABLE version, signature and batch-size
   * bucket, the EWMA and p99 of the TF run time the inline placement policy decides by.
   */
  private attachRunCosts(source: MonitoredModelSource): void {
    this.registry.collectedGauge(
      {
        name: ':jetserve:engine:run_cost_microseconds',
        help: 'jetserve: measured TF run time per signature and batch-size bucket (stat ewma: moving average; p99: of the last 128 runs), in microseconds.',
        labelNames: ['model_name', 'version', 'signature', 'batch_size', 'stat'],
      },
      (emit) => {
        for (const { name, version, servable } of availableServables(source)) {
          let runs;
          try {
            runs = servable.model.stats().runs;
          } catch {
            continue; // its session is gone (unloaded after the scrape read its state)
          }
          for (const r of runs) {
            const labels = [name, String(version), r.signature, `${r.batchSizes[0]}-${r.batchSizes[1]}`];
            emit([...labels, 'ewma'], r.ewmaMicros);
            emit([...labels, 'p99'], r.p99Micros);
          }
        }
      },
    );
  }

  /**
   * Adaptive batching (--batching_target_p99_ms): per AVAILABLE version and signature it has
   * batched, the cap and timeout the controller has settled on, its target and the p99 it last
   * judged by — what a user tunes statically otherwise, visible while it moves.
   */
  private attachAdaptiveBatching(source: MonitoredModelSource): void {
    const gauge = (name: string, help: string, value: (v: AdaptiveBatchingView) => number | null) =>
      this.registry.collectedGauge({ name, help, labelNames: ['model_name', 'version', 'signature'] }, (emit) => {
        for (const { name: model, version, servable } of availableServables(source)) {
          const states = servable.adaptiveState?.() ?? {};
          for (const signature in states) {
            const v = value(states[signature]!);
            if (v !== null) emit([model, String(version), signature], v);
          }
        }
      });
    gauge(':jetserve:batching:adaptive_max_batch_size', 'jetserve: adaptive batching: the batch cap in force (within max_batch_size).', (v) => v.maxBatchSize);
    gauge(
      ':jetserve:batching:adaptive_batch_timeout_microseconds',
      'jetserve: adaptive batching: the batch timeout in force (within batch_timeout_micros), in microseconds.',
      (v) => v.batchTimeoutMicros,
    );
    gauge(
      ':jetserve:batching:adaptive_max_concurrent_batches',
      "jetserve: adaptive batching: the signature's batches that may run at once (num_batch_threads, at most the executor's threads).",
      (v) => v.maxConcurrentBatches,
    );
    gauge(':jetserve:batching:adaptive_target_p99_microseconds', 'jetserve: adaptive batching: the p99 target (--batching_target_p99_ms), in microseconds.', (v) => v.targetP99Micros);
    gauge(
      ':jetserve:batching:adaptive_observed_p99_microseconds',
      "jetserve: adaptive batching: p99 of the batcher's queue + run time in the controller's last decision window, in microseconds.",
      (v) => v.lastP99Micros,
    );
  }

  /**
   * Shadow mode's output-diff metrics, one series per model that mirrors (or has mirrored)
   * requests to a candidate version — the same numbers as GET /v2/models/{m}/shadow.
   */
  private attachShadow(source: MonitoredModelSource): void {
    const perModel = (name: string, help: string, value: (m: ShadowMetrics) => number, kind: 'counter' | 'gauge') => {
      const collect = (emit: (labels: string[], value: number) => void) => {
        for (const model of source.modelNames()) {
          const report = source.shadowReport(model);
          if (report && (report.shadow || report.metrics.mirrored > 0)) emit([model], value(report.metrics));
        }
      };
      const options = { name, help, labelNames: ['model_name'] };
      if (kind === 'counter') this.registry.collectedCounter(options, collect);
      else this.registry.collectedGauge(options, collect);
    };
    perModel(':jetserve:shadow:mirrored_requests', 'jetserve: requests mirrored to the shadow version.', (m) => m.mirrored, 'counter');
    perModel(':jetserve:shadow:compared_requests', 'jetserve: mirrored requests whose outputs were compared with the served ones.', (m) => m.compared, 'counter');
    perModel(':jetserve:shadow:mismatched_requests', 'jetserve: compared requests with any output differing (shape, or a value beyond 1e-6 relative).', (m) => m.mismatches, 'counter');
    perModel(':jetserve:shadow:errors', 'jetserve: mirrored runs that failed (callers never see them).', (m) => m.errors, 'counter');
    perModel(':jetserve:shadow:skipped_requests', 'jetserve: requests picked for mirroring but not mirrored because too many mirrors were still running.', (m) => m.skipped, 'counter');
    perModel(':jetserve:shadow:in_flight', 'jetserve: mirrored runs not finished yet.', (m) => m.inFlight, 'gauge');
    perModel(':jetserve:shadow:mismatch_rate', 'jetserve: mismatched / compared requests.', (m) => m.mismatchRate, 'gauge');
    perModel(':jetserve:shadow:max_abs_diff', 'jetserve: largest absolute difference seen in any numeric output element.', (m) => m.maxAbsDiff, 'gauge');
  }

  private entry(model: string): ModelEntry {
    let entry = this.models.get(model);
    if (entry) return entry;
    if (this.models.size >= MAX_MODEL_NAMES) {
      entry = this.models.get(OTHER_MODEL_NAME);
      if (entry) return entry;
      model = OTHER_MODEL_NAME;
    }
    entry = new ModelEntry(model, this.requestCount);
    this.models.set(model, entry);
    return entry;
  }
}

/** runtime_latency's API label: the signature's method, as TF Serving's Predict/Classify/Regress. */
function runtimeApi(methodName: string | undefined): string {
  switch (methodName) {
    case 'tensorflow/serving/classify':
      return 'Classify';
    case 'tensorflow/serving/regress':
      return 'Regress';
    default:
      return 'Predict';
  }
}

/** Every version of every model, read at scrape time; a model with no versions yet is skipped. */
function* versionStatuses(source: MonitoredModelSource): Generator<{ name: string; status: ReturnType<MonitoredModelSource['status']>[number] }> {
  for (const name of source.modelNames()) {
    let statuses;
    try {
      statuses = source.status(name);
    } catch {
      continue;
    }
    for (const status of statuses) yield { name, status };
  }
}

/** Each AVAILABLE version's servable, read at scrape time; a version gone meanwhile is skipped. */
function* availableServables(source: MonitoredModelSource): Generator<{ name: string; version: number; servable: Servable }> {
  for (const { name, status } of versionStatuses(source)) {
    if (status.state !== 'AVAILABLE') continue;
    let servable;
    try {
      servable = source.resolve({ name, version: status.version });
    } catch {
      continue; // unloaded between status() and resolve()
    }
    yield { name, version: status.version, servable };
  }
}
