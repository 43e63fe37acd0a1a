// The HTTP front end: one uWebSockets.js app serving TF Serving's REST API (/v1/…) and KServe v2
// REST (/v2/…) over the model manager. Owns the listen socket, the request limits (body size,
// timeout), in-flight accounting for graceful shutdown, and dispatch by path prefix; the two
// protocol modules (tfserving.ts, kserve.ts) own their URL grammars and wire shapes.

import { asJetserveError } from '../../errors.js';
import { DEFAULT_PROMETHEUS_PATH } from '../../observability/monitoring-config.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../observability/exposition.js';
import type { ServingMetrics } from '../../observability/serving-metrics.js';
import type { ModelResolver } from '../../models/servable.js';
import { Exchange, TimeoutList, errorBody, type ExchangeLimits, type HttpStats } from './exchange.js';
import { DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES, JsonOffload } from './json-offload.js';
import { handleKServe } from './kserve.js';
import { handleRepository } from './repository.js';
import { handleTfServing } from './tfserving.js';
import { httpEngine, uWS, type HttpEngineInfo, type TemplatedApp, type us_listen_socket } from './uws.js';

/** What the HTTP front end needs from the model manager (ModelManager implements it). */
export interface HttpModelSource extends ModelResolver {
  /** Every configured model has an AVAILABLE version. */
  ready(): boolean;
}

export interface HttpServerOptions {
  /** Largest accepted request body in bytes. Default 256 MiB. */
  maxBodyBytes?: number;
  /** --rest_api_timeout_in_ms: whole-request timeout (504 when a run exceeds it). 0 = none. Default 30000. */
  timeoutMs?: number;
  /** Log sink for start-up and internal errors. Default console.error. */
  log?: (message: string) => void;
  /** Extra fields reported under "jetserve" in /v2 server metadata. */
  serverInfo?: Record<string, unknown>;
  /** Serve the KServe/Triton model repository API under /v2/repository (--enable_model_repository_api). */
  repositoryApi?: boolean;
  /**
   * --json_offload_threshold_bytes: TF Serving predict / KServe infer JSON bodies of at least this
   * size are decoded on a worker-thread pool, off the event loop. 0 = never. Default 64 KiB.
   */
  jsonOffloadThresholdBytes?: number;
  /** Worker threads for JSON offloading (default: cores - 1, at least 1). */
  jsonOffloadThreads?: number;
  /**
   * --monitoring_config_file with prometheus_config.enable: count requests into these metrics and
   * answer GET `metricsPath` with their Prometheus text exposition. Default: none (no metrics work,
   * and the path is an unknown route).
   */
  metrics?: ServingMetrics;
  /** prometheus_config.path. Default "/monitoring/prometheus/metrics". */
  metricsPath?: string;
}

const SHADOW_RE = /^\/v2\/models\/([^/]+)\/shadow\/?$/;

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_REST_TIMEOUT_MS = 30_000;

/** Shared by the protocol modules: the context a request is handled in. */
export interface HttpContext {
  readonly models: HttpModelSource;
  readonly engine: HttpEngineInfo;
  readonly serverInfo: Record<string, unknown>;
  readonly log: (message: string) => void;
  /** Large-JSON decoding off the event loop (undefined: off). */
  readonly offload: JsonOffload | undefined;
  /** Request metrics (undefined: monitoring off). */
  readonly metrics: ServingMetrics | undefined;
  /** The repository API is served (--enable_model_repository_api): listed in the /v2 extensions. */
  readonly repositoryApi: boolean;
}

export class HttpServer {
  readonly engine: HttpEngineInfo = httpEngine;
  private readonly app: TemplatedApp;
  private readonly limits: ExchangeLimits;
  private readonly ctx: HttpContext;
  private listenSocket: us_listen_socket | undefined;
  private boundPort = 0;
  /** Exchanges received and not yet over (a count: each completes exactly once). */
  private active = 0;
  private readonly exchangeDone = (ex: Exchange) => this.completed(ex);
  private idleWaiters: (() => void)[] = [];
  private stopping = false;
  /** The Prometheus scrape path (undefined: monitoring off). */
  private readonly metricsPath: string | undefined;

