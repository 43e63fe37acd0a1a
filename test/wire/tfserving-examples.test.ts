// TF Serving REST classify / regress JSON, the tf.Example encoder, model status and metadata JSON
// (reference/tfserving.md §1.6–1.8).
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/engine/native.js', () => ({ allocAligned: (n: number) => new ArrayBuffer(n) }));

import {
  decodeExamplesRequest,
  encodeClassifyResponse,
  encodeModelMetadata,
  encodeModelStatus,
  encodeRegressResponse,
  examplesTensor,
} from '../../src/wire/json/tfserving.js';
import { decodeExample, encodeExample, type Feature } from '../../src/wire/protobuf/example.js';
import type { Tensor } from '../../src/engine/tensor.js';
import protobuf from 'protobufjs';
import { expectError, sig, text, utf8 } from './helpers.js';

// An independent oracle: tf.Example's schema in protobufjs.
const exampleRoot = protobuf.Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        BytesList: { fields: { value: { rule: 'repeated', type: 'bytes', id: 1 } } },
        FloatList: { fields: { value: { rule: 'repeated', type: 'float', id: 1, options: { packed: true } } } },
        Int64List: { fields: { value: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } } } },
        Feature: {
          oneofs: { kind: { oneof: ['bytesList', 'floatList', 'int64List'] } },
          fields: {
            bytesList: { type: 'BytesList', id: 1 },
            floatList: { type: 'FloatList', id: 2 },
            int64List: { type: 'Int64List', id: 3 },
          },
        },
        Features: { fields: { feature: { keyType: 'string', type: 'Feature', id: 1 } } },
        Example: { fields: { features: { type: 'Features', id: 1 } } },
      },
    },
  },
} as unknown as protobuf.INamespace);
const ExampleType = exampleRoot.lookupType('tensorflow.Example');

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('tf.Example encoder', () => {
  it('wire bytes of a one-feature example', () => {
    // Example{features{feature{key:"a" value{int64_list{value:[1]}}}}}
    expect(hex(encodeExample([['a', { kind: 'int64', values: [1] }]]))).toBe('0a0c0a0a0a0161120' + '51a030a0101');
    // float_list packed little-endian float32; bytes_list one entry per value
    expect(hex(encodeExample([['f', { kind: 'float', values: [1.5] }]]))).toBe('0a0f0a0d0a0166120812060a040000c03f');
    expect(hex(encodeExample([['s', { kind: 'bytes', values: [utf8('hi'), utf8('')] }]]))).toBe('0a0f0a0d0a017312080a060a0268690a00');
    expect(hex(encodeExample([]))).toBe('');
    expect(hex(encodeExample([['e', { kind: 'none' }]]))).toBe('0a070a050a01651200');
  });

  it('matches protobufjs byte for byte, and protobufjs reads what it writes', () => {
    const features: [string, Feature][] = [
      ['i', { kind: 'int64', values: [-5, 1, 2n ** 40n] }],
      ['f', { kind: 'float', values: [0.25, -1] }],
      ['s', { kind: 'bytes', values: [utf8('a'), new Uint8Array([255])] }],
    ];
    const ours = encodeExample(features);
    const decoded = ExampleType.toObject(ExampleType.decode(ours), { longs: String, bytes: Array }) as {
      features: { feature: Record<string, { int64List?: { value: string[] }; floatList?: { value: number[] }; bytesList?: { value: number[][] } }> };
    };
    expect(decoded.features.feature.i!.int64List!.value).toEqual(['-5', '1', String(2n ** 40n)]);
    expect(decoded.features.feature.f!.floatList!.value).toEqual([0.25, -1]);
    expect(decoded.features.feature.s!.bytesList!.value).toEqual([[97], [255]]);
    for (const f of features) {
      const theirs = ExampleType.encode(
        ExampleType.fromObject({
          features: {
            feature: {
              [f[0]]:
                f[1].kind === 'int64'
                  ? { int64List: { value: f[1].values.map(String) } }
                  : f[1].kind === 'float'
                    ? { floatList: { value: f[1].values } }
                    : { bytesList: { value: (f[1] as { values: Uint8Array[] }).values } },
            },
          },
        }),
      ).finish();
      expect(hex(encodeExample([f]))).toBe(hex(theirs));
    }
  });

  it('negative int64 as 10-byte varints, big values exact; decode round trip', () => {
    const features: [string, Feature][] = [
      ['i', { kind: 'int64', values: [-1, 0, 300, 2n ** 62n, -(2n ** 63n), 9007199254740993n] }],
      ['f', { kind: 'float', values: [0.5, -2, Math.fround(0.1)] }],
      ['b', { kind: 'bytes', values: [new Uint8Array([0, 255]), utf8('é')] }],
      ['ü', { kind: 'none' }],
    ];
    const bytes = encodeExample(features);
    const back = decodeExample(bytes);
    expect(back.get('i')).toEqual({ kind: 'int64', values: [-1, 0, 300, 2n ** 62n, -(2n ** 63n), 9007199254740993n] });
    expect(back.get('f')).toEqual({ kind: 'float', values: [0.5, -2, Math.fround(0.1)] });
    expect(back.get('b')).toEqual({ kind: 'bytes', values: [new Uint8Array([0, 255]), utf8('é')] });
    expect(back.get('ü')).toEqual({ kind: 'none' });
    expect(hex(encodeExample([['n', { kind: 'int64', values: [-1] }]]))).toContain('ffffffffffffffffff01');
  });
});

