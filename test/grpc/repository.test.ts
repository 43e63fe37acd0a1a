// Triton's model repository extension over gRPC (inference.GRPCInferenceService RepositoryIndex /
// RepositoryModelLoad / RepositoryModelUnload), driven by the official tritonclient.grpc client
// against both transports: index contents, loading a model directory added after start-up (then
// inferring through it), unloading, unknown models, unsupported options, and the API switched off.

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager } from '../../src/models/manager.js';
import { fixturesDir } from '../helpers/oracle.js';
import { expectError, expectOk, PythonDriver, unwire, wire } from './python-driver.js';
import { startStack, type Stack } from './stack.js';
import { AdminAuth } from '../../src/server/admin-auth.js';

const HALF_PLUS_TWO = join(fixturesDir(), 'half_plus_two');
const TRANSPORTS = ['jetserve', 'grpc-js', 'http2'] as const;

let py: PythonDriver;

beforeAll(async () => {
  py = await PythonDriver.start();
});

afterAll(async () => {
  await py?.close();
});

function float32(values: number[]): Tensor {
  return { dtype: 'float32', shape: [values.length], data: Float32Array.from(values) };
}

describe.each(TRANSPORTS)('model repository over gRPC (%s transport)', (transport) => {
  let repo: string;
  let manager: ModelManager;
  let on: Stack;
  let off: Stack;

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), 'jetserve-grpc-repo-'));
    // 'a' is served from start-up; 'b' is in the repository but not loaded
    cpSync(HALF_PLUS_TWO, join(repo, 'a'), { recursive: true });
    cpSync(HALF_PLUS_TWO, join(repo, 'b'), { recursive: true });
    manager = await ModelManager.create([{ name: 'a', basePath: join(repo, 'a') }], {
      repositoryRoot: repo,
      fileSystemPollWaitSeconds: 0,
      maxNumLoadRetries: 0,
    });
    on = await startStack([], { transport, repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) }, manager);
    off = await startStack([], { transport }, manager);
  });

  afterAll(async () => {
    await on?.close();
    await off?.close();
    await manager?.close();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  it('the index lists loaded models READY and repository directories not loaded as UNAVAILABLE', async () => {
    expect(on.server.transport).toBe(transport);
    const index = await py.rpc({ op: 'triton_repository_index', target: on.target });
    expectOk(index);
    // (as JSON, proto3 leaves empty fields out: no reason when READY, no version when unloaded)
    expect(index.index).toEqual([
      { name: 'a', version: '1', state: 'READY' },
      { name: 'b', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    // ready: true (Triton's stub: tritonclient never sets it) keeps only the READY ones
    const ready = await py.rpc({ op: 'triton_repository_index_raw', target: on.target, ready: true });
    expectOk(ready);
    expect(ready.models).toEqual([{ name: 'a', version: '1', state: 'READY', reason: '' }]);
    const all = await py.rpc({ op: 'triton_repository_index_raw', target: on.target });
    expect(all.models).toEqual([
      { name: 'a', version: '1', state: 'READY', reason: '' },
      { name: 'b', version: '', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    const metadata = await py.rpc({ op: 'triton_server_metadata', target: on.target });
    expect((metadata.metadata as { extensions?: string[] }).extensions).toContain('model_repository');
  });

  it('loads a directory added after start-up, which then infers x/2+2 exactly; unload makes it not ready', async () => {
    cpSync(HALF_PLUS_TWO, join(repo, 'c'), { recursive: true });
    const before = await py.rpc({ op: 'triton_repository_index', target: on.target });
    expect(before.index).toContainEqual({ name: 'c', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'c' })).ready).toBe(false);

    expectOk(await py.rpc({ op: 'triton_load', target: on.target, model: 'c' }));
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'c' })).ready).toBe(true);
    const after = await py.rpc({ op: 'triton_repository_index', target: on.target });
    expect(after.index).toContainEqual({ name: 'c', version: '1', state: 'READY' });

    const x = [1, 2, 5, -3.5, 0, 1e6];
    const infer = await py.rpc({ op: 'triton_infer', target: on.target, model: 'c', inputs: { x: wire(float32(x)) } });
    expectOk(infer);
    expect(infer).toMatchObject({ model_name: 'c', model_version: '1' });
    const y = unwire(infer.outputs).y!;
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([x.length]);
    expect(Array.from(y.data as Float32Array)).toEqual(x.map((v) => v / 2 + 2));

    expectOk(await py.rpc({ op: 'triton_unload', target: on.target, model: 'c' }));
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'c' })).ready).toBe(false);
    expect(manager.status('c').every((s) => s.state === 'END')).toBe(true);
    const unloaded = await py.rpc({ op: 'triton_repository_index', target: on.target });
    expect(unloaded.index).toContainEqual({ name: 'c', state: 'UNAVAILABLE', reason: 'unloaded' });
    const refused = await py.call({ op: 'triton_infer', target: on.target, model: 'c', inputs: { x: wire(float32([1])) } });
    expect(refused.ok).toBe(false);
    expect(refused.error, 'driver error').toBeUndefined();

    // loads again; unloading a listed directory that was never loaded is a no-op
    expectOk(await py.rpc({ op: 'triton_load', target: on.target, model: 'c' }));
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'c' })).ready).toBe(true);
    expectOk(await py.rpc({ op: 'triton_unload', target: on.target, model: 'b', unload_dependents: true }));
    // 'a' keeps serving throughout
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'a' })).ready).toBe(true);
  });

  it('an unknown model: tritonclient raises NOT_FOUND naming it', async () => {
    expectError(await py.call({ op: 'triton_load', target: on.target, model: 'nope' }), 'NOT_FOUND', /'nope'.*no model directory nope/);
    expectError(await py.call({ op: 'triton_unload', target: on.target, model: 'nope' }), 'NOT_FOUND', /'nope'/);
    // a name is never a path: refused before the repository is looked at
    expectError(await py.call({ op: 'triton_load', target: on.target, model: '..' }), 'INVALID_ARGUMENT', /model name "\.\." must not be '\.\.'/);
    expectError(await py.call({ op: 'triton_unload', target: on.target, model: '../a' }), 'INVALID_ARGUMENT', /must not contain '\/'/);
  });

  it('a directory that fails to load: an error naming it, and the index gives the reason', async () => {
    const broken = `broken_${transport.replace('-', '_')}`;
    mkdirSync(join(repo, broken, '1'), { recursive: true });
    writeFileSync(join(repo, broken, '1', 'saved_model.pb'), 'not a SavedModel');
    const answer = await py.call({ op: 'triton_load', target: on.target, model: broken });
    expect(answer.ok, JSON.stringify(answer)).toBe(false);
    expect(answer.error, 'driver error').toBeUndefined();
    expect(answer.code).not.toBe('UNIMPLEMENTED');
    expect(answer.details).toContain(broken);
    const index = await py.rpc({ op: 'triton_repository_index_raw', target: on.target });
    const entry = (index.models as { name: string; state: string; reason: string }[]).find((m) => m.name === broken);
    expect(entry?.state).toBe('UNAVAILABLE');
    expect(entry?.reason).toMatch(/^version 1 failed to load: ./);
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'a' })).ready).toBe(true);
  });

  it('refuses what jetserve cannot do: a config / file override, a named repository', async () => {
    expectError(
      await py.call({ op: 'triton_load', target: on.target, model: 'b', config: '{"max_batch_size": 8}' }),
      'UNIMPLEMENTED',
      /load parameter 'config'.*not supported/,
    );
    expectError(
      await py.call({ op: 'triton_load', target: on.target, model: 'b', config: '{}', files_b64: { 'file:1/model.savedmodel': 'AA==' } }),
      'UNIMPLEMENTED',
      /not supported/,
    );
    expect((await py.rpc({ op: 'triton_model_ready', target: on.target, model: 'b' })).ready).toBe(false);
    expectError(
      await py.call({ op: 'triton_repository_index_raw', target: on.target, repository_name: 'other' }),
      'UNIMPLEMENTED',
      /'repository_name' specification is not supported/,
    );
  });

  it('with the API disabled every repository RPC answers UNIMPLEMENTED naming the flag', async () => {
    const flag = /model repository API is disabled.*--enable_model_repository_api/;
    expectError(await py.call({ op: 'triton_repository_index', target: off.target }), 'UNIMPLEMENTED', flag);
    expectError(await py.call({ op: 'triton_load', target: off.target, model: 'b' }), 'UNIMPLEMENTED', flag);
    expectError(await py.call({ op: 'triton_unload', target: off.target, model: 'a' }), 'UNIMPLEMENTED', flag);
    expect((await py.rpc({ op: 'triton_model_ready', target: off.target, model: 'a' })).ready).toBe(true);
    expect((await py.rpc({ op: 'triton_model_ready', target: off.target, model: 'b' })).ready).toBe(false);
    const metadata = await py.rpc({ op: 'triton_server_metadata', target: off.target });
    expect((metadata.metadata as { extensions?: string[] }).extensions ?? []).not.toContain('model_repository');
  });
});
