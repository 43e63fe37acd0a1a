// The coordinator: starts the load workers, runs one load level at a time (warm-up, then windows
// until the last three agree or the window budget is spent), merges the workers' windows, and
// grows the worker count while a worker saturates its thread (automatic --workers). A generator
// still saturated at its limit is reported, so a result bounded by the client is never passed
// off as the server's.

import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WirePlan } from '../requests.js';
import { concatSamples, withinPercent } from '../stats.js';
import type { FromWorker, LoadShape, WindowReport } from './protocol.js';

/** A worker whose event loop is busier than this over the warm-up is saturated. */
export const SATURATED_ELU = 0.9;
/** An open-loop worker sending more than this share of its requests > 5 ms late is saturated. */
export const SATURATED_LATE_SHARE = 0.1;

export interface MergedWindow {
  index: number;
  seconds: number;
  samples: Float64Array;
  ok: number;
  errors: Record<string, number>;
  messages: Record<string, string>;
  due: number;
  late: number;
  /** Busiest worker's event-loop utilization. */
  maxElu: number;
  throughput: number;
  meanLatency: number;
}

export interface LevelRun {
  windows: MergedWindow[];
  /** The windows the result is made of: the last three (or every one when fewer). */
  measured: MergedWindow[];
  stable: boolean;
  workers: number;
  /** The generator was saturated in the measured windows. */
  saturated: boolean;
}

export type Level = { kind: 'concurrency'; value: number } | { kind: 'request-rate'; value: number; distribution: 'constant' | 'poisson'; maxInflight: number };

export interface RunSettings {
  warmupS: number;
  windowS: number;
  stabilityPercent: number;
  maxWindows: number;
}

export type Progress = (event: { window: number; stable: boolean; last: MergedWindow | undefined; workers: number; warmup: boolean }) => void;

/** The worker script: compiled (dist/), or the TypeScript source with tsx's loader registered first. */
function spawnWorker(): Worker {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { stdout: false, stderr: false });
  // a Node 20 worker inherits neither the parent's tsx hooks nor `--import tsx` reliably: register them in the worker
  const ts = new URL('./worker.ts', import.meta.url).href;
  const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(code, { eval: true, stdout: false, stderr: false });
}

class WorkerHandle {
  private listeners = new Set<(m: FromWorker) => void>();
  failure: string | undefined;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'fatal') this.failure = m.message;
      for (const l of [...this.listeners]) l(m);
    });
    worker.on('error', (err) => {
      this.failure = err.stack ?? err.message;
      for (const l of [...this.listeners]) l({ type: 'fatal', message: this.failure });
    });
  }

  on(listener: (m: FromWorker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first message of `type` (rejects on a worker failure). */
  next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const off = this.on((m) => {
        if (m.type === 'fatal') {
          off();
          reject(new Error(`load worker failed: ${m.message}`));
        } else if (m.type === type) {
          off();
          resolve(m as Extract<FromWorker, { type: T }>);
        }
      });
    });
  }
}

export class LoadGenerator {
  private workers: WorkerHandle[] = [];
  private readonly baseNs = process.hrtime.bigint();
  private readonly maxWorkers: number;

  private constructor(
    private readonly plan: WirePlan,
    private readonly timeoutMs: number,
    /** 0: automatic. */
    private readonly fixedWorkers: number,
  ) {
    this.maxWorkers = plan.kind === 'in-process' ? 1 : fixedWorkers > 0 ? fixedWorkers : Math.max(1, availableParallelism());
  }

  static async start(plan: WirePlan, timeoutMs: number, workers: number): Promise<LoadGenerator> {
    const gen = new LoadGenerator(plan, timeoutMs, workers);
    await gen.grow(workers > 0 ? workers : 1);
    return gen;
  }

  get workerCount(): number {
    return this.workers.length;
  }

  private nowUs(): number {
    return Number(process.hrtime.bigint() - this.baseNs) / 1000;
  }

  private async grow(count: number): Promise<void> {
    const added: WorkerHandle[] = [];
    while (this.workers.length + added.length < count) added.push(new WorkerHandle(spawnWorker()));
    await Promise.all(
      added.map(async (h) => {
        const ready = h.next('ready');
        h.worker.postMessage({ type: 'init', plan: this.plan, timeoutMs: this.timeoutMs, baseNs: this.baseNs });
        await ready;
      }),
    );
    this.workers.push(...added);
  }

