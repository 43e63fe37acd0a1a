// jetserve's source patches to uWebSockets for its uWebSockets.js build (scripts/uws/build-uws.mjs).
// Each is a literal replacement that must match exactly once in the pinned sources, so a change of
// source fails the build instead of silently skipping a patch.
//
// 1. Too many header fields. uWebSockets keeps a request's fields in a fixed array (MAX_HEADERS =
//    50: the request line, 48 fields, an end marker). Upstream, a request with more is neither
//    parsed nor refused: its bytes wait for a head that can never complete until the idle timeout
//    closes the connection, and nothing reaches JavaScript. The patch ends such a request with a
//    431 at once, through the parser's own error path.
// 2. Parser error responses. uWebSockets answers its parser errors (400, 404, 431, 505) with fixed
//    HTML; the patch makes them jetserve's JSON error shape ({ "error": "…" }, as the node:http
//    fallback and every handler answer) with Content-Type, Content-Length and Connection: close.
// 3. V8 13 (Node 24) removed FunctionCallbackInfo::Holder(); since V8 12 it returned This() for
//    every callback, so the binding's calls become This() (what later uWebSockets.js does too).
// 4. Arguments without allocation. Every string or bytes argument of a binding call (status line,
//    header names and values, the body) passes through NativeString. Upstream, bytes take
//    GetBackingStore() — a shared_ptr whose creation registers the store in V8's global registry
//    under a mutex — and a string takes a String::Utf8Value (malloc, copy, free). The patch reads
//    bytes with Data() and writes a string of up to 256 UTF-16 units into the NativeString's own
//    768 bytes (WriteUtf8 with the flags Utf8Value uses on that V8, so the same bytes, lone surrogates
//    included: test/server/uws-arguments.test.ts); longer strings keep
//    Utf8Value. Measured on a tiny predict (perf, 2026-12-07): GetBackingStore alone was 1.6 % of
//    the server's CPU.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Header fields per request the patched parser accepts (MAX_HEADERS - 2 in HttpParser.h). */
export const UWS_MAX_HEADER_FIELDS = 48;

/** The refusal text; the same words as the node:http fallback (src/server/http/header-limits.ts). */
export const TOO_MANY_HEADER_FIELDS = `Request has more than ${UWS_MAX_HEADER_FIELDS} header fields, the most this server accepts`;

const ERRORS = [
  // [enum name, status line, message]
  ['HTTP_ERROR_505_HTTP_VERSION_NOT_SUPPORTED', '505 HTTP Version Not Supported', 'HTTP version not supported: this server speaks HTTP/1.1'],
  ['HTTP_ERROR_431_REQUEST_HEADER_FIELDS_TOO_LARGE', '431 Request Header Fields Too Large', 'Request header section too large: more than 4096 bytes arrived before it was complete'],
  ['HTTP_ERROR_400_BAD_REQUEST', '400 Bad Request', 'Malformed HTTP request'],
  ['HTTP_ERROR_404_FILE_NOT_FOUND', '404 Not Found', 'Not found'],
  ['HTTP_ERROR_431_TOO_MANY_HEADER_FIELDS', '431 Request Header Fields Too Large', TOO_MANY_HEADER_FIELDS],
];

function cString(s) {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
}

