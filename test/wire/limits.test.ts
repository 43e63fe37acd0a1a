// Request budgets in the decoders (src/wire/limits.ts): too many tensor elements → RESOURCE_EXHAUSTED
// (413 over REST) naming --rest_api_max_tensor_elements, refused before tensor memory is allocated
// for them; JSON nested deeper than the budget → INVALID_ARGUMENT naming --rest_api_max_json_depth,
// however deep the body goes.
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/engine/native.js', () => ({ allocAligned: (n: number) => new ArrayBuffer(n) }));

import type { NumericDType } from '../../src/engine/dtypes.js';
import { plainTensor, type TensorAllocator } from '../../src/engine/tensor.js';
import { decodeExamplesRequest, decodePredictRequest } from '../../src/wire/json/tfserving.js';
import { decodeInferRequest } from '../../src/wire/json/kserve.js';
import { decodeFlatPredict, encodeFlatPredictRequest } from '../../src/wire/flatbuffers/flatbuffers.js';
import { LimitExceededError, type RequestLimits } from '../../src/wire/limits.js';
import { expectError, sig, utf8 } from './helpers.js';

const f32 = sig({ x: ['float32', null] });
const two = sig({ a: ['float32', null], b: ['float32', null] });
const strs = sig({ s: ['string', null] });
const limits = (maxTensorElements: number, maxJsonDepth = 256): RequestLimits => ({ maxTensorElements, maxJsonDepth });

/** An allocator that records the element counts asked for. */
function spyAlloc(): { alloc: TensorAllocator; asked: number[] } {
  const asked: number[] = [];
  const alloc: TensorAllocator = (dtype: NumericDType, shape: readonly number[]) => {
    asked.push(shape.reduce((a, b) => a * b, 1));
    return plainTensor(dtype, shape as number[]);
  };
  return { alloc, asked };
}

const list = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;

function expectOverBudget(fn: () => unknown, limit: number): void {
  const err = expectError(fn, 'RESOURCE_EXHAUSTED', `limit of ${limit} tensor elements`, '--rest_api_max_tensor_elements');
  expect(err).toBeInstanceOf(LimitExceededError);
  expect(err.httpStatus).toBe(413);
}

describe('TF-JSON predict: element budget', () => {
  it('exactly the budget passes; one more is refused (fast path, row and columnar)', () => {
    expect(decodePredictRequest(`{"instances": ${list(10)}}`, () => f32, { limits: limits(10) }).inputs.x!.shape).toEqual([10]);
    expectOverBudget(() => decodePredictRequest(`{"instances": ${list(11)}}`, () => f32, { limits: limits(10) }), 10);
    expectOverBudget(() => decodePredictRequest(`{"inputs": [${list(6)}, ${list(6)}]}`, () => f32, { limits: limits(10) }), 10);
  });

  it('the fast path never allocates more than the budget, however long the list', () => {
    const spy = spyAlloc();
    expectOverBudget(() => decodePredictRequest(`{"instances": ${list(100_000)}}`, () => f32, { alloc: spy.alloc, limits: limits(1000) }), 1000);
    expect(Math.max(...spy.asked)).toBeLessThanOrEqual(1000);
  });

  it('rows of objects, several inputs, late signature_name: refused, never allocating past the budget', () => {
    const spy = spyAlloc();
    // signature_name after the values: measured by the precise path
    expectOverBudget(
      () => decodePredictRequest(`{"instances": [${list(8)}, ${list(8)}], "signature_name": "serving_default"}`, () => f32, { alloc: spy.alloc, limits: limits(10) }),
      10,
    );
    expectOverBudget(
      () => decodePredictRequest(`{"instances": [{"a": ${list(4)}, "b": ${list(4)}}, {"a": ${list(4)}, "b": ${list(4)}}]}`, () => two, { alloc: spy.alloc, limits: limits(10) }),
      10,
    );
    // summed over inputs: 6 + 6 > 10
    expectOverBudget(() => decodePredictRequest(`{"inputs": {"a": ${list(6)}, "b": ${list(6)}}}`, () => two, { alloc: spy.alloc, limits: limits(10) }), 10);
    // the single-pass fast path fills storage as it measures: never more than the budget
    expect(Math.max(0, ...spy.asked)).toBeLessThanOrEqual(10);
    // and the same sum within the budget decodes
    const ok = decodePredictRequest(`{"inputs": {"a": ${list(5)}, "b": ${list(5)}}}`, () => two, { limits: limits(10) });
    expect(ok.inputs.a!.shape).toEqual([5]);
  });

  it('a fast path that misses gives its count back (no double counting)', () => {
    // first row ragged against the second → fast path miss; the precise path then reports the shape error
    expectError(() => decodePredictRequest(`{"instances": [${list(4)}, ${list(5)}]}`, () => f32, { limits: limits(9) }), 'INVALID_ARGUMENT', 'Expecting tensor size');
    // late signature_name naming the same signature: counted once
    expect(decodePredictRequest(`{"instances": ${list(8)}, "signature_name": "serving_default"}`, () => f32, { limits: limits(8) }).inputs.x!.shape).toEqual([8]);
  });

  it('rows cost at least one element each, so lists of empty rows cannot pile up row records', () => {
    // the ragged last row sends decoding down the precise path, which keeps a record per row
    const empties = `[${Array(50).fill('[]').join(',')}, [1]]`;
    expectOverBudget(() => decodePredictRequest(`{"instances": ${empties}}`, () => f32, { limits: limits(20) }), 20);
    const emptyRows = `[${Array(50).fill('{"a": [], "b": []}').join(',')}]`;
    expectOverBudget(() => decodePredictRequest(`{"instances": ${emptyRows}}`, () => two, { limits: limits(20) }), 20);
  });

  it('string tensors count too', () => {
    expectOverBudget(() => decodePredictRequest(`{"instances": ["a","b","c","d"]}`, () => strs, { limits: limits(3) }), 3);
  });

  it('classify / regress examples: every value of the examples counts', () => {
    const body = `{"examples": [{"f": ${list(50)}}]}`;
    expectOverBudget(() => decodeExamplesRequest(body, limits(20)), 20);
    expect(decodeExamplesRequest(body, limits(200)).examples).toHaveLength(1);
  });
});

