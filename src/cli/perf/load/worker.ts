// A load worker thread: sends the plan's requests in a closed loop (N clients, each sending its
// next request when the previous one answered) or an open loop (sends at intended times whatever
// the answers; latency counted from the intended time, so a stalled server's queue shows in full —
// no coordinated omission), and reports each measurement window to the coordinator.

import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import type { FromWorker, InitMessage, LoadShape, StartMessage, ToWorker, WindowReport } from './protocol.js';
import type { Outcome, Sender } from './outcome.js';
import { createSender } from './senders.js';

const port = parentPort!;
/** A send this late (µs) counts as late: beyond timer and scheduling jitter, the generator fell behind. */
const LATE_US = 5000;
let base = 0n;
let sender: Sender | undefined;
let requestCount = 0;

const nowUs = (): number => Number(process.hrtime.bigint() - base) / 1000;

class Window {
  samples = new Float64Array(1024);
  n = 0;
  ok = 0;
  errors: Record<string, number> = {};
  messages: Record<string, string> = {};
  due = 0;
  late = 0;

  add(latencyUs: number, outcome: Outcome): void {
    if (outcome.ok) {
      if (this.n === this.samples.length) {
        const grown = new Float64Array(this.n * 2);
        grown.set(this.samples);
        this.samples = grown;
      }
      this.samples[this.n++] = latencyUs;
      this.ok++;
    } else {
      this.errors[outcome.code] = (this.errors[outcome.code] ?? 0) + 1;
      this.messages[outcome.code] ??= outcome.message;
    }
  }
}

/** One level's run: windows keyed by index, a timer per window boundary. */
class Run {
  private windows = new Map<number, Window>();
  private stopped = false;
  private inflight = 0;
  private drained: (() => void) | undefined;
  private boundary: NodeJS.Timeout | undefined;
  private nextReport = -1;
  private elu = performance.eventLoopUtilization();
  private nextRequest: number;
  // open loop
  private pacer: NodeJS.Timeout | undefined;
  private waiting: number[] = [];

  constructor(
    private readonly msg: StartMessage,
    private readonly send: Sender,
  ) {
    this.nextRequest = msg.firstRequest % requestCount;
    this.armBoundary();
  }

  private window(index: number): Window {
    let w = this.windows.get(index);
    if (!w) {
      w = new Window();
      this.windows.set(index, w);
    }
    return w;
  }

  private indexAt(us: number): number {
    return us < this.msg.originUs ? -1 : Math.floor((us - this.msg.originUs) / this.msg.windowUs);
  }

  private armBoundary(): void {
    const endUs = this.msg.originUs + (this.nextReport + 1) * this.msg.windowUs;
    this.boundary = setTimeout(() => this.report(), Math.max(0, (endUs - nowUs()) / 1000));
  }

  /** Posts the window that just ended (its completions are all in: later ones have later times). */
  private report(): void {
    const index = this.nextReport++;
    const w = this.windows.get(index) ?? new Window();
    this.windows.delete(index);
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const samples = w.samples.slice(0, w.n);
    const report: WindowReport = {
      type: 'window',
      index,
      samples,
      ok: w.ok,
      errors: w.errors,
      messages: w.messages,
      due: w.due,
      late: w.late,
      elu: elu.utilization,
    };
    port.postMessage(report, [samples.buffer]);
    if (!this.stopped) this.armBoundary();
  }

  private take(): number {
    const i = this.nextRequest;
    this.nextRequest = (i + 1) % requestCount;
    return i;
  }

  start(): void {
    const load = this.msg.load;
    if (load.mode === 'closed') {
      for (let c = 0; c < load.clients; c++) void this.client();
    } else {
      this.pace(load);
    }
  }

  private async client(): Promise<void> {
    while (!this.stopped) {
      const t0 = nowUs();
      this.inflight++;
      const outcome = await this.send.send(this.take());
      this.inflight--;
      const t1 = nowUs();
      this.window(this.indexAt(t1)).add(t1 - t0, outcome);
    }
    if (this.inflight === 0) this.drained?.();
  }

  /** Open loop: intended send times from the rate; sends beyond maxInflight wait their turn. */
  private pace(load: Extract<LoadShape, { mode: 'open' }>): void {
    const gapUs = 1e6 / load.rate;
    let next = nowUs() + load.phaseUs;
    const gap = load.distribution === 'poisson' ? () => -Math.log(1 - Math.random()) * gapUs : () => gapUs;
    const tick = () => {
      this.pacer = undefined;
      if (this.stopped) return;
      const now = nowUs();
      while (next <= now) {
        const w = this.window(this.indexAt(next));
        w.due++;
        if (now - next > LATE_US) w.late++;
        this.dispatch(next, load.maxInflight);
        next += gap();
      }
      const wait = next - nowUs();
      // timers fire late by up to ~1 ms: sleep until 1 ms before the next send, then turn the
      // event loop (setImmediate) until it is due
      if (wait > 1500) this.pacer = setTimeout(tick, (wait - 1000) / 1000);
      else setImmediate(tick);
    };
    tick();
  }

  private dispatch(intendedUs: number, maxInflight: number): void {
    if (this.inflight >= maxInflight) {
      this.waiting.push(intendedUs);
      return;
    }
    this.inflight++;
    void this.send.send(this.take()).then((outcome) => {
      this.inflight--;
      const t1 = nowUs();
      // latency from the intended send time: time spent waiting for a free connection counts
      this.window(this.indexAt(t1)).add(t1 - intendedUs, outcome);
      const queued = this.waiting.shift();
      if (queued !== undefined && !this.stopped) this.dispatch(queued, maxInflight);
      else if (this.stopped && this.inflight === 0) this.drained?.();
    });
  }

  /** Stops sending; resolves when every request in flight has settled. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.boundary);
    if (this.pacer) clearTimeout(this.pacer);
    this.waiting = [];
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }
}

let run: Run | undefined;

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

port.on('message', (msg: ToWorker) => {
  void (async () => {
    try {
      if (msg.type === 'init') {
        const init = msg as InitMessage;
        base = init.baseNs;
        requestCount = init.plan.requests.length;
        sender = await createSender(init.plan, init.timeoutMs);
        post({ type: 'ready' });
      } else if (msg.type === 'start') {
        run = new Run(msg, sender!);
        run.start();
      } else if (msg.type === 'stop') {
        await run?.stop();
        run = undefined;
        post({ type: 'stopped' });
      }
    } catch (err) {
      post({ type: 'fatal', message: (err as Error).stack ?? String(err) });
    }
  })();
});

process.on('exit', () => void sender?.close());
