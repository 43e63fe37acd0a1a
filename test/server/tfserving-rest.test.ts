// TF Serving's REST API on a real jetserve server over loopback: the README examples for
// half_plus_two, status and metadata in TF Serving's exact shapes, classify/regress, outputs equal
// to Python TF's for the fixture models (row and columnar), and every error path with TF Serving's
// status and a message naming the problem, while the server keeps serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectTensorClose, loadOracle, type OracleCase } from '../helpers/oracle.js';
import {
  demoBasePath,
  fixtureConfig,
  postJson,
  request,
  startServer,
  tensorFromJson,
  tfJsonTensor,
  type TestServer,
  tfJsonCases,
} from './helpers.js';

let srv: TestServer;
const HPT = '/v1/models/half_plus_two';

beforeAll(async () => {
  srv = await startServer([
    { name: 'half_plus_two', basePath: demoBasePath() },
    fixtureConfig('mlp'),
    fixtureConfig('multi_sig'),
    fixtureConfig('conv'),
    fixtureConfig('strings'),
    fixtureConfig('dtypes'),
  ]);
});

afterAll(async () => {
  await srv?.close();
});

async function readmePredictStillWorks(): Promise<void> {
  const r = await postJson(srv.base, `${HPT}:predict`, '{"instances": [1.0, 2.0, 5.0]}');
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ predictions: [2.5, 3.0, 4.5] });
}

describe('TF Serving README examples (half_plus_two)', () => {
  it('predict, row format: {"instances": [1.0, 2.0, 5.0]} → {"predictions": [2.5, 3.0, 4.5]}', async () => {
    // exactly what the README's curl -d sends: form content type, no JSON header
    const r = await request(srv.base, `${HPT}:predict`, {
      method: 'POST',
      body: '{"instances": [1.0, 2.0, 5.0]}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json).toEqual({ predictions: [2.5, 3.0, 4.5] });
  });

  it('predict, columnar format: bare list and named inputs → {"outputs": [2.5, 3.0, 4.5]}', async () => {
    for (const body of ['{"inputs": [1.0, 2.0, 5.0]}', '{"inputs": {"x": [1.0, 2.0, 5.0]}}']) {
      const r = await postJson(srv.base, `${HPT}:predict`, body);
      expect(r.status, body).toBe(200);
      expect(r.json, body).toEqual({ outputs: [2.5, 3.0, 4.5] });
    }
  });

  it('predict by version and with signature_name', async () => {
    const r = await postJson(srv.base, `${HPT}/versions/1:predict`, {
      signature_name: 'serving_default',
      instances: [0.0, -4.0],
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ predictions: [2.0, 0.0] });
  });

  it('model status: version as a string, state AVAILABLE, OK status (1-space indented like TF Serving)', async () => {
    for (const path of [HPT, `${HPT}/versions/1`, `${HPT}/labels/anything`]) {
      const r = await request(srv.base, path);
      expect(r.status, path).toBe(200);
      expect(r.json, path).toEqual({
        model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      });
      expect(r.text).toContain('\n "model_version_status": [\n  {\n   "version": "1",');
    }
  });

  it('model metadata: doubled signature_def key, DT_ names, dim sizes as strings, every signature TF reports', async () => {
    const oracle = loadOracle('half_plus_two');
    for (const path of [`${HPT}/metadata`, `${HPT}/versions/1/metadata`]) {
      const r = await request(srv.base, path);
      expect(r.status, path).toBe(200);
      expect(r.json.model_spec).toEqual({ name: 'half_plus_two', signature_name: '', version: '1' });
      const defs = r.json.metadata.signature_def.signature_def;
      expect(Object.keys(defs).sort()).toEqual(Object.keys(oracle.signatures).sort());
      for (const [key, sig] of Object.entries(oracle.signatures)) {
        expect(defs[key].method_name, key).toBe(sig.methodName);
        for (const side of ['inputs', 'outputs'] as const) {
          for (const [alias, info] of Object.entries(sig[side])) {
            expect(defs[key][side][alias], `${key}.${side}.${alias}`).toEqual({
              dtype: info.tfDtype,
              tensor_shape:
                info.shape === null
                  ? { dim: [], unknown_rank: true }
                  : { dim: info.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false },
              name: info.name,
            });
          }
        }
      }
    }
  });

  it('classify and regress with tf.Example features give TF’s outputs under "results"', async () => {
    for (const c of loadOracle('half_plus_two').cases.filter((k) => k.examples)) {
      const verb = c.signature.startsWith('classify') ? 'classify' : 'regress';
      const r = await postJson(srv.base, `${HPT}:${verb}`, examplesBody(c.signature, c.examples!));
      expect(r.status, c.name).toBe(200);
      const expected = c.outputs[verb === 'classify' ? 'scores' : 'outputs']!;
      const values = Array.from(expected.data as Float32Array);
      if (verb === 'classify') expect(r.json, c.name).toEqual({ results: values.map((v) => [['', v]]) });
      else expect(r.json, c.name).toEqual({ results: values });
    }
  });

  it('regress merges "context" features into every example', async () => {
    // floats written with a decimal point: in TF Serving's JSON, 4 is an int64 feature, 4.0 a float
    const r = await postJson(
      srv.base,
      `${HPT}:regress`,
      '{"signature_name": "regress_x2_to_y3", "context": {"x2": 4.0}, "examples": [{"x": 1.0}, {"x": 7.0}]}',
    );
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ results: [5.0, 5.0] }); // 0.5 * x2 + 3
  });
});

