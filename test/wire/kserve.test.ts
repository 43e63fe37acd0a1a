// KServe v2 JSON + binary tensor extension codec (reference/peers-kserve-triton.md §1.2–1.4, 1.6).
// The request and response suites run against both codecs (TypeScript reference, native); the
// binary extension is the TypeScript codec's in both.
import { describe, expect, it } from 'vitest';
import { encodeKServeModelMetadata, encodeTritonModelConfig } from '../../src/wire/json/kserve.js';
import { JSON_CODECS } from './json-codecs.js';
import { dtypeOfKServe, KSERVE_DATATYPE } from '../../src/wire/kserve-binary.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectError, sig, text, utf8 } from './helpers.js';

const model = sig(
  { x: ['float32', [-1, 2]], ids: ['int64', [-1]], s: ['string', [-1]] },
  { y: ['float32', [-1, 2]], label: ['string', [-1]], n: ['int32', [-1]] },
);
const single = sig({ x: ['float32', [-1, 2]] }, { y: ['float32', [-1]] });

const json = (o: unknown) => utf8(JSON.stringify(o));

/** JSON header + binary blobs, as a Triton client sends them. */
function binaryBody(header: unknown, ...blobs: Uint8Array[]): { body: Uint8Array; headerLength: number } {
  const h = json(header);
  const total = h.length + blobs.reduce((n, b) => n + b.length, 0);
  const body = new Uint8Array(total);
  body.set(h);
  let o = h.length;
  for (const b of blobs) {
    body.set(b, o);
    o += b.length;
  }
  return { body, headerLength: h.length };
}

function bytesElements(...items: string[]): Uint8Array {
  const parts = items.map(utf8);
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint32(o, p.length, true);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

const f32bytes = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('datatypes', () => {
  it('maps every KServe datatype to a dtype and back', () => {
    for (const dt of ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'BF16', 'FP32', 'FP64', 'BYTES']) {
      const dtype = dtypeOfKServe(dt);
      expect(dtype, dt).toBeDefined();
      expect(KSERVE_DATATYPE[dtype!]).toBe(dt);
    }
    expect(dtypeOfKServe('FP8')).toBeUndefined();
  });
});

