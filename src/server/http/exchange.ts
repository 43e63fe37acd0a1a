// One HTTP request/response pair on uWebSockets.js, done the way uWS requires: everything needed
// from the (stack-allocated) HttpRequest is copied in the constructor, `onAborted` is registered
// before any async step, body chunks are copied out of uWS's receive buffer (they are detached
// after each onData callback) into memory that grows with the bytes received (body-buffer.ts), a
// body over the limit is refused with 413, every deferred write is corked, large responses go out
// with tryEnd/onWritable backpressure (or, produced in chunks, with chunked transfer coding:
// sendChunks), and the request timeout answers 408 (body still arriving) or
// 504 (model still running). Responding is idempotent: the first response wins, later ones (a
// run finishing after its timeout) are dropped.

import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { encodeErrorBody } from '../../wire/json/tfserving.js';
import { JetserveError, asJetserveError } from '../../errors.js';
import { BodyBuffer } from './body-buffer.js';
import { requestIdOf } from '../../observability/logging/request-id.js';
import { FALLBACK_TEXT, NATIVE_TEXT, type WireText } from './wire-text.js';
import type { TimedEntry, TimeoutList } from './timeout-list.js';

export { STATUS_TEXT } from './wire-text.js';
export { TimeoutList } from './timeout-list.js';
import type { RequestTrace } from '../../observability/tracing/request-trace.js';
import type { HttpRequest, HttpResponse } from './uws.js';

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
  timeouts: TimeoutList<Exchange>;
  /** Native uWS (tryEnd/onWritable available) or the node:http fallback. */
  native: boolean;
  /** Counters the server reports (tests read them). */
  stats: HttpStats;
  /** Headers written on every response (CORS), after Content-Type. */
  responseHeaders?: Headers;
  /**
   * The server is draining (shutdown): every response carries Connection: close, so keep-alive
   * clients reconnect — through their load balancer, to a replica that stays.
   */
  closeConnections: boolean;
}

export interface HttpStats {
  /** Waits for the socket to drain: responses finished from onWritable, and streamed chunks held back. */
  backpressured: number;
  /** Responses written while they were produced, in chunks (sendChunks). */
  streamed: number;
  /** Requests whose client went away before the response was written. */
  aborted: number;
  /** Requests answered by the timeout (408 / 504). */
  timedOut: number;
}

/** Responses larger than this are written with tryEnd/onWritable instead of one end(). */
const BACKPRESSURE_THRESHOLD = 64 * 1024;

export const JSON_CONTENT_TYPE = 'application/json';
const JSON_TYPE = JSON_CONTENT_TYPE;

/**
 * Chunk size of streamed JSON responses (characters). At TF Serving's float formatting (~0.6 µs
 * per float, ~12 characters each) one chunk is ~3 ms of event-loop time.
 */
export const STREAM_CHUNK_CHARS = 64 * 1024;

/**
 * Chunk size of streamed responses the native codec writes (bytes). It formats a float in
 * ~25 ns, so one chunk (~21,000 floats) is ~0.5 ms of event-loop time; smaller chunks cost an
 * event-loop turn each (a 2.9 MB response in 64 KiB chunks took 45 turns, ~2 ms).
 */
export const STREAM_CHUNK_BYTES = 256 * 1024;

export type Headers = ReadonlyArray<readonly [string, string]>;

/** The default of the `headers` parameters (a literal [] there is an allocation per call). */
const NO_HEADERS: Headers = Object.freeze([]);

export class Exchange implements TimedEntry<Exchange> {
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
  /** The client's x-request-id (when acceptable) or a new one; echoed in the response. */
  readonly requestId: string;
  /** HTTP status of the response started (0 until then). */
  status = 0;
  /** Tracing of this request (undefined when tracing is off). */
  trace: RequestTrace | undefined = undefined;

