// FlatBuffers predict protocol: codec round trips, alignment / zero copy, verification of hostile
// buffers, and the fetch client against a real loopback HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/engine/native.js', () => ({ allocAligned: (n: number) => new ArrayBuffer(n) }));

import {
  decodeFlatPredict,
  decodeFlatPredictResponse,
  encodeFlatPredictError,
  encodeFlatPredictRequest,
  encodeFlatPredictResponse,
  FLATBUFFERS_CONTENT_TYPE,
} from '../../src/wire/flatbuffers/flatbuffers.js';
import { predictFlat, predictFlatDetailed, predictUrl } from '../../src/client/flatbuffers-client.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { expectError, sig, text, utf8 } from './helpers.js';

const all: Record<string, Tensor> = {
  f32: { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, NaN, -Infinity, 0.1]) },
  f64: { dtype: 'float64', shape: [1], data: new Float64Array([Math.PI]) },
  i8: { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
  i16: { dtype: 'int16', shape: [1], data: new Int16Array([-3]) },
  i32: { dtype: 'int32', shape: [1], data: new Int32Array([-2147483648]) },
  i64: { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 9007199254740993n]) },
  u8: { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  u16: { dtype: 'uint16', shape: [1], data: new Uint16Array([65535]) },
  u32: { dtype: 'uint32', shape: [1], data: new Uint32Array([4294967295]) },
  u64: { dtype: 'uint64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
  b: { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
  h: { dtype: 'float16', shape: [1], data: new Uint16Array([0x3c00]) },
  bf: { dtype: 'bfloat16', shape: [1], data: new Uint16Array([0x3f80]) },
  c64: { dtype: 'complex64', shape: [1], data: new Float32Array([1, -1]) },
  c128: { dtype: 'complex128', shape: [1], data: new Float64Array([2, -2]) },
  s: { dtype: 'string', shape: [3], data: [utf8('héllo'), new Uint8Array([0, 255, 254]), new Uint8Array()] },
  empty: { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
  scalar: { dtype: 'int32', shape: [], data: new Int32Array([42]) },
};
const allSig = sig(
  Object.fromEntries(Object.entries(all).map(([k, t]) => [k, [t.dtype, t.shape.map(() => -1)]])),
  { y: ['float32', null], z: ['int32', null] },
);

function sameTensors(a: Record<string, Tensor>, b: Record<string, Tensor>): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const [k, t] of Object.entries(b)) {
    const got = a[k]!;
    expect(got.dtype, k).toBe(t.dtype);
    expect(got.shape, k).toEqual(t.shape);
    if (t.dtype === 'string') expect((got.data as Uint8Array[]).map((x) => [...x]), k).toEqual((t.data as Uint8Array[]).map((x) => [...x]));
    else {
      expect(got.data.constructor, k).toBe(t.data.constructor);
      expect([...(got.data as Float64Array)], k).toEqual([...(t.data as Float64Array)]);
    }
  }
}

/** A copy of `bytes` placed at `offset` inside a fresh ArrayBuffer. */
function placed(bytes: Uint8Array, offset: number): Uint8Array {
  const buf = new Uint8Array(bytes.length + offset);
  buf.set(bytes, offset);
  return buf.subarray(offset);
}

describe('FlatBuffers predict codec', () => {
  it('request round trip, every dtype; file identifier; default signature', () => {
    const body = encodeFlatPredictRequest(all, { outputFilter: ['z'] });
    expect(String.fromCharCode(...body.subarray(4, 8))).toBe('JSFB');
    const names: string[] = [];
    const r = decodeFlatPredict(body, (n) => {
      names.push(n);
      return allSig;
    });
    expect(names).toEqual(['serving_default']);
    expect(r.signatureName).toBe('serving_default');
    expect(r.outputFilter).toEqual(['z']);
    sameTensors(r.inputs, all);
    expect(decodeFlatPredict(encodeFlatPredictRequest({ scalar: all.scalar! }, { signatureName: 'other' }), () => sig({ scalar: ['int32', []] })).signatureName).toBe('other');
  });

  it('tensor data is 64-byte aligned in the buffer; copied by default, viewed with zeroCopy', () => {
    const body = placed(encodeFlatPredictRequest(all), 0);
    const copied = decodeFlatPredict(body, () => allSig);
    const viewed = decodeFlatPredict(body, () => allSig, { zeroCopy: true });
    for (const [k, t] of Object.entries(viewed.inputs)) {
      if (t.dtype === 'string') continue;
      const d = t.data as Float32Array;
      expect(copied.inputs[k]!.data === d).toBe(false);
      expect((copied.inputs[k]!.data as Float32Array).buffer).not.toBe(body.buffer);
      if (d.length === 0) continue;
      expect(d.buffer, k).toBe(body.buffer);
      expect(d.byteOffset % 64, k).toBe(0);
    }
    // strings are always views of the body
    expect((viewed.inputs.s!.data as Uint8Array[])[0]!.buffer).toBe(body.buffer);
    // an unaligned placement still decodes (copy path)
    const shifted = decodeFlatPredict(placed(body, 3), () => allSig, { zeroCopy: true });
    sameTensors(shifted.inputs, all);
    expect((shifted.inputs.f32!.data as Float32Array).buffer).not.toBe(body.buffer);
  });

  it('response round trip with version and signature; error responses', () => {
    const outputs = { y: all.f32!, z: all.i64!, s: all.s! };
    const body = encodeFlatPredictResponse(outputs, { modelVersion: 7, signatureName: 'serving_default' });
    const r = decodeFlatPredictResponse(placed(body, 0));
    sameTensors(r.outputs, outputs);
    expect(r.modelVersion).toBe(7n);
    expect(r.signatureName).toBe('serving_default');
    expect((r.outputs.y!.data as Float32Array).byteOffset % 64).toBe(0);
    // misaligned receive buffer: copies into plain typed arrays
    sameTensors(decodeFlatPredictResponse(placed(body, 1)).outputs, outputs);
    const err = expectError(() => decodeFlatPredictResponse(encodeFlatPredictError('NOT_FOUND', 'no such model')), 'NOT_FOUND', 'no such model');
    expect(err.grpcCode).toBe(5);
  });

  it('request errors name the tensor', () => {
    const s = sig({ x: ['float32', [-1, 2]], t: ['string', [-1]] }, { y: ['float32', null] });
    const x = (t: Partial<Tensor>): Tensor => ({ dtype: 'float32', shape: [1, 2], data: new Float32Array(2), ...t }) as Tensor;
    const t: Tensor = { dtype: 'string', shape: [1], data: [utf8('a')] };
    const dec = (inputs: Record<string, Tensor>, opts = {}) => () => decodeFlatPredict(encodeFlatPredictRequest(inputs, opts), () => s);
    expectError(dec({ x: x({}), t, z: x({}) }), 'INVALID_ARGUMENT', "unknown input 'z': the signature's inputs are x, t");
    expectError(dec({ x: x({ dtype: 'float64', data: new Float64Array(2) }), t }), 'INVALID_ARGUMENT', "input 'x' expects dtype float32 but got float64");
    expectError(dec({ x: x({ shape: [2], data: new Float32Array(2) }), t }), 'INVALID_ARGUMENT', "input 'x' expects shape [-1,2] but got [2]");
    expectError(dec({ x: x({ data: new Float32Array(3) }), t }), 'INVALID_ARGUMENT', "tensor 'x': data has 12 bytes but shape [1,2] of float32 needs 8");
    expectError(dec({ x: x({}), t: { ...t, shape: [2] } }), 'INVALID_ARGUMENT', "tensor 't': 1 strings but shape [2] needs 2");
    expectError(dec({ x: x({}) }), 'INVALID_ARGUMENT', "missing input(s) 't'");
    expectError(dec({ x: x({}), t }, { outputFilter: ['nope'] }), 'INVALID_ARGUMENT', 'output tensor alias not found in signature: nope');
    expectError(dec({ x: x({}), t }, { outputFilter: ['y', 'y'] }), 'INVALID_ARGUMENT', 'duplicate output tensor alias in output_filter: y');
    expectError(dec({ '': x({}) }), 'INVALID_ARGUMENT', 'tensor #0 has no name');
    expectError(
      () => decodeFlatPredict(encodeFlatPredictRequest({ b: { dtype: 'bool', shape: [1], data: new Uint8Array([2]) } }), () => sig({ b: ['bool', [-1]] })),
      'INVALID_ARGUMENT',
      "tensor 'b': bool element 0 is 2, not 0 or 1",
    );
  });

  it('hostile buffers: garbage, truncation and bit flips never escape as anything but INVALID_ARGUMENT (or the element budget)', () => {
    expectError(() => decodeFlatPredict(utf8('{"instances": [1]}'), () => allSig), 'INVALID_ARGUMENT', 'not a jetserve FlatBuffers PredictRequest');
    expectError(() => decodeFlatPredict(new Uint8Array(3), () => allSig), 'INVALID_ARGUMENT', 'malformed FlatBuffers message: 3 bytes is too short');
    const good = encodeFlatPredictRequest({ f32: all.f32!, s: all.s!, i64: all.i64! }, { outputFilter: ['y'] });
    const s = sig({ f32: ['float32', null], s: ['string', null], i64: ['int64', null] }, { y: ['float32', null] });
    expectError(() => decodeFlatPredict(good.subarray(0, good.length - 40), () => s), 'INVALID_ARGUMENT', 'malformed FlatBuffers message');
    let seed = 1;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let trial = 0; trial < 1500; trial++) {
      const bad = good.slice();
      for (let k = 0; k < 1 + rand(3); k++) bad[8 + rand(bad.length - 8)] = rand(256);
      try {
        decodeFlatPredict(bad, () => s);
      } catch (err) {
        expect(err, String(err)).toBeInstanceOf(JetserveError);
        // a flipped shape dim can declare more elements than --rest_api_max_tensor_elements allows
        expect(['INVALID_ARGUMENT', 'UNIMPLEMENTED', 'RESOURCE_EXHAUSTED']).toContain((err as JetserveError).code);
      }
    }
  });
});

