// The uWebSockets.js transport done right, on a real server over loopback: body limit (413, with
// and without Content-Length), gzip bodies, keep-alive and pipelining, the request timeout (504 for
// a slow run, 408 for a stalled body), clients that vanish mid-request, backpressure on a large
// response read by a slow client, garbage on the socket, and a graceful close that drains.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { connect } from 'node:net';
import type { Tensor } from '../../src/engine/tensor.js';
import type { ServableVersion } from '../../src/models/harness.js';
import {
  countResponses,
  demoBasePath,
  parseLenientJson,
  parseResponses,
  postJson,
  rawExchange,
  request,
  startServer,
  type TestServer,
} from './helpers.js';

const HPT = '/v1/models/half_plus_two';
const PREDICT = `${HPT}:predict`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function version(srv: TestServer): ServableVersion {
  return srv.manager.model('half_plus_two')!.versions.get(1)!;
}

/** Makes every run of half_plus_two take `ms` longer (its Model's run, which every runner calls). */
function slowDown(srv: TestServer, ms: number): () => void {
  const model = version(srv).model;
  const run = model.run;
  model.run = async (inputs: Readonly<Record<string, Tensor>>, options) => {
    await sleep(ms);
    return run.call(model, inputs, options);
  };
  return () => {
    model.run = run;
  };
}

