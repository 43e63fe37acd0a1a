// Runs a request's async part and turns whatever it throws into the protocol's error response.
// Non-jetserve errors (bugs) are logged with their stack and answered 500; the server keeps going.

import { asJetserveError, JetserveError } from '../../errors.js';
import { Exchange, HttpError } from './exchange.js';
import type { HttpContext } from './server.js';

export function respondAsync(
  ex: Exchange,
  ctx: HttpContext,
  work: () => Promise<void>,
  /** Writes a JetserveError in the protocol's own error format (default: {"error": message}). */
  writeError?: (ex: Exchange, err: JetserveError) => void,
): void {
  work().catch((err: unknown) => {
    if (ex.done) return;
    if (err instanceof HttpError) {
      ex.sendError(err);
      return;
    }
    if (!(err instanceof JetserveError)) {
      ctx.log(`internal error on ${ex.method.toUpperCase()} ${ex.url}: ${(err as Error)?.stack ?? String(err)}`);
    }
    const e = asJetserveError(err);
    if (writeError) writeError(ex, e);
    else ex.sendError(e);
  });
}
