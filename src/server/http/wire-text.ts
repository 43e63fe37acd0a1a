// The strings jetserve hands to uWebSockets.js on every response and request: status lines,
// header names, content types — as bytes for the native engine, as strings for the fallback.

import { REQUEST_ID_HEADER } from '../../observability/logging/request-id.js';

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
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Fixed strings handed to uWebSockets.js on every request (header names, status lines, content
 * types) are passed as bytes: uWS.js turns a JS string argument into UTF-8 through a
 * String::Utf8Value, a malloc + copy + free per argument (~10 per request; v8::String::Utf8Length
 * / WriteUtf8 and malloc / free were ~4 % of a tiny predict's CPU under `perf`), while a Buffer is
 * read in place. The node:http fallback gets the strings (it calls toString on the rest).
 */
export interface WireText {
  contentType: string | Buffer;
  contentEncoding: string | Buffer;
  contentLength: string | Buffer;
  inferenceHeaderLength: string | Buffer;
  requestId: string | Buffer;
  contentTypeOut: string | Buffer;
  /** A status line ("200 OK"). */
  status(status: number): string | Buffer;
  /** A header name or value that is one of a few fixed strings (content types). */
  fixed(text: string): string | Buffer;
}

function wireText(asBytes: boolean): WireText {
  const statusLines = new Map<number, string | Buffer>();
  const fixed = new Map<string, string | Buffer>();
  const enc = (text: string) => (asBytes ? Buffer.from(text, 'latin1') : text);
  return {
    contentType: enc('content-type'),
    contentEncoding: enc('content-encoding'),
    contentLength: enc('content-length'),
    inferenceHeaderLength: enc('inference-header-content-length'),
    requestId: enc(REQUEST_ID_HEADER),
    contentTypeOut: enc('Content-Type'),
    status(status) {
      let line = statusLines.get(status);
      if (line === undefined) {
        line = enc(`${status} ${STATUS_TEXT[status] ?? 'Unknown'}`);
        statusLines.set(status, line);
      }
      return line;
    },
    fixed(text) {
      let b = fixed.get(text);
      if (b === undefined) {
        b = enc(text);
        // content types are a few constants; anything else is passed as it is
        if (fixed.size < 64) fixed.set(text, b);
      }
      return b;
    },
  };
}

export const NATIVE_TEXT = wireText(true);
export const FALLBACK_TEXT = wireText(false);
