// TF Serving REST JSON codec: predict requests / responses (reference/tfserving.md §1.4, §1.5).
// Every suite runs against both codecs: the TypeScript reference and the native one.
import { describe, expect, it } from 'vitest';
import { encodeErrorBody } from '../../src/wire/json/tfserving.js';
import { JSON_CODECS } from './json-codecs.js';
import { plainTensor, type Tensor, type TensorAllocator } from '../../src/engine/tensor.js';
import type { SignatureInfo } from '../../src/engine/signature.js';
import { invalidArgument } from '../../src/errors.js';
import { expectError, sig, text, utf8 } from './helpers.js';

const one = (s: SignatureInfo) => () => s;
const f32 = sig({ x: ['float32', null] });

describe.each(JSON_CODECS)('$name codec', (codec) => {
const decodePredictRequest = codec.decodePredictRequest;
const encodePredictResponse = codec.encodePredictResponse;

function decode(body: string, s: SignatureInfo = f32) {
  return decodePredictRequest(body, one(s));
}

describe('decodePredictRequest: formats and shapes', () => {
  it('row format, single input (reference example)', () => {
    const r = decode('{"instances":[[1.0,2.0],[3.0,4.0]]}');
    expect(r.format).toBe('row');
    expect(r.signatureName).toBe('serving_default');
    expect(r.inputs.x!.dtype).toBe('float32');
    expect(r.inputs.x!.shape).toEqual([2, 2]);
    expect([...(r.inputs.x!.data as Float32Array)]).toEqual([1, 2, 3, 4]);
  });

  it('row format scalars and nested elements', () => {
    expect(decode('{"instances":[1.0,2.0,5.0]}').inputs.x!.shape).toEqual([3]);
    const r = decode('{"instances":[[[1,2]],[[3,4]]]}');
    expect(r.inputs.x!.shape).toEqual([2, 1, 2]);
    expect([...(r.inputs.x!.data as Float32Array)]).toEqual([1, 2, 3, 4]);
  });

  it('accepts bytes or a string body, whitespace everywhere and ignores trailing bytes', () => {
    const body = ' \n{ "instances" : [ [ 1 , 2 ] ,\t[3,4] ] } trailing garbage';
    expect(decodePredictRequest(utf8(body), one(f32)).inputs.x!.shape).toEqual([2, 2]);
    expect(decodePredictRequest(body, one(f32)).inputs.x!.shape).toEqual([2, 2]);
  });

  it('columnar: bare list, bare scalar (rank 0), b64 value', () => {
    const r = decode('{"inputs":[3.0,4.0]}');
    expect(r.format).toBe('columnar');
    expect(r.inputs.x!.shape).toEqual([2]);
    const s = decode('{"inputs": 3}');
    expect(s.inputs.x!.shape).toEqual([]);
    expect([...(s.inputs.x!.data as Float32Array)]).toEqual([3]);
    const b = decode('{"inputs": {"b64": "aGk="}}', sig({ s: ['string', null] }));
    expect(b.inputs.s!.shape).toEqual([]);
    expect(text((b.inputs.s!.data as Uint8Array[])[0]!)).toBe('hi');
  });

  it('columnar named inputs may differ in dim 0; extra keys ignored', () => {
    const s = sig({ a: ['float32', null], b: ['int32', null] });
    const r = decode('{"inputs": {"a": [[1,2],[3,4],[5,6]], "b": [7], "zzz": [[1],[2,3]]}}', s);
    expect(r.inputs.a!.shape).toEqual([3, 2]);
    expect(r.inputs.b!.shape).toEqual([1]);
    expect(r.inputs.b!.data).toBeInstanceOf(Int32Array);
    expect(Object.keys(r.inputs).sort()).toEqual(['a', 'b']);
  });

  it('row format with named inputs batches each along dim 0', () => {
    const s = sig({ a: ['float32', null], b: ['string', null] });
    const r = decode('{"instances": [{"a": [1,2], "b": "x"}, {"b": {"b64": "eQ=="}, "a": [3,4]}]}', s);
    expect(r.inputs.a!.shape).toEqual([2, 2]);
    expect([...(r.inputs.a!.data as Float32Array)]).toEqual([1, 2, 3, 4]);
    expect(r.inputs.b!.shape).toEqual([2]);
    expect((r.inputs.b!.data as Uint8Array[]).map(text)).toEqual(['x', 'y']);
  });

  it('single-input signature also takes rows of objects', () => {
    const r = decode('{"instances": [{"x": 1}, {"x": 2}]}');
    expect(r.inputs.x!.shape).toEqual([2]);
  });

  it('empty lists give zero-size dims', () => {
    expect(decode('{"inputs": []}').inputs.x!.shape).toEqual([0]);
    expect(decode('{"inputs": [[], []]}').inputs.x!.shape).toEqual([2, 0]);
    expect(decode('{"instances": [[], []]}').inputs.x!.shape).toEqual([2, 0]);
  });

  it('signature_name selects the signature; "" means the default', () => {
    const seen: string[] = [];
    const resolve = (name: string) => {
      seen.push(name);
      return f32;
    };
    expect(decodePredictRequest('{"signature_name": "other", "inputs": [1]}', resolve).signatureName).toBe('other');
    expect(decodePredictRequest('{"inputs": [1], "signature_name": ""}', resolve).signatureName).toBe('serving_default');
    expect(decodePredictRequest('{"inputs": [1]}', resolve).signatureName).toBe('serving_default');
    // the TypeScript codec asks the resolver for every name; the native one looks names up in the
    // model's signature table and asks only for names it lacks
    if (codec.name === 'ts') expect(seen).toEqual(['other', 'serving_default', 'serving_default']);
    else expect(seen).toContain('other');
  });

  it('unknown top-level keys are ignored (and still validated as JSON)', () => {
    expect(decode('{"foo": {"bar": [1, {"x": null}]}, "inputs": [1]}').inputs.x!.shape).toEqual([1]);
  });
});

describe('decodePredictRequest: value conversion', () => {
  it('NaN, Infinity, -Infinity, Inf tokens for floats', () => {
    const r = decode('{"inputs": [NaN, Infinity, -Infinity, Inf, -Inf, -NaN, 1e999, -1e999, 1e-999]}');
    const d = [...(r.inputs.x!.data as Float32Array)];
    expect(d[0]).toBeNaN();
    expect(d.slice(1, 5)).toEqual([Infinity, -Infinity, Infinity, -Infinity]);
    expect(d[5]).toBeNaN();
    expect(d.slice(6)).toEqual([Infinity, -Infinity, 0]);
    const g = decode('{"inputs": [NaN, -Infinity]}', sig({ x: ['float64', null] }));
    expect((g.inputs.x!.data as Float64Array)[1]).toBe(-Infinity);
  });

  it('float64 values are correctly rounded (random values, all digit counts)', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const values: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const v = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
      values.push(String(v), v.toPrecision(1 + (i % 17)), v.toExponential(i % 12));
    }
    values.push('0', '-0', '0.0', '123456789012345678901234567890', '4.9e-324', '1.7976931348623157e308', '2.2250738585072014e-308');
    const r = decode(`{"inputs": [${values.join(',')}]}`, sig({ x: ['float64', null] }));
    const d = r.inputs.x!.data as Float64Array;
    values.forEach((v, i) => expect(d[i], v).toBe(Number(v)));
    // the same text into float32 matches JS's own double → float32 rounding
    const r32 = decode(`{"inputs": [${values.join(',')}]}`);
    const d32 = r32.inputs.x!.data as Float32Array;
    values.forEach((v, i) => expect(d32[i], v).toBe(Math.fround(Number(v))));
  });

  it('float32 values printed by Python (17 significant digits) come back exactly', () => {
    const src = new Float32Array([0.1, 0.2, 0.3, 1 / 3, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-45, 16777217]);
    const texts = [...src].map((v) => v.toPrecision(17));
    const r = decode(`{"instances": [${texts.join(',')}]}`);
    expect([...(r.inputs.x!.data as Float32Array)]).toEqual([...src]);
  });

  it('integer dtypes: exact ranges, ints only', () => {
    const s = (dtype: 'int8' | 'int16' | 'int32' | 'uint8' | 'uint32') => sig({ x: [dtype, null] });
    expect([...(decode('{"inputs": [-128, 127, -0]}', s('int8')).inputs.x!.data as Int8Array)]).toEqual([-128, 127, 0]);
    expect([...(decode('{"inputs": [0, 255]}', s('uint8')).inputs.x!.data as Uint8Array)]).toEqual([0, 255]);
    expect([...(decode('{"inputs": [-32768, 32767]}', s('int16')).inputs.x!.data as Int16Array)]).toEqual([-32768, 32767]);
    expect([...(decode('{"inputs": [-2147483648, 2147483647]}', s('int32')).inputs.x!.data as Int32Array)]).toEqual([
      -2147483648, 2147483647,
    ]);
    expect([...(decode('{"inputs": [4294967295]}', s('uint32')).inputs.x!.data as Uint32Array)]).toEqual([4294967295]);
  });

  it('int64 / uint64 beyond 2^53 stay exact', () => {
    const r = decode(
      '{"inputs": [9007199254740993, -9223372036854775808, 9223372036854775807, -1, 0, 4294967296, -4294967297, 1234567890123456]}',
      sig({ x: ['int64', null] }),
    );
    expect([...(r.inputs.x!.data as BigInt64Array)]).toEqual([
      9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
      -1n,
      0n,
      4294967296n,
      -4294967297n,
      1234567890123456n,
    ]);
    const u = decode('{"inputs": [18446744073709551615, 9007199254740993, 7]}', sig({ x: ['uint64', null] }));
    expect([...(u.inputs.x!.data as BigUint64Array)]).toEqual([18446744073709551615n, 9007199254740993n, 7n]);
  });

  it('bool takes true/false only', () => {
    const r = decode('{"inputs": [[true, false], [false, true]]}', sig({ x: ['bool', null] }));
    expect(r.inputs.x!.data).toBeInstanceOf(Uint8Array);
    expect([...(r.inputs.x!.data as Uint8Array)]).toEqual([1, 0, 0, 1]);
  });

  it('strings: raw UTF-8, escapes, surrogate pairs, b64', () => {
    const s = sig({ s: ['string', null] });
    const r = decode(
      String.raw`{"instances": ["plain", "é€", "\u00e9\n\t\"\\\/", "\ud83d\ude00", {"b64": "AAH/"}, {"b64": "YQ"}]}`,
      s,
    );
    const d = r.inputs.s!.data as Uint8Array[];
    expect(text(d[0]!)).toBe('plain');
    expect(text(d[1]!)).toBe('é€');
    expect(text(d[2]!)).toBe('é\n\t"\\/');
    expect(text(d[3]!)).toBe('😀');
    expect([...d[4]!]).toEqual([0, 1, 255]);
    expect(text(d[5]!)).toBe('a'); // padding optional
  });

  // the TypeScript codec's injected allocator (the native codec allocates its own aligned memory)
  if (codec.name === 'ts') it('writes numbers into an allocated block (single pass; the view may be shorter than the block)', () => {
    // allocTensor carves small blocks out of a shared slab, so the blocks are observed through an
    // injected allocator that gives each its own buffer
    const blocks: number[] = [];
    const alloc: TensorAllocator = (dtype, shape) => {
      const t = plainTensor(dtype, shape);
      blocks.push(t.data.byteLength);
      return t;
    };
    const r = decodePredictRequest('{"inputs": [1, 2, 3]}', one(f32), { alloc });
    const data = r.inputs.x!.data as Float32Array;
    expect(data.byteOffset).toBe(0);
    expect(data.length).toBe(3);
    expect(data.buffer.byteLength).toBeGreaterThanOrEqual(12);
    expect(blocks.at(-1)).toBe(data.buffer.byteLength);
    // signature_name after the values: the precise two-pass path, exact-size block
    blocks.length = 0;
    const late = decodePredictRequest('{"inputs": [1, 2, 3], "signature_name": "other"}', one(f32), { alloc });
    expect((late.inputs.x!.data as Float32Array).buffer.byteLength).toBe(12);
    expect([...(late.inputs.x!.data as Float32Array)]).toEqual([1, 2, 3]);
    expect(blocks.at(-1)).toBe(12); // the precise pass allocates exactly (after a discarded fast attempt)
    // and by default the block is allocTensor's
    expect(decode('{"inputs": [1, 2, 3]}').inputs.x!.data.length).toBe(3);
  });

  it('fast and precise paths agree (growth past the first estimate, every dtype family)', () => {
    // rows get longer after the first: the estimate from row 0 is too small, storage doubles
    const rows = ['[1,2]', ...Array.from({ length: 300 }, (_, i) => `[${1000000 + i}.25,${-i}e-3]`)];
    const body = `{"instances": [${rows.join(',')}]}`;
    const fast = decode(body, sig({ x: ['float64', null] }));
    const precise = decode(body.replace(/}$/, ', "signature_name": "y"}'), sig({ x: ['float64', null] }));
    expect((precise.inputs.x!.data as Float64Array).buffer.byteLength).toBe(301 * 2 * 8); // two-pass: exact block
    expect(fast.inputs.x!.shape).toEqual([301, 2]);
    expect([...(fast.inputs.x!.data as Float64Array)]).toEqual([...(precise.inputs.x!.data as Float64Array)]);
    const cases: [string, ReturnType<typeof sig>][] = [
      ['[[1,2],[3,4]]', sig({ x: ['int8', null] })],
      ['[[9007199254740993],[-5]]', sig({ x: ['int64', null] })],
      ['[18446744073709551615]', sig({ x: ['uint64', null] })],
      ['[[true],[false]]', sig({ x: ['bool', null] })],
      ['["a", {"b64": "Yg=="}]', sig({ x: ['string', null] })],
    ];
    for (const [value, s] of cases) {
      const a = decode(`{"instances": ${value}}`, s).inputs.x!;
      const b = decode(`{"instances": ${value}, "signature_name": "y"}`, s).inputs.x!;
      expect(a.shape, value).toEqual(b.shape);
      expect(a.dtype === 'string' ? (a.data as Uint8Array[]).map(text) : [...(a.data as Int8Array)], value).toEqual(
        b.dtype === 'string' ? (b.data as Uint8Array[]).map(text) : [...(b.data as Int8Array)],
      );
    }
  });
});

