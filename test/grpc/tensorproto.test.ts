// The TensorProto codec against TensorFlow itself: protos built by Python (tf.make_tensor_proto and
// typed *_val fields) must decode to what TF's own parser (Tensor::FromProto via tf.io.parse_tensor)
// makes of them, malformed ones must fail where TF fails, and what jetserve encodes must read back
// in Python (tf.make_ndarray) as the original tensor.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTensorProto, encodeTensorProto } from '../../src/wire/protobuf/tensorproto.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { native } from '../../src/engine/native.js';
import { JetserveError } from '../../src/errors.js';
import { encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { decodeTensor, expectTensorClose, loadOracle } from '../helpers/oracle.js';
import { PythonDriver, wire, type DriverAnswer } from './python-driver.js';

let py: PythonDriver;

beforeAll(async () => {
  py = await PythonDriver.start();
});

afterAll(async () => {
  await py?.close();
});

interface EncodedProto {
  proto_b64: string;
  parsed: Parameters<typeof decodeTensor>[0] | null;
  parse_error: string | null;
  fields: string[];
}

async function pythonProtos(cases: Record<string, unknown>[]): Promise<EncodedProto[]> {
  const answer: DriverAnswer = await py.rpc({ op: 'encode_protos', cases });
  expect(answer.ok, JSON.stringify(answer)).toBe(true);
  return answer.protos as EncodedProto[];
}

function decodeB64(b64: string): Tensor {
  const buf = Buffer.from(b64, 'base64');
  return decodeTensorProto(buf, 0, buf.length, 'x');
}

/** Every dtype's input tensors from the dtypes fixture (one per dtype, edge values). */
function dtypeTensors(): [string, Tensor][] {
  const cases = loadOracle('dtypes').cases.filter((c) => c.signature !== 'serving_default' && !c.name.includes('empty'));
  return cases.map((c) => [c.signature, Object.values(c.inputs)[0]!]);
}

describe('decoding protos built by Python', () => {
  for (const encoding of ['make_tensor_proto', 'typed'] as const) {
    it(`every dtype, ${encoding}: decodes to what TF's parser returns`, async () => {
      const tensors = dtypeTensors();
      const protos = await pythonProtos(tensors.map(([, t]) => ({ tensor: wire(t), encoding })));
      for (let i = 0; i < tensors.length; i++) {
        const [dtype, tensor] = tensors[i]!;
        const p = protos[i]!;
        expect(p.parse_error, dtype).toBeNull();
        const decoded = decodeB64(p.proto_b64);
        expectTensorClose(decoded, decodeTensor(p.parsed!), 0, 0, `${dtype} (${p.fields.join(',')})`);
        expectTensorClose(decoded, tensor, 0, 0, `${dtype} vs original`);
      }
    });
  }

  it('make_tensor_proto uses tensor_content for numbers and string_val for strings', async () => {
    const tensors = dtypeTensors();
    const protos = await pythonProtos(tensors.map(([, t]) => ({ tensor: wire(t) })));
    const fields = Object.fromEntries(tensors.map(([d], i) => [d, protos[i]!.fields]));
    expect(fields.float32).toEqual(['tensor_content']);
    expect(fields.float16).toEqual(['tensor_content']);
    expect(fields.string).toEqual(['string_val']);
  });

  it('typed fields with fewer values than elements broadcast the last value, as TF does', async () => {
    const cases: Record<string, unknown>[] = [];
    const tensors = dtypeTensors();
    for (const [, t] of tensors) {
      for (const count of [0, 1, 2]) cases.push({ tensor: { ...wire(t), typed_count: count }, encoding: 'typed' });
    }
    const protos = await pythonProtos(cases);
    for (let i = 0; i < cases.length; i++) {
      const p = protos[i]!;
      const label = `${tensors[Math.floor(i / 3)]![0]} with ${i % 3} values`;
      expect(p.parse_error, label).toBeNull();
      expectTensorClose(decodeB64(p.proto_b64), decodeTensor(p.parsed!), 0, 0, label);
    }
  });

  it('decodes tensor_content into a 64-byte-aligned native buffer', () => {
    const bytes = encodeMessage('tensorflow.TensorProto', {
      dtype: 1,
      tensor_shape: { dim: [{ size: 3 }] },
      tensor_content: Buffer.from(new Float32Array([1, 2, 3]).buffer),
    });
    const t = decodeTensorProto(bytes, 0, bytes.length, 'x');
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Number(native().addressOf(t.data as Float32Array) % 64n)).toBe(0);
  });
});