  private shapes(level: Level): LoadShape[] {
    const n = this.workers.length;
    if (level.kind === 'concurrency') {
      return this.workers.map((_, i) => ({ mode: 'closed', clients: Math.floor(level.value / n) + (i < level.value % n ? 1 : 0) }));
    }
    const gapUs = 1e6 / level.value;
    return this.workers.map((_, i) => ({
      mode: 'open',
      rate: level.value / n,
      distribution: level.distribution,
      maxInflight: Math.max(1, Math.ceil(level.maxInflight / n)),
      phaseUs: i * gapUs,
    }));
  }

  /** Runs one level; grows the workers and restarts it while the warm-up shows them saturated. */
  async runLevel(level: Level, settings: RunSettings, progress?: Progress): Promise<LevelRun> {
    for (;;) {
      const result = await this.runOnce(level, settings, progress);
      if (result === 'grow') {
        await this.grow(this.workers.length + 1);
        continue;
      }
      return result;
    }
  }

  private saturated(w: MergedWindow, level: Level): boolean {
    // in-process, the worker is also the model's host: small models run inline on its thread by
    // design (src/engine/README.md), so a busy thread there is the workload, not the generator
    if (this.plan.kind === 'in-process') return false;
    if (level.kind === 'request-rate') return w.due > 0 && w.late / w.due > SATURATED_LATE_SHARE;
    return w.maxElu > SATURATED_ELU;
  }

  private async runOnce(level: Level, settings: RunSettings, progress?: Progress): Promise<LevelRun | 'grow'> {
    const windowUs = settings.windowS * 1e6;
    const originUs = this.nowUs() + settings.warmupS * 1e6;
    const shapes = this.shapes(level);
    const pending = new Map<number, WindowReport[]>();
    const windows: MergedWindow[] = [];
    let stable = false;
    let decided: ((outcome: 'done' | 'grow') => void) | undefined;
    const decision = new Promise<'done' | 'grow'>((resolve) => (decided = resolve));
    let failure: string | undefined;
    const n = this.workers.length;
    const offs = this.workers.map((h) =>
      h.on((m) => {
        if (m.type === 'fatal') {
          failure = m.message;
          decided?.('done');
          return;
        }
        if (m.type !== 'window') return;
        const list = pending.get(m.index) ?? [];
        list.push(m);
        pending.set(m.index, list);
        if (list.length < n) return;
        pending.delete(m.index);
        const merged = merge(m.index, list, settings.windowS);
        if (m.index === -1) {
          progress?.({ window: 0, stable: false, last: undefined, workers: n, warmup: false });
          if (this.fixedWorkers === 0 && n < this.maxWorkers && this.saturated(merged, level)) decided?.('grow');
          return;
        }
        windows.push(merged);
        if (windows.length >= 3) {
          const last = windows.slice(-3);
          stable = withinPercent(last.map((w) => w.throughput), settings.stabilityPercent) && withinPercent(last.map((w) => w.meanLatency), settings.stabilityPercent);
        }
        progress?.({ window: windows.length, stable, last: merged, workers: n, warmup: false });
        if (stable || windows.length >= settings.maxWindows) decided?.('done');
      }),
    );
    progress?.({ window: 0, stable: false, last: undefined, workers: n, warmup: true });
    this.workers.forEach((h, i) =>
      h.worker.postMessage({ type: 'start', load: shapes[i]!, originUs, windowUs, firstRequest: i * 7 }),
    );
    const outcome = await decision;
    await Promise.all(
      this.workers.map(async (h) => {
        const stopped = h.next('stopped');
        h.worker.postMessage({ type: 'stop' });
        await stopped;
      }),
    );
    for (const off of offs) off();
    if (failure) throw new Error(`load worker failed: ${failure}`);
    if (outcome === 'grow') return 'grow';
    const measured = windows.slice(-3);
    return { windows, measured, stable, workers: n, saturated: measured.some((w) => this.saturated(w, level)) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((h) => h.worker.terminate()));
    this.workers = [];
  }
}

function merge(index: number, reports: WindowReport[], seconds: number): MergedWindow {
  const errors: Record<string, number> = {};
  const messages: Record<string, string> = {};
  let ok = 0;
  let due = 0;
  let late = 0;
  let maxElu = 0;
  for (const r of reports) {
    ok += r.ok;
    due += r.due;
    late += r.late;
    maxElu = Math.max(maxElu, r.elu);
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.messages)) messages[k] ??= v;
  }
  const samples = concatSamples(reports.map((r) => r.samples));
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return { index, seconds, samples, ok, errors, messages, due, late, maxElu, throughput: ok / seconds, meanLatency: samples.length ? sum / samples.length : 0 };
}
