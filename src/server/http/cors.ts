// TF Serving's --rest_api_enable_cors_support: every REST response carries
// Access-Control-Allow-Origin: *, the allowed methods and headers, and an OPTIONS request is a
// CORS preflight — 200 with those headers when its Origin is http(s)://…, otherwise 400
// ("Origin header is missing in CORS preflight"), as TF Serving answers. The allowed request
// headers are TF Serving's Content-Type plus the ones jetserve reads from browsers' requests
// (Authorization for the admin APIs, KServe's Inference-Header-Content-Length for binary tensors,
// Content-Encoding for compressed bodies, X-Request-Id).

import { errorBody, type Exchange, type Headers } from './exchange.js';

export const CORS_HEADERS: Headers = Object.freeze([
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'POST, GET'],
  ['Access-Control-Allow-Headers', 'Content-Type, Authorization, Inference-Header-Content-Length, Content-Encoding, X-Request-Id'],
] as const);

const ORIGIN_RE = /^https?:\/\//i;

/** Answers an OPTIONS request (the CORS headers themselves are added to every response). */
export function answerPreflight(ex: Exchange, origin: string): void {
  if (!ORIGIN_RE.test(origin)) {
    ex.sendJson(400, errorBody('Origin header is missing in CORS preflight'));
    return;
  }
  ex.send(200, 'text/plain', '');
}
