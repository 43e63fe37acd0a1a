// The HTTP front end: one uWebSockets.js app serving TF Serving's REST API (/v1/…) and KServe v2
// REST (/v2/…) over the model manager. Owns the listen socket, the request limits (body size,
// timeout), in-flight accounting and the drain for lossless shutdown, the access log and request
// tracing hooks, and dispatch by path prefix; the two protocol modules (tfserving.ts, kserve.ts)
// own their URL grammars and wire shapes.

import { asJetserveError } from '../../errors.js';
import { DEFAULT_PROMETHEUS_PATH } from '../../observability/monitoring-config.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../observability/exposition.js';
import type { ServingMetrics } from '../../observability/serving-metrics.js';
import type { AccessLog } from '../../observability/logging/access-log.js';
import type { LogFn } from '../../observability/logging/levels.js';
import type { HttpTracing } from '../../observability/tracing/request-trace.js';
import { Exchange, TimeoutList, errorBody, type ExchangeLimits, type HttpStats } from './exchange.js';
import { DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES, JsonOffload, offloadPays } from './json-offload.js';
import { fallbackHeaderFieldCount, guardFallbackServer, MAX_HEADER_FIELDS, tooManyHeaderFields } from './header-limits.js';
import { handleKServe } from './kserve.js';
import { handleRepository } from './repository.js';
import { handleTfServing } from './tfserving.js';
import { DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_TENSOR_ELEMENTS, type RequestLimits } from '../../wire/limits.js';
import { quiesceListener } from '../../engine/listen-guard.js';
import { httpEngine, uWS, type HttpEngineInfo, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';
import type { ResourceSource } from '../../models/capabilities.js';
import { ADMIN_REALM, AdminAuth } from '../admin-auth.js';
import type { SslConfig } from '../ssl-config.js';
import { answerPreflight, CORS_HEADERS } from './cors.js';
import { Dashboard, type DashboardOptions } from './dashboard.js';
import { createTlsApp, MutualTlsFront } from './tls.js';
import type { HttpContext, HttpModelSource } from './context.js';

export interface HttpServerOptions {
  /** Largest accepted request body in bytes. Default 256 MiB. */
  maxBodyBytes?: number;
  /**
   * --rest_api_max_tensor_elements: most tensor elements one request may carry (summed over its
   * inputs), refused with 413 before tensor memory is allocated. Default 4,194,304.
   */
  maxTensorElements?: number;
  /** --rest_api_max_json_depth: deepest JSON nesting of a request body (400 beyond). Default 256. */
  maxJsonDepth?: number;
  /** --rest_api_timeout_in_ms: whole-request timeout (504 when a run exceeds it). 0 = none. Default 30000. */
  timeoutMs?: number;
  /** Log sink for start-up and internal errors. Default console.error. */
  log?: LogFn;
  /** --access_log_sample_rate: writes a sampled share of answered requests. Default: none. */
  accessLog?: AccessLog;
  /** OpenTelemetry request tracing (undefined: off, no per-request work). */
  tracing?: HttpTracing;
  /** Extra fields reported under "jetserve" in /v2 server metadata. */
  serverInfo?: Record<string, unknown>;
  /** Serve the KServe/Triton model repository API under /v2/repository (--enable_model_repository_api). */
  repositoryApi?: boolean;
  /**
   * --json_offload_threshold_bytes: TF Serving predict / KServe infer JSON bodies of at least this
   * size are decoded on a worker-thread pool, off the event loop. 0 = never. Default 64 KiB.
   */
  jsonOffloadThresholdBytes?: number;
  /**
   * Worker threads for JSON offloading (default: cores - 1; no pool at all when the process has one
   * CPU, see offloadPays). Given, the pool is used whatever the CPUs.
   */
  jsonOffloadThreads?: number;
  /**
   * --monitoring_config_file with prometheus_config.enable: count requests into these metrics and
   * answer GET `metricsPath` with their Prometheus text exposition. Default: none (no metrics work,
   * and the path is an unknown route).
   */
  metrics?: ServingMetrics;
  /** prometheus_config.path. Default "/monitoring/prometheus/metrics". */
  metricsPath?: string;
  /**
   * Who may call the administrative routes that are on (repository API, dashboard data and
   * actions). Default: nobody (401 naming --admin_token_file / --admin_allow_loopback_without_token).
   */
  admin?: AdminAuth;
  /** --rest_api_enable_cors_support: CORS headers on every response, OPTIONS preflights answered. */
  cors?: boolean;
  /** --ssl_config_file: serve HTTPS (client_verify: only clients with a certificate from custom_ca). */
  tls?: SslConfig;
  /** --enable_dashboard: serve the dashboard at /dashboard. */
  dashboard?: Omit<DashboardOptions, 'models'>;
}

const SHADOW_RE = /^\/v2\/models\/([^/]+)\/shadow\/?$/;

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
export const DEFAULT_REST_TIMEOUT_MS = 30_000;
/**
 * While draining, connections are closed only after no request has arrived for this long: a
 * keep-alive client between two requests (µs to ms on a busy connection) sends its next one well
 * within it, is answered with Connection: close, and never has a request cut off.
 */
export const DRAIN_QUIET_MS = 100;

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
  /** Date.now() of the latest request (draining waits for a quiet period). */
  private lastArrival = 0;
  /** The Prometheus scrape path (undefined: monitoring off). */
  private readonly metricsPath: string | undefined;
  private readonly admin: AdminAuth;
  private readonly cors: boolean;
  /** Mutual TLS: the TLS listener in front of the app (which then listens on a unix socket). */
  private readonly mtls: MutualTlsFront | undefined;
  /** The dashboard (undefined: --enable_dashboard off). */
  readonly dashboard: Dashboard | undefined;
  private readonly accessLog: AccessLog | undefined;
  private readonly tracing: HttpTracing | undefined;

  constructor(
    readonly models: HttpModelSource & Partial<ResourceSource>,
    options: HttpServerOptions = {},
  ) {
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      timeoutMs: options.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS,
      native: httpEngine.native,
      stats: { backpressured: 0, streamed: 0, aborted: 0, timedOut: 0 },
      timeouts: new TimeoutList(),
      ...(options.cors ? { responseHeaders: CORS_HEADERS } : {}),
      closeConnections: false,
    };
    this.admin = options.admin ?? new AdminAuth();
    this.cors = options.cors ?? false;
    this.accessLog = options.accessLog && options.accessLog.rate > 0 ? options.accessLog : undefined;
    this.tracing = options.tracing;
    const requestLimits: RequestLimits = Object.freeze({
      maxTensorElements: options.maxTensorElements ?? DEFAULT_MAX_TENSOR_ELEMENTS,
      maxJsonDepth: options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH,
    });
    this.ctx = {
      models,
      limits: requestLimits,
      engine: httpEngine,
      serverInfo: options.serverInfo ?? {},
      log: options.log ?? ((m) => console.error(m)),
      offload: jsonOffload(options, requestLimits),
      metrics: options.metrics,
      repositoryApi: options.repositoryApi ?? false,
    };
    this.metricsPath = options.metrics ? (options.metricsPath ?? DEFAULT_PROMETHEUS_PATH) : undefined;
    if (options.dashboard) {
      if (!isResourceSource(models)) throw new Error('the dashboard needs a model source with resources() (the ModelManager)');
      this.dashboard = new Dashboard({ ...options.dashboard, models });
    }
    if (options.tls?.clientVerify) {
      this.mtls = new MutualTlsFront(options.tls);
      this.app = uWS.App();
    } else {
      this.app = options.tls ? createTlsApp(options.tls) : uWS.App();
    }
    // POST and GET have routes of their own only so that the method comes from the route: one
    // binding call (getMethod) fewer per request; every other method reaches `any`
    this.app.post('/*', (res, req) => this.request(res, req, 'post'));
    this.app.get('/*', (res, req) => this.request(res, req, 'get'));
    this.app.any('/*', (res, req) => this.request(res, req, undefined));
  }

  /** A request arrived (`method`: known from its route, else read from `req`). */
  private request(res: HttpResponse, req: HttpRequest, method: 'post' | 'get' | undefined): void {
    const ex = new Exchange(res, req, this.limits, this.exchangeDone, method);
    this.active++;
    this.lastArrival = ex.started;
    if (!this.limits.native && (fallbackHeaderFieldCount(req) ?? 0) > MAX_HEADER_FIELDS) {
      // what the native engine cannot parse is refused on the fallback too (header-limits.ts)
      ex.sendJson(431, errorBody(tooManyHeaderFields()), [], true);
      return;
    }
    const tracing = this.tracing;
    if (tracing !== undefined) {
      // headers are read now: uWS's HttpRequest is only valid inside this callback
      ex.trace = tracing.startHttp(ex.method, ex.url, ex.requestId, req.getHeader('traceparent'), req.getHeader('tracestate'));
      tracing.run(ex.trace, () => this.guardedDispatch(ex, req, res));
      return;
    }
    this.guardedDispatch(ex, req, res);
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
  async listen(port: number, host?: string): Promise<number> {
    if (this.mtls) {
      await this.listenUnix(this.mtls.socketPath);
      this.boundPort = await this.mtls.listen(port, host).catch((err: Error) => {
        throw new Error(`cannot listen on ${host ?? '*'}:${port} (${err.message})`);
      });
      return this.boundPort;
    }
    return new Promise((resolve, reject) => {
      const done = (socket: us_listen_socket | false) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host ?? '*'}:${port} (address in use or not permitted)`));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = uWS.us_socket_local_port(socket);
        if (!httpEngine.native) guardFallbackServer(socket);
        this.ctx.offload?.warm();
        resolve(this.boundPort);
      };
      if (host === undefined) this.app.listen(port, done);
      else this.app.listen(host, port, done);
    });
  }

  /** The plain app behind the mutual-TLS front, on its private unix socket. */
  private listenUnix(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.app.listen_unix((socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on unix socket ${path}`));
          return;
        }
        this.listenSocket = socket;
        this.ctx.offload?.warm();
        resolve();
      }, path);
    });
  }

  /**
   * Lame duck (the start of a drain): from now on every response carries Connection: close, so
   * keep-alive clients reconnect through their load balancer. Requests are still accepted and served.
   */
  beginDrain(): void {
    this.limits.closeConnections = true;
  }

  /**
   * Closes the listen socket: new connections are refused; open ones are still served. The
   * connections a client already has (queued in the kernel, not yet accepted) are accepted and
   * answered first, so none is reset by the close (src/engine/listen-guard.ts).
   */
  async stopAccepting(): Promise<void> {
    this.stopping = true;
    this.dashboard?.close();
    this.limits.closeConnections = true;
    if (this.mtls) {
      // the TLS front owns the TCP port; the app behind it listens on a private unix socket
      this.mtls.stopAccepting();
    } else if (this.listenSocket) {
      await quiesceListener(this.boundPort);
    }
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }

  /**
   * Resolves true once no request is in flight and none arrived for DRAIN_QUIET_MS (keep-alive
   * clients between two requests have sent theirs), or false when `timeoutMs` passed first.
   */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.active > 0) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          this.idleWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        continue;
      }
      const quietFor = Date.now() - this.lastArrival;
      if (quietFor >= DRAIN_QUIET_MS) return true;
      const wait = Math.min(DRAIN_QUIET_MS - quietFor, deadline - Date.now());
      if (wait <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * Graceful stop: closes the listen socket (no new connections), waits up to `drainMs` for the
   * requests in flight to be answered (and for keep-alive clients to send what they were about
   * to), then closes every connection.
   */
  async close(drainMs = 10_000): Promise<void> {
    await this.stopAccepting();
    await this.drained(drainMs);
    // native uWS: close keep-alive sockets too; the fallback has no app.close()
    (this.app as { close?: () => void }).close?.();
    this.mtls?.destroy();
    await this.ctx.offload?.close();
  }

  /** The JSON offload pool (undefined when --json_offload_threshold_bytes is 0). */
  get jsonOffload(): JsonOffload | undefined {
    return this.ctx.offload;
  }

  /** `req` and `res` are valid only during this call (read headers and the peer here, synchronously). */
  private guardedDispatch(ex: Exchange, req: HttpRequest, res: HttpResponse): void {
    try {
      this.dispatch(ex, req, res);
    } catch (err) {
      this.internalError(ex, err);
    }
  }

  private dispatch(ex: Exchange, req: HttpRequest, res: HttpResponse): void {
    const url = ex.url;
    if (this.cors && ex.method === 'options') {
      answerPreflight(ex, req.getHeader('origin'));
    } else if (url === this.metricsPath) {
      this.prometheus(ex);
    } else if (url.length >= 4 && (url[1] === 'v' || url[1] === 'V') && url[2] === '1' && url[3] === '/') {
      handleTfServing(ex, this.ctx);
    } else if (SHADOW_RE.test(url)) {
      this.shadowMetrics(ex, SHADOW_RE.exec(url)![1]!);
    } else if (url.startsWith('/v2/repository/') || url === '/v2/repository') {
      // off: 404 naming the flag (repository.ts); on: administrative
      if (!this.ctx.repositoryApi || this.admitted(ex, req, res)) handleRepository(ex, this.ctx);
    } else if (url === '/v2' || url === '/v2/' || url.startsWith('/v2/')) {
      handleKServe(ex, this.ctx);
    } else if (this.dashboard && Dashboard.owns(url)) {
      const authorization = req.getHeader('authorization');
      const peer = this.peerOf(res);
      this.dashboard.handle(ex, () => this.admittedWith(ex, authorization, peer));
    } else {
      ex.sendJson(404, errorBody(`Not found: ${ex.method.toUpperCase()} ${url} (TF Serving API is under /v1/models, KServe v2 under /v2)`));
    }
    // a request answered synchronously needs no timer; one still pending gets the timeout
    if (!ex.done) ex.armTimeout();
  }

  /** Whether an administrative request may proceed; answers 401 itself when it may not. */
  private admitted(ex: Exchange, req: HttpRequest, res: HttpResponse): boolean {
    return this.admittedWith(ex, req.getHeader('authorization'), this.peerOf(res));
  }

  private admittedWith(ex: Exchange, authorization: string, peer: () => string | undefined): boolean {
    const denied = this.admin.check(authorization, peer);
    if (!denied) return true;
    ex.sendJson(401, errorBody(denied.message), [['WWW-Authenticate', `Bearer realm="${ADMIN_REALM}"`]]);
    return false;
  }

  /** The client's address, read now (behind the mutual-TLS front every peer is that front: none). */
  private peerOf(res: HttpResponse): () => string | undefined {
    if (this.mtls) return () => undefined;
    let address: string | undefined;
    try {
      address = this.limits.native
        ? Buffer.from(res.getRemoteAddressAsText()).toString()
        : (res as unknown as { response?: { socket?: { remoteAddress?: string } } }).response?.socket?.remoteAddress;
    } catch {
      address = undefined;
    }
    return () => address;
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
    const report = this.models.shadowReport(name);
    if (!report) {
      ex.sendJson(404, errorBody(`Request for unknown model: '${name}' is not found`));
      return;
    }
    ex.sendJson(
      200,
      JSON.stringify({ name, shadow: report.shadow ?? null, traffic_split: report.trafficSplit ?? null, metrics: report.metrics }),
    );
  }

  private internalError(ex: Exchange, err: unknown): void {
    const e = asJetserveError(err);
    if (e.code === 'INTERNAL') {
      this.ctx.log(`internal error on ${ex.method.toUpperCase()} ${ex.url}: ${(err as Error)?.stack ?? e.message}`, 'error', { request_id: ex.requestId });
    }
    ex.sendError(e);
  }

  private completed(ex: Exchange): void {
    this.active--;
    if (this.accessLog?.sampled()) {
      this.accessLog.write({
        request_id: ex.requestId,
        protocol: 'http',
        method: ex.method.toUpperCase(),
        path: ex.url,
        status: ex.aborted ? 499 : ex.status,
        duration_ms: Date.now() - ex.started,
        ...(ex.contentLength !== undefined ? { bytes_in: ex.contentLength } : {}),
      });
    }
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

function isResourceSource(models: Partial<ResourceSource>): models is ResourceSource {
  return typeof models.resources === 'function';
}

function jsonOffload(options: HttpServerOptions, limits: RequestLimits): JsonOffload | undefined {
  const threshold = options.jsonOffloadThresholdBytes ?? DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES;
  if (threshold === 0) return undefined;
  if (!options.jsonOffloadThreads && !offloadPays()) return undefined;
  return new JsonOffload({
    thresholdBytes: threshold,
    limits,
    ...(options.jsonOffloadThreads ? { threads: options.jsonOffloadThreads } : {}),
  });
}