describe('decodeExamplesRequest', () => {
  it('JSON feature kinds: ints → int64, decimals → float, bools → int64, strings/b64 → bytes', () => {
    const r = decodeExamplesRequest(
      '{"signature_name": "cls", "examples": [{"i": 1, "f": 1.0, "e": 2e3, "t": [true, false], "s": "x", "b": {"b64": "AP8="}, ' +
        '"l": [1, 2, 3], "big": 9223372036854775807, "n": NaN, "empty": []}]}',
    );
    expect(r.signatureName).toBe('cls');
    expect(r.context).toBeUndefined();
    const ex = decodeExample(r.examples[0]!);
    expect(ex.get('i')).toEqual({ kind: 'int64', values: [1] });
    expect(ex.get('f')).toEqual({ kind: 'float', values: [1] });
    expect(ex.get('e')).toEqual({ kind: 'float', values: [2000] });
    expect(ex.get('t')).toEqual({ kind: 'int64', values: [1, 0] });
    expect(ex.get('s')).toEqual({ kind: 'bytes', values: [utf8('x')] });
    expect(ex.get('b')).toEqual({ kind: 'bytes', values: [new Uint8Array([0, 255])] });
    expect(ex.get('l')).toEqual({ kind: 'int64', values: [1, 2, 3] });
    expect(ex.get('big')).toEqual({ kind: 'int64', values: [9223372036854775807n] });
    expect((ex.get('n') as { values: number[] }).values[0]).toBeNaN();
    expect(ex.get('empty')).toEqual({ kind: 'none' });
  });

  it('context is merged into every example (protobuf concatenation; the example wins)', () => {
    const r = decodeExamplesRequest('{"context": {"c": "ctx", "k": 1}, "examples": [{"k": 2}, {"x": 1.5}]}');
    expect(r.signatureName).toBe('serving_default');
    expect(r.context).toBeDefined();
    const t = examplesTensor(r);
    expect(t.dtype).toBe('string');
    expect(t.shape).toEqual([2]);
    const first = decodeExample((t.data as Uint8Array[])[0]!);
    expect(first.get('c')).toEqual({ kind: 'bytes', values: [utf8('ctx')] });
    expect(first.get('k')).toEqual({ kind: 'int64', values: [2] });
    const second = decodeExample((t.data as Uint8Array[])[1]!);
    expect(second.get('k')).toEqual({ kind: 'int64', values: [1] });
    expect(second.get('x')).toEqual({ kind: 'float', values: [1.5] });
    // without context: the examples as they are
    const plain = examplesTensor(decodeExamplesRequest('{"examples": [{"a": 1}]}'));
    expect(hex((plain.data as Uint8Array[])[0]!)).toBe(hex(encodeExample([['a', { kind: 'int64', values: [1] }]])));
  });

  it('errors', () => {
    expectError(() => decodeExamplesRequest('{"instances": []}'), 'INVALID_ARGUMENT', "When method is classify, key 'examples' is expected and was not found");
    expectError(() => decodeExamplesRequest('{"examples": {}}'), 'INVALID_ARGUMENT', "Expecting 'examples' value to be an list/array");
    expectError(() => decodeExamplesRequest('{"examples": []}'), 'INVALID_ARGUMENT', "'examples' value is an empty array");
    expectError(() => decodeExamplesRequest('{"examples": [[1]]}'), 'INVALID_ARGUMENT', 'Example must be JSON object but got JSON Array');
    expectError(() => decodeExamplesRequest('{"context": 1, "examples": [{}]}'), 'INVALID_ARGUMENT', 'Example must be JSON object but got JSON Number');
    expectError(() => decodeExamplesRequest('{"examples": [{"a": [[1]]}]}'), 'INVALID_ARGUMENT', 'Feature: a has element with unexpected JSON type: Array');
    expectError(() => decodeExamplesRequest('{"examples": [{"a": null}]}'), 'INVALID_ARGUMENT', 'Feature: a has element with unexpected JSON type: Null');
    expectError(() => decodeExamplesRequest('{"examples": [{"a": {"x": 1}}]}'), 'INVALID_ARGUMENT', 'Feature: a has element with unexpected JSON type: Object');
    expectError(() => decodeExamplesRequest('{"examples": [{"a": [1, 1.5]}]}'), 'INVALID_ARGUMENT', 'Unexpected element type in feature: a expecting type: int64');
    expectError(() => decodeExamplesRequest('{"examples": [{"a": ["x", 1]}]}'), 'INVALID_ARGUMENT', 'Unexpected element type in feature: a expecting type: bytes');
    expectError(() => decodeExamplesRequest('{"examples": [{"a": [1.5, true]}]}'), 'INVALID_ARGUMENT', 'expecting type: float');
    expectError(
      () => decodeExamplesRequest('{"examples": [{"a": 18446744073709551615}]}'),
      'INVALID_ARGUMENT',
      'Feature: a has uint64 element. Only int64 is supported.',
    );
    expectError(() => decodeExamplesRequest('{"examples": [{"a": {"b64": "!!"}}]}'), 'INVALID_ARGUMENT', 'Unable to base64 decode');
    expectError(() => decodeExamplesRequest('{"signature_name": 1, "examples": [{}]}'), 'INVALID_ARGUMENT', "'signature_name' key must be a string value");
    expectError(() => decodeExamplesRequest('{"examples": [{]}'), 'INVALID_ARGUMENT', 'JSON Parse error: Missing a name for object member.');
    expectError(() => decodeExamplesRequest('[]'), 'INVALID_ARGUMENT', 'Is not object');
  });
});

