// Request budgets on the native JSON codec (src/wire/limits.ts: --rest_api_max_tensor_elements
// → RESOURCE_EXHAUSTED / 413, --rest_api_max_json_depth → a JSON parse error / 400), with the
// reference's messages, refused before memory is committed for the data: a body of millions of
// numbers over the budget costs no more memory than the budget's worth.
import { describe, expect, it } from 'vitest';
import { decodeInferRequestNative, decodePredictRequestNative, nativeJsonAvailable } from '../../src/wire/json/native.js';
import { LimitExceededError, type RequestLimits } from '../../src/wire/limits.js';
import { expectError, sig, utf8 } from './helpers.js';

const f32 = { serving_default: sig({ x: ['float32', null] }) };
const two = { serving_default: sig({ a: ['float32', null], b: ['float32', null] }) };
const strs = { serving_default: sig({ s: ['string', null] }) };
const limits = (maxTensorElements: number, maxJsonDepth = 256): RequestLimits => ({ maxTensorElements, maxJsonDepth });
const list = (n: number) => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;

const predict = (body: string, sigs = f32, lim?: RequestLimits) =>
  decodePredictRequestNative(utf8(body), sigs, lim ? { limits: lim } : {});
const infer = (body: string, lim?: RequestLimits) =>
  decodeInferRequestNative(utf8(body), f32, 'serving_default', lim ? { limits: lim } : {});

function expectOverBudget(fn: () => unknown, limit: number, ...parts: string[]): void {
  const err = expectError(fn, 'RESOURCE_EXHAUSTED', `request exceeds the limit of ${limit} tensor elements per request (--rest_api_max_tensor_elements)`, ...parts);
  expect(err).toBeInstanceOf(LimitExceededError);
  expect(err.httpStatus).toBe(413);
}

describe.skipIf(!nativeJsonAvailable())('native codec: request budgets', () => {
  it('TF-JSON: exactly the budget passes, one more is refused (row, columnar, inputs summed, strings)', () => {
    expect(predict(`{"instances": ${list(10)}}`, f32, limits(10)).inputs.x!.shape).toEqual([10]);
    expectOverBudget(() => predict(`{"instances": ${list(11)}}`, f32, limits(10)), 10);
    expectOverBudget(() => predict(`{"inputs": [${list(6)}, ${list(6)}]}`, f32, limits(10)), 10);
    expectOverBudget(() => predict(`{"inputs": {"a": ${list(6)}, "b": ${list(6)}}}`, two, limits(10)), 10);
    expect(predict(`{"inputs": {"a": ${list(5)}, "b": ${list(5)}}}`, two, limits(10)).inputs.b!.shape).toEqual([5]);
    expectOverBudget(() => predict(`{"instances": ["a","b","c","d"]}`, strs, limits(3)), 3);
    // late signature_name (the precise path) and rows of empty lists (a row costs one element)
    expectOverBudget(() => predict(`{"instances": [${list(8)}, ${list(8)}], "signature_name": "serving_default"}`, f32, limits(10)), 10);
    expectOverBudget(() => predict(`{"instances": [${Array(50).fill('[]').join(',')}, [1]]}`, f32, limits(20)), 20);
  });

  it('TF-JSON: 50 M numbers over the default budget are refused without committing memory for them', () => {
    // 50,000,000 leaves of "1," (100 MB): the budget is 4,194,304 elements (16 MiB as float32)
    const body = Buffer.alloc(100_000_000 + 20, '1,');
    body.write('{"instances":  [', 0); // 16 bytes: the fill's "1," pairs stay aligned
    body.write('1]}', body.length - 3);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    expectOverBudget(() => decodePredictRequestNative(body, f32), 4_194_304);
    const grew = process.memoryUsage().rss - before;
    expect(grew).toBeLessThan(48 * 1024 * 1024);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('nesting past --rest_api_max_json_depth is a parse error naming the flag, depth 100,000 anywhere', () => {
    const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    expect(predict(`{"inputs": ${deep(7)}}`, f32, limits(100, 8)).inputs.x!.shape).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expectError(() => predict(`{"inputs": ${deep(8)}}`, f32, limits(100, 8)), 'INVALID_ARGUMENT', 'JSON Parse error: nesting exceeds the limit of 8 levels (--rest_api_max_json_depth) at offset: 18');
    const bomb = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const objBomb = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const t0 = performance.now();
    for (const body of [`{"zzz": ${bomb}, "inputs": [1]}`, `{"zzz": ${objBomb}, "inputs": [1]}`, `{"inputs": ${bomb}}`, `{"instances": [${bomb}]}`, `{"signature_name": ${bomb}, "inputs": [1]}`]) {
      expectError(() => predict(body), 'INVALID_ARGUMENT', 'nesting exceeds the limit of 256 levels');
    }
    expectError(() => infer(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": ${bomb}}]}`), 'INVALID_ARGUMENT', 'nesting exceeds');
    expectError(() => infer(`{"parameters": ${objBomb}, "inputs": []}`), 'INVALID_ARGUMENT', 'nesting exceeds');
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('KServe: declared shapes against the budget and the body before allocating; entries counted apart', () => {
    const input = (shape: unknown, data = '[1]') => `{"inputs": [{"name": "x", "datatype": "FP32", "shape": ${JSON.stringify(shape)}, "data": ${data}}]}`;
    expectOverBudget(() => infer(input([100_000_000, 100_000_000]), limits(1000)), 1000, "input 'x' declares shape [100000000,100000000]");
    expectError(() => infer(input([500]), limits(1000)), 'INVALID_ARGUMENT', "input 'x': shape [500] declares 500 elements but the rest of the request can hold at most");
    expectError(() => infer(input(Array(255).fill(1))), 'INVALID_ARGUMENT', "'shape' has more than 254 dimensions");
    const params = `{${Array.from({ length: 30 }, (_, i) => `"p${i}": ${i}`).join(',')}}`;
    expectOverBudget(() => infer(`{"parameters": ${params}, ${input([1]).slice(1)}`, limits(20)), 20, 'counting values in its inputs, outputs and parameters entries');
  });
});
