// Request header limits, and what each HTTP engine does at them.
//
// uWebSockets.js parses at most 48 header fields per request: HttpParser keeps them in a fixed
// array of MAX_HEADERS = 50 slots (the request line, 48 fields, an end marker), a compile-time
// constant. jetserve's own uWS build (scripts/uws/, the engine on every supported Node) answers a
// request with more at once with 431 and the JSON error below, from its patched parser
// (scripts/uws/patches.mjs). The uWebSockets.js package's v20.30 binary, used only when no
// jetserve build is there, keeps such a request's bytes waiting for a head that can never complete
// and closes the connection at its 10 s idle timeout, or at once when over 4 KB of head arrived in
// pieces, with no response either way; nothing in the JS API can see those requests.
//
// The node:http fallback parses any number of fields; here jetserve refuses the same requests the
// native engine cannot serve (more than 48 fields) with 431 and a JSON error, so a request is
// served or refused alike on both engines, and answers Node's own parser errors (a head over
// --max-http-header-size, 16 KB by default: HPE_HEADER_OVERFLOW; malformed requests) with JSON
// bodies instead of Node's empty ones.

import { maxHeaderSize, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './exchange.js';
import type { HttpRequest, us_listen_socket } from './uws.js';

/** Header fields per request the native engine can parse (measured: 48 served, 49 dropped). */
export const MAX_HEADER_FIELDS = 48;

/** The refusal text for a request with too many header fields (scripts/uws/patches.mjs has the same). */
export function tooManyHeaderFields(): string {
  return `Request has more than ${MAX_HEADER_FIELDS} header fields, the most this server accepts`;
}

/** Header fields of a request on the node:http fallback (undefined on the native engine). */
export function fallbackHeaderFieldCount(req: HttpRequest): number | undefined {
  const incoming = (req as unknown as { request?: IncomingMessage }).request;
  return incoming ? incoming.rawHeaders.length / 2 : undefined;
}

/**
 * Sets the fallback's node:http server up for the header limits (the fallback's listen socket
 * holds it as `http`): stop collecting fields past the limit, and answer parser errors with JSON.
 */
export function guardFallbackServer(listenSocket: us_listen_socket): void {
  const server = (listenSocket as unknown as { http?: Server }).http;
  if (!server) return;
  // Node's own field cap (maxHeadersCount, 2000) stays: the request handler refuses more than
  // MAX_HEADER_FIELDS. Lowering it would not do: from Node 22 on, a request over it is a parser
  // error (HPE_HEADER_OVERFLOW, the same code as an oversized head), not a truncated field list.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, text, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', `Request header section exceeds ${maxHeaderSize} bytes (node --max-http-header-size)`]
        : [400, 'Bad Request', `Malformed HTTP request (${err.code ?? 'parse error'})`];
    const body = errorBody(message);
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
