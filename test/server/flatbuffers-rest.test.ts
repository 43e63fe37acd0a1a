// jetserve's FlatBuffers predict protocol on the TF Serving predict URL, through the TS client
// (predictFlat): every dtype (complex and half included, which JSON cannot carry) equals Python
// TF, inputs reach TF without a copy, errors come back as typed errors, and gzip works too.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { predictFlat, predictFlatDetailed } from '../../src/client/flatbuffers-client.js';
import { encodeFlatPredictRequest, FLATBUFFERS_CONTENT_TYPE } from '../../src/wire/flatbuffers/flatbuffers.js';
import { native } from '../../src/engine/native.js';
import { allocTensor, type Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';
import { demoBasePath, fixtureConfig, request, startServer, type TestServer } from './helpers.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer([
    { name: 'half_plus_two', basePath: demoBasePath() },
    fixtureConfig('mlp'),
    fixtureConfig('dtypes'),
    fixtureConfig('strings'),
    fixtureConfig('conv'),
  ]);
});

afterAll(async () => {
  await srv?.close();
});

function x(values: number[]): Tensor {
  const t = allocTensor('float32', [values.length]);
  (t.data as Float32Array).set(values);
  return t;
}

describe('FlatBuffers predict (application/x-jetserve-flatbuffers)', () => {
  it('half_plus_two: [1, 2, 5] → [2.5, 3, 4.5], with the served version and signature', async () => {
    const r = await predictFlatDetailed(srv.base, 'half_plus_two', { x: x([1, 2, 5]) });
    expect(Array.from(r.outputs.y!.data as Float32Array)).toEqual([2.5, 3, 4.5]);
    expect(r.modelVersion).toBe(1n);
    expect(r.signatureName).toBe('serving_default');
    const v = await predictFlat(srv.base, 'half_plus_two', { x: x([0]) }, { version: 1 });
    expect(Array.from(v.y!.data as Float32Array)).toEqual([2]);
  });

  it.each(['mlp', 'dtypes', 'strings', 'conv'])('%s: every oracle case equals Python TF', async (model) => {
    for (const c of loadOracle(model).cases) {
      const out = await predictFlat(srv.base, model, c.inputs, { signatureName: c.signature });
      expect(Object.keys(out).sort(), c.name).toEqual(Object.keys(c.outputs).sort());
      const [rel, abs] = /each run alone/.test(c.name) ? [1e-4, 1e-6] : [1e-6, 1e-30];
      for (const [name, expected] of Object.entries(c.outputs)) {
        expectTensorClose(out[name]!, expected, rel, abs, `${model} ${c.signature}: ${c.name}: ${name}`);
      }
    }
  });

  it('output_filter computes only the outputs asked for', async () => {
    const c = loadOracle('strings').cases[0]!;
    const out = await predictFlat(srv.base, 'strings', c.inputs, { outputFilter: ['length'] });
    expect(Object.keys(out)).toEqual(['length']);
    expectTensorClose(out.length!, c.outputs.length!);
  });

  it('numeric inputs reach TF without a copy (the body lands in aligned native memory)', async () => {
    // bodies of 64 KiB and more are received into aligned native memory (smaller ones are copied
    // once into the tensor slab, which is cheaper than an aligned block per request)
    const input = allocTensor('float32', [24, 28, 28, 1]);
    (input.data as Float32Array).fill(0.5);
    const before = native().stats();
    await predictFlat(srv.base, 'conv', { image: input });
    const after = native().stats();
    expect(after.zeroCopyInputs).toBeGreaterThan(before.zeroCopyInputs);
    expect(after.bytesCopiedIn).toBe(before.bytesCopiedIn);
  });

  it('errors come back typed: unknown model, version and input; bad bytes', async () => {
    await expect(predictFlat(srv.base, 'nope', { x: x([1]) })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'Servable not found for request: Latest(nope)',
    });
    await expect(predictFlat(srv.base, 'half_plus_two', { x: x([1]) }, { version: 3 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'Servable not found for request: Specific(half_plus_two, 3)',
    });
    await expect(predictFlat(srv.base, 'half_plus_two', { z: x([1]) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/unknown input 'z'/),
    });
    const garbage = await request(srv.base, '/v1/models/half_plus_two:predict', {
      method: 'POST',
      body: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      headers: { 'content-type': FLATBUFFERS_CONTENT_TYPE },
    });
    expect(garbage.status).toBe(400);
    expect(garbage.headers.get('content-type')).toBe(FLATBUFFERS_CONTENT_TYPE);
    const again = await predictFlat(srv.base, 'half_plus_two', { x: x([1]) });
    expect(Array.from(again.y!.data as Float32Array)).toEqual([2.5]);
  });

  it('only :predict takes FlatBuffers; gzip-compressed FlatBuffers bodies work', async () => {
    const body = encodeFlatPredictRequest({ x: x([4]) });
    const classify = await request(srv.base, '/v1/models/half_plus_two:classify', {
      method: 'POST',
      body,
      headers: { 'content-type': FLATBUFFERS_CONTENT_TYPE },
    });
    expect(classify.status).toBe(415);
    expect(classify.json.error).toMatch(/only accepted on :predict/);
    const zipped = await request(srv.base, '/v1/models/half_plus_two:predict', {
      method: 'POST',
      body: gzipSync(body),
      headers: { 'content-type': FLATBUFFERS_CONTENT_TYPE, 'content-encoding': 'gzip' },
    });
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get('content-type')).toBe(FLATBUFFERS_CONTENT_TYPE);
  });

  it('is a JetserveError a caller can switch on', async () => {
    const err = await predictFlat(srv.base, 'nope', { x: x([1]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetserveError);
  });
});