describe('predictFlat client (loopback HTTP server)', () => {
  let server: Server;
  let url = '';
  const served = sig({ x: ['float32', [-1, 2]] }, { y: ['float32', null], n: ['int64', null] });
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        if (req.url!.startsWith('/v1/models/missing')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{ "error": "Servable not found for request: Latest(missing)" }');
          return;
        }
        try {
          const r = decodeFlatPredict(new Uint8Array(Buffer.concat(chunks)), () => served);
          const x = r.inputs.x!.data as Float32Array;
          const outputs: Record<string, Tensor> = {
            y: { dtype: 'float32', shape: [...r.inputs.x!.shape], data: x.map((v) => v * 2) },
            n: { dtype: 'int64', shape: [1], data: new BigInt64Array([BigInt(x.length)]) },
          };
          const chosen = r.outputFilter.length ? Object.fromEntries(r.outputFilter.map((k) => [k, outputs[k]!])) : outputs;
          res.writeHead(200, { 'content-type': FLATBUFFERS_CONTENT_TYPE });
          res.end(encodeFlatPredictResponse(chosen, { modelVersion: 3, signatureName: r.signatureName }));
        } catch (err) {
          const e = err as JetserveError;
          res.writeHead(e.httpStatus, { 'content-type': FLATBUFFERS_CONTENT_TYPE });
          res.end(encodeFlatPredictError(e.code, e.message));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('round trip through fetch', async () => {
    const x: Tensor = { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    const out = await predictFlat(url, 'my model', { x });
    expect(out.y!.shape).toEqual([2, 2]);
    expect([...(out.y!.data as Float32Array)]).toEqual([2, 4, 6, 8]);
    expect([...(out.n!.data as BigInt64Array)]).toEqual([4n]);
    expect(seen.at(-1)).toBe(`POST /v1/models/my%20model:predict ${FLATBUFFERS_CONTENT_TYPE}`);
    const detailed = await predictFlatDetailed(`${url}/`, 'm', { x }, { version: 3, outputFilter: ['n'], signatureName: 'serving_default' });
    expect(Object.keys(detailed.outputs)).toEqual(['n']);
    expect(detailed.modelVersion).toBe(3n);
    expect(seen.at(-1)).toContain('POST /v1/models/m/versions/3:predict');
  });

  it('errors: server codec error, JSON error body, unreachable server', async () => {
    const bad: Tensor = { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) };
    await expect(predictFlat(url, 'm', { x: bad })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "input 'x' expects shape [-1,2] but got [1,3]",
    });
    await expect(predictFlat(url, 'missing', { x: bad })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'Servable not found for request: Latest(missing)',
    });
    await expect(predictFlat('http://127.0.0.1:1', 'm', { x: bad })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('URLs: version / label', () => {
    expect(predictUrl('http://h:1', 'a/b', { label: 'stable' })).toBe('http://h:1/v1/models/a%2Fb/labels/stable:predict');
    expect(() => predictUrl('http://h:1', 'm', { label: 'x', version: 1 })).toThrow(/not both/);
    void text;
  });
});
