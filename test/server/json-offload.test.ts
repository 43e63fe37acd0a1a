// Large-JSON offloading (src/server/http/json-offload.ts): request bodies decoded on the piscina
// worker pool must give exactly what inline decoding gives — outputs equal to Python TF for the
// fixture models, through TF Serving JSON (row and columnar) and KServe v2 JSON — and fail exactly
// as inline decoding fails: same HTTP status, same message, including a malformed body too big to
// be decoded on the event loop. Timings are the bench's business (bench/json-offload.ts), not this
// file's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DType } from '../../src/engine/dtypes.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES, offloadPays } from '../../src/server/http/json-offload.js';
import { expectTensorClose, loadOracle, type OracleCase } from '../helpers/oracle.js';
import {
  demoBasePath,
  fixtureConfig,
  KSERVE_TYPES,
  postJson,
  startServer,
  tensorFromJson,
  tfJsonLeaf,
  tfJsonTensor,
  type Reply,
  type TestServer,
  isUtf8,
  tfJsonCases,
} from './helpers.js';

const MODELS = ['mlp', 'multi_sig', 'conv', 'strings', 'dtypes'];

/** Every JSON body goes to the pool. */
let pooled: TestServer;
/** No pool: the event loop decodes everything. */
let inline: TestServer;
/** The default threshold (big bodies only). */
let byDefault: TestServer;

beforeAll(async () => {
  const configs = () => [{ name: 'half_plus_two', basePath: demoBasePath() }, ...MODELS.map(fixtureConfig)];
  // TF's errors name the failing node, which differs between a fused and an unfused graph, and
  // only TF's default executor names it at all; the servers are compared message for message, so
  // all build one session variant instead of each racing variants on a busy machine
  // (--graph_remapper=auto and --session_executor=auto may pick differently).
  const sameGraph = { remapper: 'on', executor: 'default' } as const;
  [pooled, inline, byDefault] = await Promise.all([
    // threads given: the pool runs even where the test has one CPU (offloadPays)
    startServer(configs(), { jsonOffloadThresholdBytes: 1, jsonOffloadThreads: 1 }, sameGraph),
    startServer(configs(), { jsonOffloadThresholdBytes: 0 }, sameGraph),
    startServer([{ name: 'half_plus_two', basePath: demoBasePath() }, fixtureConfig('conv')], { jsonOffloadThreads: 1 }, sameGraph),
  ]);
  for (const srv of [pooled, inline]) {
    expect(srv.manager.resolve({ name: 'mlp' }).model.graphRewrites).toMatchObject({ remapper: 'on', executor: 'default', chosenBy: 'option' });
  }
  expect(pooled.server.jsonOffload).toBeDefined();
  expect(inline.server.jsonOffload).toBeUndefined();
});

afterAll(async () => {
  await Promise.all([pooled?.close(), inline?.close(), byDefault?.close()]);
});

const offloaded = (srv: TestServer) => srv.server.jsonOffload?.offloaded ?? 0;

// ---------------------------------------------------------------------------------------------
// oracle equality
// ---------------------------------------------------------------------------------------------

const KSERVE_DTYPES = new Set(Object.keys(KSERVE_TYPES) as DType[]);


function kserveCases(model: string): OracleCase[] {
  return loadOracle(model).cases.filter(
    (c) =>
      !c.examples &&
      [...Object.values(c.inputs), ...Object.values(c.outputs)].every(
        (t) => KSERVE_DTYPES.has(t.dtype) && t.dtype !== 'float16' && t.dtype !== 'bfloat16' && (t.dtype !== 'string' || (t.data as Uint8Array[]).every(isUtf8)),
      ),
  );
}

function columnarBody(c: OracleCase): string {
  const inputs = Object.entries(c.inputs)
    .map(([k, t]) => `${JSON.stringify(k)}: ${tfJsonTensor(t)}`)
    .join(', ');
  return `{"signature_name": ${JSON.stringify(c.signature)}, "inputs": {${inputs}}}`;
}

