// Admin security (issue 13 item 5) over real parts: the REST server and the gRPC server over one
// model manager with a Triton-style model repository. The administrative APIs (repository API,
// HandleReloadConfigRequest, dashboard data and actions) are off by default; on, they need
// `Authorization: Bearer <token>` (--admin_token_file) or — opted in — a loopback peer. gRPC is
// driven by the official Python clients (tritonclient, tensorflow-serving-api) sending metadata.
// Also: the peer-address parsing, the token file rules, the start-up refusals, and CORS
// (--rest_api_enable_cors_support) as TF Serving answers it.

import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../src/models/manager.js';
import { AdminAuth, isLocalPeer, MIN_ADMIN_TOKEN_LENGTH } from '../../src/server/admin-auth.js';
import { startGrpcServer, type GrpcServer } from '../../src/server/grpc/index.js';
import { HttpServer } from '../../src/server/http/server.js';
import { startServer, StartupError } from '../../src/serve/start.js';
import { ServerOptionsError } from '../../src/serve/options.js';
import { fixturesDir } from '../helpers/oracle.js';
import { expectError, PythonDriver } from '../grpc/python-driver.js';
import { demoBasePath } from './helpers.js';

const TOKEN = 'a-test-token-of-32-characters-xx';
const HALF_PLUS_TWO = join(fixturesDir(), 'half_plus_two');

let repo: string;
let manager: ModelManager;
let py: PythonDriver;

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'jetserve-admin-'));
  cpSync(HALF_PLUS_TWO, join(repo, 'a'), { recursive: true });
  cpSync(HALF_PLUS_TWO, join(repo, 'b'), { recursive: true });
  [manager, py] = await Promise.all([
    ModelManager.create([{ name: 'a', basePath: join(repo, 'a') }], { repositoryRoot: repo, fileSystemPollWaitSeconds: 0, maxNumLoadRetries: 0 }),
    PythonDriver.start(),
  ]);
});

afterAll(async () => {
  await py?.close();
  await manager?.close();
  if (repo) rmSync(repo, { recursive: true, force: true });
});

async function rest(options: ConstructorParameters<typeof HttpServer>[1]): Promise<{ base: string; close(): Promise<void> }> {
  const server = new HttpServer(manager, { log: () => {}, ...options });
  const port = await server.listen(0, '127.0.0.1');
  return { base: `http://127.0.0.1:${port}`, close: () => server.close(1000) };
}

const index = (base: string, headers: Record<string, string> = {}) => fetch(`${base}/v2/repository/index`, { method: 'POST', headers });