/** A classify/regress body whose feature values are JSON floats (1.0, not 1: that would be int64). */
function examplesBody(signature: string, examples: Record<string, number>[]): string {
  const float = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
  const ex = examples.map((e) => `{${Object.entries(e).map(([k, v]) => `${JSON.stringify(k)}: ${float(v)}`).join(', ')}}`);
  return `{"signature_name": ${JSON.stringify(signature)}, "examples": [${ex.join(', ')}]}`;
}


function columnarBody(c: OracleCase): string {
  const inputs = Object.entries(c.inputs)
    .map(([k, t]) => `${JSON.stringify(k)}: ${tfJsonTensor(t)}`)
    .join(', ');
  return `{"signature_name": ${JSON.stringify(c.signature)}, "inputs": {${inputs}}}`;
}

/** Row format: one object (or bare value, for a single input) per batch item. */
function rowBody(c: OracleCase): string {
  const entries = Object.entries(c.inputs);
  const batch = entries[0]![1].shape[0]!;
  const item = (t: Tensor, b: number): string => {
    const inner = t.shape.slice(1);
    const per = inner.reduce((a, d) => a * d, 1);
    const slice: Tensor = {
      dtype: t.dtype,
      shape: inner,
      data:
        t.dtype === 'string'
          ? (t.data as Uint8Array[]).slice(b * per, (b + 1) * per)
          : (t.data as Float32Array).subarray(b * per, (b + 1) * per),
    };
    return tfJsonTensor(slice);
  };
  const rows: string[] = [];
  for (let b = 0; b < batch; b++) {
    rows.push(
      entries.length === 1
        ? item(entries[0]![1], b)
        : `{${entries.map(([k, t]) => `${JSON.stringify(k)}: ${item(t, b)}`).join(', ')}}`,
    );
  }
  return `{"signature_name": ${JSON.stringify(c.signature)}, "instances": [${rows.join(', ')}]}`;
}

function expectJsonOutputs(got: any, c: OracleCase, key: 'outputs' | 'predictions'): void {
  const names = Object.keys(c.outputs);
  for (const name of names) {
    const expected = c.outputs[name]!;
    let value: any;
    if (key === 'outputs') value = names.length === 1 ? got.outputs : got.outputs[name];
    else value = names.length === 1 ? got.predictions : got.predictions.map((row: any) => row[name]);
    const actual = tensorFromJson(value, expected.dtype, expected.shape);
    // cases TF computed row by row differ from one batched run in the last float bits
    const [rel, abs] = /each run alone/.test(c.name) ? [1e-4, 1e-6] : [1e-6, 1e-30];
    expectTensorClose(actual, expected, rel, abs, `${c.signature}: ${c.name}: ${name}`);
  }
}