describe.each(JSON_CODECS)('$name codec', (codec) => {
const decodeInferRequest = codec.decodeInferRequest;
const encodeInferResponse = codec.encodeInferResponse;

describe('decodeInferRequest: JSON', () => {
  it('flat and nested data, all inputs, id and parameters', () => {
    const r = decodeInferRequest(
      json({
        id: 'req-1',
        parameters: { priority: 1, tag: 'a', binary_data_output: false },
        inputs: [
          { name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3, 4.5]] },
          { name: 'ids', shape: [3], datatype: 'INT64', data: [1, -2, 3] },
          { name: 's', shape: [2], datatype: 'BYTES', data: ['hello', 'wörld'] },
        ],
      }),
      undefined,
      model,
    );
    expect(r.id).toBe('req-1');
    expect(r.parameters).toEqual({ priority: 1, tag: 'a', binary_data_output: false });
    expect(r.inputs.x!.shape).toEqual([2, 2]);
    expect([...(r.inputs.x!.data as Float32Array)]).toEqual([1, 2, 3, 4.5]);
    expect([...(r.inputs.ids!.data as BigInt64Array)]).toEqual([1n, -2n, 3n]);
    expect((r.inputs.s!.data as Uint8Array[]).map(text)).toEqual(['hello', 'wörld']);
    expect(r.outputsRequested).toBe(false);
    expect(r.outputs).toEqual([
      { name: 'y', binary: false },
      { name: 'label', binary: false },
      { name: 'n', binary: false },
    ]);
  });

  it('"data" before "shape"/"datatype" decodes the same (late fill path)', () => {
    const late = decodeInferRequest(
      utf8('{"inputs":[{"data":[1,2,3,4],"name":"x","shape":[2,2],"datatype":"FP32"}]}'),
      undefined,
      single,
    );
    const early = decodeInferRequest(
      utf8('{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]}'),
      undefined,
      single,
    );
    expect([...(late.inputs.x!.data as Float32Array)]).toEqual([...(early.inputs.x!.data as Float32Array)]);
  });

  it('int64 beyond 2^53, FP16/BF16 numbers, BOOL, UINT16', () => {
    const s = sig({ a: ['int64', null], h: ['float16', null], b: ['bfloat16', null], t: ['bool', null], u: ['uint16', null] });
    const r = decodeInferRequest(
      utf8(
        '{"inputs":[{"name":"a","datatype":"INT64","shape":[2],"data":[9223372036854775807,-9007199254740993]},' +
          '{"name":"h","datatype":"FP16","shape":[2],"data":[1.0,-2]},{"name":"b","datatype":"BF16","shape":[1],"data":[1.5]},' +
          '{"name":"t","datatype":"BOOL","shape":[2],"data":[true,false]},{"name":"u","datatype":"UINT16","shape":[1],"data":[65535]}]}',
      ),
      undefined,
      s,
    );
    expect([...(r.inputs.a!.data as BigInt64Array)]).toEqual([9223372036854775807n, -9007199254740993n]);
    expect([...(r.inputs.h!.data as Uint16Array)]).toEqual([0x3c00, 0xc000]);
    expect([...(r.inputs.b!.data as Uint16Array)]).toEqual([0x3fc0]);
    expect([...(r.inputs.t!.data as Uint8Array)]).toEqual([1, 0]);
    expect([...(r.inputs.u!.data as Uint16Array)]).toEqual([65535]);
  });

  it('requested outputs with binary_data and binary_data_output', () => {
    const r = decodeInferRequest(
      json({
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }],
        outputs: [{ name: 'y' }, { name: 'label', parameters: { binary_data: false } }],
      }),
      undefined,
      sig({ x: ['float32', [-1, 2]] }, { y: ['float32', null], label: ['string', null] }),
    );
    expect(r.outputsRequested).toBe(true);
    expect(r.binaryDataOutput).toBe(true);
    expect(r.outputs).toEqual([
      { name: 'y', binary: true },
      { name: 'label', binary: false, parameters: { binary_data: false } },
    ]);
  });
});

