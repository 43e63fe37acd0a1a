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
 * / WriteUtf8 and malloc / free were ~4 % of a tiny predict's CPU under `perf`), while bytes are
 * read in place. The bytes are whole ArrayBuffers, not Buffers: for a view the package's binding
 * also asks for its buffer (ArrayBufferView::Buffer → JSTypedArray::GetBuffer) and its offset
 * before GetBackingStore, ~80 instructions more per argument (callgrind, ~8 arguments per tiny
 * predict); jetserve's own build reads either with Data(). The node:http fallback gets the
 * strings (it calls toString on the rest).
 */
export interface WireText {
  contentType: string | ArrayBuffer;
  contentEncoding: string | ArrayBuffer;
  contentLength: string | ArrayBuffer;
  inferenceHeaderLength: string | ArrayBuffer;
  requestId: string | ArrayBuffer;
  contentTypeOut: string | ArrayBuffer;
  /** A status line ("200 OK"). */
  status(status: number): string | ArrayBuffer;
  /** A header name or value that is one of a few fixed strings (content types). */
  fixed(text: string): string | ArrayBuffer;
  /**
   * Native engine only (undefined on the fallback): the status line and the Content-Type header
   * as one writeStatus argument ("200 OK\r\nContent-Type: application/json"). uWS writes
   * `HTTP/1.1 <argument>\r\n`, so the bytes on the wire are those of writeStatus + writeHeader,
   * one binding call (and two argument conversions) fewer per response.
   */
  head: ((status: number, contentType: string) => ArrayBuffer) | undefined;
  /**
   * Native engine only: head()'s text, `\r\nx-request-id: ` and the request id (1 to 128 visible
   * ASCII characters: request-id.ts), so the status line, Content-Type and x-request-id go out in
   * one writeStatus argument. The bytes are a view of memory the next call overwrites (uWS copies
   * them at once): the id is copied in as character codes, where a string argument (the head +
   * the id) cost a concatenation, its flattening and the binding's UTF-8 conversion per response.
   */
  headWithRequestId: ((status: number, contentType: string, requestId: string) => Uint8Array | string) | undefined;
}

/** The latin1 bytes of `text` in an ArrayBuffer of their own (Buffer.from would slice its pool). */
function bytesOf(text: string): ArrayBuffer {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes.buffer;
}

const JSON_TYPE = 'application/json';

/** headWithRequestId's memory, and views of it by length (made once each). */
const headScratch = new Uint8Array(1024);
const headViews: (Uint8Array | undefined)[] = [];

/** Content types whose heads are cached (they are a few constants; others are built each time). */
const MAX_CACHED_TYPES = 64;

/**
 * make(status, contentType), made once per pair: content type → values by status (a sparse array:
 * statuses are a few small integers), JSON's in a slot of its own, at most MAX_CACHED_TYPES others.
 */
function cachedByTypeAndStatus<T>(make: (status: number, contentType: string) => T): (status: number, contentType: string) => T {
  const byType = new Map<string, T[]>();
  let json: T[] | undefined;
  return (status, contentType) => {
    let byStatus = contentType === JSON_TYPE ? json : byType.get(contentType);
    if (byStatus === undefined) {
      byStatus = [];
      if (contentType === JSON_TYPE) json = byStatus;
      else if (byType.size < MAX_CACHED_TYPES) byType.set(contentType, byStatus);
    }
    let value = byStatus[status];
    if (value === undefined) {
      value = make(status, contentType);
      byStatus[status] = value;
    }
    return value;
  };
}

function wireText(asBytes: boolean): WireText {
  const statusLines = new Map<number, string | ArrayBuffer>();
  const fixed = new Map<string, string | ArrayBuffer>();
  const enc = (text: string) => (asBytes ? bytesOf(text) : text);
  const statusLine = (status: number) => `${status} ${STATUS_TEXT[status] ?? 'Unknown'}`;
  const head = cachedByTypeAndStatus((status, contentType) => bytesOf(`${statusLine(status)}\r\nContent-Type: ${contentType}`));
  const idPrefix = cachedByTypeAndStatus(
    (status, contentType) => new Uint8Array(bytesOf(`${statusLine(status)}\r\nContent-Type: ${contentType}\r\n${REQUEST_ID_HEADER}: `)),
  );
  const headWithRequestId = (status: number, contentType: string, requestId: string): Uint8Array | string => {
    const prefix = idPrefix(status, contentType);
    const n = prefix.length + requestId.length;
    // a content type too long for the scratch memory: the same text as a string
    if (n > headScratch.length) return `${String.fromCharCode(...prefix)}${requestId}`;
    headScratch.set(prefix, 0);
    for (let i = 0, at = prefix.length; i < requestId.length; i++, at++) headScratch[at] = requestId.charCodeAt(i);
    let view = headViews[n];
    if (view === undefined) {
      view = new Uint8Array(headScratch.buffer, 0, n);
      headViews[n] = view;
    }
    return view;
  };
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
        line = enc(statusLine(status));
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
    head: asBytes ? head : undefined,
    headWithRequestId: asBytes ? headWithRequestId : undefined,
  };
}

export const NATIVE_TEXT = wireText(true);
export const FALLBACK_TEXT = wireText(false);
