// The head of every REST response, byte for byte: on the native engine the status line,
// Content-Type and x-request-id go to uWebSockets.js as one writeStatus argument (wire-text.ts
// headWithRequestId), and POST / GET requests take the method from their route instead of asking
// the request. Each response must still carry exactly one status line, one Content-Type and one
// x-request-id, whatever else it carries (CORS, Allow, streamed bodies), and every method must
// still reach its handler.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseContentLength } from '../../src/server/http/exchange.js';
import { demoBasePath, rawExchange, startServer, type TestServer } from './helpers.js';

const PREDICT = '/v1/models/half_plus_two:predict';
const GENERATED_ID = /^[0-9a-f]{16}-[0-9a-f]+$/;

interface Head {
  statusLine: string;
  /** [lower-case name, value] in wire order. */
  fields: [string, string][];
  body: Buffer;
}

function request(method: string, path: string, body = '', extra = ''): string {
  const length = body === '' && method !== 'POST' ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${length}${extra}Connection: close\r\n\r\n${body}`;
}

async function exchange(port: number, raw: string): Promise<Head> {
  const received = await rawExchange(port, raw, () => false);
  const end = received.indexOf('\r\n\r\n');
  expect(end).toBeGreaterThan(0);
  const lines = received.subarray(0, end).toString('latin1').split('\r\n');
  const fields = lines.slice(1).map((line): [string, string] => {
    const c = line.indexOf(':');
    return [line.slice(0, c).toLowerCase(), line.slice(c + 1).trim()];
  });
  return { statusLine: lines[0]!, fields, body: received.subarray(end + 4) };
}

function values(head: Head, name: string): string[] {
  return head.fields.filter(([n]) => n === name).map(([, v]) => v);
}

/** One status line, one Content-Type, one x-request-id: the head's invariant. */
function expectHead(head: Head, statusLine: string, contentType: string, requestId: string | RegExp): void {
  expect(head.statusLine).toBe(statusLine);
  expect(values(head, 'content-type')).toEqual([contentType]);
  const ids = values(head, 'x-request-id');
  expect(ids).toHaveLength(1);
  if (typeof requestId === 'string') expect(ids[0]).toBe(requestId);
  else expect(ids[0]).toMatch(requestId);
  // nothing was folded into another field's value
  for (const [name, value] of head.fields) expect(`${name}: ${value}`).not.toMatch(/[\r\n]/);
}

describe('response heads', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }]);
  });
  afterAll(() => srv?.close());

  it('POST predict: 200 with one Content-Type and the client x-request-id', async () => {
    const head = await exchange(srv.port, request('POST', PREDICT, '{"instances": [1.0, 2.0]}', 'x-request-id: client-7\r\n'));
    expectHead(head, 'HTTP/1.1 200 OK', 'application/json', 'client-7');
    expect(JSON.parse(head.body.toString())).toEqual({ predictions: [2.5, 3.0] });
  });

  it('GET status and an error answer carry a generated x-request-id', async () => {
    const status = await exchange(srv.port, request('GET', '/v1/models/half_plus_two'));
    expectHead(status, 'HTTP/1.1 200 OK', 'application/json', GENERATED_ID);
    const missing = await exchange(srv.port, request('GET', '/v1/models/nope'));
    expectHead(missing, 'HTTP/1.1 404 Not Found', 'application/json', GENERATED_ID);
    const bad = await exchange(srv.port, request('POST', PREDICT, '{"instances": ['));
    expectHead(bad, 'HTTP/1.1 400 Bad Request', 'application/json', GENERATED_ID);
  });

  it('methods other than POST and GET reach the server and are named in its answers', async () => {
    const put = await exchange(srv.port, request('PUT', '/v1/models/half_plus_two', '{}'));
    expectHead(put, 'HTTP/1.1 400 Bad Request', 'application/json', GENERATED_ID);
    expect(JSON.parse(put.body.toString()).error).toBe('Malformed request: PUT /v1/models/half_plus_two');
    const del = await exchange(srv.port, request('DELETE', '/nowhere'));
    expectHead(del, 'HTTP/1.1 404 Not Found', 'application/json', GENERATED_ID);
    expect(JSON.parse(del.body.toString()).error).toMatch(/^Not found: DELETE \/nowhere /);
  });

  it('extra headers (Allow on a 405) follow the head', async () => {
    const post = await exchange(srv.port, request('POST', '/v2/models/half_plus_two/shadow', '{}'));
    expectHead(post, 'HTTP/1.1 405 Method Not Allowed', 'application/json', GENERATED_ID);
    expect(values(post, 'allow')).toEqual(['GET']);
  });

  it('a streamed (chunked) predict response has the same head', async () => {
    const n = 200_000;
    const body = `{"instances": [${new Array(n).fill('1.5').join(', ')}]}`;
    const head = await exchange(srv.port, request('POST', PREDICT, body, 'x-request-id: big-1\r\n'));
    expectHead(head, 'HTTP/1.1 200 OK', 'application/json', 'big-1');
    expect(values(head, 'transfer-encoding')).toEqual(['chunked']);
  });
});

describe('response heads with CORS', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }], { cors: true });
  });
  afterAll(() => srv?.close());

  it('the CORS headers come with the head, each once', async () => {
    const head = await exchange(srv.port, request('POST', PREDICT, '{"instances": [1.0]}', 'Origin: http://a.example\r\n'));
    expectHead(head, 'HTTP/1.1 200 OK', 'application/json', GENERATED_ID);
    expect(values(head, 'access-control-allow-origin')).toHaveLength(1);
  });
});

describe('Content-Length values', () => {
  it('digits only, leading zeros allowed, exact beyond 15 digits as Number()', () => {
    expect(parseContentLength('')).toBeUndefined();
    expect(parseContentLength('0')).toBe(0);
    expect(parseContentLength('007')).toBe(7);
    expect(parseContentLength('123456789012345')).toBe(123456789012345);
    expect(parseContentLength('9007199254740993')).toBe(Number('9007199254740993'));
    expect(parseContentLength('12345678901234567890123')).toBe(Number('12345678901234567890123'));
    for (const bad of ['12a', '-1', ' 1', '1 ', '1.5', '+1', '0x10']) expect(parseContentLength(bad)).toBeNaN();
  });
});