  aborted = false;
  /** A streamed response waiting for the socket to drain (woken by onWritable or an abort). */
  private wakeWriter: (() => void) | undefined;
  private responded = false;
  private completed = false;
  private readingBody = false;
  private bodyPromise: Promise<Uint8Array> | undefined;
  /** Header names and fixed values in the form this engine takes fastest. */
  private readonly text: WireText;
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
    /** The method when the route says it (server.ts: no getMethod call); else asked of `req`. */
    method?: 'post' | 'get',
  ) {
    if (method === undefined) {
      // native uWS already answers in lower case; the fallback may not
      const asked = req.getMethod();
      this.method = asked === 'post' || asked === 'get' ? asked : asked.toLowerCase();
    } else {
      this.method = method;
    }
    const url = req.getUrl();
    const q = url.indexOf('?'); // the fallback keeps the query string in getUrl()
    this.url = q === -1 ? url : url.slice(0, q);
    const text = limits.native ? NATIVE_TEXT : FALLBACK_TEXT;
    this.text = text;
    this.contentType = req.getHeader(text.contentType);
    this.contentEncoding = req.getHeader(text.contentEncoding);
    // only KServe v2 reads it: /v1 requests skip the header lookup
    this.inferenceHeaderLength = this.url.charCodeAt(2) === 0x32 ? req.getHeader(text.inferenceHeaderLength) : '';
    this.contentLength = parseContentLength(req.getHeader(text.contentLength));
    this.requestId = requestIdOf(req.getHeader(text.requestId) || undefined);
    this.started = Date.now();
    this.deadline = limits.timeoutMs > 0 ? this.started + limits.timeoutMs : undefined;
    res.onAborted(() => {
      // the fallback also calls this after a completed response: count only real aborts
      if (!this.completed) {
        this.aborted = true;
        limits.stats.aborted++;
      }
      this.finish();
      this.wakeWriter?.();
    });
  }

  /** True once a response was started (or the client went away): later sends are dropped. */
  get done(): boolean {
    return this.responded || this.aborted;
  }

  /**
   * Starts receiving the body. Must be called synchronously inside the uWS handler (uWS drops data
   * that arrives while no onData handler is set). Refuses an oversized Content-Length at once.
   * `alloc` sizes the body buffer when Content-Length is known (default Buffer.allocUnsafe);
   * `reuse` may offer memory already committed for it (body-pool.ts).
   */
  receiveBody(alloc?: (size: number) => Uint8Array, reuse?: (size: number) => Uint8Array | undefined): Promise<Uint8Array> {
    if (this.bodyPromise) return this.bodyPromise;
    this.bodyPromise = new Promise<Uint8Array>((resolve, reject) => {
      this.readBody(resolve, reject, false, alloc, reuse);
    });
    return this.bodyPromise;
  }

  /**
   * receiveBody() with callbacks, for the routes that answer without a promise per step (a tiny
   * predict's path: bench:rest). Exactly one of `onBody` / `onError` is called, once. With
   * `transient`, a body that arrives whole in one chunk (every small request) is handed over as
   * a view of uWebSockets.js's receive buffer, neither allocated nor copied: valid only during
   * `onBody` (uWS detaches it when the callback returns), so the callee must copy what it keeps
   * (onBody's second argument says which case it is). Must be called synchronously inside the uWS
   * handler, once, and not together with receiveBody().
   */
  readBody(
    onBody: (bytes: Uint8Array, transient: boolean) => void,
    onError: (err: HttpError) => void,
    transient: boolean,
    alloc?: (size: number) => Uint8Array,
    reuse?: (size: number) => Uint8Array | undefined,
  ): void {
    const limit = this.limits.maxBodyBytes;
    const declared = this.contentLength;
    if (declared !== undefined && Number.isNaN(declared)) {
      onError(new HttpError(400, 'Invalid Content-Length header', true));
      return;
    }
    if (declared !== undefined && declared > limit) {
      onError(new HttpError(413, tooLarge(declared, limit)));
      return;
    }
    this.readingBody = true;
    // transient: the buffer is made at the first chunk that does not complete the body
    let body = transient ? undefined : new BodyBuffer(declared, alloc ?? Buffer.allocUnsafe, reuse);
    let failed = false;
    this.res.onData((chunk: ArrayBuffer | Uint8Array, isLast: boolean) => {
      if (failed) return;
      // uWS hands an ArrayBuffer detached after this callback; the fallback hands a Buffer
      const view =
        chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (body === undefined && isLast) {
        // the whole body in one chunk: handed over in place
        const size = view.byteLength;
        this.readingBody = false;
        if (size > limit || (declared !== undefined && size > declared)) {
          failed = true;
          onError(new HttpError(413, tooLarge(size, limit), true));
          return;
        }
        this.trace?.bodyReceived();
        if (declared !== undefined && size !== declared) {
          onError(new HttpError(400, `Request body ended after ${size} of ${declared} bytes`, true));
        } else {
          onBody(view, true);
        }
        return;
      }
      body ??= new BodyBuffer(declared, alloc ?? Buffer.allocUnsafe, reuse);
      const next = body.received + view.byteLength;
      if (next > limit || !body.append(view)) {
        failed = true;
        this.readingBody = false;
        onError(new HttpError(413, tooLarge(next, limit), true));
        return;
      }
      if (isLast) {
        this.readingBody = false;
        this.trace?.bodyReceived();
        if (declared !== undefined && body.received !== declared) {
          onError(new HttpError(400, `Request body ended after ${body.received} of ${declared} bytes`, true));
        } else {
          onBody(body.result(), false);
        }
      }
    });
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

  sendJson(status: number, body: string | Uint8Array, headers: Headers = NO_HEADERS, closeConnection = false): void {
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
  send(status: number, contentType: string, body: string | Uint8Array, headers: Headers = NO_HEADERS, closeConnection = false): void {
    if (this.done) return;
    this.responded = true;
    this.status = status;
    this.clearTimer();
    const res = this.res;
    res.cork(() => {
      this.writeHeadWithRequestId(status, contentType);
      this.writeCommonHeaders();
      for (const [k, v] of headers) res.writeHeader(k, v);
      if (this.trace) res.writeHeader('traceparent', this.trace.traceparent);
      // string length counts UTF-16 units: a long string is at least that many bytes
      if (this.limits.native && !closeConnection && body.length > BACKPRESSURE_THRESHOLD) {
        if (this.limits.closeConnections) res.writeHeader('Connection', 'close');
        this.streamOut(typeof body === 'string' ? Buffer.from(body) : body);
      } else {
        // end(…, true) writes Connection: close and closes once the response is out
        res.end(body, closeConnection || this.limits.closeConnections);
        this.finish();
      }
    });
  }

  /**
   * Writes a response produced as text chunks (e.g. predictResponseChunks). A response that fits
   * in one chunk goes out like send(), with a Content-Length. A larger one is written while it is
   * produced (chunked transfer coding): one chunk per event-loop turn, so other requests are served
   * in between, and never more than one chunk ahead of the socket (backpressure), so its memory
   * stays at about one chunk whatever the response size. The first chunk is produced before
   * anything is written: an error it throws propagates to the caller as usual. A later error
   * (a bug) or an abort ends the connection; the rest is not produced.
   */
  async sendChunks(status: number, contentType: string, chunks: Iterator<string | Uint8Array, void, undefined>): Promise<void> {
    await this.writeChunks(status, contentType, chunks);
  }

  /**
   * sendChunks() without a promise when the response fits in one chunk (the usual case): returns
   * undefined once it is written, or the promise of a streamed response. Errors of the first
   * chunk are thrown, synchronously.
   */
  writeChunks(status: number, contentType: string, chunks: Iterator<string | Uint8Array, void, undefined>): Promise<void> | undefined {
    const first = chunks.next();
    if (first.done) {
      this.send(status, contentType, '');
      return undefined;
    }
    const next = chunks.next();
    if (next.done) {
      this.send(status, contentType, first.value);
      return undefined;
    }
    if (this.done) return undefined;
    return this.streamChunks(status, contentType, first.value, next, chunks);
  }

  private async streamChunks(
    status: number,
    contentType: string,
    firstChunk: string | Uint8Array,
    second: IteratorResult<string | Uint8Array, void>,
    chunks: Iterator<string | Uint8Array, void, undefined>,
  ): Promise<void> {
    let next = second;
    this.responded = true;
    this.status = status;
    this.clearTimer();
    const res = this.res;
    this.limits.stats.streamed++;
    let writable = true;
    res.cork(() => {
      this.writeHeadWithRequestId(status, contentType);
      this.writeCommonHeaders();
      if (this.trace) res.writeHeader('traceparent', this.trace.traceparent);
      if (this.limits.closeConnections) res.writeHeader('Connection', 'close');
      writable = res.write(firstChunk);
    });
    while (!next.done) {
      await (writable ? yieldToEventLoop() : this.drained());
      if (this.aborted) return;
      const chunk = next.value;
      res.cork(() => {
        writable = res.write(chunk);
      });
      try {
        next = chunks.next();
      } catch (err) {
        // the status line is out: all that is left is to cut the response short
        res.close();
        throw err;
      }
    }
    if (this.aborted) return;
    res.cork(() => res.end());
    this.finish();
  }

  /**
   * Starts a response of unknown length that stays open (server-sent events): the status line and
   * headers go out with the first write (make it at once), the request timeout no longer applies,
   * and the returned stream writes
   * chunks until end() or the client goes away (`closed`, `onClose`). Writes while the socket is
   * backed up are dropped and counted, never buffered without bound: a stream's writer sends
   * snapshots, and a client that does not read simply misses some.
   */
  openStream(status: number, contentType: string, headers: Headers = NO_HEADERS): ResponseStream {
    const res = this.res;
    const closers: (() => void)[] = [];
    const stream: ResponseStream = {
      closed: this.done,
      dropped: 0,
      write: (text) => {
        if (stream.closed) return false;
        if (backedUp.has(stream)) {
          stream.dropped++;
          return false;
        }
        let ok = true;
        res.cork(() => {
          ok = res.write(text);
        });
        if (!ok && this.limits.native) {
          backedUp.add(stream);
          res.onWritable(() => {
            backedUp.delete(stream);
            return true;
          });
        }
        return true;
      },
      end: () => {
        if (stream.closed) return;
        stream.closed = true;
        res.cork(() => res.end());
        this.finish();
        for (const c of closers) c();
      },
      onClose: (fn) => {
        if (stream.closed) fn();
        else closers.push(fn);
      },
    };
    if (this.done) return stream;
    this.responded = true;
    this.clearTimer();
    const abortedBefore = this.wakeWriter;
    this.wakeWriter = () => {
      abortedBefore?.();
      if (stream.closed) return;
      stream.closed = true;
      for (const c of closers) c();
    };
    res.cork(() => {
      this.writeHead(status, contentType);
      this.writeCommonHeaders();
      for (const [k, v] of headers) res.writeHeader(k, v);
    });
    return stream;
  }

  /** The status line and Content-Type (one binding call on the native engine: WireText.head). */
  private writeHead(status: number, contentType: string): void {
    const text = this.text;
    if (text.head !== undefined) {
      this.res.writeStatus(text.head(status, contentType));
    } else {
      this.res.writeStatus(text.status(status));
      this.res.writeHeader(text.contentTypeOut, text.fixed(contentType));
    }
  }

  /** Status line, Content-Type and x-request-id: one binding call on the native engine (wire-text.ts). */
  private writeHeadWithRequestId(status: number, contentType: string): void {
    const text = this.text;
    if (text.headWithRequestId !== undefined) {
      this.res.writeStatus(text.headWithRequestId(status, contentType, this.requestId));
    } else {
      this.writeHead(status, contentType);
      this.res.writeHeader(text.requestId, this.requestId);
    }
  }

  private writeCommonHeaders(): void {
    const common = this.limits.responseHeaders;
    if (common) for (const [k, v] of common) this.res.writeHeader(k, v);
  }

  /** Resolves when the socket has taken what was written (or the client went away). */
  private drained(): Promise<void> {
    this.limits.stats.backpressured++;
    return new Promise((resolve) => {
      const wake = () => {
        this.wakeWriter = undefined;
        resolve();
      };
      this.wakeWriter = wake;
      if (this.limits.native) {
        this.res.onWritable(() => {
          wake();
          return true;
        });
      } else {
        // the node:http fallback has no onWritable: its ServerResponse emits 'drain' when its
        // socket drains. Node 22+ can return false from a corked write while the socket buffers
        // nothing, and then no 'drain' ever comes: wait only while the socket itself needs one.
        type Writable = NodeJS.EventEmitter & { writableNeedDrain?: boolean };
        const response = (this.res as unknown as { response?: Writable & { socket?: Writable | null } }).response;
        if (response?.writableNeedDrain && response.socket?.writableNeedDrain) response.once('drain', wake);
        else wake();
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
    this.trace?.end(this.aborted ? 499 : this.status);
    this.onComplete(this);
  }
}

/** A long-lived response (Exchange.openStream). */
export interface ResponseStream {
  /** The client went away or end() was called: writes are dropped. */
  closed: boolean;
  /** Writes dropped because the client was not reading. */
  dropped: number;
  /** Writes a chunk; false when it was dropped (closed, or the socket still backed up). */
  write(text: string): boolean;
  /** Ends the response. */
  end(): void;
  /** Called once when the stream closes (client gone or end()). */
  onClose(fn: () => void): void;
}

/** Streams whose socket has not drained since a write was only partly taken. */
const backedUp = new WeakSet<ResponseStream>();

const gunzipAsync = promisify(gunzip);

/** Lets the event loop run other callbacks (I/O included) before the next chunk is produced. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const inflateAsync = promisify(inflate);

/** {"error": message}, as TF Serving writes it (KServe uses the same shape). */
export function errorBody(message: string): string {
  return encodeErrorBody(message);
}

/**
 * Content-Length: undefined when absent, NaN unless all digits. The value is summed while the
 * digits are checked (exact up to 15 digits); Number(value) was a runtime call (StringToNumber)
 * on every request with a body.
 */
export function parseContentLength(value: string): number | undefined {
  const n = value.length;
  if (n === 0) return undefined;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return NaN;
    sum = sum * 10 + (c - 0x30);
  }
  return n <= 15 ? sum : Number(value);
}

function tooLarge(size: number, limit: number): string {
  return `Request body of ${size} bytes exceeds the limit of ${limit} bytes (--rest_api_max_body_bytes)`;
}
