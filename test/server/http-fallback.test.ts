// When the native uWebSockets.js binary cannot load, the package falls back to a node:http shim.
// UWS_USE_FALLBACK=1 forces that here (this file runs in its own process): the server must say so
// in /v2 metadata and still serve every route, large responses and errors included.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from './helpers.js';

let srv: TestServer;
let helpers: typeof import('./helpers.js');

beforeAll(async () => {
  process.env.UWS_USE_FALLBACK = '1';
  helpers = await import('./helpers.js');
  srv = await helpers.startServer([{ name: 'half_plus_two', basePath: helpers.demoBasePath() }], {
    maxBodyBytes: 2 * 1024 * 1024,
  });
});

afterAll(async () => {
  await srv?.close();
  delete process.env.UWS_USE_FALLBACK;
});

describe('node:http fallback (UWS_USE_FALLBACK=1)', () => {
  it('/v2 server metadata reports the fallback engine and why', async () => {
    const r = await helpers.request(srv.base, '/v2');
    expect(r.status).toBe(200);
    expect(r.json.jetserve.http_engine).toBe('node:http fallback');
    expect(r.json.jetserve.http_engine_fallback_reason).toBe('UWS_USE_FALLBACK=1 is set');
    expect(srv.server.engine.native).toBe(false);
  });

  it('serves TF Serving predict, status and errors; query strings are ignored', async () => {
    const p = await helpers.postJson(srv.base, '/v1/models/half_plus_two:predict?trace=1', '{"instances": [1.0, 2.0, 5.0]}');
    expect(p.status).toBe(200);
    expect(p.json).toEqual({ predictions: [2.5, 3.0, 4.5] });
    const s = await helpers.request(srv.base, '/v1/models/half_plus_two');
    expect(s.json.model_version_status[0].state).toBe('AVAILABLE');
    const bad = await helpers.postJson(srv.base, '/v1/models/half_plus_two:predict', '{"instances": [');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/JSON Parse error/);
    const missing = await helpers.postJson(srv.base, '/v1/models/nope:predict', '{"instances": [1.0]}');
    expect(missing.status).toBe(404);
  });

  it('responses carry one Content-Type and one x-request-id; PUT and DELETE reach the server', async () => {
    const post = await fetch(`${srv.base}/v1/models/half_plus_two:predict`, {
      method: 'POST',
      headers: { 'x-request-id': 'fb-1' },
      body: '{"instances": [1.0]}',
    });
    expect(post.headers.get('content-type')).toBe('application/json');
    expect(post.headers.get('x-request-id')).toBe('fb-1');
    expect(await post.json()).toEqual({ predictions: [2.5] });
    const put = await fetch(`${srv.base}/v1/models/half_plus_two`, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { error: string }).error).toBe('Malformed request: PUT /v1/models/half_plus_two');
    const del = await fetch(`${srv.base}/nowhere`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    expect(del.headers.get('x-request-id')).toMatch(/^[0-9a-f]{16}-[0-9a-f]+$/);
  });

  it('a large response is written completely (no tryEnd in the shim)', async () => {
    const n = 200_000;
    const body = `{"inputs": [${Array.from({ length: n }, (_, i) => `${i}.0`).join(',')}]}`;
    const r = await helpers.postJson(srv.base, '/v1/models/half_plus_two:predict', body);
    expect(r.status).toBe(200);
    const out = r.json.outputs as number[];
    expect(out.length).toBe(n);
    expect(out[n - 1]).toBe(0.5 * (n - 1) + 2);
  });

  it('413 for an oversized body, and the server keeps serving', async () => {
    const big = `{"instances": [${Array(600_000).fill('1.0').join(',')}]}`;
    const r = await helpers.postJson(srv.base, '/v1/models/half_plus_two:predict', big);
    expect(r.status).toBe(413);
    const ok = await helpers.postJson(srv.base, '/v1/models/half_plus_two:predict', '{"instances": [1.0]}');
    expect(ok.json).toEqual({ predictions: [2.5] });
  });

  describe('header limits (header-limits.ts)', () => {
    const head = (fields: number, valueBytes = 2) =>
      `GET /v1/models/half_plus_two HTTP/1.1\r\nHost: x\r\n${Array.from({ length: fields - 1 }, (_, i) => `X-H${i}: ${'v'.repeat(valueBytes)}\r\n`).join('')}\r\n`;
    const exchange = async (payload: string) => {
      const got = await helpers.rawExchange(srv.server.port, payload, helpers.countResponses(1), { timeoutMs: 5000 });
      const [res] = helpers.parseResponses(got).responses;
      return { status: res!.status, headers: res!.headers, json: JSON.parse(res!.body.toString()) };
    };

    it('48 header fields are served; 49 and 200 get 431 with a JSON error at once', async () => {
      expect((await exchange(head(48))).status).toBe(200);
      for (const n of [49, 200]) {
        const t0 = Date.now();
        const r = await exchange(head(n));
        expect(r.status, String(n)).toBe(431);
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.json.error).toBe('Request has more than 48 header fields, the most this server accepts');
        expect(Date.now() - t0).toBeLessThan(2000);
      }
    });

    it('a header section over node:http\'s size limit → 431 JSON; a malformed request → 400 JSON', async () => {
      const big = await exchange(head(2, 20_000));
      expect(big.status).toBe(431);
      expect(big.json.error).toMatch(/^Request header section exceeds \d+ bytes/);
      const bad = await exchange('GET /v1 HTTP/1.1\r\nHost x\r\n\r\n');
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/^Malformed HTTP request/);
      const ok = await helpers.postJson(srv.base, '/v1/models/half_plus_two:predict', '{"instances": [1.0]}');
      expect(ok.json).toEqual({ predictions: [2.5] });
    });
  });
});

describe('administrative routes, CORS and the dashboard stream on the fallback', () => {
  it('the loopback opt-in reads the peer from the socket; a token-only server still asks; CORS headers and SSE work', async () => {
    const { HttpServer } = await import('../../src/server/http/server.js');
    const { AdminAuth } = await import('../../src/server/admin-auth.js');
    const { join } = await import('node:path');
    const make = async (admin: InstanceType<typeof AdminAuth>) => {
      const server = new HttpServer(srv.manager, {
        log: () => {},
        repositoryApi: true,
        cors: true,
        admin,
        dashboard: { assetsDir: join(process.cwd(), 'static', 'dashboard'), intervalMs: 100 },
      });
      return { server, base: `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}` };
    };
    const loopback = await make(new AdminAuth({ allowLoopback: true }));
    const tokenOnly = await make(new AdminAuth({ token: 'fallback-token-0123456789' }));
    try {
      expect(loopback.server.engine.native).toBe(false);
      const ok = await fetch(`${loopback.base}/v2/repository/index`, { method: 'POST' });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe('*');
      expect((await fetch(`${tokenOnly.base}/v2/repository/index`, { method: 'POST' })).status).toBe(401);
      // two snapshots arrive on the event stream, then the server closes it
      const events = await fetch(`${loopback.base}/dashboard/api/events`);
      expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = events.body!.getReader();
      let text = '';
      while ((text.match(/event: snapshot/g) ?? []).length < 2) text += Buffer.from((await reader.read()).value!).toString();
      expect(text).toMatch(/"name":"half_plus_two"/);
    } finally {
      await loopback.server.close(1000);
      await tokenOnly.server.close(1000);
    }
  });
});

