// Runs a request's async part and turns whatever it throws into the protocol's error response.
// Non-jetserve errors (bugs) are logged with their stack and answered 500; the server keeps going.
// With a RequestRecorder (monitoring on), the outcome is counted: OK with its latency, or the
// error's canonical code.

import { performance } from 'node:perf_hooks';
import { asJetserveError, codeOfHttpStatus, JetserveError } from '../../errors.js';
import { type RequestRecorder } from '../../observability/serving-metrics.js';
import { Exchange, HttpError } from './exchange.js';
import type { HttpContext } from './context.js';

export function respondAsync(
  ex: Exchange,
  ctx: HttpContext,
  work: () => Promise<void>,
  /** Writes a JetserveError in the protocol's own error format (default: {"error": message}). */
  writeError?: (ex: Exchange, err: JetserveError) => void,
  /** Counts the request (request_count / request_latency); undefined when monitoring is off. */
  recorder?: RequestRecorder,
): void {
  if (recorder === undefined) {
    work().catch((err: unknown) => fail(ex, ctx, err, writeError));
    return;
  }
  const started = performance.now();
  work().then(
    () => recorder.ok(started),
    (err: unknown) => {
      recorder.failed(err instanceof HttpError ? codeOfHttpStatus(err.status) : asJetserveError(err).code);
      fail(ex, ctx, err, writeError);
    },
  );
}

/**
 * respondAsync's error handling for a route that runs without a promise of its own (the
 * callback-style TF-JSON predict): counts the failure when `recorder` is set, then answers.
 */
export function failRequest(
  ex: Exchange,
  ctx: HttpContext,
  err: unknown,
  writeError?: (ex: Exchange, err: JetserveError) => void,
  recorder?: RequestRecorder,
): void {
  recorder?.failed(err instanceof HttpError ? codeOfHttpStatus(err.status) : asJetserveError(err).code);
  fail(ex, ctx, err, writeError);
}

function fail(ex: Exchange, ctx: HttpContext, err: unknown, writeError?: (ex: Exchange, err: JetserveError) => void): void {
  if (!(err instanceof JetserveError) && !(err instanceof HttpError)) {
    // logged even when a response already started (a streamed response cut short by a bug)
    ctx.log(`internal error on ${ex.method.toUpperCase()} ${ex.url}: ${(err as Error)?.stack ?? String(err)}`, 'error', { request_id: ex.requestId });
  }
  if (ex.done) return;
  if (err instanceof HttpError) {
    ex.sendError(err);
    return;
  }
  const e = asJetserveError(err);
  if (writeError) writeError(ex, e);
  else ex.sendError(e);
}
