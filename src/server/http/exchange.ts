// One HTTP request/response pair on uWebSockets.js, done the way uWS requires: everything needed
// from the (stack-allocated) HttpRequest is copied in the constructor, `onAborted` is registered
// before any async step, body chunks are copied out of uWS's receive buffer (they are detached
// after each onData callback) into one buffer preallocated from Content-Length, a body over the
// limit is refused with 413, every deferred write is corked, large responses go out with
// tryEnd/onWritable backpressure, and the request timeout answers 408 (body still arriving) or
// 504 (model still running). Responding is idempotent: the first response wins, later ones (a
// run finishing after its timeout) are dropped.

import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { encodeErrorBody } from '../../codec/tfserving-json.js';
import { JetserveError, asJetserveError } from '../../errors.js';
import type { HttpRequest, HttpResponse } from './uws.js';

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  411: 'Length Required',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const STATUS_LINES = new Map<number, string>();
function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (!line) {
    line = `${status} ${STATUS_TEXT[status] ?? 'Unknown'}`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

/** An error that carries its own HTTP status (transport-level: 408, 411, 413, 415). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Close the connection after answering (the rest of the request cannot be trusted). */
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

export interface ExchangeLimits {
  /** Largest accepted request body in bytes (after Content-Length, before decompression). */
  maxBodyBytes: number;
  /** Whole-request timeout in ms; 0 = none. */
  timeoutMs: number;
  /** The server's pending request timeouts (one timer for all of them). */
  timeouts: TimeoutList;
  /** Native uWS (tryEnd/onWritable available) or the node:http fallback. */
  native: boolean;
  /** Counters the server reports (tests read them). */
  stats: HttpStats;
}

export interface HttpStats {
  /** Responses that hit socket backpressure and were finished from onWritable. */
  backpressured: number;
  /** Requests whose client went away before the response was written. */
  aborted: number;
  /** Requests answered by the timeout (408 / 504). */
  timedOut: number;
}

/** Responses larger than this are written with tryEnd/onWritable instead of one end(). */
const BACKPRESSURE_THRESHOLD = 64 * 1024;

const JSON_TYPE = 'application/json';

export type Headers = ReadonlyArray<readonly [string, string]>;

export class Exchange {
  /** Lower-case method ("get", "post"). */
  readonly method: string;
  /** Path without query string, still percent-encoded. */
  readonly url: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  /** Raw value of Inference-Header-Content-Length ('' when absent). */
  readonly inferenceHeaderLength: string;
  readonly contentLength: number | undefined;
  /** Date.now() when the request arrived. */
  readonly started: number;
  /** Absolute Date.now() deadline for the request, or undefined when there is no timeout. */
  readonly deadline: number | undefined;

  aborted = false;
  private responded = false;
  private completed = false;
  private readingBody = false;
  private bodyPromise: Promise<Uint8Array> | undefined;
  /** @internal TimeoutList links (armed: in the list). */
  timeoutPrev: Exchange | undefined = undefined;
  timeoutNext: Exchange | undefined = undefined;
  timeoutArmed = false;
  /** performance.now() at which the timeout fires. */
  timeoutAt = 0;

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
    private readonly limits: ExchangeLimits,
    /** Called exactly once when the exchange is over (response fully written, or aborted). */
    private readonly onComplete: (ex: Exchange) => void,
  ) {
    // native uWS already answers in lower case; the fallback may not
    const method = req.getMethod();
    this.method = method === 'post' || method === 'get' ? method : method.toLowerCase();
    const url = req.getUrl();
    const q = url.indexOf('?'); // the fallback keeps the query string in getUrl()
    this.url = q === -1 ? url : url.slice(0, q);
    this.contentType = req.getHeader('content-type');
    this.contentEncoding = req.getHeader('content-encoding');
    // only KServe v2 reads it: /v1 requests skip the header lookup
    this.inferenceHeaderLength = this.url.charCodeAt(2) === 0x32 ? req.getHeader('inference-header-content-length') : '';
    this.contentLength = parseContentLength(req.getHeader('content-length'));
    this.started = Date.now();
    this.deadline = limits.timeoutMs > 0 ? this.started + limits.timeoutMs : undefined;
    res.onAborted(() => {
      // the fallback also calls this after a completed response: count only real aborts
      if (!this.completed) {
        this.aborted = true;
        limits.stats.aborted++;
      }
      this.finish();
    });
  }

  /** True once a response was started (or the client went away): later sends are dropped. */
  get done(): boolean {
    return this.responded || this.aborted;
  }

  /**
   * Starts receiving the body. Must be called synchronously inside the uWS handler (uWS drops data
   * that arrives while no onData handler is set). Refuses an oversized Content-Length at once.
   * `alloc` sizes the body buffer when Content-Length is known (default Buffer.allocUnsafe).
   */
  receiveBody(alloc?: (size: number) => Uint8Array): Promise<Uint8Array> {
    if (this.bodyPromise) return this.bodyPromise;
    this.bodyPromise = new Promise<Uint8Array>((resolve, reject) => {
      const limit = this.limits.maxBodyBytes;
      const declared = this.contentLength;
      if (declared !== undefined && Number.isNaN(declared)) {
        reject(new HttpError(400, 'Invalid Content-Length header', true));
        return;
      }
      if (declared !== undefined && declared > limit) {
        reject(new HttpError(413, tooLarge(declared, limit)));
        return;
      }
      this.readingBody = true;
      const fixed = declared !== undefined ? (alloc ? alloc(declared) : Buffer.allocUnsafe(declared)) : undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      let failed = false;
      this.res.onData((chunk: ArrayBuffer | Uint8Array, isLast: boolean) => {
        if (failed) return;
        // uWS hands an ArrayBuffer detached after this callback; the fallback hands a Buffer
        const view =
          chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const next = received + view.byteLength;
        if (next > limit || (fixed && next > fixed.byteLength)) {
          failed = true;
          this.readingBody = false;
          reject(new HttpError(413, tooLarge(next, limit), true));
          return;
        }
        if (fixed) fixed.set(view, received);
        else if (view.byteLength > 0) chunks.push(Buffer.from(view)); // Buffer.from(Uint8Array) copies
        received = next;
        if (isLast) {
          this.readingBody = false;
          if (fixed && received !== fixed.byteLength) {
            reject(new HttpError(400, `Request body ended after ${received} of ${fixed.byteLength} bytes`, true));
          } else {
            resolve(fixed ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)));
          }
        }
      });
    });
    return this.bodyPromise;
  }

  /**
   * The body with its Content-Encoding (gzip / deflate, as TF Serving and tritonclient send)
   * undone, capped at the body limit. Pass the promise receiveBody() returned.
   */
  async decodedBody(received: Promise<Uint8Array>): Promise<Uint8Array> {
    const bytes = await received;
    const encoding = this.contentEncoding.trim().toLowerCase();
    if (encoding === '' || encoding === 'identity') return bytes;
    const inflater = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipAsync : encoding === 'deflate' ? inflateAsync : undefined;
    if (!inflater) {
      throw new HttpError(415, `Unsupported Content-Encoding '${this.contentEncoding}': send identity, gzip or deflate`);
    }
    try {
      return await inflater(bytes, { maxOutputLength: this.limits.maxBodyBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new HttpError(413, `Decompressed request body exceeds the limit of ${this.limits.maxBodyBytes} bytes (--rest_api_max_body_bytes)`);
      }
      throw new HttpError(400, `Cannot decompress the ${encoding} request body: ${(err as Error).message}`);
    }
  }

  /** Arms the request timeout (408 while the body is arriving, 504 afterwards). */
  armTimeout(): void {
    if (this.deadline === undefined || this.timeoutArmed || this.completed) return;
    this.timeoutAt = performance.now() + this.limits.timeoutMs;
    this.limits.timeouts.add(this);
  }

  /** @internal The deadline passed (called by the TimeoutList). */
  timedOut(): void {
    if (this.done) return;
    this.limits.stats.timedOut++;
    if (this.readingBody) {
      this.sendJson(408, errorBody(`Request body not received within ${this.limits.timeoutMs} ms`), [], true);
    } else {
      this.sendError(
        new JetserveError(
          'DEADLINE_EXCEEDED',
          `Deadline exceeded: request did not complete within ${this.limits.timeoutMs} ms (--rest_api_timeout_in_ms)`,
        ),
      );
    }
  }

  sendJson(status: number, body: string | Uint8Array, headers: Headers = [], closeConnection = false): void {
    this.send(status, JSON_TYPE, body, headers, closeConnection);
  }

  /** `{"error": message}` with the HTTP status of the error's canonical code (or its own status). */
  sendError(err: unknown): void {
    if (err instanceof HttpError) {
      this.sendJson(err.status, errorBody(err.message), [], err.closeConnection);
      return;
    }
    const e = asJetserveError(err);
    this.sendJson(e.httpStatus, errorBody(e.message));
  }

  /** Writes a complete response (corked; with backpressure when large). Dropped if already done. */
  send(status: number, contentType: string, body: string | Uint8Array, headers: Headers = [], closeConnection = false): void {
    if (this.done) return;
    this.responded = true;
    this.clearTimer();
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine(status));
      res.writeHeader('Content-Type', contentType);
      for (const [k, v] of headers) res.writeHeader(k, v);
      // string length counts UTF-16 units: a long string is at least that many bytes
      if (this.limits.native && !closeConnection && body.length > BACKPRESSURE_THRESHOLD) {
        this.streamOut(typeof body === 'string' ? Buffer.from(body) : body);
      } else {
        res.end(body, closeConnection);
        this.finish();
      }
    });
  }

  /** tryEnd what the socket takes now; finish the rest from onWritable as the socket drains. */
  private streamOut(body: Uint8Array): void {
    const res = this.res;
    const total = body.byteLength;
    const base = res.getWriteOffset();
    const [ok, done] = res.tryEnd(body, total);
    if (done) {
      this.finish();
      return;
    }
    if (ok) return; // everything handed over; uWS completes the response
    this.limits.stats.backpressured++;
    res.onWritable((offset: number) => {
      if (this.aborted) return true;
      const [ok2, done2] = res.tryEnd(body.subarray(offset - base), total);
      if (done2) this.finish();
      return ok2;
    });
  }

  private clearTimer(): void {
    if (this.timeoutArmed) this.limits.timeouts.remove(this);
  }

  private finish(): void {
    if (this.completed) return;
    this.completed = true;
    this.clearTimer();
    this.onComplete(this);
  }
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** {"error": message}, as TF Serving writes it (KServe uses the same shape). */
export function errorBody(message: string): string {
  return encodeErrorBody(message);
}

