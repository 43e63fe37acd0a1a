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
});
