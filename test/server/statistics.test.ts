// Triton's statistics extension on a real server over the half_plus_two model: successful and
// failing infers over REST and gRPC, then GET /v2/models[/{m}[/versions/{v}]]/stats (fetch) and
// get_inference_statistics through the official tritonclient.http and tritonclient.grpc clients
// agree on the counts; plus the per-version numbers without batching (one execution per run).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batching } from '../../src/batching/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { ModelManager } from '../../src/models/manager.js';
import type { ModelStatistics } from '../../src/models/statistics.js';
import { HttpServer } from '../../src/server/http/server.js';
import { expectError, expectOk, PythonDriver, wire } from '../grpc/python-driver.js';
import { startStack, type Stack } from '../grpc/stack.js';
import { demoBasePath, fixtureConfig, postJson, request } from './helpers.js';

/** A float32 tensor. */
function f32(shape: number[], values: ArrayLike<number>): Tensor {
  return { dtype: 'float32', shape, data: Float32Array.from(values) };
}

const MODELS = [{ name: 'half_plus_two', basePath: demoBasePath() }, fixtureConfig('mlp')];
const INFER = '/v2/models/half_plus_two/infer';

let manager: ModelManager;
let http: HttpServer;
let base: string;
let httpHost: string;
let stack: Stack;
let py: PythonDriver;

/** What the test sent (set by the first describe's beforeAll). */
const sent = { success: 0, fail: 0, executed: 0, rows: 0, t0: 0, t1: 0 };