/** Content-Length: undefined when absent, NaN unless all digits. */
function parseContentLength(value: string): number | undefined {
  const n = value.length;
  if (n === 0) return undefined;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return NaN;
  }
  return Number(value);
}

/**
 * The server's armed request timeouts, oldest first. Every exchange of a server has the same
 * timeout, so arrival order is deadline order: an intrusive doubly linked list (O(1) add and
 * remove, no allocation) and one timer for the head replace a setTimeout/clearTimeout pair per
 * request. The timer is re-armed lazily: when it fires early (its exchange finished), it re-arms
 * for the current head. Times are monotonic (performance.now()), as setTimeout's are.
 */
export class TimeoutList {
  private head: Exchange | undefined;
  private tail: Exchange | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly fire = () => this.expire();

  add(ex: Exchange): void {
    ex.timeoutArmed = true;
    ex.timeoutPrev = this.tail;
    ex.timeoutNext = undefined;
    if (this.tail) this.tail.timeoutNext = ex;
    else this.head = ex;
    this.tail = ex;
    if (this.timer === undefined) this.arm(ex.timeoutAt);
  }

  remove(ex: Exchange): void {
    ex.timeoutArmed = false;
    const { timeoutPrev: prev, timeoutNext: next } = ex;
    if (prev) prev.timeoutNext = next;
    else this.head = next;
    if (next) next.timeoutPrev = prev;
    else this.tail = prev;
    ex.timeoutPrev = ex.timeoutNext = undefined;
    // the timer stays armed when the list empties: it fires once, finds nothing and stops
  }

  private arm(at: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, at - performance.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    let ex = this.head;
    while (ex && ex.timeoutAt <= now) {
      this.remove(ex);
      ex.timedOut();
      ex = this.head;
    }
    if (ex && this.timer === undefined) this.arm(ex.timeoutAt);
  }
}

function tooLarge(size: number, limit: number): string {
  return `Request body of ${size} bytes exceeds the limit of ${limit} bytes (--rest_api_max_body_bytes)`;
}