describe('peer addresses and tokens', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.200.3.4', true],
    ['::1', true],
    ['0000:0000:0000:0000:0000:0000:0000:0001', true],
    ['::ffff:127.0.0.1', true],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', true],
    ['127.0.0.1:50123', true],
    ['[::1]:50123', true],
    ['ipv4:127.0.0.1:50123', true],
    ['ipv6:[::1]:50123', true],
    ['unix', true],
    ['unix:/tmp/jetserve.sock', true],
    ['10.0.0.1', false],
    ['192.168.1.7:4000', false],
    ['::2', false],
    ['::ffff:10.0.0.1', false],
    ['0000:0000:0000:0000:0000:ffff:0a00:0001', false],
    ['128.0.0.1', false],
    ['localhost', false],
    ['', false],
  ])('%s is local: %s', (peer, local) => {
    expect(isLocalPeer(peer)).toBe(local);
  });

  it('names what is missing, and accepts only the exact token', () => {
    const auth = new AdminAuth({ token: TOKEN });
    const peer = () => '127.0.0.1';
    expect(auth.check(undefined, peer)?.message).toMatch(/needs an 'Authorization: Bearer <token>' header \(the token in the server's --admin_token_file\)/);
    expect(auth.check('Basic dXNlcjpwYXNz', peer)?.message).toMatch(/must be 'Bearer <token>'/);
    expect(auth.check(`Bearer ${TOKEN}x`, peer)?.message).toMatch(/does not match the server's --admin_token_file/);
    expect(auth.check(`Bearer ${TOKEN.slice(0, -1)}`, peer)?.code).toBe('UNAUTHENTICATED');
    expect(auth.check('Bearer short', peer)?.code).toBe('UNAUTHENTICATED');
    expect(auth.check(`Bearer ${TOKEN}`, peer)).toBeUndefined();
    expect(auth.check(`bearer   ${TOKEN} `, peer)).toBeUndefined();
    // loopback opt-in: local peers need nothing, others still need the token
    const both = new AdminAuth({ token: TOKEN, allowLoopback: true });
    expect(both.check(undefined, () => '127.0.0.1')).toBeUndefined();
    expect(both.check(undefined, () => '10.1.2.3')?.code).toBe('UNAUTHENTICATED');
    expect(both.check(`Bearer ${TOKEN}`, () => '10.1.2.3')).toBeUndefined();
    const loopbackOnly = new AdminAuth({ allowLoopback: true });
    expect(loopbackOnly.check(`Bearer ${TOKEN}`, () => '10.1.2.3')?.message).toMatch(/accepted from loopback addresses only/);
    // nothing configured: nobody, naming both flags
    expect(new AdminAuth().check(`Bearer ${TOKEN}`, peer)?.message).toMatch(/--admin_token_file or --admin_allow_loopback_without_token/);
  });

  it('token files: surrounding whitespace ignored; short, empty or unreadable files refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-token-'));
    try {
      writeFileSync(join(dir, 'ok'), `\n  ${TOKEN}\n`);
      expect(AdminAuth.fromTokenFile(join(dir, 'ok')).check(`Bearer ${TOKEN}`, () => undefined)).toBeUndefined();
      writeFileSync(join(dir, 'short'), 'x'.repeat(MIN_ADMIN_TOKEN_LENGTH - 1));
      expect(() => AdminAuth.fromTokenFile(join(dir, 'short'))).toThrow(/at least 16 characters/);
      writeFileSync(join(dir, 'empty'), '\n');
      expect(() => AdminAuth.fromTokenFile(join(dir, 'empty'))).toThrow(/at least 16 characters/);
      expect(() => AdminAuth.fromTokenFile(join(dir, 'missing'))).toThrow(/cannot read --admin_token_file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('REST administrative routes', () => {
  it('repository API: off → 404 naming the flag; on → 401 without / with a wrong token (WWW-Authenticate), 200 with it', async () => {
    const off = await rest({ admin: new AdminAuth({ token: TOKEN }) });
    const on = await rest({ repositoryApi: true, admin: new AdminAuth({ token: TOKEN }) });
    try {
      const disabled = await index(off.base, { Authorization: `Bearer ${TOKEN}` });
      expect(disabled.status).toBe(404);
      expect(((await disabled.json()) as { error: string }).error).toMatch(/--enable_model_repository_api/);

      const missing = await index(on.base);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="jetserve-admin"');
      expect(((await missing.json()) as { error: string }).error).toMatch(/needs an 'Authorization: Bearer <token>' header/);
      const wrong = await index(on.base, { Authorization: 'Bearer not-the-token-at-all-000' });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/does not match/);
      // a refused load changes nothing
      const load = await fetch(`${on.base}/v2/repository/models/b/load`, { method: 'POST' });
      expect(load.status).toBe(401);
      expect(manager.modelNames()).toEqual(['a']);

      const ok = await index(on.base, { Authorization: `Bearer ${TOKEN}` });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { name: string }[]).map((m: { name: string }) => m.name)).toEqual(['a', 'b']);
      // inference needs no token
      const predict = await fetch(`${on.base}/v1/models/a:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
      expect(await predict.json()).toEqual({ predictions: [2.5] });
    } finally {
      await Promise.all([off.close(), on.close()]);
    }
  });

  it('the loopback opt-in admits 127.0.0.1 and ::1 without a token; with no token and no opt-in nobody is admitted', async () => {
    const loopback = await rest({ repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) });
    const nobody = await rest({ repositoryApi: true });
    try {
      expect((await index(loopback.base)).status).toBe(200);
      const v6 = new HttpServer(manager, { log: () => {}, repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) });
      const port = await v6.listen(0, '::1');
      try {
        expect((await index(`http://[::1]:${port}`)).status).toBe(200);
      } finally {
        await v6.close(1000);
      }
      const refused = await index(nobody.base, { Authorization: `Bearer ${TOKEN}` });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: string }).error).toMatch(/--admin_token_file or --admin_allow_loopback_without_token/);
    } finally {
      await Promise.all([loopback.close(), nobody.close()]);
    }
  });

  it('dashboard: the page is public, its data and actions need the token', async () => {
    const dash = await rest({ admin: new AdminAuth({ token: TOKEN }), dashboard: { assetsDir: join(process.cwd(), 'static', 'dashboard') } });
    try {
      const page = await fetch(`${dash.base}/dashboard`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<title>jetserve dashboard<\/title>/);
      expect((await fetch(`${dash.base}/dashboard/api/state`)).status).toBe(401);
      expect((await fetch(`${dash.base}/dashboard/api/events`)).status).toBe(401);
      const unload = await fetch(`${dash.base}/dashboard/api/models/a/unload`, { method: 'POST' });
      expect(unload.status).toBe(401);
      expect(manager.resolve({ name: 'a' }).version).toBe(1);
      const state = await fetch(`${dash.base}/dashboard/api/state`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(state.status).toBe(200);
      const snapshot = (await state.json()) as { models: { name: string; versions: { state: string }[] }[] };
      expect(snapshot.models.find((m) => m.name === 'a')?.versions.map((v) => v.state)).toEqual(['AVAILABLE']);
      // an asset route is a fixed table: nothing else under /dashboard is a file
      for (const path of ['/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/index.html', '/dashboard/static/dashboard.js']) {
        expect((await fetch(`${dash.base}${path}`)).status, path).toBe(404);
      }
    } finally {
      await dash.close();
    }
  });
});

