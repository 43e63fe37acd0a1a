// KServe v2 / Open Inference Protocol REST on a real jetserve server: health, server metadata (with
// the HTTP engine in use), model metadata / readiness / Triton config, infer with JSON tensors and
// with the binary tensor extension giving Python TF's outputs for the fixtures, and the error paths.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DType } from '../../src/engine/dtypes.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectTensorClose, loadOracle, type OracleCase } from '../helpers/oracle.js';
import {
  DTYPE_OF_KSERVE,
  demoBasePath,
  fixtureConfig,
  KSERVE_TYPES,
  postJson,
  rawBytes,
  request,
  startServer,
  tensorFromJson,
  tensorFromRaw,
  tfJsonLeaf,
  type Reply,
  type TestServer,
  isUtf8,
} from './helpers.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(
    [
      { name: 'half_plus_two', basePath: demoBasePath() },
      fixtureConfig('mlp'),
      fixtureConfig('multi_sig'),
      fixtureConfig('conv'),
      fixtureConfig('strings'),
      fixtureConfig('dtypes'),
    ],
    { maxBodyBytes: 8 * 1024 * 1024 },
  );
});

afterAll(async () => {
  await srv?.close();
});

const INFER = '/v2/models/half_plus_two/infer';
const HPT_BODY = { inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1.0, 2.0, 5.0] }] };

async function inferStillWorks(): Promise<void> {
  const r = await postJson(srv.base, INFER, HPT_BODY);
  expect(r.status).toBe(200);
  expect(r.json.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [3], data: [2.5, 3.0, 4.5] }]);
}

describe('health and metadata', () => {
  it('live and ready answer 200 with a JSON body', async () => {
    const live = await request(srv.base, '/v2/health/live');
    expect([live.status, live.json]).toEqual([200, { live: true }]);
    const ready = await request(srv.base, '/v2/health/ready');
    expect([ready.status, ready.json]).toEqual([200, { ready: true }]);
  });

  it('/v2 server metadata names jetserve, its extensions and the HTTP engine in use', async () => {
    const r = await request(srv.base, '/v2');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name: 'jetserve', extensions: expect.arrayContaining(['binary_tensor_data', 'model_configuration']) });
    expect(r.json.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.json.jetserve.http_engine).toBe(srv.server.engine.native ? 'uWebSockets.js native' : 'node:http fallback');
    expect(r.json.jetserve.http_engine).toBe('uWebSockets.js native'); // the native binary loads on this platform
  });

  it('model metadata lists versions, platform and the serving signature’s tensors', async () => {
    for (const path of ['/v2/models/mlp', '/v2/models/mlp/versions/1']) {
      const r = await request(srv.base, path);
      expect(r.status, path).toBe(200);
      expect(r.json).toEqual({
        name: 'mlp',
        versions: ['1'],
        platform: 'tensorflow_savedmodel',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }].map((o) => ({ ...o, name: expect.any(String) })),
      });
    }
  });

  it('model ready: 200 for a loaded model, 400 for a missing version, 404 for an unknown model', async () => {
    const ok = await request(srv.base, '/v2/models/half_plus_two/ready');
    expect([ok.status, ok.json]).toEqual([200, { name: 'half_plus_two', ready: true }]);
    const v1 = await request(srv.base, '/v2/models/half_plus_two/versions/1/ready');
    expect(v1.status).toBe(200);
    const v9 = await request(srv.base, '/v2/models/half_plus_two/versions/9/ready');
    expect([v9.status, v9.json]).toEqual([400, { name: 'half_plus_two', ready: false }]);
    const unknown = await request(srv.base, '/v2/models/nope/ready');
    expect([unknown.status, unknown.json]).toEqual([404, { error: "Request for unknown model: 'nope' is not found" }]);
  });

  it('GET …/config returns a Triton model configuration', async () => {
    const r = await request(srv.base, '/v2/models/half_plus_two/config');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      name: 'half_plus_two',
      platform: 'tensorflow_savedmodel',
      max_batch_size: 0,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [-1] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [-1] }],
    });
  });
});

// ---------------------------------------------------------------------------------------------

const KSERVE_DTYPES = new Set(Object.keys(KSERVE_TYPES) as DType[]);

function kserveCases(model: string, json: boolean): OracleCase[] {
  return loadOracle(model).cases.filter(
    (c) =>
      !c.examples &&
      [...Object.values(c.inputs), ...Object.values(c.outputs)].every(
        (t) =>
          KSERVE_DTYPES.has(t.dtype) &&
          // JSON strings carry UTF-8 text only; bytes need the binary extension
          (!json || t.dtype !== 'string' || (t.data as Uint8Array[]).every(isUtf8)),
      ),
  );
}


function jsonData(t: Tensor): string {
  const n = t.dtype === 'string' ? t.data.length : (t.data as ArrayLike<unknown>).length;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    if (t.dtype === 'string') parts.push(JSON.stringify(Buffer.from((t.data as Uint8Array[])[i]!).toString('utf8')));
    else if (t.dtype === 'float16' || t.dtype === 'bfloat16') parts.push(String(halfish(t, i)));
    else parts.push(tfJsonLeaf(t, i));
  }
  return `[${parts.join(',')}]`;
}