function rowBody(c: OracleCase): string | undefined {
  const entries = Object.entries(c.inputs);
  const batch = entries[0]?.[1].shape[0];
  if (batch === undefined || batch === 0) return undefined;
  if (!entries.every(([, t]) => t.shape.length > 0 && t.shape[0] === batch)) return undefined;
  if (!Object.values(c.outputs).every((t) => t.shape.length > 0 && t.shape[0] === batch)) return undefined;
  const item = (t: Tensor, b: number): string => {
    const inner = t.shape.slice(1);
    const per = inner.reduce((a, d) => a * d, 1);
    const data =
      t.dtype === 'string'
        ? (t.data as Uint8Array[]).slice(b * per, (b + 1) * per)
        : (t.data as Float32Array).subarray(b * per, (b + 1) * per);
    return tfJsonTensor({ dtype: t.dtype, shape: inner, data } as Tensor);
  };
  const rows: string[] = [];
  for (let b = 0; b < batch; b++) {
    rows.push(
      entries.length === 1 ? item(entries[0]![1], b) : `{${entries.map(([k, t]) => `${JSON.stringify(k)}: ${item(t, b)}`).join(', ')}}`,
    );
  }
  return `{"signature_name": ${JSON.stringify(c.signature)}, "instances": [${rows.join(', ')}]}`;
}

function tolerance(c: OracleCase): [number, number] {
  // cases TF computed row by row differ from one batched run in the last float bits
  return /each run alone/.test(c.name) ? [1e-4, 1e-6] : [1e-6, 1e-30];
}

function expectTfOutputs(r: Reply, c: OracleCase, key: 'outputs' | 'predictions'): void {
  expect(r.status, r.text.slice(0, 400)).toBe(200);
  const names = Object.keys(c.outputs);
  for (const name of names) {
    const expected = c.outputs[name]!;
    let value: unknown;
    if (key === 'outputs') value = names.length === 1 ? r.json.outputs : r.json.outputs[name];
    else value = names.length === 1 ? r.json.predictions : r.json.predictions.map((row: Record<string, unknown>) => row[name]);
    const [rel, abs] = tolerance(c);
    expectTensorClose(tensorFromJson(value, expected.dtype, expected.shape), expected, rel, abs, `${c.signature}: ${c.name}: ${name}`);
  }
}

function kserveBody(c: OracleCase): string {
  const inputs = Object.entries(c.inputs).map(([name, t]) => {
    const n = t.dtype === 'string' ? t.data.length : (t.data as ArrayLike<unknown>).length;
    const data: string[] = [];
    for (let i = 0; i < n; i++) {
      data.push(t.dtype === 'string' ? JSON.stringify(Buffer.from((t.data as Uint8Array[])[i]!).toString('utf8')) : tfJsonLeaf(t, i));
    }
    return `{"name": ${JSON.stringify(name)}, "shape": ${JSON.stringify(t.shape)}, "datatype": "${KSERVE_TYPES[t.dtype]}", "data": [${data.join(',')}]}`;
  });
  return `{"id": ${JSON.stringify(c.name)}, "parameters": {"signature_name": ${JSON.stringify(c.signature)}}, "inputs": [${inputs.join(', ')}]}`;
}

function expectKServeOutputs(r: Reply, c: OracleCase): void {
  expect(r.status, r.text.slice(0, 400)).toBe(200);
  expect(r.json.id).toBe(c.name);
  const got: Record<string, Tensor> = {};
  for (const o of r.json.outputs) {
    const dtype = (Object.entries(KSERVE_TYPES).find(([, v]) => v === o.datatype)?.[0] ?? 'float32') as DType;
    got[o.name] = tensorFromJson(o.data, dtype, o.shape);
  }
  expect(Object.keys(got).sort()).toEqual(Object.keys(c.outputs).sort());
  for (const [name, expected] of Object.entries(c.outputs)) {
    const [rel, abs] = tolerance(c);
    expectTensorClose(got[name]!, expected, rel, abs, `${c.signature}: ${c.name}: ${name}`);
  }
}

