// The live dashboard (--enable_dashboard) on the REST port:
//
//   GET  /dashboard, /dashboard/                   the page (static/dashboard/index.html)
//   GET  /dashboard/dashboard.js, dashboard.css    its script and style (plain files, no build step)
//   GET  /dashboard/api/state                      one snapshot (JSON)                 admin
//   GET  /dashboard/api/events                     a snapshot per second (server-sent events)  admin
//   POST /dashboard/api/models/{m}/load|unload     load / unload a model (repository API)      admin
//
// The page and its assets hold no data and are served to anyone who can reach the port; every
// data and action route is administrative (AdminAuth: bearer token or loopback opt-in). The asset
// files are read once at start-up into a fixed table: a URL never becomes a file path.
//
// A snapshot holds cumulative counters (requests, failures, summed latency per model from the
// versions' statistics; batches and rows from the batcher); the page turns consecutive snapshots
// into rates. The timer that sends them runs only while a stream is open.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchingMetrics } from '../../batching/metrics.js';
import { JetserveError } from '../../errors.js';
import type { ResourceSource } from '../../models/capabilities.js';
import type { HttpModelSource } from './context.js';
import { errorBody, HttpError, type Exchange, type ResponseStream } from './exchange.js';

export const DASHBOARD_PATH = '/dashboard';

