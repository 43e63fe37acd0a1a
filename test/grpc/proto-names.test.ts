// Client-supplied names that are also Object.prototype's keys ("__proto__", "constructor",
// "toString", …) must get exactly the status an unknown name gets — NOT_FOUND,
// FAILED_PRECONDITION or INVALID_ARGUMENT with the same details — never INTERNAL, through the
// official clients (tensorflow-serving-api, tritonclient) on both gRPC transports.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonDriver, type DriverAnswer } from './python-driver.js';
import { batchCases, fixtureModel, startStack, wireAll, type Stack } from './stack.js';

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const UNKNOWN = 'nope';
const TRANSPORTS = ['jetserve', 'grpc-js'] as const;

const stacks: Partial<Record<(typeof TRANSPORTS)[number], Stack>> = {};
let py: PythonDriver;
const logged: string[] = [];

beforeAll(async () => {
  const log = (m: string) => logged.push(m);
  const [s, driver] = await Promise.all([
    startStack([fixtureModel('mlp', { versionLabels: { stable: 1 } }), fixtureModel('half_plus_two')], { transport: 'jetserve', log }),
    PythonDriver.start(),
  ]);
  stacks.jetserve = s;
  py = driver;
  stacks['grpc-js'] = await startStack([], { transport: 'grpc-js', log }, s.manager);
});

afterAll(async () => {
  await py?.close();
  await stacks['grpc-js']?.close();
  await stacks.jetserve?.close();
});

const x = () => wireAll(batchCases('mlp')[0]!.inputs).x!;

/** Each probe: the driver call with the name substituted in. */
const probes: Record<string, (target: string, name: string) => Record<string, unknown>> = {
  'Predict signature_name': (target, n) => ({ op: 'predict', target, model: 'mlp', signature: n, inputs: { x: x() } }),
  'Predict input alias': (target, n) => ({ op: 'predict', target, model: 'mlp', inputs: { [n]: x() } }),
  'Predict extra input alias': (target, n) => ({ op: 'predict', target, model: 'mlp', inputs: { x: x(), [n]: x() } }),
  'Predict output_filter': (target, n) => ({ op: 'predict', target, model: 'mlp', inputs: { x: x() }, output_filter: [n] }),
  'Predict version label': (target, n) => ({ op: 'predict', target, model: 'mlp', label: n, inputs: { x: x() } }),
  'Predict model name': (target, n) => ({ op: 'predict', target, model: n, inputs: { x: x() } }),
  'GetModelStatus version label': (target, n) => ({ op: 'status', target, model: 'mlp', label: n }),
  'GetModelMetadata model name': (target, n) => ({ op: 'metadata', target, model: n }),
  'Classify signature_name': (target, n) => ({ op: 'classify', target, model: 'half_plus_two', signature: n, examples: [{ x: 1 }] }),
  'Regress signature_name': (target, n) => ({ op: 'regress', target, model: 'half_plus_two', signature: n, examples: [{ x: 1 }] }),
  'MultiInference signature_name': (target, n) => ({
    op: 'multi_inference',
    target,
    model: 'half_plus_two',
    examples: [{ x: 1 }],
    tasks: [{ signature: n, method: 'tensorflow/serving/classify' }],
  }),
  'ModelInfer model name': (target, n) => ({ op: 'triton_infer', target, model: n, inputs: { x: x() } }),
  'ModelInfer input name': (target, n) => ({ op: 'triton_infer', target, model: 'mlp', inputs: { [n]: x() } }),
  'ModelInfer output name': (target, n) => ({ op: 'triton_infer', target, model: 'mlp', inputs: { x: x() }, outputs: [n] }),
  'ModelInfer signature_name parameter': (target, n) => ({ op: 'triton_infer', target, model: 'mlp', inputs: { x: x() }, parameters: { signature_name: n } }),
};

function normalized(a: DriverAnswer, name: string): { ok: boolean; code?: string; details?: string; error?: string } {
  return { ok: a.ok, code: a.code, details: a.details?.split(name).join(UNKNOWN), error: a.error };
}

describe.each(TRANSPORTS)('Object.prototype names get the unknown-name status (gRPC, %s transport)', (transport) => {
  for (const [probe, build] of Object.entries(probes)) {
    it(probe, async () => {
      const target = stacks[transport]!.target;
      const unknown = await py.call(build(target, UNKNOWN));
      expect(unknown.ok, JSON.stringify(unknown)).toBe(false);
      expect(['NOT_FOUND', 'FAILED_PRECONDITION', 'INVALID_ARGUMENT']).toContain(unknown.code);
      for (const name of PROTO_NAMES) {
        const a = await py.call(build(target, name));
        expect(normalized(a, name), `${probe} ${name}`).toEqual(normalized(unknown, UNKNOWN));
      }
    });
  }

  it('nothing was logged as an internal error', () => {
    expect(logged.filter((m) => /internal|INTERNAL|TypeError/.test(m))).toEqual([]);
  });
});