describe('JSON nesting budget', () => {
  const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;

  it('a tensor nested past the budget is refused with the flag named', () => {
    // document (1) + 7 lists = 8 levels
    expect(decodePredictRequest(`{"inputs": ${deep(7)}}`, () => f32, { limits: limits(100, 8) }).inputs.x!.shape).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expectError(
      () => decodePredictRequest(`{"inputs": ${deep(8)}}`, () => f32, { limits: limits(100, 8) }),
      'INVALID_ARGUMENT',
      'nesting exceeds the limit of 8 levels (--rest_api_max_json_depth)',
    );
    // row format: document, instances, row object, its list
    expectError(
      () => decodePredictRequest(`{"instances": [{"a": [[1]], "b": [1]}]}`, () => two, { limits: limits(100, 4) }),
      'INVALID_ARGUMENT',
      '--rest_api_max_json_depth',
    );
  });

  it('nesting depth 100,000 anywhere in the body is refused quickly (ignored keys, signature_name, KServe, examples)', () => {
    const bomb = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const objBomb = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const t0 = performance.now();
    for (const body of [
      `{"zzz": ${bomb}, "inputs": [1]}`,
      `{"zzz": ${objBomb}, "inputs": [1]}`,
      `{"inputs": ${bomb}}`,
      `{"instances": [${bomb}]}`,
      `{"signature_name": ${bomb}, "inputs": [1]}`,
    ]) {
      expectError(() => decodePredictRequest(body, () => f32), 'INVALID_ARGUMENT', 'nesting exceeds the limit of 256 levels');
    }
    expectError(() => decodeExamplesRequest(`{"examples": [{"f": ${bomb}}]}`), 'INVALID_ARGUMENT', 'nesting exceeds the limit of 256 levels');
    expectError(() => decodeInferRequest(utf8(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ${bomb}}]}`), undefined, f32), 'INVALID_ARGUMENT', 'nesting exceeds');
    expectError(() => decodeInferRequest(utf8(`{"parameters": ${objBomb}, "inputs": []}`), undefined, f32), 'INVALID_ARGUMENT', 'nesting exceeds');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('the deepest configurable budget (1024) parses without exhausting the stack', () => {
    const n = 1023;
    const body = `{"examples": [{"f": 1}], "zzz": ${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
    expect(decodeExamplesRequest(body, limits(10_000, 1024)).examples).toHaveLength(1);
  });
});

describe('KServe: declared shapes are checked before allocating', () => {
  const infer = (input: object, lim = limits(1000)) =>
    decodeInferRequest(utf8(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', ...input }] })), undefined, f32, { limits: lim });

  it('a shape over the budget → 413, nothing allocated', () => {
    const spy = spyAlloc();
    expectOverBudget(
      () =>
        decodeInferRequest(utf8('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1000000000], "data": [1]}]}'), undefined, f32, {
          alloc: spy.alloc,
          limits: limits(1000),
        }),
      1000,
    );
    expect(spy.asked).toEqual([]);
  });

  it('a shape within the budget but larger than the body could hold → 400 before allocating', () => {
    const spy = spyAlloc();
    expectError(
      () =>
        decodeInferRequest(utf8('{"inputs": [{"name": "x", "datatype": "FP32", "shape": [900], "data": [1]}]}'), undefined, f32, {
          alloc: spy.alloc,
          limits: limits(1000),
        }),
      'INVALID_ARGUMENT',
      'declares 900 elements but the rest of the request can hold at most',
    );
    expect(spy.asked).toEqual([]);
    expect(infer({ shape: [3], data: [1, 2, 3] }).inputs.x!.shape).toEqual([3]);
  });

  it('a shape with more dims than a tensor can have is refused while reading it', () => {
    expectError(() => infer({ shape: Array(300).fill(1), data: [1] }), 'INVALID_ARGUMENT', "'shape' has more than 254 dimensions");
  });

  it('binary tensors: budget from the declared shape; BYTES shapes larger than their data fail fast', () => {
    const header = (shape: number[], size: number, datatype = 'FP32') =>
      utf8(JSON.stringify({ inputs: [{ name: 'x', datatype, shape, parameters: { binary_data_size: size } }] }));
    const h = header([2_000_000], 8);
    const body = new Uint8Array(h.length + 8);
    body.set(h);
    expectOverBudget(() => decodeInferRequest(body, h.length, f32, { limits: limits(1000) }), 1000);
    const sh = header([500_000_000], 8, 'BYTES');
    const sbody = new Uint8Array(sh.length + 8);
    sbody.set(sh);
    const t0 = performance.now();
    expectError(() => decodeInferRequest(sbody, sh.length, sig({ x: ['string', null] }), { limits: limits(1e9) }), 'INVALID_ARGUMENT', 'BYTES data holds');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('inputs entries, request members and parameters are counted (apart from the tensor data)', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));
    const body = (params: object) => utf8(JSON.stringify({ parameters: params, inputs: [{ name: 'x', datatype: 'FP32', shape: [20], data: Array(20).fill(1) }] }));
    // exactly the budget of tensor elements fits next to a few parameters
    expect(decodeInferRequest(body(many(3)), undefined, f32, { limits: limits(20) }).inputs.x!.shape).toEqual([20]);
    const err = expectError(() => decodeInferRequest(body(many(50)), undefined, f32, { limits: limits(20) }), 'RESOURCE_EXHAUSTED', 'counting values in its inputs, outputs and parameters entries');
    expect(err.httpStatus).toBe(413);
    const members = utf8(`{${Array.from({ length: 50 }, (_, i) => `"k${i}": 0`).join(',')}, "inputs": []}`);
    expectOverBudget(() => decodeInferRequest(members, undefined, f32, { limits: limits(10) }), 10);
  });

  it('raw binary requests count their elements', () => {
    const raw = new Uint8Array(new Float32Array(2000).buffer);
    expectOverBudget(() => decodeInferRequest(raw, 0, sig({ x: ['float32', [-1, -1]] }), { limits: limits(1000) }), 1000);
  });
});

describe('FlatBuffers: element budget', () => {
  it('inputs summed over the request', () => {
    const body = encodeFlatPredictRequest({
      a: { dtype: 'float32', shape: [6], data: new Float32Array(6) },
      b: { dtype: 'float32', shape: [6], data: new Float32Array(6) },
    });
    expectOverBudget(() => decodeFlatPredict(body, () => two, { limits: limits(10) }), 10);
    expect(Object.keys(decodeFlatPredict(body, () => two, { limits: limits(12) }).inputs)).toEqual(['a', 'b']);
  });
});