describe('decodePredictRequest: errors', () => {
  it('malformed JSON → "JSON Parse error: … at offset"', () => {
    expectError(() => decode(''), 'INVALID_ARGUMENT', 'JSON Parse error: The document is empty');
    expectError(() => decode('   '), 'INVALID_ARGUMENT', 'JSON Parse error: The document is empty. at offset: 3');
    expectError(() => decode('{"inputs": [1 2]}'), 'INVALID_ARGUMENT', "Missing a comma or ']' after an array element. at offset: 14");
    expectError(() => decode('{"inputs": [1,]}'), 'INVALID_ARGUMENT', 'Invalid value. at offset: 14');
    expectError(() => decode('{"inputs" [1]}'), 'INVALID_ARGUMENT', 'Missing a colon after a name of object member. at offset: 10');
    expectError(() => decode('{"inputs": [1]'), 'INVALID_ARGUMENT', "Missing a comma or '}' after an object member.");
    expectError(() => decode('{inputs: [1]}'), 'INVALID_ARGUMENT', 'Missing a name for object member. at offset: 1');
    expectError(() => decode('{"inputs": [1.]}'), 'INVALID_ARGUMENT', 'Miss fraction part in number.');
    expectError(() => decode('{"inputs": [1e]}'), 'INVALID_ARGUMENT', 'Miss exponent in number.');
    expectError(() => decode('{"inputs": ["a\\x"]}', sig({ s: ['string', null] })), 'INVALID_ARGUMENT', 'Invalid escape character in string.');
    expectError(() => decode('{"inputs": ["\\ud800"]}', sig({ s: ['string', null] })), 'INVALID_ARGUMENT', 'The surrogate pair in string is invalid.');
    expectError(() => decode('{"inputs": ["\\u12g4"]}', sig({ s: ['string', null] })), 'INVALID_ARGUMENT', 'Incorrect hex digit after \\u escape in string.');
    expectError(() => decode('{"inputs": ["abc'), 'INVALID_ARGUMENT', 'Missing a closing quotation mark in string.');
    expectError(() => decode('{"inputs": [Nan]}'), 'INVALID_ARGUMENT', 'Invalid value.');
    expectError(() => decode('{"inputs": [tru]}'), 'INVALID_ARGUMENT', 'Invalid value.');
  });

  it('a syntax error wins over a structural error found earlier', () => {
    expectError(() => decode('{"instances": [[1],[1,2]], "x": [}'), 'INVALID_ARGUMENT', 'JSON Parse error: Invalid value.');
  });

  it('top level must be an object', () => {
    expectError(() => decode('[1, 2]'), 'INVALID_ARGUMENT', 'JSON Value: [1, 2] Is not object');
  });

  it('both keys, neither key, non-string signature_name', () => {
    expectError(
      () => decode('{"instances": [1], "inputs": [1]}'),
      'INVALID_ARGUMENT',
      "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist",
    );
    expectError(() => decode('{"input": [1]}'), 'INVALID_ARGUMENT', "Missing 'inputs' or 'instances' key");
    expectError(
      () => decode('{"signature_name": 3, "inputs": [1]}'),
      'INVALID_ARGUMENT',
      "JSON Value: 3 not formatted correctly. 'signature_name' key must be a string value.",
    );
  });

  it('unknown signature: the resolver error passes through', () => {
    const resolve = (name: string): SignatureInfo => {
      throw invalidArgument(`Serving signature name: "${name}" not found in signature def`);
    };
    expectError(
      () => decodePredictRequest('{"signature_name": "nope", "inputs": [1]}', resolve),
      'INVALID_ARGUMENT',
      'Serving signature name: "nope" not found in signature def',
    );
  });

  it('instances must be a non-empty list', () => {
    expectError(() => decode('{"instances": {"x": 1}}'), 'INVALID_ARGUMENT', "Excepting 'instances' to be an list/array");
    expectError(() => decode('{"instances": []}'), 'INVALID_ARGUMENT', "No values in 'instances' array");
  });

  it('ragged rows and leaves at the wrong level', () => {
    expectError(
      () => decode('{"instances": [[1,2],[1,2,3]]}'),
      'INVALID_ARGUMENT',
      "Failed to process element: 1 of 'instances' list. Error: Expecting tensor size: 2 but got: 3",
    );
    expectError(
      () => decode('{"instances": [[1,2,3,4],[[1,2],[3,4]]]}'),
      'INVALID_ARGUMENT',
      'Error: Expecting shape [4] but got: [2,2]',
    );
    expectError(
      () => decode('{"instances": [[[1,2],[3]]]}'),
      'INVALID_ARGUMENT',
      "Failed to process element: 0 of 'instances' list. Error: Encountered list at unexpected size: 1 at level: 1 expected size: 2",
    );
    expectError(
      () => decode('{"inputs": [[1,2],3]}'),
      'INVALID_ARGUMENT',
      'JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2',
      "(input 'x')",
    );
    expectError(() => decode('{"inputs": [1,[2]]}'), 'INVALID_ARGUMENT', 'Encountered list at unexpected level: 1 expected < 1');
    expectError(() => decode('{"inputs": [[1],[]]}'), 'INVALID_ARGUMENT', 'Encountered list at unexpected size: 0 at level: 1 expected size: 1');
  });

  it('multi-input signatures: plain lists rejected, key sets checked', () => {
    const s = sig({ a: ['float32', null], b: ['float32', null] });
    expectError(
      () => decode('{"instances": [[1], [2]]}', s),
      'INVALID_ARGUMENT',
      'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map',
    );
    expectError(
      () => decode('{"instances": [{"a": 1}]}', s),
      'INVALID_ARGUMENT',
      `Failed to process element: 0 of 'instances' list. JSON object: {"a": 1} must only have keys: a,b`,
    );
    expectError(
      () => decode('{"instances": [{"a": 1, "b": 2, "c": 3}]}', s),
      'INVALID_ARGUMENT',
      "Failed to process element: 0 key: c of 'instances' list. Error: JSON object: does not have named input: c",
    );
    expectError(
      () => decode('{"instances": [{"a": 1, "b": 2}, [1]]}', s),
      'INVALID_ARGUMENT',
      'Expecting object but got list at item 1 of input list',
    );
    expectError(
      () => decode('{"instances": [{"a": [1], "b": 2}, {"a": [1, 2], "b": 3}]}', s),
      'INVALID_ARGUMENT',
      "Failed to process element: 1 key: a of 'instances' list. Error: Expecting tensor size: 1 but got: 2",
    );
    expectError(
      () => decode('{"inputs": [1, 2]}', s),
      'INVALID_ARGUMENT',
      'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map',
    );
    expectError(() => decode('{"inputs": {"a": [1]}}', s), 'INVALID_ARGUMENT', "Missing named input: b in 'inputs' object.");
    expectError(
      () => decode('{"instances": [{"a": 1, "b": 2, "a": 3}]}', s),
      'INVALID_ARGUMENT',
      "duplicate key 'a'",
    );
  });

  it('single-input list with an object element', () => {
    expectError(
      () => decode('{"instances": [1, {"x": 2}]}'),
      'INVALID_ARGUMENT',
      'Expecting value/list but got object at item 1 of input list',
    );
  });

  it('wrong value types name the value, its JSON type and the dtype', () => {
    expectError(
      () => decode('{"inputs": {"x": [1, "a"]}}'),
      'INVALID_ARGUMENT',
      `JSON Value: "a" Type: String is not of expected type: float (input 'x')`,
    );
    expectError(
      () => decode('{"instances": [[1, 2], [3, true]]}'),
      'INVALID_ARGUMENT',
      "Failed to process element: 1 of 'instances' list. Error: JSON Value: true Type: True is not of expected type: float",
    );
    expectError(() => decode('{"inputs": [null]}'), 'INVALID_ARGUMENT', 'JSON Value: null Type: Null is not of expected type: float');
    expectError(() => decode('{"inputs": [{"b64": "AA=="}]}'), 'INVALID_ARGUMENT', 'Type: Object is not of expected type: float');
    const i32 = sig({ x: ['int32', null] });
    expectError(() => decode('{"inputs": [1.0]}', i32), 'INVALID_ARGUMENT', 'JSON Value: 1.0 Type: Number is not of expected type: int32');
    expectError(() => decode('{"inputs": [1e3]}', i32), 'INVALID_ARGUMENT', 'JSON Value: 1e3 Type: Number is not of expected type: int32');
    expectError(() => decode('{"inputs": [NaN]}', i32), 'INVALID_ARGUMENT', 'JSON Value: NaN Type: Number is not of expected type: int32');
    expectError(() => decode('{"inputs": [2147483648]}', i32), 'INVALID_ARGUMENT', 'JSON Value: 2147483648 Type: Number is not of expected type: int32');
    expectError(() => decode('{"inputs": [12345678901234567890]}', i32), 'INVALID_ARGUMENT', 'is not of expected type: int32');
    expectError(() => decode('{"inputs": [128]}', sig({ x: ['int8', null] })), 'INVALID_ARGUMENT', 'JSON Value: 128 Type: Number is not of expected type: int8');
    expectError(() => decode('{"inputs": [300]}', sig({ x: ['uint8', null] })), 'INVALID_ARGUMENT', 'is not of expected type: uint8');
    expectError(() => decode('{"inputs": [-1]}', sig({ x: ['uint32', null] })), 'INVALID_ARGUMENT', 'is not of expected type: uint32');
    expectError(() => decode('{"inputs": [9223372036854775808]}', sig({ x: ['int64', null] })), 'INVALID_ARGUMENT', 'is not of expected type: int64');
    expectError(() => decode('{"inputs": [-1]}', sig({ x: ['uint64', null] })), 'INVALID_ARGUMENT', 'is not of expected type: uint64');
    expectError(() => decode('{"inputs": [18446744073709551616]}', sig({ x: ['uint64', null] })), 'INVALID_ARGUMENT', 'uint64');
    expectError(() => decode('{"inputs": [1]}', sig({ x: ['bool', null] })), 'INVALID_ARGUMENT', 'JSON Value: 1 Type: Number is not of expected type: bool');
    expectError(() => decode('{"inputs": [1]}', sig({ s: ['string', null] })), 'INVALID_ARGUMENT', 'JSON Value: 1 Type: Number is not of expected type: string');
  });

  it('base64 problems', () => {
    const s = sig({ s: ['string', null] });
    expectError(() => decode('{"inputs": [{"b64": "a$=="}]}', s), 'INVALID_ARGUMENT', 'Unable to base64 decode');
    expectError(() => decode('{"inputs": [{"b64": "abcde"}]}', s), 'INVALID_ARGUMENT', 'Unable to base64 decode');
    expectError(
      () => decode('{"inputs": [{"b64": "AA==", "x": 1}]}', s),
      'INVALID_ARGUMENT',
      'JSON Value: {"b64": "AA==", "x": 1} not formatted correctly for base64 data',
    );
    expectError(() => decode('{"inputs": [{"b64": 1}]}', s), 'INVALID_ARGUMENT', 'not formatted correctly for base64 data');
  });

  it('takes half, bfloat16 and uint16 from JSON numbers (TF Serving answers 501)', () => {
    const h = decode('{"inputs": [1.5, -2, 65504]}', sig({ h: ['float16', null] })).inputs.h!;
    expect(h.dtype).toBe('float16');
    expect([...(h.data as Uint16Array)]).toEqual([0x3e00, 0xc000, 0x7bff]);
    const b = decode('{"inputs": [1.5, -2]}', sig({ b: ['bfloat16', null] })).inputs.b!;
    expect([...(b.data as Uint16Array)]).toEqual([0x3fc0, 0xc000]);
    const u = decode('{"inputs": [0, 65535]}', sig({ u: ['uint16', null] })).inputs.u!;
    expect([...(u.data as Uint16Array)]).toEqual([0, 65535]);
    expectError(() => decode('{"inputs": [65536]}', sig({ u: ['uint16', null] })), 'INVALID_ARGUMENT', "input 'u'");
  });

  it('dtypes JSON cannot express → UNIMPLEMENTED', () => {
    expectError(() => decode('{"inputs": [[1, 2]]}', sig({ c: ['complex64', null] })), 'UNIMPLEMENTED', 'to type: complex64');
    expectError(() => decode('{"inputs": [1]}', sig({ r: { tfDtype: 20, shape: null } })), 'UNIMPLEMENTED', 'to type: DT_RESOURCE');
  });

  it('a shape the signature does not declare is decoded as sent (TF Serving leaves shapes to TF)', () => {
    // TF Serving's REST example against half_plus_two (x declared [-1,1]): instances of scalars
    const hpt = sig({ x: ['float32', [-1, 1]] });
    for (const body of ['{"instances": [2.0, 3.0, 4.0]}', '{"inputs": [2.0, 3.0, 4.0]}', '{"inputs": {"x": [2.0, 3.0, 4.0]}}']) {
      const x = decode(body, hpt).inputs.x!;
      expect(x.shape, body).toEqual([3]);
      expect([...(x.data as Float32Array)], body).toEqual([2, 3, 4]);
    }
    expect(decode('{"instances": [[1,2,3]]}', sig({ x: ['float32', [-1, 2]] })).inputs.x!.shape).toEqual([1, 3]);
    // rows must still agree with each other (TF Serving's own check)
    expectError(
      () => decode('{"instances": [[1,2], [1,2,3]]}', sig({ x: ['float32', [-1, 2]] })),
      'INVALID_ARGUMENT',
      "Failed to process element: 1 of 'instances' list. Error: Expecting tensor size: 2 but got: 3",
    );
  });

  it('empty input map', () => {
    expectError(() => decode('{"inputs": [1]}', sig({})), 'INVALID_ARGUMENT', 'Failed to get input map for signature: DEFAULT');
  });
});