/** Edge-case protos (built with protobufjs or by hand) judged by TF's parser. */
const EDGE_CASES: Record<string, Buffer> = {
  'more values than elements': encodeMessage('tensorflow.TensorProto', {
    dtype: 1,
    tensor_shape: { dim: [{ size: 2 }] },
    float_val: [1, 2, 3],
  }),
  'no values: zeros': encodeMessage('tensorflow.TensorProto', { dtype: 3, tensor_shape: { dim: [{ size: 2 }, { size: 2 }] } }),
  'scalar broadcast float': encodeMessage('tensorflow.TensorProto', {
    dtype: 1,
    tensor_shape: { dim: [{ size: 2 }, { size: 3 }] },
    float_val: [7.5],
  }),
  'values in the wrong field are ignored': encodeMessage('tensorflow.TensorProto', {
    dtype: 1,
    tensor_shape: { dim: [{ size: 2 }] },
    int_val: [5],
  }),
  'int8 out of range wraps': encodeMessage('tensorflow.TensorProto', {
    dtype: 6,
    tensor_shape: { dim: [{ size: 3 }] },
    int_val: [300, -200, -1],
  }),
  'uint16 in int_val': encodeMessage('tensorflow.TensorProto', { dtype: 17, tensor_shape: { dim: [{ size: 2 }] }, int_val: [65535, 3] }),
  'bool broadcast': encodeMessage('tensorflow.TensorProto', { dtype: 10, tensor_shape: { dim: [{ size: 3 }] }, bool_val: [true, false] }),
  'half broadcast': encodeMessage('tensorflow.TensorProto', { dtype: 19, tensor_shape: { dim: [{ size: 3 }] }, half_val: [0x3c00] }),
  'int64 negative and large': encodeMessage('tensorflow.TensorProto', {
    dtype: 9,
    tensor_shape: { dim: [{ size: 3 }] },
    int64_val: ['-9223372036854775808', '9223372036854775807', '-1'],
  }),
  'uint64 large': encodeMessage('tensorflow.TensorProto', {
    dtype: 23,
    tensor_shape: { dim: [{ size: 2 }] },
    uint64_val: ['18446744073709551615', '1'],
  }),
  'uint32 large': encodeMessage('tensorflow.TensorProto', { dtype: 22, tensor_shape: { dim: [{ size: 2 }] }, uint32_val: [4294967295, 7] }),
  'complex64 odd value count': encodeMessage('tensorflow.TensorProto', {
    dtype: 8,
    tensor_shape: { dim: [{ size: 3 }] },
    scomplex_val: [1, 2, 3],
  }),
  'complex128 pair broadcast': encodeMessage('tensorflow.TensorProto', {
    dtype: 18,
    tensor_shape: { dim: [{ size: 3 }] },
    dcomplex_val: [1, -2],
  }),
  'string broadcast': encodeMessage('tensorflow.TensorProto', {
    dtype: 7,
    tensor_shape: { dim: [{ size: 3 }] },
    string_val: [Buffer.from('a'), Buffer.from('bc')],
  }),
  'string tensor_content list': encodeMessage('tensorflow.TensorProto', {
    dtype: 7,
    tensor_shape: { dim: [{ size: 2 }] },
    tensor_content: Buffer.from([1, 2, 0x61, 0x62, 0x63]),
  }),
  'tensor_content wins over typed values': encodeMessage('tensorflow.TensorProto', {
    dtype: 3,
    tensor_shape: { dim: [{ size: 2 }] },
    tensor_content: Buffer.from(new Int32Array([4, 5]).buffer),
    int_val: [9],
  }),
  'unpacked float_val and int_val chunks': Buffer.concat([
    Buffer.from([0x08, 0x01]), // dtype DT_FLOAT
    Buffer.from([0x12, 0x04, 0x12, 0x02, 0x08, 0x04]), // shape [4]
    Buffer.from([0x2d]), // float_val, wire type 5 (unpacked)
    Buffer.from(new Float32Array([1.5]).buffer),
    Buffer.from([0x2a, 0x08]), // float_val packed, 2 values
    Buffer.from(new Float32Array([2.5, 3.5]).buffer),
  ]),
  'unknown fields are skipped': Buffer.concat([
    encodeMessage('tensorflow.TensorProto', { dtype: 1, tensor_shape: { dim: [{ size: 1 }] }, float_val: [4] }),
    Buffer.from([0xa8, 0x06, 0x05]), // field 101, varint 5
  ]),
  // failures
  'tensor_content of the wrong size': encodeMessage('tensorflow.TensorProto', {
    dtype: 1,
    tensor_shape: { dim: [{ size: 2 }] },
    tensor_content: Buffer.alloc(4),
  }),
  'negative dimension': encodeMessage('tensorflow.TensorProto', { dtype: 1, tensor_shape: { dim: [{ size: -1 }] }, float_val: [1] }),
  'DT_INVALID': encodeMessage('tensorflow.TensorProto', { tensor_shape: { dim: [{ size: 1 }] } }),
  'truncated string list': encodeMessage('tensorflow.TensorProto', {
    dtype: 7,
    tensor_shape: { dim: [{ size: 2 }] },
    tensor_content: Buffer.from([1, 5, 0x61]),
  }),
};