beforeAll(async () => {
  manager = await ModelManager.create(MODELS, { batching: new Batching() }); // batching on, as the server's default
  http = new HttpServer(manager, { log: () => {} });
  const port = await http.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
  httpHost = `127.0.0.1:${port}`;
  [stack, py] = await Promise.all([startStack([], {}, manager), PythonDriver.start()]);

  sent.t0 = Date.now();
  // successes over REST: 3 + 1 + 4 + 2 rows
  for (const data of [[1, 2, 5], [7], [0, 1, 2, 3], [9, 9]]) {
    const r = await postJson(base, INFER, { inputs: [{ name: 'x', shape: [data.length], datatype: 'FP32', data }] });
    expect(r.status, r.text).toBe(200);
    sent.success++;
    sent.rows += data.length;
  }
  // successes over gRPC (tritonclient.grpc): 5 rows, then 1
  for (const values of [[1, 2, 3, 4, 5], [6]]) {
    const x = f32([values.length], values);
    expectOk(await py.rpc({ op: 'triton_infer', target: stack.target, model: 'half_plus_two', inputs: { x: wire(x) } }));
    sent.success++;
    sent.rows += values.length;
  }
  // failures: a rank-2 tensor where the signature takes [-1], refused while decoding (REST) or by
  // the front end's shape check (gRPC): rejected requests, no execution
  for (let i = 0; i < 2; i++) {
    const r = await postJson(base, INFER, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    expect(r.status, r.text).toBe(400);
    sent.fail++;
  }
  const bad = f32([1, 2], [1, 2]);
  const answer = await py.call({ op: 'triton_infer', target: stack.target, model: 'half_plus_two', inputs: { x: wire(bad) } });
  expect(answer.ok).toBe(false);
  expect(answer.code).toBe('INVALID_ARGUMENT');
  sent.fail++;
  // a failure in the model run (one execution): bytes that are no tf.Example, which TF's
  // parse_example refuses
  const garbage: Tensor = { dtype: 'string', shape: [1], data: [Buffer.from('not a tf.Example')] };
  const parse = await py.call({
    op: 'triton_infer',
    target: stack.target,
    model: 'half_plus_two',
    inputs: { inputs: wire(garbage) },
    parameters: { signature_name: 'regress_x_to_y' },
  });
  expect(parse.ok).toBe(false);
  expect(parse.code).toBe('INVALID_ARGUMENT');
  sent.fail++;
  sent.executed++;
  // unknown input name: refused before the run, over both protocols
  const r = await postJson(base, INFER, { inputs: [{ name: 'z', shape: [1], datatype: 'FP32', data: [1] }] });
  expect(r.status).toBe(400);
  sent.fail++;
  const z = await py.call({ op: 'triton_infer', target: stack.target, model: 'half_plus_two', inputs: { z: wire(f32([1], [1])) } });
  expect(z.code).toBe('INVALID_ARGUMENT');
  sent.fail++;
  // a malformed body for the model is refused while decoding, after the model was resolved: counted
  expect((await postJson(base, INFER, '{"inputs": [')).status).toBe(400);
  sent.fail++;
  // never resolved to a version: not counted anywhere
  expect((await postJson(base, '/v2/models/nope/infer', { inputs: [] })).status).toBe(404);
  expect((await postJson(base, '/v2/models/half_plus_two/versions/9/infer', { inputs: [] })).status).toBe(404);
  sent.t1 = Date.now();
}, 60_000);

afterAll(async () => {
  await py?.close();
  await stack?.close();
  await http?.close(1000);
  await manager?.close();
});

/** The checks every client's view of half_plus_two version 1 must pass (numbers as numbers). */
function expectHalfPlusTwo(stat: ModelStatistics): void {
  expect(stat.name).toBe('half_plus_two');
  expect(stat.version).toBe('1');
  const s = stat.inference_stats;
  expect(s.success.count).toBe(sent.success);
  expect(s.fail.count).toBe(sent.fail);
  expect(s.success.ns).toBeGreaterThan(0);
  expect(s.fail.ns).toBeGreaterThan(0);
  expect(Number.isInteger(s.success.ns) && Number.isInteger(s.fail.ns)).toBe(true);
  expect(stat.inference_count).toBe(sent.rows);
  // batching is on (the default) and requests came one at a time: one TF run per success and per
  // failure inside the model; refused requests never executed
  expect(stat.execution_count).toBe(sent.success + sent.executed);
  expect(stat.last_inference).toBeGreaterThanOrEqual(sent.t0 - 1);
  expect(stat.last_inference).toBeLessThanOrEqual(sent.t1 + 1);
  expect(s.queue.count).toBe(sent.success);
  expect(s.compute_infer.count).toBe(sent.success);
  expect(s.queue.ns + s.compute_infer.ns).toBe(s.success.ns);
  expect(s.cache_hit).toEqual({ count: 0, ns: 0 });
  expect(s.cache_miss).toEqual({ count: 0, ns: 0 });
}

describe('REST /v2/models/.../stats', () => {
  it('model, model + version and all models', async () => {
    const model = await request(base, '/v2/models/half_plus_two/stats');
    expect(model.status, model.text).toBe(200);
    expect(Object.keys(model.json)).toEqual(['model_stats']);
    expect(model.json.model_stats).toHaveLength(1);
    expectHalfPlusTwo(model.json.model_stats[0]);
    expect(model.json.model_stats[0].batch_stats).toEqual([]);

    const version = await request(base, '/v2/models/half_plus_two/versions/1/stats');
    expect(version.status).toBe(200);
    expect(version.json.model_stats).toHaveLength(1);
    expectHalfPlusTwo(version.json.model_stats[0]);

    const all = await request(base, '/v2/models/stats');
    expect(all.status).toBe(200);
    expect(all.json.model_stats.map((m: ModelStatistics) => [m.name, m.version])).toEqual([
      ['half_plus_two', '1'],
      ['mlp', '1'],
    ]);
    expectHalfPlusTwo(all.json.model_stats[0]);
    const mlp = all.json.model_stats[1] as ModelStatistics;
    expect([mlp.inference_count, mlp.execution_count, mlp.last_inference, mlp.inference_stats.success]).toEqual([0, 0, 0, { count: 0, ns: 0 }]);
  });

  it('unknown model or version: 404 with KServe wording; bad version: 400; POST: 405', async () => {
    const nope = await request(base, '/v2/models/nope/stats');
    expect([nope.status, nope.json]).toEqual([404, { error: "Request for unknown model: 'nope' is not found" }]);
    const v9 = await request(base, '/v2/models/half_plus_two/versions/9/stats');
    expect([v9.status, v9.json]).toEqual([404, { error: "Request for unknown model: 'half_plus_two' version 9 is not found" }]);
    const bad = await request(base, '/v2/models/half_plus_two/versions/x/stats');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/Invalid model version 'x'/);
    const post = await request(base, '/v2/models/half_plus_two/stats', { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
  });

  it('server metadata lists the statistics extension', async () => {
    const r = await request(base, '/v2');
    expect(r.json.extensions).toContain('statistics');
  });
});

describe('tritonclient.http get_inference_statistics', () => {
  it('model, model + version and all models', async () => {
    const model = await py.rpc({ op: 'triton_http_statistics', url: httpHost, model: 'half_plus_two' });
    expectOk(model);
    const stats = (model.stats as { model_stats: ModelStatistics[] }).model_stats;
    expect(stats).toHaveLength(1);
    expectHalfPlusTwo(stats[0]!);
    const version = await py.rpc({ op: 'triton_http_statistics', url: httpHost, model: 'half_plus_two', version: '1' });
    expectHalfPlusTwo((version.stats as { model_stats: ModelStatistics[] }).model_stats[0]!);
    const all = await py.rpc({ op: 'triton_http_statistics', url: httpHost });
    expect((all.stats as { model_stats: ModelStatistics[] }).model_stats.map((m) => m.name)).toEqual(['half_plus_two', 'mlp']);
  });

  it('unknown model raises with the server’s message', async () => {
    const answer = await py.call({ op: 'triton_http_statistics', url: httpHost, model: 'nope' });
    expect(answer.ok).toBe(false);
    expect(answer.details).toMatch(/unknown model: 'nope'/);
  });
});

describe('tritonclient.grpc get_inference_statistics (ModelStatistics)', () => {
  it('model, model + version and all models, uint64 fields as numbers', async () => {
    const model = await py.rpc({ op: 'triton_statistics', target: stack.target, model: 'half_plus_two' });
    expectOk(model);
    const stats = model.model_stats as ModelStatistics[];
    expect(stats).toHaveLength(1);
    expectHalfPlusTwo(stats[0]!);
    expect(stats[0]!.batch_stats).toEqual([]);
    const version = await py.rpc({ op: 'triton_statistics', target: stack.target, model: 'half_plus_two', version: '1' });
    expectHalfPlusTwo((version.model_stats as ModelStatistics[])[0]!);
    const all = await py.rpc({ op: 'triton_statistics', target: stack.target });
    const list = all.model_stats as ModelStatistics[];
    expect(list.map((m) => [m.name, m.version])).toEqual([
      ['half_plus_two', '1'],
      ['mlp', '1'],
    ]);
    expectHalfPlusTwo(list[0]!);
  });

  it('unknown model or version: NOT_FOUND; bad version: INVALID_ARGUMENT', async () => {
    expectError(
      await py.call({ op: 'triton_statistics', target: stack.target, model: 'nope' }),
      'NOT_FOUND',
      "Request for unknown model: 'nope' is not found",
    );
    expectError(
      await py.call({ op: 'triton_statistics', target: stack.target, model: 'half_plus_two', version: '9' }),
      'NOT_FOUND',
      "Request for unknown model: 'half_plus_two' version 9 is not found",
    );
    expectError(await py.call({ op: 'triton_statistics', target: stack.target, model: 'half_plus_two', version: 'x' }), 'INVALID_ARGUMENT', /x/);
  });

  it('server metadata lists the statistics extension', async () => {
    const answer = await py.rpc({ op: 'triton_server_metadata', target: stack.target });
    expect((answer.metadata as { extensions: string[] }).extensions).toContain('statistics');
  });
});

describe('without batching', () => {
  it('every run is one execution; concurrent runs all counted; failures time too', async () => {
    const m = await ModelManager.create([MODELS[0]!], { batching: false });
    try {
      const sv = m.resolve({ name: 'half_plus_two' });
      const x = (n: number) => f32([n], new Float32Array(n));
      await Promise.all([1, 2, 3, 4].map((n) => sv.run({ x: x(n) }, { signature: 'serving_default' })));
      await sv.run({ x: f32([], [1]) }, { signature: 'serving_default' }).catch(() => {});
      await expect(sv.run({ x: f32([2, 2], new Float32Array(4)) }, { signature: 'serving_default' })).rejects.toThrow();
      const [stat] = m.modelStatistics('half_plus_two', 1);
      const s = stat!.inference_stats;
      // the scalar run may be accepted (rows 1) or refused by the signature: either way it is counted
      expect(s.success.count + s.fail.count).toBe(6);
      expect(stat!.execution_count).toBe(6);
      expect(stat!.inference_count).toBe(10 + (s.success.count === 5 ? 1 : 0));
      expect(s.queue.ns).toBe(0);
      expect(s.compute_infer.ns).toBe(s.success.ns);
    } finally {
      await m.close();
    }
  });
});
