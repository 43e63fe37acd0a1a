// Model and label names never reach the file system as paths (issue 13 item 5). Every place a
// client string meets the model repository — REST and gRPC repository load / unload, model config
// files, gRPC ReloadConfigRequest, programmatic configs, version labels — refuses names with "/",
// "\", NUL or other control characters, "." and "..", before anything is looked up. The REST test
// puts a loadable model directory *next to* the repository root, where "../outside" would reach it.

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/models/config.js';
import { ModelManager } from '../../src/models/manager.js';
import { nameProblem } from '../../src/models/names.js';
import { AdminAuth } from '../../src/server/admin-auth.js';
import { HttpServer } from '../../src/server/http/server.js';
import { fixturesDir } from '../helpers/oracle.js';
import { rawExchange } from '../server/helpers.js';

const HALF_PLUS_TWO = join(fixturesDir(), 'half_plus_two');

let root: string;
let repo: string;
let manager: ModelManager;
let server: HttpServer;
let base: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'jetserve-names-'));
  repo = join(root, 'repo');
  mkdirSync(repo);
  cpSync(HALF_PLUS_TWO, join(repo, 'inside'), { recursive: true });
  // a complete model directory outside the repository: reachable only as a path
  cpSync(HALF_PLUS_TWO, join(root, 'outside'), { recursive: true });
  manager = new ModelManager({ repositoryRoot: repo, fileSystemPollWaitSeconds: 0, maxNumLoadRetries: 0 });
  server = new HttpServer(manager, { log: () => {}, repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) });
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
});

afterAll(async () => {
  await server?.close(1000);
  await manager?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the rule', () => {
  it.each([
    ['mlp', undefined],
    ['my-model_v2.1', undefined],
    ['名前', undefined],
    ['a:b', undefined],
    ['...', undefined],
    ['', 'must not be empty'],
    ['.', "must not be '.'"],
    ['..', "must not be '..'"],
    ['../x', "must not contain '/'"],
    ['a/b', "must not contain '/'"],
    ['/etc', "must not contain '/'"],
    ['..\\x', "must not contain '\\'"],
    ['a\u0000b', 'must not contain control characters (found U+0000)'],
    ['a\nb', 'must not contain control characters (found U+000A)'],
    ['a\u007fb', 'must not contain control characters (found U+007F)'],
    ['x'.repeat(256), 'must be at most 255 bytes'],
  ])('%j → %s', (name, problem) => {
    expect(nameProblem(name)).toBe(problem);
  });
});

describe('REST repository API', () => {
  it('loads a repository directory by name, but no name reaches outside the repository', async () => {
    // raw requests: fetch would resolve %2E%2E as a dot segment before sending
    const load = async (name: string) => {
      const raw = await rawExchange(
        Number(new URL(base).port),
        `POST /v2/repository/models/${name}/load HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        () => false,
      );
      const [head, body] = raw.toString('utf8').split('\r\n\r\n') as [string, string];
      return { status: Number(head.split(' ')[1]), body };
    };
    for (const [encoded, rule] of [
      ['..%2Foutside', "must not contain '/'"],
      ['%2E%2E', "must not be '\\.\\.'"],
      ['..%5Coutside', "must not contain '\\\\'"],
      ['inside%00', 'control characters'],
      ['%2Fetc', "must not contain '/'"],
    ] as const) {
      const r = await load(encoded);
      expect(r.status, encoded).toBe(400);
      expect((JSON.parse(r.body) as { error: string }).error, encoded).toMatch(new RegExp(`failed to load: model name .* ${rule}`));
    }
    expect(manager.modelNames()).toEqual([]);
    const unload = await fetch(`${base}/v2/repository/models/..%2Foutside/unload`, { method: 'POST' });
    expect(unload.status).toBe(400);
    expect(((await unload.json()) as { error: string }).error).toMatch(/failed to unload: model name "..\/outside" must not contain '\/'/);

    expect((await load('inside')).status).toBe(200);
    expect(manager.modelNames()).toEqual(['inside']);
    expect(manager.model('inside')!.basePath).toBe(join(repo, 'inside'));
  });
});

describe('configs', () => {
  it('config files refuse such model names and labels, naming the field', () => {
    expect(() => parseModelConfig(`model_config_list { config { name: "../x" base_path: "/m" } }`, 'c.conf')).toThrow(
      /c\.conf: model_config_list\.config\[0\] \(line 1\)\.name "\.\.\/x" must not contain '\/'/,
    );
    expect(() => parseModelConfig(`model_config_list { config { name: ".." base_path: "/m" } }`, 'c.conf')).toThrow(/must not be '\.\.'/);
    expect(() =>
      parseModelConfig(`model_config_list { config { name: "m" base_path: "/m" version_labels { key: "a/b" value: 1 } } }`, 'c.conf'),
    ).toThrow(/version label "a\/b" must not contain '\/'/);
    expect(() => parseModelConfig(JSON.stringify({ model_config_list: { config: [{ name: 'a\u0000', base_path: '/m' }] } }), 'c.json')).toThrow(
      /control characters/,
    );
  });

  it('ReloadConfigRequest and programmatic configs are refused the same way, and nothing is loaded', async () => {
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await expect(m.reloadConfig({ model_config_list: { config: [{ name: '../outside', base_path: join(root, 'outside') }] } })).rejects.toThrow(
        /must not contain '\/'/,
      );
      await expect(m.addModel({ name: '..', basePath: join(root, 'outside') })).rejects.toThrow(/model name "\.\." must not be '\.\.'/);
      await expect(m.addModel({ name: 'ok', basePath: join(root, 'outside'), versionLabels: { '..': 1 } })).rejects.toThrow(
        /version label "\.\." must not be '\.\.'/,
      );
      expect(m.modelNames()).toEqual([]);
      await m.addModel({ name: 'ok', basePath: join(root, 'outside') });
      expect(() => m.setLabels('ok', { 'x\u0001': 1 })).toThrow(/control characters/);
    } finally {
      await m.close();
    }
  });

  it('a --model_repository directory whose name breaks the rule is not a model: loading it by name is refused', async () => {
    // a directory literally named with a backslash (legal on Linux) stays unreachable
    mkdirSync(join(repo, 'back\\slash'));
    writeFileSync(join(repo, 'back\\slash', 'README'), 'not a model');
    const r = await fetch(`${base}/v2/repository/models/back%5Cslash/load`, { method: 'POST' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(/must not contain '\\'/);
  });
});