describe('edge cases match TF\'s parser', () => {
  it('decodes what TF decodes and rejects what TF rejects', async () => {
    const names = Object.keys(EDGE_CASES);
    const protos = await pythonProtos(names.map((n) => ({ proto_b64: EDGE_CASES[n]!.toString('base64') })));
    for (let i = 0; i < names.length; i++) {
      const p = protos[i]!;
      const name = names[i]!;
      if (p.parse_error !== null) {
        let error: unknown;
        try {
          decodeB64(p.proto_b64);
        } catch (err) {
          error = err;
        }
        expect(error, `${name}: TF rejects it (${p.parse_error})`).toBeInstanceOf(JetserveError);
        expect((error as JetserveError).code, name).toBe('INVALID_ARGUMENT');
        expect((error as JetserveError).message, name).toMatch(/^tensor parsing error: x: /);
      } else {
        expectTensorClose(decodeB64(p.proto_b64), decodeTensor(p.parsed!), 0, 0, name);
      }
    }
  });

  it('names the problem in the error message', () => {
    const msg = (buf: Buffer) => {
      try {
        decodeTensorProto(buf, 0, buf.length, 'images');
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(msg(EDGE_CASES['tensor_content of the wrong size']!)).toBe(
      'tensor parsing error: images: tensor_content has 4 bytes but shape [2] of DT_FLOAT needs 8',
    );
    expect(msg(EDGE_CASES['DT_INVALID']!)).toMatch(/unsupported dtype DT_INVALID/);
    expect(msg(EDGE_CASES['negative dimension']!)).toMatch(/invalid dimension -1/);
    expect(msg(Buffer.from([0x12, 0x05, 0x12]))).toMatch(/malformed TensorProto/);
    expect(msg(encodeMessage('tensorflow.TensorProto', { dtype: 20, tensor_shape: {} }))).toMatch(/DT_RESOURCE/);
  });

  it('refuses a broadcast that would allocate an absurd tensor', () => {
    const huge = encodeMessage('tensorflow.TensorProto', {
      dtype: 1,
      tensor_shape: { dim: [{ size: 100000 }, { size: 100000 }] },
      float_val: [1],
    });
    expect(() => decodeTensorProto(huge, 0, huge.length, 'x')).toThrow(/too large/);
  });
});

describe('encoding read back by Python', () => {
  for (const tensorContent of [true, false]) {
    it(`every dtype with tensorContent=${tensorContent}: tf.make_ndarray and TF's parser return the tensor`, async () => {
      const tensors = dtypeTensors();
      tensors.push(['empty float32', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }]);
      tensors.push(['scalar int64', { dtype: 'int64', shape: [], data: new BigInt64Array([-5n]) }]);
      const answer = await py.rpc({
        op: 'decode_protos',
        protos_b64: tensors.map(([, t]) => encodeTensorProto(t, { tensorContent }).toString('base64')),
      });
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      const out = answer.tensors as { ndarray: Parameters<typeof decodeTensor>[0]; parsed: Parameters<typeof decodeTensor>[0]; fields: string[] }[];
      for (let i = 0; i < tensors.length; i++) {
        const [label, t] = tensors[i]!;
        expectTensorClose(decodeTensor(out[i]!.ndarray), t, 0, 0, `${label} make_ndarray`);
        expectTensorClose(decodeTensor(out[i]!.parsed), t, 0, 0, `${label} parse_tensor`);
        if (t.dtype === 'string') expect(out[i]!.fields, label).toEqual(t.data.length ? ['string_val'] : []);
        else if (tensorContent && t.data.length > 0) expect(out[i]!.fields, label).toEqual(['tensor_content']);
        else if (t.data.length > 0) expect(out[i]!.fields, label).not.toContain('tensor_content');
      }
    });
  }
});