describe('gRPC administrative methods (official clients sending metadata)', () => {
  let grpcOn: GrpcServer;
  let grpcOff: GrpcServer;
  let on: string;
  let off: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    const admin = new AdminAuth({ token: TOKEN });
    grpcOn = await startGrpcServer(manager, { port: 0, host: '127.0.0.1', log: () => {}, repositoryApi: true, reloadApi: true, admin });
    grpcOff = await startGrpcServer(manager, { port: 0, host: '127.0.0.1', log: () => {}, admin });
    on = `127.0.0.1:${grpcOn.port}`;
    off = `127.0.0.1:${grpcOff.port}`;
  });

  afterAll(async () => {
    await grpcOn?.close(1000);
    await grpcOff?.close(1000);
  });

  it('HandleReloadConfigRequest: off by default (UNIMPLEMENTED naming the flag), on it needs the token', async () => {
    const models = [{ name: 'a', base_path: join(repo, 'a') }];
    expectError(await py.call({ op: 'reload', target: off, models, metadata: auth }), 'UNIMPLEMENTED', /disabled; start jetserve with --enable_reload_config_api/);
    expectError(await py.call({ op: 'reload', target: on, models }), 'UNAUTHENTICATED', /needs an 'Authorization: Bearer <token>' header/);
    expectError(
      await py.call({ op: 'reload', target: on, models: [{ name: 'gone', base_path: join(repo, 'b') }], metadata: { authorization: 'Bearer wrong-token-wrong-token' } }),
      'UNAUTHENTICATED',
      /does not match/,
    );
    expect(manager.modelNames()).toEqual(['a']);
    const ok = await py.call({ op: 'reload', target: on, models, metadata: auth });
    expect(ok.ok, JSON.stringify(ok)).toBe(true);
  });

  it('repository RPCs: UNAUTHENTICATED without the token, served with it; off they stay UNIMPLEMENTED', async () => {
    expectError(await py.call({ op: 'triton_repository_index', target: on }), 'UNAUTHENTICATED', /Authorization: Bearer/);
    expectError(await py.call({ op: 'triton_load', target: on, model: 'b' }), 'UNAUTHENTICATED', /Authorization: Bearer/);
    expect(manager.modelNames()).toEqual(['a']);
    expectError(await py.call({ op: 'triton_repository_index', target: off, metadata: auth }), 'UNIMPLEMENTED', /--enable_model_repository_api/);
    const listed = await py.rpc({ op: 'triton_repository_index', target: on, metadata: auth });
    expect((listed.index as { name: string }[]).map((m) => m.name)).toEqual(['a', 'b']);
  });
});