function errorResponse(statusLine, message) {
  const body = `{ "error": ${JSON.stringify(message)} }`;
  return `HTTP/1.1 ${statusLine}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

const ERRORS_H = [
  'enum HttpError {',
  ...ERRORS.map(([name], i) => `    ${name} = ${i + 1}${i + 1 < ERRORS.length ? ',' : ''}`),
  '};',
  '',
  '/* Returned parser errors match this LUT (jetserve: JSON bodies, see scripts/uws/patches.mjs). */',
  'static const std::string_view httpErrorResponses[] = {',
  '    "", /* Zeroth place is no error so don\'t use it */',
  ...ERRORS.map(([, status, message], i) => `    ${cString(errorResponse(status, message))}${i + 1 < ERRORS.length ? ',' : ''}`),
  '};',
].join('\n');

const PATCHES = [
  {
    name: `HttpParser.h: a request with more than ${UWS_MAX_HEADER_FIELDS} header fields ends with 431 (JSON) at once`,
    file: 'uWebSockets/src/HttpParser.h',
    from: '        /* We ran out of header space, too large request */\n        return 0;',
    to:
      '        /* jetserve: more fields than the array holds: refuse now (431) instead of waiting for more bytes */\n' +
      '        err = HTTP_ERROR_431_TOO_MANY_HEADER_FIELDS;\n        return 0;',
  },
  ...['AppWrapper.h', 'HttpRequestWrapper.h', 'HttpResponseWrapper.h', 'WebSocketWrapper.h'].map((name) => ({
    name: `binding/${name}: FunctionCallbackInfo::Holder() → This() (V8 13)`,
    file: `binding/${name}`,
    every: '.Holder()',
    to: '.This()',
  })),
  {
    name: 'binding/Utilities.h: NativeString reads bytes with Data() and short strings without malloc',
    file: 'binding/Utilities.h',
    pattern: /    NativeString\(Isolate \*isolate, const Local<Value> &value\) \{[\s\S]*?\n    \}\n\n    bool isInvalid/,
    to: [
      '    /* jetserve: a short string\'s UTF-8 (≤ 3 bytes per UTF-16 unit) without a heap allocation */',
      '    static constexpr int kInlineUnits = 256;',
      '    /* the bytes Utf8Value writes: V8 13 replaces lone surrogates with U+FFFD there, V8 12 does not */',
      '#if V8_MAJOR_VERSION >= 13',
      '    static constexpr int kUtf8ValueFlags = String::NO_NULL_TERMINATION | String::REPLACE_INVALID_UTF8;',
      '#else',
      '    static constexpr int kUtf8ValueFlags = String::NO_NULL_TERMINATION;',
      '#endif',
      '    char inlineMemory[3 * kInlineUnits];',
      '    NativeString(Isolate *isolate, const Local<Value> &value) {',
      '        if (value->IsUndefined()) {',
      '            data = nullptr;',
      '            length = 0;',
      '        } else if (value->IsString()) {',
      '            Local<String> string = Local<String>::Cast(value);',
      '            if (string->Length() <= kInlineUnits) {',
      '                length = (size_t) string->WriteUtf8(isolate, inlineMemory, sizeof(inlineMemory), nullptr, kUtf8ValueFlags);',
      '                data = inlineMemory;',
      '            } else {',
      '                utf8Value = new (utf8ValueMemory) String::Utf8Value(isolate, value);',
      '                data = (**utf8Value);',
      '                length = utf8Value->length();',
      '            }',
      '        } else if (value->IsTypedArray()) {',
      '            Local<ArrayBufferView> arrayBufferView = Local<ArrayBufferView>::Cast(value);',
      '            length = arrayBufferView->ByteLength();',
      '            data = (char *) arrayBufferView->Buffer()->Data() + arrayBufferView->ByteOffset();',
      '        } else if (value->IsArrayBuffer()) {',
      '            Local<ArrayBuffer> arrayBuffer = Local<ArrayBuffer>::Cast(value);',
      '            length = arrayBuffer->ByteLength();',
      '            data = (char *) arrayBuffer->Data();',
      '        } else if (value->IsSharedArrayBuffer()) {',
      '            Local<SharedArrayBuffer> arrayBuffer = Local<SharedArrayBuffer>::Cast(value);',
      '            length = arrayBuffer->ByteLength();',
      '            data = (char *) arrayBuffer->Data();',
      '        } else {',
      '            invalid = true;',
      '        }',
      '    }',
      '',
      '    bool isInvalid',
    ].join('\n'),
  },
  {
    name: 'HttpErrors.h: parser errors answer JSON { "error": … } with Content-Type, Content-Length and Connection: close',
    file: 'uWebSockets/src/HttpErrors.h',
    // the enum and the response table, from the enum's first line to the table's end
    pattern: /enum HttpError \{[\s\S]*?static const std::string_view httpErrorResponses\[\] = \{[\s\S]*?\n\};/,
    to: ERRORS_H,
  },
];

/** Identifies the patch set in cache keys: changes whenever a patch's text does. */
export const PATCHES_ID = createHash('sha256')
  .update(PATCHES.map((p) => `${p.file}\n${p.from ?? p.every ?? p.pattern.source}\n${p.to}`).join('\n'))
  .digest('hex')
  .slice(0, 16);

/** Applies every patch under dir; returns their descriptions. Throws when an anchor does not match once. */
export function applyPatches(dir) {
  const done = [];
  for (const p of PATCHES) {
    const file = path.join(dir, p.file);
    const text = fs.readFileSync(file, 'utf8');
    let next;
    if (p.every !== undefined) {
      if (!text.includes(p.every)) throw new Error(`patch "${p.name}": ${p.every} not found in ${p.file}`);
      next = text.split(p.every).join(p.to);
    } else if (p.from !== undefined) {
      const first = text.indexOf(p.from);
      if (first < 0 || text.indexOf(p.from, first + 1) >= 0) throw new Error(`patch "${p.name}": anchor not found exactly once in ${p.file}`);
      next = text.replace(p.from, p.to);
    } else {
      const matches = text.match(new RegExp(p.pattern.source, 'g')) ?? [];
      if (matches.length !== 1) throw new Error(`patch "${p.name}": pattern matched ${matches.length} times in ${p.file}`);
      next = text.replace(p.pattern, p.to);
    }
    fs.writeFileSync(file, next);
    done.push(p.name);
  }
  return done;
}