describe.each(['mlp', 'multi_sig', 'conv', 'strings', 'dtypes'])('fixture %s through TF-JSON equals Python TF', (model) => {
  const cases = tfJsonCases(model);

  it.each(cases.map((c) => [`${c.signature}: ${c.name}`, c] as const))('columnar %s', async (_label, c) => {
    const r = await postJson(srv.base, `/v1/models/${model}:predict`, columnarBody(c));
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expectJsonOutputs(r.json, c, 'outputs');
  });

  const rowCases = cases.filter((c) => {
    const ins = Object.values(c.inputs);
    const outs = Object.values(c.outputs);
    const batch = ins[0]?.shape[0];
    // row format needs one shared, non-empty batch dimension on every input and output
    return (
      batch !== undefined &&
      batch > 0 &&
      ins.every((t) => t.shape.length > 0 && t.shape[0] === batch) &&
      outs.every((t) => t.shape.length > 0 && t.shape[0] === batch)
    );
  });
  it.each(rowCases.map((c) => [`${c.signature}: ${c.name}`, c] as const))('row %s', async (_label, c) => {
    const r = await postJson(srv.base, `/v1/models/${model}:predict`, rowBody(c));
    expect(r.status, r.text.slice(0, 500)).toBe(200);
    expectJsonOutputs(r.json, c, 'predictions');
  });
});