/** float16 / bfloat16 element as a JS number (KServe JSON carries FP16 / BF16 as numbers). */
function halfish(t: Tensor, i: number): string {
  const bits = (t.data as Uint16Array)[i]!;
  let v: number;
  if (t.dtype === 'bfloat16') {
    v = new Float32Array(new Uint32Array([bits << 16]).buffer)[0]!;
  } else {
    const sign = bits & 0x8000 ? -1 : 1;
    const exp = (bits >>> 10) & 0x1f;
    const mant = bits & 0x3ff;
    v = exp === 0 ? sign * mant * 2 ** -24 : exp === 0x1f ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return Object.is(v, -0) ? '-0.0' : String(v);
}

function inferJsonBody(c: OracleCase): string {
  const inputs = Object.entries(c.inputs).map(
    ([name, t]) =>
      `{"name": ${JSON.stringify(name)}, "shape": ${JSON.stringify(t.shape)}, "datatype": "${KSERVE_TYPES[t.dtype]}", "data": ${jsonData(t)}}`,
  );
  return `{"id": ${JSON.stringify(c.name)}, "parameters": {"signature_name": ${JSON.stringify(c.signature)}}, "inputs": [${inputs.join(', ')}]}`;
}

function inferBinaryBody(c: OracleCase): { body: Buffer; headerLength: number } {
  const entries = Object.entries(c.inputs);
  const header = JSON.stringify({
    id: c.name,
    parameters: { signature_name: c.signature, binary_data_output: true },
    inputs: entries.map(([name, t]) => ({
      name,
      shape: t.shape,
      datatype: KSERVE_TYPES[t.dtype],
      parameters: { binary_data_size: rawBytes(t).length },
    })),
  });
  const headerBytes = Buffer.from(header);
  return { body: Buffer.concat([headerBytes, ...entries.map(([, t]) => rawBytes(t))]), headerLength: headerBytes.length };
}

/** Outputs of a KServe response (JSON data or binary blobs after the header) as Tensors. */
function responseTensors(r: Reply): Record<string, Tensor> {
  const headerLength = r.headers.get('inference-header-content-length');
  const jsonText = headerLength === null ? r.text : Buffer.from(r.bytes.subarray(0, Number(headerLength))).toString('utf8');
  const body = JSON.parse(jsonText.replace(/\bNaN\b|-?\bInfinity\b/g, '0')); // only binary outputs are compared bitwise
  const parsed = headerLength === null ? r.json : body;
  let offset = Number(headerLength ?? 0);
  const out: Record<string, Tensor> = {};
  for (const o of parsed.outputs) {
    const dtype = DTYPE_OF_KSERVE[o.datatype]!;
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      out[o.name] = tensorFromRaw(r.bytes.subarray(offset, offset + size), dtype, o.shape);
      offset += size;
    } else {
      out[o.name] = tensorFromJson(o.data, dtype, o.shape);
    }
  }
  return out;
}

function expectCaseOutputs(r: Reply, c: OracleCase): void {
  expect(r.status, r.text.slice(0, 400)).toBe(200);
  const got = responseTensors(r);
  expect(Object.keys(got).sort()).toEqual(Object.keys(c.outputs).sort());
  for (const [name, expected] of Object.entries(c.outputs)) {
    // cases TF computed row by row differ from one batched run in the last float bits
    const [rel, abs] = /each run alone/.test(c.name) ? [1e-4, 1e-6] : [1e-6, 1e-30];
    expectTensorClose(got[name]!, expected, rel, abs, `${c.signature}: ${c.name}: ${name}`);
  }
}

const MODELS = ['half_plus_two', 'mlp', 'multi_sig', 'conv', 'strings', 'dtypes'];

describe.each(MODELS)('fixture %s through KServe infer equals Python TF', (model) => {
  const jsonCases = kserveCases(model, true).filter(
    // JSON FP16/BF16 round-trips through a number; NaN payload bits cannot, so compare those in binary only
    (c) => Object.values(c.inputs).every((t) => t.dtype !== 'float16' && t.dtype !== 'bfloat16'),
  );
  it.each(jsonCases.map((c) => [`${c.signature}: ${c.name}`, c] as const))('JSON %s', async (_label, c) => {
    const r = await postJson(srv.base, `/v2/models/${model}/infer`, inferJsonBody(c));
    expectCaseOutputs(r, c);
    expect(r.json.id).toBe(c.name);
    expect(r.json.model_name).toBe(model);
    expect(r.json.model_version).toBe('1');
  });

  const binaryCases = kserveCases(model, false);
  it.each(binaryCases.map((c) => [`${c.signature}: ${c.name}`, c] as const))('binary %s', async (_label, c) => {
    const { body, headerLength } = inferBinaryBody(c);
    const r = await request(srv.base, `/v2/models/${model}/infer`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
    });
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expectCaseOutputs(r, c);
  });
});