describe('classify / regress responses', () => {
  const scores: Tensor = { dtype: 'float32', shape: [2, 2], data: new Float32Array([0.9, 0.1, 0.25, 0.75]) };
  const classes: Tensor = { dtype: 'string', shape: [2, 2], data: ['cat', 'dog', 'cat', 'dog'].map(utf8) };

  it('classify results', () => {
    expect(encodeClassifyResponse({ scores, classes }, 2)).toBe(
      '{"results": [[["cat", 0.9], ["dog", 0.1]], [["cat", 0.25], ["dog", 0.75]]]}',
    );
    expect(encodeClassifyResponse({ scores })).toBe('{"results": [[["", 0.9], ["", 0.1]], [["", 0.25], ["", 0.75]]]}');
    expect(encodeClassifyResponse({ classes })).toBe('{"results": [[["cat", 0.0], ["dog", 0.0]], [["cat", 0.0], ["dog", 0.0]]]}');
  });

  it('classify errors', () => {
    expectError(() => encodeClassifyResponse({}), 'INVALID_ARGUMENT', 'neither classes nor scores');
    expectError(() => encodeClassifyResponse({ scores }, 3), 'INVALID_ARGUMENT', 'Input batch size did not match output batch size: 3 vs. 2');
    expectError(
      () => encodeClassifyResponse({ scores: { dtype: 'float32', shape: [4], data: new Float32Array(4) } }),
      'INVALID_ARGUMENT',
      'Expected Tensor shape: [batch_size num_classes] but got [4]',
    );
    expectError(
      () => encodeClassifyResponse({ scores: { dtype: 'float64', shape: [1, 1], data: new Float64Array(1) } }),
      'INVALID_ARGUMENT',
      'Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE',
    );
    expectError(
      () => encodeClassifyResponse({ scores, classes: { dtype: 'string', shape: [2, 1], data: [utf8('a'), utf8('b')] } }),
      'INVALID_ARGUMENT',
      'Tensors class and score should match in shape',
    );
  });

  it('regress results and errors', () => {
    expect(encodeRegressResponse({ dtype: 'float32', shape: [3], data: new Float32Array([1, 2.5, NaN]) }, 3)).toBe(
      '{"results": [1.0, 2.5, NaN]}',
    );
    expect(encodeRegressResponse({ dtype: 'float32', shape: [1, 1], data: new Float32Array([0.1]) })).toBe('{"results": [0.1]}');
    expectError(
      () => encodeRegressResponse({ dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }),
      'INVALID_ARGUMENT',
      'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [2,2]',
    );
    expectError(
      () => encodeRegressResponse({ dtype: 'int32', shape: [1], data: new Int32Array(1) }),
      'INVALID_ARGUMENT',
      'Expected output Tensor of DT_FLOAT. Got: DT_INT32',
    );
    expectError(() => encodeRegressResponse({ dtype: 'float32', shape: [1], data: new Float32Array(1) }, 2), 'INVALID_ARGUMENT', '2 vs. 1');
  });
});