describe('decodeInferRequest: binary extension', () => {
  it('binary inputs follow the JSON header in order; JSON and binary inputs mix', () => {
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: 's', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 4 + 2 + 4 + 0 } },
          { name: 'ids', shape: [2], datatype: 'INT64', data: [7, 8] },
          { name: 'x', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      },
      bytesElements('hi', ''),
      f32bytes(1.5, -2),
    );
    const r = decodeInferRequest(body, headerLength, model);
    expect((r.inputs.s!.data as Uint8Array[]).map(text)).toEqual(['hi', '']);
    expect([...(r.inputs.x!.data as Float32Array)]).toEqual([1.5, -2]);
    expect([...(r.inputs.ids!.data as BigInt64Array)]).toEqual([7n, 8n]);
    expect(r.outputs).toEqual([{ name: 'y', binary: true, parameters: { binary_data: true } }]);
    // numeric blob: copied once into an allocTensor block (small ones share a slab), not a view
    // into the body
    const x = r.inputs.x!.data as Float32Array;
    expect(x.buffer).not.toBe(body.buffer);
    expect(x.byteOffset % 64).toBe(0);
    expect(x.byteLength).toBe(8);
  });

  it('raw binary request (header length 0): one input, batch 1', () => {
    const r = decodeInferRequest(f32bytes(1, 2), 0, single);
    expect(r.inputs.x!.shape).toEqual([1, 2]);
    expect([...(r.inputs.x!.data as Float32Array)]).toEqual([1, 2]);
    expect(r.outputs).toEqual([{ name: 'y', binary: true }]);
    const v = decodeInferRequest(f32bytes(1, 2, 3), 0, sig({ x: ['float32', [-1, -1]] }));
    expect(v.inputs.x!.shape).toEqual([1, 3]);
    const b = decodeInferRequest(utf8('raw bytes'), 0, sig({ s: ['string', [1]] }));
    expect(text((b.inputs.s!.data as Uint8Array[])[0]!)).toBe('raw bytes');
    expectError(() => decodeInferRequest(f32bytes(1), 0, model), 'INVALID_ARGUMENT', 'exactly one input');
    expectError(() => decodeInferRequest(new Uint8Array(6), 0, single), 'INVALID_ARGUMENT', 'not a whole number of 4-byte elements');
    expectError(() => decodeInferRequest(f32bytes(1, 2, 3), 0, single), 'INVALID_ARGUMENT', 'binary data has 12 bytes but shape [1,2] of FP32 needs 8');
    expectError(
      () => decodeInferRequest(f32bytes(1), 0, sig({ x: ['float32', [-1, -1, -1]] })),
      'INVALID_ARGUMENT',
      'at most one variable dimension',
    );
  });

  it('binary errors name the input and the numbers', () => {
    const header = (params: object, extra: object = {}) => ({
      inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', parameters: params, ...extra }],
    });
    let b = binaryBody(header({ binary_data_size: 8 }), f32bytes(1));
    expectError(
      () => decodeInferRequest(b.body, b.headerLength, single),
      'INVALID_ARGUMENT',
      "input 'x': binary_data_size 8 runs past the end of the request body (4 bytes of binary data left)",
    );
    b = binaryBody(header({ binary_data_size: 4 }), f32bytes(1));
    expectError(() => decodeInferRequest(b.body, b.headerLength, single), 'INVALID_ARGUMENT', "input 'x': binary data has 4 bytes but shape [1,2] of FP32 needs 8");
    b = binaryBody(header({ binary_data_size: 8 }), f32bytes(1, 2, 3));
    expectError(() => decodeInferRequest(b.body, b.headerLength, single), 'INVALID_ARGUMENT', '4 bytes of binary data that no input claims');
    b = binaryBody(header({}), f32bytes(1, 2));
    expectError(() => decodeInferRequest(b.body, b.headerLength, single), 'INVALID_ARGUMENT', "input 'x' has neither 'data' nor a 'binary_data_size' parameter");
    b = binaryBody(header({ binary_data_size: 8 }, { data: [1, 2] }), f32bytes(1, 2));
    expectError(() => decodeInferRequest(b.body, b.headerLength, single), 'INVALID_ARGUMENT', "input 'x' has both 'data' and a 'binary_data_size' parameter");
    b = binaryBody(header({ binary_data_size: -1 }));
    expectError(() => decodeInferRequest(b.body, b.headerLength, single), 'INVALID_ARGUMENT', "'binary_data_size' must be a non-negative integer");
    expectError(
      () => decodeInferRequest(json(header({ binary_data_size: 8 })), undefined, single),
      'INVALID_ARGUMENT',
      'no Inference-Header-Content-Length header',
    );
    expectError(
      () => decodeInferRequest(utf8('{"inputs":[]}'), 500, single),
      'INVALID_ARGUMENT',
      'Inference-Header-Content-Length 500 exceeds the request body size (13 bytes)',
    );
    expectError(() => decodeInferRequest(utf8('{}'), -3, single), 'INVALID_ARGUMENT', 'must be a non-negative integer');
    const s1 = sig({ s: ['string', [-1]] });
    const bytesHeader = (size: number) => ({ inputs: [{ name: 's', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: size } }] });
    const short = bytesElements('ab');
    b = binaryBody(bytesHeader(short.length), short);
    expectError(() => decodeInferRequest(b.body, b.headerLength, s1), 'INVALID_ARGUMENT', "input 's': BYTES data holds 1 elements but shape [2] needs 2");
    const bad = bytesElements('ab', 'c');
    new DataView(bad.buffer).setUint32(6, 99, true);
    b = binaryBody(bytesHeader(bad.length), bad);
    expectError(() => decodeInferRequest(b.body, b.headerLength, s1), 'INVALID_ARGUMENT', 'BYTES element 1 has length 99');
    const extra = new Uint8Array([...bytesElements('a', 'b'), 0]);
    b = binaryBody(bytesHeader(extra.length), extra);
    expectError(() => decodeInferRequest(b.body, b.headerLength, s1), 'INVALID_ARGUMENT', 'BYTES data has 1 bytes after its 2 elements');
    const bools = sig({ t: ['bool', [-1]] });
    b = binaryBody({ inputs: [{ name: 't', shape: [2], datatype: 'BOOL', parameters: { binary_data_size: 2 } }] }, new Uint8Array([1, 2]));
    expectError(() => decodeInferRequest(b.body, b.headerLength, bools), 'INVALID_ARGUMENT', 'BOOL element 1 is 2, not 0 or 1');
  });
});