describe('start-up', () => {
  it('an administrative API without a token or the loopback opt-in is refused, naming the flags', async () => {
    for (const option of ['enableModelRepositoryApi', 'enableReloadConfigApi', 'enableDashboard'] as const) {
      await expect(startServer({ [option]: true, restApiPort: 0, port: false, log: false })).rejects.toThrow(ServerOptionsError);
      const flag = option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      await expect(startServer({ [option]: true, restApiPort: 0, port: false, log: false })).rejects.toThrow(
        new RegExp(`--${flag} serves an administrative API, which needs --admin_token_file .* or --admin_allow_loopback_without_token`),
      );
    }
  });

  it('a short token file fails start-up naming the flag; a good one serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-token-'));
    try {
      writeFileSync(join(dir, 'short'), 'abc');
      const short = { enableModelRepositoryApi: true, adminTokenFile: join(dir, 'short'), modelName: 'h', modelBasePath: demoBasePath(), restApiPort: 0, port: false as const, log: false as const };
      await expect(startServer(short)).rejects.toThrow(StartupError);
      await expect(startServer(short)).rejects.toThrow(/--admin_token_file .*short must hold a token of at least 16 characters/);
      writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
      const server = await startServer({ ...short, adminTokenFile: join(dir, 'token') });
      try {
        const base = `http://127.0.0.1:${server.http!.port}`;
        expect((await index(base)).status).toBe(401);
        expect((await index(base, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CORS (--rest_api_enable_cors_support), as TF Serving answers', () => {
  it('every response carries the CORS headers; OPTIONS is a preflight: 200 for an http(s) Origin, else 400', async () => {
    const cors = await rest({ cors: true });
    const plain = await rest({});
    try {
      const predict = await fetch(`${cors.base}/v1/models/a:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
      expect(predict.status).toBe(200);
      expect(predict.headers.get('access-control-allow-origin')).toBe('*');
      expect(predict.headers.get('access-control-allow-methods')).toBe('POST, GET');
      expect(predict.headers.get('access-control-allow-headers')).toMatch(/^Content-Type, /);
      const notFound = await fetch(`${cors.base}/v1/models/nope`);
      expect(notFound.status).toBe(404);
      expect(notFound.headers.get('access-control-allow-origin')).toBe('*');
      // a streamed (chunked) response too: more than one 256 KiB chunk of output text
      const big = await fetch(`${cors.base}/v1/models/a:predict`, { method: 'POST', body: JSON.stringify({ instances: new Array(200_000).fill(1.5) }) });
      expect(big.headers.get('transfer-encoding')).toBe('chunked');
      expect(big.headers.get('access-control-allow-origin')).toBe('*');

      const preflight = await fetch(`${cors.base}/v1/models/a:predict`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(200);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
      expect(await preflight.text()).toBe('');
      const noOrigin = await fetch(`${cors.base}/v1/models/a:predict`, { method: 'OPTIONS' });
      expect(noOrigin.status).toBe(400);
      expect(((await noOrigin.json()) as { error: string }).error).toBe('Origin header is missing in CORS preflight');
      const badOrigin = await fetch(`${cors.base}/v1/models/a`, { method: 'OPTIONS', headers: { Origin: 'file://x' } });
      expect(badOrigin.status).toBe(400);

      const off = await fetch(`${plain.base}/v1/models/a:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
      expect(off.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await Promise.all([cors.close(), plain.close()]);
    }
  });
});