describe.each(MODELS)('%s: bodies decoded on the pool give Python TF’s outputs', (model) => {
  it('TF Serving JSON, columnar and row', async () => {
    const before = offloaded(pooled);
    let sent = 0;
    for (const c of tfJsonCases(model)) {
      expectTfOutputs(await postJson(pooled.base, `/v1/models/${model}:predict`, columnarBody(c)), c, 'outputs');
      sent++;
      const row = rowBody(c);
      if (row) {
        expectTfOutputs(await postJson(pooled.base, `/v1/models/${model}:predict`, row), c, 'predictions');
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(0);
    // every one of them went through a worker
    expect(offloaded(pooled) - before).toBe(sent);
  });

  it('KServe v2 JSON', async () => {
    const cases = kserveCases(model);
    const before = offloaded(pooled);
    for (const c of cases) expectKServeOutputs(await postJson(pooled.base, `/v2/models/${model}/infer`, kserveBody(c)), c);
    expect(offloaded(pooled) - before).toBe(cases.length);
  });
});

// ---------------------------------------------------------------------------------------------
// errors: the same status and text as inline decoding
// ---------------------------------------------------------------------------------------------

const HPT = '/v1/models/half_plus_two:predict';
const MLP = '/v1/models/mlp:predict';
const INFER = '/v2/models/mlp/infer';

const BAD: [string, string, string][] = [
  ['truncated JSON', HPT, '{"instances": [1.0, 2.0,'],
  ['not an object', HPT, '[1, 2, 3]'],
  ['empty document', HPT, ''],
  ['both instances and inputs', HPT, '{"instances": [1.0], "inputs": [1.0]}'],
  ['neither instances nor inputs', HPT, '{"signature_name": "serving_default"}'],
  ['unknown signature', HPT, '{"signature_name": "nope", "instances": [1.0]}'],
  ['signature_name not a string', HPT, '{"signature_name": 7, "instances": [1.0]}'],
  ['string for a float', HPT, '{"instances": ["a", 2.0]}'],
  ['ragged rows', MLP, '{"instances": [[1, 2, 3, 4], [1, 2]]}'],
  ['wrong inner dimension', MLP, '{"instances": [[1, 2, 3]]}'],
  ['nested too deep', MLP, '{"instances": [[[1, 2, 3, 4]]]}'],
  ['row objects with unknown key', '/v1/models/multi_sig:predict', '{"instances": [{"a": [1, 2], "c": [3, 4]}]}'],
  ['columnar missing input', '/v1/models/multi_sig:predict', '{"inputs": {"a": [[1, 2]]}}'],
  ['plain list for two inputs', '/v1/models/multi_sig:predict', '{"inputs": [[1, 2]]}'],
  ['bad b64', '/v1/models/strings:predict', '{"instances": [{"b64": "not base64!"}]}'],
  ['int out of range', '/v1/models/dtypes:predict', '{"signature_name": "int8", "instances": [1000]}'],
  ['NaN token inside a float list', MLP, '{"instances": [[NaN, Infinity, -Infinity, 1e400x]]}'],
  ['KServe: malformed JSON', INFER, '{"inputs": [{"name": "x"'],
  ['KServe: unknown input', INFER, '{"inputs": [{"name": "q", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}'],
  ['KServe: wrong datatype', INFER, '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT32", "data": [1, 2, 3, 4]}]}'],
  ['KServe: too few elements', INFER, '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}'],
  ['KServe: duplicate field', INFER, '{"inputs": [], "inputs": []}'],
  ['KServe: unknown signature parameter', INFER, '{"parameters": {"signature_name": "nope"}, "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}'],
  ['KServe: missing inputs', INFER, '{"outputs": [{"name": "y"}]}'],
];

describe('errors from the pool are the errors of inline decoding', () => {
  it.each(BAD)('%s', async (_label, path, body) => {
    const before = offloaded(pooled);
    const [a, b] = await Promise.all([postJson(pooled.base, path, body), postJson(inline.base, path, body)]);
    expect(a.status).toBeGreaterThanOrEqual(400);
    expect({ status: a.status, body: a.text }).toEqual({ status: b.status, body: b.text });
    // an empty body never reaches a decoder; everything else went through the pool
    expect(offloaded(pooled) - before).toBe(body === '' ? 0 : 1);
  });

  it('the servers keep serving', async () => {
    for (const srv of [pooled, inline]) {
      const r = await postJson(srv.base, HPT, '{"instances": [1.0, 2.0, 5.0]}');
      expect(r.json).toEqual({ predictions: [2.5, 3.0, 4.5] });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// big bodies under the default threshold
// ---------------------------------------------------------------------------------------------

/** A conv TF-JSON body of `images` identical 28x28x1 images; `last` replaces the final pixel. */
function convBody(images: number, last?: string): string {
  const img = `[${Array.from({ length: 28 }, () => `[${Array.from({ length: 28 }, () => '[0.123456789]').join(', ')}]`).join(', ')}]`;
  const body = `{"instances": [${Array.from({ length: images }, () => img).join(', ')}]}`;
  if (last === undefined) return body;
  const at = body.lastIndexOf('0.123456789');
  return body.slice(0, at) + last + body.slice(at + '0.123456789'.length);
}

describe('where the pool runs', () => {
  it('only where the process has a second CPU for it (one CPU: the event loop decodes)', () => {
    expect(offloadPays(1)).toBe(false);
    expect(offloadPays(2)).toBe(true);
    expect(offloadPays(64)).toBe(true);
  });
});

describe('big bodies (default threshold)', () => {
  it(`bodies from ${DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES} bytes go to the pool, smaller ones do not, with the same outputs`, async () => {
    const big = convBody(40);
    const small = convBody(1);
    expect(Buffer.byteLength(big)).toBeGreaterThanOrEqual(DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES);
    expect(Buffer.byteLength(small)).toBeLessThan(DEFAULT_JSON_OFFLOAD_THRESHOLD_BYTES);
    const before = offloaded(byDefault);
    const r = await postJson(byDefault.base, '/v1/models/conv:predict', big);
    expect(offloaded(byDefault) - before).toBe(1);
    const s = await postJson(byDefault.base, '/v1/models/conv:predict', small);
    expect(offloaded(byDefault) - before).toBe(1);
    expect(r.status).toBe(200);
    expect(s.status).toBe(200);
    // every image is the same: every row of the big answer equals the small one's
    expect(r.json.predictions).toHaveLength(40);
    for (const row of r.json.predictions) {
      row.forEach((v: number, i: number) => expect(v).toBeCloseTo(s.json.predictions[0][i], 5));
    }
  });

  it('a malformed big body gets the same 400 and message as inline decoding', async () => {
    for (const last of ['0.5x', '"oops"', '[0.5]', '0.5, 0.25']) {
      const body = convBody(40, last);
      const before = offloaded(byDefault);
      const [a, b] = await Promise.all([
        postJson(byDefault.base, '/v1/models/conv:predict', body),
        postJson(inline.base, '/v1/models/conv:predict', body),
      ]);
      expect(offloaded(byDefault) - before, last).toBe(1);
      expect(a.status, last).toBe(400);
      expect({ status: a.status, body: a.text }, last).toEqual({ status: b.status, body: b.text });
      expect(a.json.error, last).toMatch(/\S/);
    }
    // and the server answers normally afterwards
    const r = await postJson(byDefault.base, HPT, '{"instances": [1.0]}');
    expect(r.json).toEqual({ predictions: [2.5] });
  });
});
