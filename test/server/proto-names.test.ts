// Client-supplied names that are also Object.prototype's keys ("__proto__", "constructor",
// "toString", …) must get exactly what an unknown name gets — same status, same message with the
// name in it — on every REST route that looks a name up: signatures, inputs, outputs, model
// names, versions and labels, over TF-JSON, KServe JSON and FlatBuffers. Never a 500 or 501.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFlatPredictRequest, FLATBUFFERS_CONTENT_TYPE, decodeFlatPredictResponse } from '../../src/wire/flatbuffers/flatbuffers.js';
import { JetserveError } from '../../src/errors.js';
import { demoBasePath, fixtureConfig, postJson, request, startServer, type Reply, type TestServer } from './helpers.js';

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const UNKNOWN = 'nope';

let srv: TestServer;
const logged: string[] = [];

beforeAll(async () => {
  srv = await startServer(
    [{ name: 'half_plus_two', basePath: demoBasePath() }, { ...fixtureConfig('mlp'), versionLabels: { stable: 1 } }],
    { log: (m) => logged.push(m) },
  );
});

afterAll(async () => {
  await srv?.close();
});

const row = '[1.0, 2.0, 3.0, 4.0]';

/** Each probe: a request with the name substituted in. */
const jsonProbes: Record<string, (name: string) => Promise<Reply>> = {
  'TF-JSON signature_name': (n) => postJson(srv.base, '/v1/models/mlp:predict', `{"signature_name": ${JSON.stringify(n)}, "instances": [${row}]}`),
  'TF-JSON signature_name (after the values)': (n) => postJson(srv.base, '/v1/models/mlp:predict', `{"instances": [${row}], "signature_name": ${JSON.stringify(n)}}`),
  'TF-JSON columnar input name': (n) => postJson(srv.base, '/v1/models/mlp:predict', `{"inputs": {${JSON.stringify(n)}: [${row}]}}`),
  'TF-JSON row object key': (n) => postJson(srv.base, '/v1/models/mlp:predict', `{"instances": [{${JSON.stringify(n)}: ${row}}]}`),
  'TF-JSON model name': (n) => postJson(srv.base, `/v1/models/${encodeURIComponent(n)}:predict`, `{"instances": [${row}]}`),
  'TF-JSON label': (n) => postJson(srv.base, `/v1/models/mlp/labels/${encodeURIComponent(n)}:predict`, `{"instances": [${row}]}`),
  'TF metadata model name': (n) => request(srv.base, `/v1/models/${encodeURIComponent(n)}/metadata`),
  'TF status model name': (n) => request(srv.base, `/v1/models/${encodeURIComponent(n)}`),
  'classify signature_name': (n) =>
    postJson(srv.base, '/v1/models/half_plus_two:classify', `{"signature_name": ${JSON.stringify(n)}, "examples": [{"x": 1.0}]}`),
  'KServe model name': (n) => postJson(srv.base, `/v2/models/${encodeURIComponent(n)}/infer`, kserveBody('x')),
  'KServe metadata model name': (n) => request(srv.base, `/v2/models/${encodeURIComponent(n)}`),
  'KServe ready model name': (n) => request(srv.base, `/v2/models/${encodeURIComponent(n)}/ready`),
  'KServe config model name': (n) => request(srv.base, `/v2/models/${encodeURIComponent(n)}/config`),
  'KServe stats model name': (n) => request(srv.base, `/v2/models/${encodeURIComponent(n)}/stats`),
  'KServe shadow model name': (n) => request(srv.base, `/v2/models/${encodeURIComponent(n)}/shadow`),
  'KServe input name': (n) => postJson(srv.base, '/v2/models/mlp/infer', kserveBody(n)),
  'KServe output name': (n) => postJson(srv.base, '/v2/models/mlp/infer', kserveBody('x', { outputs: [{ name: n }] })),
  'KServe signature_name parameter': (n) => postJson(srv.base, '/v2/models/mlp/infer', kserveBody('x', { parameters: { signature_name: n } })),
  'KServe parameter name': (n) => postJson(srv.base, '/v2/models/mlp/infer', kserveBody('x', { parameters: { [n]: 'x' } })),
};