// ---------------------------------------------------------------------------------------------

const t32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: new Float32Array(values) });

describe('encodePredictResponse', () => {
  it('reference examples', () => {
    expect(encodePredictResponse({ y: t32([2, 2], [2.5, 3, 3.5, 4]) }, 'row')).toBe('{"predictions": [[2.5, 3.0], [3.5, 4.0]]}');
    expect(encodePredictResponse({ y: t32([2], [3.5, 4]) }, 'columnar')).toBe('{"outputs": [3.5, 4.0]}');
  });

  it('float text: %g 6 digits, max_digits10 fallback, ".0", non-finite tokens', () => {
    const out = encodePredictResponse(
      { y: t32([9], [9000000, 999999, 3e-5, 0.1, 1 / 3, NaN, Infinity, -Infinity, -0]) },
      'columnar',
    );
    expect(out).toBe('{"outputs": [9e+06, 999999.0, 3e-05, 0.1, 0.333333343, NaN, Infinity, -Infinity, -0.0]}');
    const d = encodePredictResponse(
      { y: { dtype: 'float64', shape: [6], data: new Float64Array([0.1, 1 / 3, 1e100, 123456789, 1e-7, 0.0001]) } },
      'columnar',
    );
    expect(d).toBe('{"outputs": [0.1, 0.33333333333333331, 1e+100, 123456789.0, 1e-07, 0.0001]}');
  });

  it('exact ties round half to even, like printf', () => {
    expect(encodePredictResponse({ y: t32([3], [131072.0625, 1234567.125, 1234567.375]) }, 'columnar')).toBe(
      '{"outputs": [131072.062, 1234567.12, 1234567.38]}',
    );
  });

  it('float text always parses back to the same value', () => {
    const values = new Float32Array(2000);
    for (let i = 0; i < values.length; i++) values[i] = (Math.sin(i * 7.3) * 10 ** ((i % 30) - 15)) as number;
    const out = encodePredictResponse({ y: { dtype: 'float32', shape: [values.length], data: values } }, 'columnar');
    const back = JSON.parse(out).outputs as number[];
    back.forEach((v, i) => expect(Math.fround(v)).toBe(values[i]));
  });

  it('several outputs: row objects and columnar object', () => {
    const outputs = {
      a: t32([2], [1, 2]),
      b: { dtype: 'int64', shape: [2, 2], data: new BigInt64Array([1n, 2n ** 62n, -3n, 9007199254740993n]) } as Tensor,
    };
    expect(encodePredictResponse(outputs, 'row')).toBe(
      '{"predictions": [{"a": 1.0, "b": [1, 4611686018427387904]}, {"a": 2.0, "b": [-3, 9007199254740993]}]}',
    );
    expect(encodePredictResponse(outputs, 'columnar')).toBe(
      '{"outputs": {"a": [1.0, 2.0], "b": [[1, 4611686018427387904], [-3, 9007199254740993]]}}',
    );
  });

  it('ints, uint64, bools, strings and _bytes outputs', () => {
    const enc = new TextEncoder();
    const out = encodePredictResponse(
      {
        i: { dtype: 'int8', shape: [2], data: new Int8Array([-1, 7]) },
        u: { dtype: 'uint64', shape: [2], data: new BigUint64Array([18446744073709551615n, 5n]) },
        b: { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
        s: { dtype: 'string', shape: [2], data: [enc.encode('a"b'), enc.encode('é\n')] },
        img_bytes: { dtype: 'string', shape: [2], data: [new Uint8Array([0, 255]), new Uint8Array()] },
      },
      'columnar',
    );
    expect(JSON.parse(out.replace(/18446744073709551615/, '"big"'))).toEqual({
      outputs: { i: [-1, 7], u: ['big', 5], b: [true, false], s: ['a"b', 'é\n'], img_bytes: [{ b64: 'AP8=' }, { b64: '' }] },
    });
    expect(out).toContain('"u": [18446744073709551615, 5]');
  });

  it('rank-0 outputs: bare value in columnar, error in row', () => {
    expect(encodePredictResponse({ y: t32([], [2]) }, 'columnar')).toBe('{"outputs": 2.0}');
    expectError(() => encodePredictResponse({ y: t32([], [2]) }, 'row'), 'INVALID_ARGUMENT', 'Tensor name: y has no shape information');
  });

  it('row format errors and edge cases', () => {
    expectError(
      () => encodePredictResponse({ a: t32([2], [1, 2]), b: t32([3], [1, 2, 3]) }, 'row'),
      'INVALID_ARGUMENT',
      'Tensor name: b has inconsistent batch size: 3 expecting: 2',
    );
    expect(encodePredictResponse({ y: t32([0, 3], []) }, 'row')).toBe('{"predictions": []}');
    expectError(() => encodePredictResponse({}, 'row'), 'INVALID_ARGUMENT', 'Cannot convert empty tensor map to JSON');
    expectError(
      () => encodePredictResponse({ c: { dtype: 'complex64', shape: [1], data: new Float32Array(2) } }, 'columnar'),
      'INVALID_ARGUMENT',
      'Failed to write JSON value for tensor type: complex64',
    );
  });

  it('half / bfloat16 outputs are written as numbers', () => {
    const out = encodePredictResponse(
      {
        h: { dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
        g: { dtype: 'bfloat16', shape: [1], data: new Uint16Array([0x3fc0]) },
      },
      'columnar',
    );
    expect(out).toBe('{"outputs": {"h": [1.0, -2.0], "g": [1.5]}}');
  });

  it('one float32 output of rank 1 or 2 in row format: the same text as the columnar writer gives', () => {
    // the row writer has a path of its own for this case (a classifier's usual answer); the
    // columnar writer's text of the same tensor is the same list under another key
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 10 ** Math.floor(seed % 13 - 6);
    const specials = [0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4e38, 0.1, -2.5, 16777216];
    for (const shape of [[0], [1], [5], [0, 3], [1, 3], [4, 1], [3, 7], [2, 0]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => (i < specials.length && shape[0] === 3 ? specials[i]! : random()));
      const t = t32(shape, values);
      const row = encodePredictResponse({ y: t }, 'row');
      const columnar = encodePredictResponse({ y: t }, 'columnar');
      expect(row).toBe(columnar.replace('{"outputs": ', '{"predictions": '));
    }
  });

  it('round trip: decode(encode(x)) for a row batch', () => {
    const x = t32([3, 2, 2], [0.5, -1.25, 3e-8, 7e20, NaN, -Infinity, 1, 2, 3, 4, 5, 6]);
    const body = encodePredictResponse({ x }, 'row').replace('"predictions"', '"instances"');
    const back = decode(body).inputs.x!;
    expect(back.shape).toEqual([3, 2, 2]);
    expect([...(back.data as Float32Array)]).toEqual([...(x.data as Float32Array)]);
  });

  it('error body', () => {
    expect(encodeErrorBody('Servable not found for request: Latest(half)')).toBe(
      '{ "error": "Servable not found for request: Latest(half)" }',
    );
  });
});
});