describe('decodeInferRequest: errors', () => {
  const d = (o: unknown, s = single) => () => decodeInferRequest(typeof o === 'string' ? utf8(o) : json(o), undefined, s);
  const x = (extra: object) => ({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2], ...extra }] });

  it('structure', () => {
    expectError(d('{"inputs": [{"name" "x"}]}'), 'INVALID_ARGUMENT', 'JSON Parse error: Missing a colon after a name of object member. at offset: 20');
    expectError(d(''), 'INVALID_ARGUMENT', 'the JSON body is empty');
    expectError(d('[]'), 'INVALID_ARGUMENT', 'must be an object');
    expectError(d({}), 'INVALID_ARGUMENT', "inference request is missing the 'inputs' field");
    expectError(d({ inputs: {} }), 'INVALID_ARGUMENT', "'inputs' must be a list");
    expectError(d({ inputs: [1] }), 'INVALID_ARGUMENT', 'input #0 must be an object');
    expectError(d({ inputs: [{ shape: [1], datatype: 'FP32', data: [1] }] }), 'INVALID_ARGUMENT', "input #0 is missing the 'name' field");
    expectError(d({ inputs: [{ name: 'x', shape: [1, 2], data: [1, 2] }] }), 'INVALID_ARGUMENT', "input 'x' is missing the 'datatype' field");
    expectError(d({ inputs: [{ name: 'x', datatype: 'FP32', data: [1, 2] }] }), 'INVALID_ARGUMENT', "input 'x' is missing the 'shape' field");
    expectError(d({ id: 5, ...x({}) }), 'INVALID_ARGUMENT', "field 'id' must be a string");
    expectError(d({ parameters: [1], ...x({}) }), 'INVALID_ARGUMENT', "'parameters' must be an object");
    expectError(d({ parameters: { a: [1] }, ...x({}) }), 'INVALID_ARGUMENT', "parameter 'a' must be a string, number or boolean");
    expectError(d({ parameters: { binary_data_output: 1 }, ...x({}) }), 'INVALID_ARGUMENT', "'binary_data_output' must be a boolean");
    expectError(d('{"inputs": [], "inputs": []}'), 'INVALID_ARGUMENT', "duplicate 'inputs' field");
  });

  it('inputs against the signature', () => {
    expectError(
      d({ inputs: [{ name: 'z', shape: [1], datatype: 'FP32', data: [1] }] }),
      'INVALID_ARGUMENT',
      "unexpected inference input 'z'; the model's inputs are: x",
    );
    expectError(d(x({ datatype: 'FP64' })), 'INVALID_ARGUMENT', "input 'x': datatype 'FP64' does not match the model's 'FP32'");
    expectError(d(x({ datatype: 'FLOAT' })), 'INVALID_ARGUMENT', "input 'x': unknown datatype 'FLOAT'");
    expectError(d(x({ shape: [2] })), 'INVALID_ARGUMENT', "input 'x': shape [2] is not compatible with the model's [-1,2]");
    expectError(d(x({ shape: [1, -2] })), 'INVALID_ARGUMENT', "input 'x': 'shape' must be a list of non-negative integers");
    expectError(d(x({ shape: [1.5, 2] })), 'INVALID_ARGUMENT', "'shape' must be a list of non-negative integers");
    expectError(d({ inputs: [] }), 'INVALID_ARGUMENT', 'expected 1 inputs but got 0; missing input(s): x');
    expectError(
      d({ inputs: [x({}).inputs[0], x({}).inputs[0]] }),
      'INVALID_ARGUMENT',
      "input 'x' appears more than once",
    );
  });

  it('data against shape and datatype', () => {
    expectError(d(x({ data: [1] })), 'INVALID_ARGUMENT', "input 'x': 'data' has 1 elements but shape [1,2] needs 2");
    expectError(d(x({ data: [1, 2, 3] })), 'INVALID_ARGUMENT', "input 'x': 'data' has more than the 2 elements shape [1,2] holds");
    expectError(d(x({ data: [1, 'a'] })), 'INVALID_ARGUMENT', `input 'x': 'data' element 1: JSON Value: "a" Type: String is not of expected type: FP32`);
    const i8 = sig({ q: ['int8', [-1]] });
    expectError(
      d({ inputs: [{ name: 'q', shape: [2], datatype: 'INT8', data: [1, 200] }] }, i8),
      'INVALID_ARGUMENT',
      "input 'q': 'data' element 1: JSON Value: 200 Type: Number is not of expected type: INT8",
    );
    expectError(
      d({ inputs: [{ name: 'q', shape: [1], datatype: 'INT8', data: [1.5] }] }, i8),
      'INVALID_ARGUMENT',
      'is not of expected type: INT8',
    );
    const bytes = sig({ s: ['string', [-1]] });
    expectError(
      d({ inputs: [{ name: 's', shape: [1], datatype: 'BYTES', data: [{ b64: 'AA==' }] }] }, bytes),
      'INVALID_ARGUMENT',
      'Type: Object is not of expected type: BYTES',
    );
  });

  it('outputs', () => {
    expectError(d({ ...x({}), outputs: [{ name: 'nope' }] }), 'INVALID_ARGUMENT', "unexpected inference output 'nope'; the model's outputs are: y");
    expectError(d({ ...x({}), outputs: [{ name: 'y' }, { name: 'y' }] }), 'INVALID_ARGUMENT', "output 'y' is requested more than once");
    expectError(d({ ...x({}), outputs: [{}] }), 'INVALID_ARGUMENT', "output #0 is missing the 'name' field");
    expectError(d({ ...x({}), outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }), 'INVALID_ARGUMENT', "'binary_data' must be a boolean");
  });

  it('extensions jetserve does not serve → UNIMPLEMENTED', () => {
    expectError(d(x({ parameters: { shared_memory_region: 'r' } })), 'UNIMPLEMENTED', "input 'x': shared memory ('shared_memory_region') is not supported");
    expectError(d({ ...x({}), outputs: [{ name: 'y', parameters: { classification: 2 } }] }), 'UNIMPLEMENTED', 'classification extension');
    expectError(
      d({ inputs: [{ name: 'c', shape: [1], datatype: 'FP32', data: [1] }] }, sig({ c: ['complex64', [-1]] })),
      'UNIMPLEMENTED',
      "input 'c' has a dtype KServe v2 cannot express",
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('encodeInferResponse', () => {
  const outputs: Record<string, Tensor> = {
    y: { dtype: 'float32', shape: [2, 2], data: new Float32Array([0.5, 1, -2.25, 3e-8]) },
    label: { dtype: 'string', shape: [2], data: [utf8('cat'), utf8('dög')] },
    n: { dtype: 'int64', shape: [1], data: new BigInt64Array([9007199254740993n]) },
  };

  it('all JSON: exact text, flat data, id echoed', () => {
    const r = encodeInferResponse({ modelName: 'm', modelVersion: 3, id: 'req-1', outputs });
    expect(r.contentType).toBe('application/json');
    expect(r.headerLength).toBeUndefined();
    expect(text(r.body)).toBe(
      '{"model_name":"m","model_version":"3","id":"req-1","outputs":[' +
        '{"name":"y","datatype":"FP32","shape":[2,2],"data":[0.5,1.0,-2.25,3e-08]},' +
        '{"name":"label","datatype":"BYTES","shape":[2],"data":["cat","dög"]},' +
        '{"name":"n","datatype":"INT64","shape":[1],"data":[9007199254740993]}]}',
    );
    expect(text(encodeInferResponse({ modelName: 'm', outputs: { n: outputs.n! } }).body)).toBe(
      '{"model_name":"m","outputs":[{"name":"n","datatype":"INT64","shape":[1],"data":[9007199254740993]}]}',
    );
  });

  it('binary outputs: JSON header with binary_data_size, then the blobs in order', () => {
    const r = encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs, binaryOutputs: ['label', 'y'] });
    expect(r.contentType).toBe('application/octet-stream');
    const header = JSON.parse(text(r.body.subarray(0, r.headerLength)));
    expect(header.outputs).toEqual([
      { name: 'y', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
      { name: 'label', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 4 + 3 + 4 + 4 } },
      { name: 'n', datatype: 'INT64', shape: [1], data: [9007199254740993] },
    ]);
    const bin = r.body.subarray(r.headerLength!);
    expect(bin.length).toBe(16 + 15);
    expect([...new Float32Array(bin.slice(0, 16).buffer)]).toEqual([0.5, 1, -2.25, Math.fround(3e-8)]);
    expect([...bin.subarray(16)]).toEqual([...bytesElements('cat', 'dög')]);
  });

  it('binaryOutputs: true makes everything binary; a binary response decodes as a request', () => {
    const r = encodeInferResponse({ modelName: 'm', outputs: { y: outputs.y! }, binaryOutputs: true });
    const header = JSON.parse(text(r.body.subarray(0, r.headerLength)));
    const asRequest = binaryBody({ inputs: [{ ...header.outputs[0], name: 'x' }] }, r.body.subarray(r.headerLength!));
    const back = decodeInferRequest(asRequest.body, asRequest.headerLength, single);
    expect([...(back.inputs.x!.data as Float32Array)]).toEqual([...(outputs.y!.data as Float32Array)]);
  });

  it('fp16 in JSON as numbers; complex outputs are UNIMPLEMENTED', () => {
    const r = encodeInferResponse({ modelName: 'm', outputs: { h: { dtype: 'float16', shape: [1], data: new Uint16Array([0x3e00]) } } });
    expect(JSON.parse(text(r.body)).outputs[0]).toEqual({ name: 'h', datatype: 'FP16', shape: [1], data: [1.5] });
    expectError(
      () => encodeInferResponse({ modelName: 'm', outputs: { c: { dtype: 'complex64', shape: [1], data: new Float32Array(2) } } }),
      'UNIMPLEMENTED',
      "output 'c' has dtype complex64",
    );
  });
});
});