function rawPost(path: string, body: string, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

describe('limits and content handling', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }], { maxBodyBytes: 64 * 1024 });
  });
  afterAll(() => srv?.close());

  it('a body over --rest_api_max_body_bytes (Content-Length) → 413, and the next request works', async () => {
    const big = `{"instances": [${Array(30000).fill('1.0').join(',')}]}`;
    const r = await postJson(srv.base, PREDICT, big);
    expect(r.status).toBe(413);
    expect(r.json.error).toBe(
      `Request body of ${big.length} bytes exceeds the limit of 65536 bytes (--rest_api_max_body_bytes)`,
    );
    const ok = await postJson(srv.base, PREDICT, '{"instances": [1.0]}');
    expect(ok.json).toEqual({ predictions: [2.5] });
  });

  it('a chunked body (no Content-Length) that grows past the limit → 413', async () => {
    const chunk = `${Array(5000).fill('1.0').join(',')},`;
    const head = `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`;
    let payload = head;
    const part = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    payload += part('{"instances": [');
    for (let i = 0; i < 20; i++) payload += part(chunk);
    payload += part('1.0]}') + '0\r\n\r\n';
    const got = await rawExchange(srv.port, payload, countResponses(1));
    const [res] = parseResponses(got).responses;
    expect(res!.status).toBe(413);
    expect(JSON.parse(res!.body.toString()).error).toMatch(/exceeds the limit of 65536 bytes/);
  });

  it('a chunked body under the limit is assembled and served', async () => {
    const parts = ['{"instances"', ': [1.0, ', '2.0]}'];
    const payload =
      `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
      parts.map((s) => `${s.length.toString(16)}\r\n${s}\r\n`).join('') +
      '0\r\n\r\n';
    const got = await rawExchange(srv.port, payload, countResponses(1));
    const [res] = parseResponses(got).responses;
    expect(res!.status).toBe(200);
    expect(JSON.parse(res!.body.toString())).toEqual({ predictions: [2.5, 3.0] });
  });

  it('a Content-Length body that arrives in pieces is assembled and served; one piece is decoded in place', async () => {
    // uWS hands a body that arrives whole to the route in its receive buffer (decoded there, never
    // copied); one that arrives in several reads is collected first: both must answer the same
    const body = '{"instances": [1.0, 2.0, 3.0]}';
    const head = rawPost(PREDICT, body).slice(0, -body.length);
    const pieces = [head, ...body.match(/.{1,7}/g)!];
    const got = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(srv.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('error', reject);
      socket.on('data', (d) => {
        chunks.push(d);
        if (countResponses(1)(Buffer.concat(chunks))) {
          socket.destroy();
          resolve(Buffer.concat(chunks));
        }
      });
      socket.on('connect', async () => {
        socket.setNoDelay(true);
        for (const p of pieces) {
          socket.write(p);
          await sleep(15);
        }
      });
    });
    const [res] = parseResponses(got).responses;
    expect(res!.status).toBe(200);
    expect(JSON.parse(res!.body.toString())).toEqual({ predictions: [2.5, 3.0, 3.5] });
    const whole = await rawExchange(srv.port, rawPost(PREDICT, body), countResponses(1));
    expect(JSON.parse(parseResponses(whole).responses[0]!.body.toString())).toEqual({ predictions: [2.5, 3.0, 3.5] });
  });

  it('gzip request bodies (Content-Encoding) are inflated; a gzip bomb past the limit → 413', async () => {
    const body = gzipSync('{"instances": [1.0, 5.0]}');
    const r = await request(srv.base, PREDICT, {
      method: 'POST',
      body: body,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ predictions: [2.5, 4.5] });
    const bomb = gzipSync(`{"instances": [${Array(100000).fill('0.0').join(',')}]}`);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const b = await request(srv.base, PREDICT, {
      method: 'POST',
      body: bomb,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(b.status).toBe(413);
    expect(b.json.error).toMatch(/Decompressed request body exceeds the limit of 65536 bytes/);
    const br = await request(srv.base, PREDICT, { method: 'POST', body: '{}', headers: { 'content-encoding': 'br' } });
    expect(br.status).toBe(415);
    expect(br.json.error).toMatch(/Unsupported Content-Encoding 'br'/);
  });

  it('keep-alive: pipelined GETs on one connection are all answered, in order', async () => {
    // uWS answers these synchronously; a request pipelined behind a still-running predict makes
    // uWS v20.30 close the connection (clients that pipeline POSTs are rare: curl, browsers,
    // undici and wrk send one request at a time per connection)
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const payload = get(HPT) + get('/v1/models/nope') + get(`${HPT}/metadata`) + get('/v2/health/ready');
    const got = await rawExchange(srv.port, payload, countResponses(4));
    const { responses } = parseResponses(got);
    expect(responses.map((r) => r.status)).toEqual([200, 404, 200, 200]);
    expect(JSON.parse(responses[0]!.body.toString()).model_version_status[0].state).toBe('AVAILABLE');
    expect(JSON.parse(responses[3]!.body.toString())).toEqual({ ready: true });
  });

  it('keep-alive: a connection stays open between requests', async () => {
    const socket = connect(srv.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    const waitFor = async (n: number) => {
      for (let i = 0; i < 200 && parseResponses(Buffer.concat(chunks)).responses.length < n; i++) await sleep(10);
      return parseResponses(Buffer.concat(chunks)).responses;
    };
    socket.write(rawPost(PREDICT, '{"instances": [1.0]}'));
    expect((await waitFor(1)).length).toBe(1);
    await sleep(200);
    expect(socket.destroyed).toBe(false);
    socket.write(rawPost(PREDICT, '{"instances": ['));
    expect((await waitFor(2)).length).toBe(2); // a 400 keeps the connection too
    socket.write(rawPost(PREDICT, '{"instances": [2.0]}'));
    const all = await waitFor(3);
    socket.destroy();
    expect(all.map((r) => r.status)).toEqual([200, 400, 200]);
    expect(JSON.parse(all[2]!.body.toString())).toEqual({ predictions: [3.0] });
  });

  it('header fields: 48 are served; 49 get 431 with a JSON error on every engine but the uWS package binary', async () => {
    const head = (fields: number) =>
      `GET ${HPT} HTTP/1.1\r\nHost: x\r\n${Array.from({ length: fields - 1 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`;
    const [ok] = parseResponses(await rawExchange(srv.port, head(48), countResponses(1), { timeoutMs: 5000 })).responses;
    expect(ok!.status).toBe(200);
    if (srv.server.engine.source?.startsWith('uWebSockets.js package')) {
      // The package's uWebSockets.js v20.30 holds such a request in C++ (no response; closed at
      // its idle timeout): see header-limits.ts.
      const got = await rawExchange(srv.port, head(49), () => false, { timeoutMs: 1500 }).catch(() => Buffer.alloc(0));
      expect(got.length).toBe(0);
    } else {
      // jetserve's uWS build (scripts/uws/patches.mjs) and the node:http fallback answer at once
      const [refused] = parseResponses(await rawExchange(srv.port, head(49), countResponses(1), { timeoutMs: 5000 })).responses;
      expect(refused!.status).toBe(431);
      expect(JSON.parse(refused!.body.toString())).toEqual({ error: 'Request has more than 48 header fields, the most this server accepts' });
    }
    expect((await postJson(srv.base, PREDICT, '{"instances": [1.0]}')).status).toBe(200);
  });

  it('garbage on the socket does not disturb the server', async () => {
    await rawExchange(srv.port, 'NOT HTTP AT ALL\r\n\x00\x01\x02\r\n\r\n', () => false, { timeoutMs: 2000 }).catch(() => {});
    await rawExchange(srv.port, `POST ${PREDICT} HTTP/1.1\r\nContent-Length: -5\r\n\r\n`, () => false, {
      timeoutMs: 2000,
    }).catch(() => {});
    const ok = await postJson(srv.base, PREDICT, '{"instances": [1.0]}');
    expect(ok.json).toEqual({ predictions: [2.5] });
  });
});

describe('timeouts, aborts, backpressure, graceful close', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }], { timeoutMs: 400 });
  });
  afterAll(() => srv?.close());

  it('a run slower than --rest_api_timeout_in_ms → 504 DEADLINE_EXCEEDED; the server keeps serving', async () => {
    const restore = slowDown(srv, 1200);
    try {
      const started = Date.now();
      const r = await postJson(srv.base, PREDICT, '{"instances": [1.0]}');
      const elapsed = Date.now() - started;
      expect(r.status).toBe(504);
      expect(r.json.error).toMatch(/Deadline exceeded/);
      expect(elapsed).toBeGreaterThanOrEqual(350);
      expect(elapsed).toBeLessThan(1100);
    } finally {
      restore();
    }
    const ok = await postJson(srv.base, PREDICT, '{"instances": [1.0]}');
    expect(ok.json).toEqual({ predictions: [2.5] });
    await sleep(900); // let the abandoned run finish
    expect(version(srv).inFlight).toBe(0);
  });

  it('a body that stops arriving → 408 and the connection is closed', async () => {
    const head = `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"instances": [1.0`;
    const got = await rawExchange(srv.port, head, countResponses(1), { timeoutMs: 5000 });
    const [res] = parseResponses(got).responses;
    expect(res!.status).toBe(408);
    expect(JSON.parse(res!.body.toString()).error).toBe('Request body not received within 400 ms');
  });

  it('a client that disconnects mid-run does not take the server down; in-flight counts return to 0', async () => {
    const restore = slowDown(srv, 250);
    const abortedBefore = srv.server.stats.aborted;
    try {
      const sockets = Array.from({ length: 5 }, () => {
        const s = connect(srv.port, '127.0.0.1');
        s.on('error', () => {});
        s.write(rawPost(PREDICT, '{"instances": [1.0, 2.0]}'));
        return s;
      });
      await sleep(100);
      for (const s of sockets) s.destroy();
      await sleep(400);
    } finally {
      restore();
    }
    expect(srv.server.stats.aborted - abortedBefore).toBe(5);
    expect(srv.server.inFlight).toBe(0);
    expect(version(srv).inFlight).toBe(0);
    const ok = await postJson(srv.base, PREDICT, '{"instances": [1.0]}');
    expect(ok.json).toEqual({ predictions: [2.5] });
  });

  it('a large response to a slow reader goes out with backpressure, complete and correct', async () => {
    // its own server with the default timeout: a 7 MB body sent on a busy machine may take longer
    // than this suite's 400 ms body timeout
    const own = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }]);
    try {
      await slowReader(own);
    } finally {
      await own.close();
    }
  }, 60_000);

  async function slowReader(srv: TestServer): Promise<void> {
    const n = 1_000_000;
    const body = `{"inputs": [${Array.from({ length: n }, (_, i) => `${i % 1000}.0`).join(',')}]}`;
    const before = srv.server.stats.backpressured;
    const streamedBefore = srv.server.stats.streamed;
    const got = await rawExchange(srv.port, rawPost(PREDICT, body), countResponses(1), { pauseMs: 700, timeoutMs: 30_000 });
    const [res] = parseResponses(got).responses;
    expect(res!.status).toBe(200);
    // produced and written in chunks (about one chunk in memory at a time), not as one string
    expect(res!.headers['transfer-encoding']).toBe('chunked');
    expect(srv.server.stats.streamed).toBe(streamedBefore + 1);
    const out = parseLenientJson(res!.body.toString()).outputs as number[];
    expect(out.length).toBe(n);
    for (const i of [0, 1, 999, 123_456, n - 1]) expect(out[i]).toBe(0.5 * (i % 1000) + 2);
    if (srv.server.engine.native) expect(srv.server.stats.backpressured).toBeGreaterThan(before);
  }

  it('close() stops accepting, answers the request in flight, then frees the port', async () => {
    const own = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }]);
    slowDown(own, 300);
    const pending = postJson(own.base, PREDICT, '{"instances": [4.0]}');
    await sleep(100);
    expect(own.server.inFlight).toBe(1);
    const closed = own.close();
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ predictions: [4.0] });
    await closed;
    await expect(request(own.base, HPT)).rejects.toThrow();
  });
});