describe('error paths: TF Serving status + a message naming the problem, and the server keeps serving', () => {
  const cases: [string, string, string | Record<string, unknown>, number, RegExp][] = [
    ['malformed JSON', `${HPT}:predict`, '{"instances": [1.0, 2.0,', 400, /^JSON Parse error: .* at offset: \d+$/],
    ['not an object', `${HPT}:predict`, '[1, 2]', 400, /object/i],
    ['wrong field name', `${HPT}:predict`, '{"instance": [1.0]}', 400, /^Missing 'inputs' or 'instances' key$/],
    ['both instances and inputs', `${HPT}:predict`, '{"instances": [1.0], "inputs": [1.0]}', 400, /inputs.*instances|instances.*inputs/],
    ['wrong dtype (string for float)', `${HPT}:predict`, '{"instances": ["a"]}', 400, /"a".*not of expected type: float/],
    ['wrong dtype (float for int64)', '/v1/models/multi_sig:predict', '{"signature_name": "count", "inputs": {"values": [1.5]}}', 400, /not of expected type: int64/],
    // shapes are TF's business, as in TF Serving: TF's own error for one it refuses
    ['a shape TF refuses', '/v1/models/mlp:predict', '{"instances": [[1, 2, 3]]}', 400, /^Matrix size-incompatible: In\[0\]: \[1,3\], In\[1\]: \[4,8\]/],
    ['ragged list', '/v1/models/mlp:predict', '{"instances": [[1, 2, 3, 4], [1, 2]]}', 400, /Expecting tensor size: 4 but got: 2/],
    ['missing named input', '/v1/models/multi_sig:predict', '{"inputs": {"a": [[1, 2]]}}', 400, /b/],
    ['unknown signature', `${HPT}:predict`, '{"signature_name": "nope", "instances": [1.0]}', 400, /^Serving signature name: "nope" not found in signature def/],
    ['signature_name not a string', `${HPT}:predict`, '{"signature_name": 7, "instances": [1.0]}', 400, /signature_name/],
    ['bad base64', '/v1/models/strings:predict', '{"instances": [{"b64": "%%%"}]}', 400, /base64/i],
    ['classify without examples', `${HPT}:classify`, '{"signature_name": "classify_x_to_y"}', 400, /'examples' is expected/],
    ['regress on a predict signature', `${HPT}:regress`, '{"examples": [{"x": 1.0}]}', 400, /^No regression inputs found in SignatureDef: serving_default /],
    ['classify with an unknown signature', `${HPT}:classify`, '{"signature_name": "nope", "examples": [{"x": 1.0}]}', 400, /^No signature was found with the name: nope$/],
  ];

  it.each(cases)('%s', async (_name, path, body, status, message) => {
    const r = await postJson(srv.base, path, body);
    expect(r.status, r.text).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(message);
    await readmePredictStillWorks();
  });

  it('unknown model → 404 Servable not found for request: Latest(m)', async () => {
    const r = await postJson(srv.base, '/v1/models/nope:predict', '{"instances": [1.0]}');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'Servable not found for request: Latest(nope)' });
    const g = await request(srv.base, '/v1/models/nope/metadata');
    expect(g.status).toBe(404);
    expect(g.json).toEqual({ error: 'Servable not found for request: Latest(nope)' });
    const s = await request(srv.base, '/v1/models/nope');
    expect(s.status).toBe(404);
    expect(s.json).toEqual({ error: 'Could not find any versions of model nope' });
  });

  it('unknown version → 404 Servable not found for request: Specific(m, v)', async () => {
    const r = await postJson(srv.base, `${HPT}/versions/7:predict`, '{"instances": [1.0]}');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'Servable not found for request: Specific(half_plus_two, 7)' });
    const m = await request(srv.base, `${HPT}/versions/7/metadata`);
    expect(m.status).toBe(404);
    expect(m.json).toEqual({ error: 'Servable not found for request: Specific(half_plus_two, 7)' });
    const s = await request(srv.base, `${HPT}/versions/7`);
    expect(s.status).toBe(404);
    expect(s.json).toEqual({ error: 'Could not find version 7 of model half_plus_two' });
  });

  it('unknown label → 400 Unrecognized servable version label', async () => {
    const r = await postJson(srv.base, `${HPT}/labels/stable:predict`, '{"instances": [1.0]}');
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Unrecognized servable version label: stable' });
    const m = await request(srv.base, `${HPT}/labels/stable/metadata`);
    expect(m.status).toBe(400);
    expect(m.json).toEqual({ error: 'Unrecognized servable version label: stable' });
  });

  it('URL grammar: missing model name, wrong verb case, wrong method, version too large', async () => {
    const missing = await request(srv.base, '/v1/models');
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ error: 'Missing model name in request.' });
    const upper = await postJson(srv.base, `${HPT}:PREDICT`, '{"instances": [1.0]}');
    expect(upper.status).toBe(400);
    expect(upper.json).toEqual({ error: `Malformed request: POST ${HPT}:PREDICT` });
    const get = await request(srv.base, `${HPT}:predict`);
    expect(get.status).toBe(400);
    expect(get.json).toEqual({ error: `Malformed request: GET ${HPT}:predict` });
    const put = await request(srv.base, HPT, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(400);
    expect(put.json).toEqual({ error: `Malformed request: PUT ${HPT}` });
    const huge = await postJson(srv.base, `${HPT}/versions/99999999999999999999:predict`, '{"instances": [1.0]}');
    expect(huge.status).toBe(400);
    expect(huge.json.error).toMatch(/Failed to convert version/);
    const caseInsensitive = await request(srv.base, '/V1/MODELS/half_plus_two');
    expect(caseInsensitive.status).toBe(200);
    await readmePredictStillWorks();
  });

  it('wrong content type → 415 naming the accepted types', async () => {
    const r = await request(srv.base, `${HPT}:predict`, {
      method: 'POST',
      body: '<instances>1</instances>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(r.status).toBe(415);
    expect(r.json.error).toMatch(/Unsupported Content-Type 'application\/xml' for :predict: send JSON \(application\/json\)/);
    await readmePredictStillWorks();
  });

  it('a burst of bad and good requests in parallel: every good one is answered correctly', async () => {
    const jobs = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? postJson(srv.base, `${HPT}:predict`, { instances: [i, i + 1] }).then((r) => {
            expect(r.status).toBe(200);
            expect(r.json).toEqual({ predictions: [0.5 * i + 2, 0.5 * (i + 1) + 2] });
          })
        : postJson(srv.base, i % 3 === 1 ? `${HPT}:predict` : '/v1/models/nope:predict', '{"instances": [').then((r) => {
            expect(r.status).toBe(i % 3 === 1 ? 400 : 404);
          }),
    );
    await Promise.all(jobs);
    await readmePredictStillWorks();
  });
});