function kserveBody(input: string, extra: Record<string, unknown> = {}): string {
  // JSON.parse and computed keys make "__proto__" an own property, which JSON.stringify writes
  const req = JSON.parse(`{"inputs": [{"name": ${JSON.stringify(input)}, "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}`);
  return JSON.stringify({ ...req, ...extra });
}

/** The reply with every occurrence of the name replaced by UNKNOWN, for comparison. */
function normalized(r: Reply, name: string): { status: number; text: string } {
  return { status: r.status, text: r.text.split(name).join(UNKNOWN) };
}

describe('Object.prototype names get the unknown-name answer (REST)', () => {
  for (const [probe, send] of Object.entries(jsonProbes)) {
    it(probe, async () => {
      const unknown = await send(UNKNOWN);
      for (const name of PROTO_NAMES) {
        const r = await send(name);
        expect(r.status, `${probe} ${name}: ${r.text}`).toBeLessThan(500);
        expect(normalized(r, name), `${probe} ${name}`).toEqual(normalized(unknown, UNKNOWN));
      }
    });
  }

  it('FlatBuffers: input name, output filter and signature', async () => {
    const x = { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const flat = async (body: Uint8Array) => {
      const r = await request(srv.base, '/v1/models/mlp:predict', { method: 'POST', body, headers: { 'content-type': FLATBUFFERS_CONTENT_TYPE } });
      let err: JetserveError | undefined;
      try {
        decodeFlatPredictResponse(r.bytes);
      } catch (e) {
        err = e as JetserveError;
      }
      return { status: r.status, code: err?.code, message: err?.message };
    };
    const cases: Record<string, (n: string) => Uint8Array> = {
      input: (n) => encodeFlatPredictRequest(Object.defineProperty({}, n, { value: x, enumerable: true })),
      output_filter: (n) => encodeFlatPredictRequest({ x }, { outputFilter: [n] }),
      signature: (n) => encodeFlatPredictRequest({ x }, { signatureName: n }),
    };
    for (const [what, body] of Object.entries(cases)) {
      const unknown = await flat(body(UNKNOWN));
      expect(unknown.status, what).toBe(400);
      for (const name of PROTO_NAMES) {
        const r = await flat(body(name));
        expect({ ...r, message: r.message?.split(name).join(UNKNOWN) }, `${what} ${name}`).toEqual(unknown);
      }
    }
  });

  it('the served Model (in-process predict / run, which the batcher validates with) treats them as unknown inputs', async () => {
    const model = srv.manager.resolve({ name: 'mlp' }).model;
    const x = { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    const failure = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: JetserveError) => `${e.code}: ${e.message}`);
    for (const name of PROTO_NAMES) {
      // an extra input under the name: refused like any unknown input (not silently ignored)
      const withExtra = Object.defineProperty({ x }, name, { value: x, enumerable: true });
      expect(await failure(model.run(withExtra)), name).toMatch(/^INVALID_ARGUMENT: unknown input/);
      const only = Object.defineProperty({}, name, { value: [[1, 2, 3, 4]], enumerable: true });
      expect(await failure(model.predict(only)), name).toBe((await failure(model.predict({ [UNKNOWN]: [[1, 2, 3, 4]] }))).split(UNKNOWN).join(name));
    }
  });

  it('nothing was logged as an internal error, and the server still answers', async () => {
    expect(logged.filter((m) => m.includes('internal error'))).toEqual([]);
    const ok = await postJson(srv.base, '/v1/models/mlp:predict', `{"instances": [${row}]}`);
    expect(ok.status).toBe(200);
  });
});