/** The files of the page, in static/dashboard/ of the package. */
const ASSETS: ReadonlyArray<readonly [url: string, file: string, type: string]> = [
  ['/dashboard', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard/', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
];

const ACTION_RE = /^\/dashboard\/api\/models\/([^/]+)\/(load|unload)$/;

export interface DashboardOptions {
  /** The model manager: models, versions, labels, statistics, shadow reports, resources. */
  models: HttpModelSource & ResourceSource;
  /** The directory holding index.html, dashboard.js and dashboard.css. */
  assetsDir: string;
  /** The server's batcher (batch-size chart); undefined when batching is off. */
  batching?: { readonly metrics: BatchingMetrics } | undefined;
  /** Milliseconds between streamed snapshots. Default 1000. */
  intervalMs?: number;
}

export interface DashboardSnapshot {
  time: number;
  process: { rssBytes: number; heapUsedBytes: number; uptimeSeconds: number };
  memory: { budgetBytes: number; usedBytes: number };
  batching: { batches: number; rows: number; queuedRequests: number } | null;
  models: DashboardModel[];
}

export interface DashboardModel {
  name: string;
  labels: Record<string, number>;
  trafficSplit: { version: number; weight: number }[] | null;
  shadow: { version: number; percent: number } | null;
  shadowMetrics: Record<string, number>;
  inFlight: number;
  /** Cumulative over the loaded versions: requests (success + fail), failures, success count and ns. */
  requests: number;
  failures: number;
  successCount: number;
  successNs: number;
  versions: { version: number; state: string; error: string | null; memoryBytes: number }[];
}

export class Dashboard {
  private readonly assets = new Map<string, { type: string; body: Buffer }>();
  private readonly streams = new Set<ResponseStream>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private closed = false;

  constructor(private readonly options: DashboardOptions) {
    for (const [url, file, type] of ASSETS) {
      let body: Buffer;
      try {
        body = readFileSync(join(options.assetsDir, file));
      } catch (err) {
        throw new Error(`--enable_dashboard: the dashboard's file ${file} is missing from ${options.assetsDir} (${(err as Error).message})`);
      }
      this.assets.set(url, { type, body });
    }
    this.intervalMs = options.intervalMs ?? 1000;
  }

  /** True for the URLs this module serves. */
  static owns(url: string): boolean {
    return url === DASHBOARD_PATH || url.startsWith(`${DASHBOARD_PATH}/`);
  }

  /**
   * Answers a /dashboard request. `admit` checks the admin credentials (and answers 401 itself
   * when they are missing or wrong); it is asked only for data and action routes.
   */
  handle(ex: Exchange, admit: () => boolean): void {
    const url = ex.url;
    const asset = this.assets.get(url);
    if (asset) {
      if (ex.method !== 'get') return methodNotAllowed(ex, 'GET');
      ex.send(200, asset.type, asset.body, [['Cache-Control', 'no-cache']]);
      return;
    }
    if (url === '/dashboard/api/state' || url === '/dashboard/api/events') {
      if (ex.method !== 'get') return methodNotAllowed(ex, 'GET');
      if (!admit()) return;
      if (url.endsWith('state')) ex.sendJson(200, JSON.stringify(this.snapshot()), [['Cache-Control', 'no-store']]);
      else this.openEvents(ex);
      return;
    }
    const action = ACTION_RE.exec(url);
    if (action) {
      if (ex.method !== 'post') return methodNotAllowed(ex, 'POST');
      if (!admit()) return;
      this.act(ex, action[1]!, action[2] as 'load' | 'unload');
      return;
    }
    ex.sendJson(404, errorBody(`Not found: ${ex.method.toUpperCase()} ${url}`));
  }

  /** Ends every event stream and stops the timer (the server is closing). */
  close(): void {
    this.closed = true;
    this.stopTimer();
    for (const s of [...this.streams]) s.end();
    this.streams.clear();
  }

  /** Event streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  snapshot(): DashboardSnapshot {
    const source = this.options.models;
    const resources = source.resources();
    const byModel = new Map(resources.models.map((m) => [m.name, m]));
    const models: DashboardModel[] = [];
    for (const name of source.modelNames()) {
      let statuses: ReturnType<typeof source.status> = [];
      try {
        statuses = source.status(name);
      } catch {
        // configured, no version seen yet
      }
      let requests = 0;
      let failures = 0;
      let successCount = 0;
      let successNs = 0;
      try {
        for (const s of source.modelStatistics(name)) {
          const st = s.inference_stats;
          requests += st.success.count + st.fail.count;
          failures += st.fail.count;
          successCount += st.success.count;
          successNs += st.success.ns;
        }
      } catch {
        // no loaded version
      }
      const report = source.shadowReport(name);
      const res = byModel.get(name);
      const memory = new Map(res?.versions.map((v) => [v.version, v.memoryBytes]) ?? []);
      let labels: Record<string, number> = {};
      try {
        labels = source.labels(name);
      } catch {
        // removed meanwhile
      }
      models.push({
        name,
        labels,
        trafficSplit: report?.trafficSplit ?? null,
        shadow: report?.shadow ?? null,
        shadowMetrics: report ? { ...report.metrics } : {},
        inFlight: res?.inFlight ?? 0,
        requests,
        failures,
        successCount,
        successNs,
        versions: statuses.map((s) => ({ version: s.version, state: s.state, error: s.error?.message ?? null, memoryBytes: memory.get(s.version) ?? 0 })),
      });
    }
    const b = this.options.batching?.metrics;
    const mem = process.memoryUsage();
    return {
      time: Date.now(),
      process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, uptimeSeconds: process.uptime() },
      memory: { budgetBytes: resources.memoryBudgetBytes, usedBytes: resources.memoryUsedBytes },
      batching: b ? { batches: b.batches, rows: b.rows, queuedRequests: b.queuedRequests } : null,
      models,
    };
  }

  private openEvents(ex: Exchange): void {
    if (this.closed) {
      ex.sendJson(503, errorBody('the server is shutting down'));
      return;
    }
    const stream = ex.openStream(200, 'text/event-stream; charset=utf-8', [
      ['Cache-Control', 'no-store'],
      ['X-Accel-Buffering', 'no'],
    ]);
    this.streams.add(stream);
    stream.onClose(() => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stopTimer();
    });
    stream.write(`retry: ${this.intervalMs * 2}\n${event(this.snapshot())}`);
    this.timer ??= setInterval(() => this.broadcast(), this.intervalMs);
  }

  private broadcast(): void {
    if (this.streams.size === 0) return this.stopTimer();
    const text = event(this.snapshot());
    for (const s of this.streams) s.write(text);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private act(ex: Exchange, rawName: string, action: 'load' | 'unload'): void {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      ex.sendJson(400, errorBody(`Failed to URL-decode the model name in ${ex.url}`));
      return;
    }
    // the body (if any) is not used, but it must be read off the connection
    const body = ex.receiveBody();
    const source = this.options.models;
    void (async () => {
      try {
        await body;
        if (action === 'load') await source.repositoryLoad(name);
        else await source.repositoryUnload(name);
        ex.sendJson(200, '{}');
      } catch (err) {
        if (err instanceof HttpError) ex.sendError(err);
        else if (err instanceof JetserveError) ex.sendJson(err.code === 'INVALID_ARGUMENT' ? 400 : err.httpStatus, errorBody(err.message));
        else ex.sendError(err);
      }
    })();
  }
}

function event(snapshot: DashboardSnapshot): string {
  return `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

function methodNotAllowed(ex: Exchange, allow: string): void {
  ex.sendJson(405, errorBody(`Method ${ex.method.toUpperCase()} is not allowed on ${ex.url}; use ${allow}`), [['Allow', allow]], false);
}