  constructor(
    readonly models: HttpModelSource,
    options: HttpServerOptions = {},
  ) {
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      timeoutMs: options.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS,
      native: httpEngine.native,
      stats: { backpressured: 0, aborted: 0, timedOut: 0 },
      timeouts: new TimeoutList(),
    };
    this.ctx = {
      models,
      engine: httpEngine,
      serverInfo: options.serverInfo ?? {},
      log: options.log ?? ((m) => console.error(m)),
      offload: jsonOffload(options),
      metrics: options.metrics,
      repositoryApi: options.repositoryApi ?? false,
    };
    this.metricsPath = options.metrics ? (options.metricsPath ?? DEFAULT_PROMETHEUS_PATH) : undefined;
    this.app = uWS.App();
    this.app.any('/*', (res, req) => {
      const ex = new Exchange(res, req, this.limits, this.exchangeDone);
      this.active++;
      try {
        this.dispatch(ex);
      } catch (err) {
        this.internalError(ex, err);
      }
    });
  }

  /** Port the server listens on (after listen()). */
  get port(): number {
    return this.boundPort;
  }

  /** Backpressure / abort / timeout counters. */
  get stats(): Readonly<HttpStats> {
    return this.limits.stats;
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Listens on `port` (0 = any free port). Without `host` it binds every address, IPv6 and IPv4,
   * as TF Serving does. Resolves with the bound port.
   */
  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = (socket: us_listen_socket | false) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host ?? '*'}:${port} (address in use or not permitted)`));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket);
        this.ctx.offload?.warm();
        resolve(this.boundPort);
      };
      if (host === undefined) this.app.listen(port, done);
      else this.app.listen(host, port, done);
    });
  }

  /**
   * Graceful stop: closes the listen socket (no new connections), waits up to `drainMs` for the
   * requests in flight to be answered, then closes every connection.
   */
  async close(drainMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // native uWS: close keep-alive sockets too; the fallback has no app.close()
    (this.app as { close?: () => void }).close?.();
    await this.ctx.offload?.close();
  }

  /** The JSON offload pool (undefined when --json_offload_threshold_bytes is 0). */
  get jsonOffload(): JsonOffload | undefined {
    return this.ctx.offload;
  }

  private dispatch(ex: Exchange): void {
    const url = ex.url;
    if (url === this.metricsPath) {
      this.prometheus(ex);
    } else if (url.length >= 4 && (url[1] === 'v' || url[1] === 'V') && url[2] === '1' && url[3] === '/') {
      handleTfServing(ex, this.ctx);
    } else if (SHADOW_RE.test(url)) {
      this.shadowMetrics(ex, SHADOW_RE.exec(url)![1]!);
    } else if (url.startsWith('/v2/repository/') || url === '/v2/repository') {
      handleRepository(ex, this.ctx);
    } else if (url === '/v2' || url === '/v2/' || url.startsWith('/v2/')) {
      handleKServe(ex, this.ctx);
    } else {
      ex.sendJson(404, errorBody(`Not found: ${ex.method.toUpperCase()} ${url} (TF Serving API is under /v1/models, KServe v2 under /v2)`));
    }
    // a request answered synchronously needs no timer; one still pending gets the timeout
    if (!ex.done) ex.armTimeout();
  }

  /** GET <prometheus_config.path>: the metrics in the Prometheus text format. */
  private prometheus(ex: Exchange): void {
    if (ex.method !== 'get') {
      ex.sendJson(405, errorBody(`Method ${ex.method.toUpperCase()} is not allowed on ${ex.url}; use GET`), [['Allow', 'GET']]);
      return;
    }
    ex.send(200, PROMETHEUS_CONTENT_TYPE, this.ctx.metrics!.registry.expose());
  }

  /** jetserve: GET /v2/models/{m}/shadow — the model's shadow configuration and output-diff metrics. */
  private shadowMetrics(ex: Exchange, rawName: string): void {
    if (ex.method !== 'get') {
      ex.sendJson(405, errorBody(`Method ${ex.method.toUpperCase()} is not allowed on ${ex.url}; use GET`), [['Allow', 'GET']]);
      return;
    }
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      ex.sendJson(400, errorBody(`Failed to URL-decode the model name in ${ex.url}`));
      return;
    }
    const source = this.models as unknown as { model?: (n: string) => { shadow?: unknown; trafficSplit?: unknown; shadowMetrics: unknown } | undefined };
    const model = typeof source.model === 'function' ? source.model(name) : undefined;
    if (!model) {
      ex.sendJson(404, errorBody(`Request for unknown model: '${name}' is not found`));
      return;
    }
    ex.sendJson(
      200,
      JSON.stringify({ name, shadow: model.shadow ?? null, traffic_split: model.trafficSplit ?? null, metrics: model.shadowMetrics }),
    );
  }

  private internalError(ex: Exchange, err: unknown): void {
    const e = asJetserveError(err);
    if (e.code === 'INTERNAL') this.ctx.log(`internal error on ${ex.method.toUpperCase()} ${ex.url}: ${(err as Error)?.stack ?? e.message}`);
    ex.sendError(e);
  }

  private completed(ex: Exchange): void {
    this.active--;
    if (this.active === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** True once close() started. */
  get closing(): boolean {
    return this.stopping;
  }
}

function jsonOffload(options: HttpServerOptions): JsonOffload | undefined {
  const threshold = options.jsonOffloadThresholdBytes ?? DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES;
  if (threshold === 0) return undefined;
  return new JsonOffload({ thresholdBytes: threshold, ...(options.jsonOffloadThreads ? { threads: options.jsonOffloadThreads } : {}) });
}