describe('metadata and Triton config', () => {
  const s = sig(
    { x: ['float32', [-1, 4]], t: ['string', [-1]] },
    { y: ['float32', [-1, 3]], u: { tfDtype: 20, shape: null } },
  );

  it('model metadata JSON', () => {
    expect(encodeKServeModelMetadata({ name: 'm', versions: [1, 2], signature: s })).toBe(
      '{"name":"m","versions":["1","2"],"platform":"tensorflow_savedmodel",' +
        '"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]},{"name":"t","datatype":"BYTES","shape":[-1]}],' +
        '"outputs":[{"name":"y","datatype":"FP32","shape":[-1,3]},{"name":"u","datatype":"INVALID","shape":[-1]}]}',
    );
  });

  it('Triton config: batch dim dropped only when every tensor has a variable leading dim', () => {
    const batched = sig({ x: ['float32', [-1, 4]] }, { y: ['int64', [-1]] });
    const c = JSON.parse(encodeTritonModelConfig({ name: 'm', signature: batched, maxBatchSize: 8, dynamicBatching: { maxQueueDelayMicroseconds: 100 } }));
    expect(c).toMatchObject({
      name: 'm',
      platform: 'tensorflow_savedmodel',
      max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'y', data_type: 'TYPE_INT64', dims: [] }],
      version_policy: { latest: { num_versions: 1 } },
      dynamic_batching: { preferred_batch_size: [], max_queue_delay_microseconds: 100 },
    });
    const unbatched = JSON.parse(encodeTritonModelConfig({ name: 'm', signature: s, maxBatchSize: 8 }));
    expect(unbatched.max_batch_size).toBe(0);
    expect(unbatched.input[0].dims).toEqual([-1, 4]);
    expect(unbatched.input[1].data_type).toBe('TYPE_STRING');
    expect(unbatched.output[1]).toMatchObject({ name: 'u', data_type: 'TYPE_INVALID', dims: [-1] });
    expect(unbatched.dynamic_batching).toBeUndefined();
  });
});