describe('infer details', () => {
  it('"outputs" selects and orders outputs; binary_data per output', async () => {
    const c = loadOracle('multi_sig').cases.find((k) => k.signature === 'serving_default')!;
    const inputs = Object.entries(c.inputs).map(([name, t]) => ({
      name,
      shape: t.shape,
      datatype: 'FP32',
      data: Array.from(t.data as Float32Array),
    }));
    const r = await postJson(srv.base, '/v2/models/multi_sig/infer', {
      inputs,
      outputs: [{ name: 'sum', parameters: { binary_data: true } }, { name: 'norm' }],
    });
    expect(r.status).toBe(200);
    const got = responseTensors(r);
    expect(Object.keys(got)).toEqual(['sum', 'norm']);
    expectTensorClose(got.sum!, c.outputs.sum!, 1e-6);
    expectTensorClose(got.norm!, c.outputs.norm!, 1e-12);
  });

  it('a raw binary request (Inference-Header-Content-Length: 0) feeds the one input', async () => {
    // Triton's rule: the leading variable dim is the batch (1), the rest comes from the byte count
    const x = Buffer.from(new Float32Array([5]).buffer);
    const r = await request(srv.base, INFER, {
      method: 'POST',
      body: x,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '0' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(Array.from(responseTensors(r).y!.data as Float32Array)).toEqual([4.5]);
  });
});

describe('error paths: status + a message naming the problem, and the server keeps serving', () => {
  const cases: [string, string, string, number, RegExp][] = [
    ['malformed JSON', INFER, '{"inputs": [', 400, /JSON Parse error/],
    ['missing inputs', INFER, '{"input": []}', 400, /missing the 'inputs' field/],
    ['unknown input name', INFER, '{"inputs":[{"name":"z","shape":[1],"datatype":"FP32","data":[1]}]}', 400, /unexpected inference input 'z'.*x/],
    ['wrong datatype', INFER, '{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}', 400, /input 'x': datatype 'INT64' does not match the model's 'FP32'/],
    ['data count ≠ shape', INFER, '{"inputs":[{"name":"x","shape":[4],"datatype":"FP32","data":[1,2,5]}]}', 400, /input 'x': 'data' has 3 elements but shape \[4\] needs 4/],
    ['shape against the signature', '/v2/models/mlp/infer', '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}', 400, /\[-1,4\]/],
    ['string where a number belongs', INFER, '{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["a"]}]}', 400, /x/],
    ['unknown signature parameter', INFER, '{"parameters":{"signature_name":"nope"},"inputs":[]}', 400, /Serving signature name: "nope" not found/],
    ['unknown model', '/v2/models/nope/infer', JSON.stringify(HPT_BODY), 404, /^Request for unknown model: 'nope' is not found$/],
    ['unknown version', '/v2/models/half_plus_two/versions/9/infer', JSON.stringify(HPT_BODY), 404, /^Request for unknown model: 'half_plus_two' version 9 is not found$/],
    ['non-numeric version', '/v2/models/half_plus_two/versions/latest/infer', JSON.stringify(HPT_BODY), 400, /Invalid model version 'latest'/],
  ];

  it.each(cases)('%s', async (_name, path, body, status, message) => {
    const r = await postJson(srv.base, path, body);
    expect(r.status, r.text).toBe(status);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(message);
    await inferStillWorks();
  });

  it('binary: header length past the body, blob sizes that do not add up', async () => {
    const over = await request(srv.base, INFER, {
      method: 'POST',
      body: '{"inputs": []}',
      headers: { 'inference-header-content-length': '500' },
    });
    expect(over.status).toBe(400);
    expect(over.json.error).toMatch(/Inference-Header-Content-Length 500 exceeds the request body/);
    const header = JSON.stringify({
      inputs: [{ name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: 12 } }],
    });
    const short = await request(srv.base, INFER, {
      method: 'POST',
      body: Buffer.concat([Buffer.from(header), Buffer.alloc(8)]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
    });
    expect(short.status).toBe(400);
    expect(short.json.error).toMatch(/x/);
    await inferStillWorks();
  });

  it('content types: octet-stream without the header → 400, XML → 415', async () => {
    const noHeader = await request(srv.base, INFER, {
      method: 'POST',
      body: Buffer.alloc(12),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(noHeader.status).toBe(400);
    expect(noHeader.json.error).toMatch(/needs the Inference-Header-Content-Length header/);
    const xml = await request(srv.base, INFER, { method: 'POST', body: '<x/>', headers: { 'content-type': 'text/xml' } });
    expect(xml.status).toBe(415);
    expect(xml.json.error).toMatch(/^Unsupported Content-Type 'text\/xml' for infer/);
    await inferStillWorks();
  });

  it('oversized body → 413; wrong method → 405; unknown path → 404', async () => {
    const big = await postJson(srv.base, INFER, `{"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [${'1,'.repeat(5_000_000)}1]}]}`);
    expect(big.status).toBe(413);
    const get = await request(srv.base, INFER);
    expect(get.status).toBe(405);
    expect(get.json.error).toMatch(/Method GET is not allowed on \/v2\/models\/half_plus_two\/infer; use POST/);
    const nowhere = await request(srv.base, '/v2/repository/index');
    expect(nowhere.status).toBe(404);
    await inferStillWorks();
  });
});
