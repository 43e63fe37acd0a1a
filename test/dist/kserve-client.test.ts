// jetserve/client's KServe v2 binary client (inferKServe) against a real jetserve server: every
// serving_default oracle case whose dtypes KServe can carry equals Python TF, outputs come back as
// binary blobs (checked on the wire), and server errors arrive as typed JetserveErrors.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKServeResponse, encodeKServeBinaryRequest, inferKServe, inferKServeDetailed, JetserveError } from '../../src/client/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { KSERVE_DATATYPE } from '../../src/wire/kserve-binary.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';
import { demoBasePath, fixtureConfig, request, startServer, type TestServer } from '../server/helpers.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer([{ name: 'half_plus_two', basePath: demoBasePath() }, fixtureConfig('mlp'), fixtureConfig('strings')]);
});

afterAll(async () => {
  await srv?.close();
});

const f32 = (values: number[], shape = [values.length]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const kserveable = (ts: Record<string, Tensor>) => Object.values(ts).every((t) => KSERVE_DATATYPE[t.dtype] !== undefined);

describe('inferKServe (KServe v2 binary tensor data extension)', () => {
  it('half_plus_two: [1, 2, 5] → [2.5, 3, 4.5], with model name and version', async () => {
    const r = await inferKServeDetailed(srv.base, 'half_plus_two', { x: f32([1, 2, 5]) }, { id: 'req-7' });
    expect(Array.from(r.outputs.y!.data as Float32Array)).toEqual([2.5, 3, 4.5]);
    expect(r.outputs.y!.shape).toEqual([3]);
    expect(r.modelName).toBe('half_plus_two');
    expect(r.modelVersion).toBe('1');
    expect(r.id).toBe('req-7');
    const v = await inferKServe(srv.base, 'half_plus_two', { x: f32([0]) }, { version: 1 });
    expect(Array.from(v.y!.data as Float32Array)).toEqual([2]);
  });

  // (the dtypes fixture's serving_default mixes in complex tensors, which KServe has no datatype for)
  it.each(['mlp', 'strings'])('%s: every serving_default case KServe can carry equals Python TF', async (model) => {
    const cases = loadOracle(model).cases.filter((c) => c.signature === 'serving_default' && kserveable(c.inputs) && kserveable(c.outputs));
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const out = await inferKServe(srv.base, model, c.inputs);
      expect(Object.keys(out).sort(), c.name).toEqual(Object.keys(c.outputs).sort());
      const [rel, abs] = /each run alone/.test(c.name) ? [1e-4, 1e-6] : [1e-6, 1e-30];
      for (const [name, expected] of Object.entries(c.outputs)) expectTensorClose(out[name]!, expected, rel, abs, `${model}: ${c.name}: ${name}`);
    }
  });

  it('asks for binary outputs: the response carries Inference-Header-Content-Length and raw bytes', async () => {
    const { body, headerLength } = encodeKServeBinaryRequest({ x: f32([1, 2]) }, { outputs: ['y'] });
    const r = await fetch(`${srv.base}/v2/models/half_plus_two/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
      body,
    });
    expect(r.status).toBe(200);
    const jsonLength = Number(r.headers.get('inference-header-content-length'));
    const bytes = new Uint8Array(await r.arrayBuffer());
    expect(bytes.length).toBe(jsonLength + 8); // two float32 values after the JSON header
    const decoded = decodeKServeResponse(bytes, jsonLength);
    expect(Array.from(decoded.outputs.y!.data as Float32Array)).toEqual([2.5, 3]);
  });

  it('decodes a JSON response too (a server that ignores binary_data_output)', () => {
    const json = new TextEncoder().encode(
      JSON.stringify({ model_name: 'm', outputs: [{ name: 'n', datatype: 'INT64', shape: [2], data: [1, 2] }, { name: 's', datatype: 'BYTES', shape: [1], data: ['hé'] }] }),
    );
    const r = decodeKServeResponse(json, undefined);
    expect(Array.from(r.outputs.n!.data as BigInt64Array)).toEqual([1n, 2n]);
    expect(new TextDecoder().decode((r.outputs.s!.data as Uint8Array[])[0])).toBe('hé');
  });

  it('errors come back typed: unknown model and input, malformed response', async () => {
    await expect(inferKServe(srv.base, 'nope', { x: f32([1]) })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const err = await inferKServe(srv.base, 'half_plus_two', { z: f32([1]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetserveError);
    expect((err as JetserveError).code).toBe('INVALID_ARGUMENT');
    expect((err as JetserveError).message).toMatch(/'z'/);
    expect(() => decodeKServeResponse(new TextEncoder().encode('{"model_name":"m","outputs":[{"name":"y","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":16}}]}'), undefined)).toThrow(
      /runs past the body/,
    );
    await expect(inferKServe('http://127.0.0.1:1', 'm', { x: f32([1]) })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await request(srv.base, '/v2/health/ready')).status).toBe(200);
  });
});
