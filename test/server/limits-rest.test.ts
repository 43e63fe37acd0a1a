// REST request budgets end to end (src/wire/limits.ts): a request over --rest_api_max_tensor_elements
// gets 413 and {"error": …} naming the flag — TF-JSON decoded inline or on the offload pool, KServe
// JSON and binary, FlatBuffers — and a body nested deeper than --rest_api_max_json_depth gets 400;
// requests within the budgets are served, and so is everything after a refusal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFlatPredictResponse, encodeFlatPredictRequest, FLATBUFFERS_CONTENT_TYPE } from '../../src/wire/flatbuffers/flatbuffers.js';
import { JetserveError } from '../../src/errors.js';
import { demoBasePath, postJson, request, startServer, type TestServer } from './helpers.js';

const LIMIT = 1000;
const DEPTH = 16;
let inline: TestServer;
let pooled: TestServer;

beforeAll(async () => {
  const models = () => [{ name: 'half_plus_two', basePath: demoBasePath() }];
  const limits = { maxTensorElements: LIMIT, maxJsonDepth: DEPTH };
  [inline, pooled] = await Promise.all([
    startServer(models(), { ...limits, jsonOffloadThresholdBytes: 0 }),
    startServer(models(), { ...limits, jsonOffloadThresholdBytes: 1, jsonOffloadThreads: 1 }),
  ]);
});

afterAll(async () => {
  await Promise.all([inline?.close(), pooled?.close()]);
});

const floats = (n: number) => Array.from({ length: n }, (_, i) => `${i % 10}.0`).join(',');
const PREDICT = '/v1/models/half_plus_two:predict';
const INFER = '/v2/models/half_plus_two/infer';

function expectBudgetRefusal(r: { status: number; json: any }): void {
  expect(r.status).toBe(413);
  expect(r.json.error).toBe(`request exceeds the limit of ${LIMIT} tensor elements per request (--rest_api_max_tensor_elements)`);
}

describe.each([
  ['inline', () => inline],
  ['on the offload pool', () => pooled],
] as const)('TF-JSON and KServe JSON decoded %s', (_, srv) => {
  it('the budget passes; one element more → 413 naming the flag; the next request is served', async () => {
    const ok = await postJson(srv().base, PREDICT, `{"instances": [${floats(LIMIT)}]}`);
    expect(ok.status).toBe(200);
    expect(ok.json.predictions).toHaveLength(LIMIT);
    expectBudgetRefusal(await postJson(srv().base, PREDICT, `{"instances": [${floats(LIMIT + 1)}]}`));
    expectBudgetRefusal(await postJson(srv().base, PREDICT, `{"inputs": [${floats(50 * LIMIT)}]}`));
    expect((await postJson(srv().base, PREDICT, '{"instances": [1.0]}')).json).toEqual({ predictions: [2.5] });
  });

  it('KServe JSON: data over the budget, or a declared shape over it → 413', async () => {
    const body = (shape: number[], n: number) => `{"inputs": [{"name": "x", "datatype": "FP32", "shape": ${JSON.stringify(shape)}, "data": [${floats(n)}]}]}`;
    expect((await postJson(srv().base, INFER, body([LIMIT], LIMIT))).status).toBe(200);
    const over = await postJson(srv().base, INFER, body([LIMIT + 1], LIMIT + 1));
    expect(over.status).toBe(413);
    expect(over.json.error).toContain('--rest_api_max_tensor_elements');
    const declared = await postJson(srv().base, INFER, body([1_000_000_000], 1));
    expect(declared.status).toBe(413);
    expect(declared.json.error).toContain("input 'x' declares shape [1000000000]");
  });

  it('nesting deeper than --rest_api_max_json_depth → 400 naming the flag, even 100,000 levels', async () => {
    for (const depth of [DEPTH, 100_000]) {
      const r = await postJson(srv().base, PREDICT, `{"inputs": ${'['.repeat(depth)}${']'.repeat(depth)}}`);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(new RegExp(`^JSON Parse error: nesting exceeds the limit of ${DEPTH} levels \\(--rest_api_max_json_depth\\)`));
    }
    const k = await postJson(srv().base, INFER, `{"parameters": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}, "inputs": []}`);
    expect(k.status).toBe(400);
    expect(k.json.error).toContain('--rest_api_max_json_depth');
  });
});

describe('binary protocols', () => {
  it('KServe binary tensors: a declared shape over the budget → 413 before any tensor memory', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [4 * LIMIT], parameters: { binary_data_size: 16 * LIMIT } }] }));
    const r = await request(inline.base, INFER, {
      method: 'POST',
      body: Buffer.concat([header, Buffer.alloc(16 * LIMIT)]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    });
    expect(r.status).toBe(413);
    expect(r.json.error).toContain('--rest_api_max_tensor_elements');
  });

  it('FlatBuffers: over the budget → 413 with a RESOURCE_EXHAUSTED error response', async () => {
    const body = encodeFlatPredictRequest({ x: { dtype: 'float32', shape: [LIMIT + 1], data: new Float32Array(LIMIT + 1) } });
    const r = await request(inline.base, PREDICT, { method: 'POST', body, headers: { 'content-type': FLATBUFFERS_CONTENT_TYPE } });
    expect(r.status).toBe(413);
    let err: JetserveError | undefined;
    try {
      decodeFlatPredictResponse(r.bytes);
    } catch (e) {
      err = e as JetserveError;
    }
    expect(err?.code).toBe('RESOURCE_EXHAUSTED');
    expect(err?.message).toContain('--rest_api_max_tensor_elements');
  });
});