describe('status and metadata JSON', () => {
  it('model status: protobuf printer layout, int64 version as string', () => {
    expect(
      encodeModelStatus([
        { version: 123, state: 'AVAILABLE', error: null },
        { version: 7, state: 'END', error: { code: 'NOT_FOUND', message: 'gone' } },
      ]),
    ).toBe(
      [
        '{',
        ' "model_version_status": [',
        '  {',
        '   "version": "123",',
        '   "state": "AVAILABLE",',
        '   "status": {',
        '    "error_code": "OK",',
        '    "error_message": ""',
        '   }',
        '  },',
        '  {',
        '   "version": "7",',
        '   "state": "END",',
        '   "status": {',
        '    "error_code": "NOT_FOUND",',
        '    "error_message": "gone"',
        '   }',
        '  }',
        ' ]',
        '}',
      ].join('\n'),
    );
  });

  it('model metadata: doubled signature_def, dims as strings, unknown rank', () => {
    const s = sig(
      { x: ['float32', [-1, 1]], r: ['string', null] },
      { y: ['float32', [-1, 1]], h: { tfDtype: 20, shape: [] } },
    );
    const out = encodeModelMetadata({ name: 'm', version: 123, signatures: { serving_default: s } });
    expect(out.startsWith('{\n"model_spec":{\n "name": "m",\n "signature_name": "",\n "version": "123"\n}\n,\n"metadata": {"signature_def": {\n "signature_def": {')).toBe(true);
    expect(JSON.parse(out)).toEqual({
      model_spec: { name: 'm', signature_name: '', version: '123' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: {
                x: {
                  dtype: 'DT_FLOAT',
                  tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '1', name: '' }], unknown_rank: false },
                  name: 'x:0',
                },
                r: { dtype: 'DT_STRING', tensor_shape: { dim: [], unknown_rank: true }, name: 'r:0' },
              },
              outputs: {
                y: {
                  dtype: 'DT_FLOAT',
                  tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '1', name: '' }], unknown_rank: false },
                  name: 'y:0',
                },
                h: { dtype: 'DT_RESOURCE', tensor_shape: { dim: [], unknown_rank: false }, name: 'h:0' },
              },
              method_name: 'tensorflow/serving/predict',
              defaults: {},
            },
          },
        },
      },
    });
    void text;
  });
});
