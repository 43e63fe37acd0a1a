// Drop-in parity with tensorflow_model_server, tried as a TF Serving user would: TF Serving's own
// classic test models (recreated by test/fixtures/tfserving_models.py), served by startServer()
// with TF Serving's defaults, driven by the official tensorflow-serving-api client (outputs read
// as float_val and through tf.make_ndarray) and by REST requests in the shapes TF Serving accepts.
// The flags that restore jetserve's stricter behaviour are checked on a second server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import type { ModelConfig } from '../../src/models/config.js';
import { expectOutputsClose, fixturesDir, loadOracle, type OracleCase } from '../helpers/oracle.js';
import { expectError, expectOk, PythonDriver, unwire, wire } from '../grpc/python-driver.js';
import { wireAll } from '../grpc/stack.js';

const MODELS: ModelConfig[] = [
  { name: 'half_plus_two', basePath: join(fixturesDir(), 'half_plus_two_tf1') },
  { name: 'half_plus_three', basePath: join(fixturesDir(), 'half_plus_three_tf1') },
  { name: 'half_plus_two_tf2', basePath: join(fixturesDir(), 'half_plus_two_tf2') },
  { name: 'keras', basePath: join(fixturesDir(), 'keras2_sequential') },
];

let py: PythonDriver;
/** TF Serving's defaults. */
let tfs: JetserveServer;
/** --validate_input_shapes --enable_signature_method_name_check --enable_serialization_as_tensor_content */
let strict: JetserveServer;

beforeAll(async () => {
  const common = { models: MODELS, restApiPort: 0, port: 0, host: '127.0.0.1', log: false } as const;
  [py, tfs, strict] = await Promise.all([
    PythonDriver.start(),
    startServer(common),
    startServer({ ...common, validateInputShapes: true, enableSignatureMethodNameCheck: true, enableSerializationAsTensorContent: true }),
  ]);
}, 120_000);

afterAll(async () => {
  await py?.close();
  await tfs?.close();
  await strict?.close();
});

const grpcTarget = (s: JetserveServer) => `127.0.0.1:${s.grpc!.port}`;

async function rest(s: JetserveServer, path: string, body: unknown): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/**
 * A REST classify / regress body. Float features need a decimal point: TF Serving (and jetserve)
 * read a JSON integer as an int64 feature, which a float FixedLenFeature refuses.
 */
function examplesBody(signature: string, examples: Record<string, number>[]): string {
  const num = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
  const rows = examples.map((e) => `{${Object.entries(e).map(([k, v]) => `"${k}": ${num(v)}`).join(', ')}}`);
  return `{"signature_name": "${signature}", "examples": [${rows.join(', ')}]}`;
}

function oracleCase(model: string, name: string): OracleCase {
  const c = loadOracle(model).cases.find((k) => k.name === name);
  if (!c) throw new Error(`no oracle case '${name}' for ${model}`);
  return c;
}

describe('shapes: TF Serving checks dtypes and lets TF decide about shapes', () => {
  it('gRPC Predict on half_plus_two (x declared [-1,1]) with x of shape [1] answers y = 3.0 (float_val, make_ndarray)', async () => {
    const c = oracleCase('half_plus_two_tf1', 'shape [1] (TF Serving passes it to TF)');
    const answer = await py.rpc({ op: 'predict', target: grpcTarget(tfs), model: 'half_plus_two', inputs: wireAll(c.inputs) });
    expectOk(answer);
    expect(answer.float_val).toEqual({ y: [3.0] });
    expect(answer.fields).toEqual({ y: ['float_val'] });
    expectOutputsClose(unwire(answer.outputs), c.outputs, 0, 'make_ndarray');
    expect(unwire(answer.outputs).y!.shape).toEqual([1]);
  });

  it('REST row and columnar forms of [2.0, 3.0, 4.0] answer [3.0, 3.5, 4.0]', async () => {
    const c = oracleCase('half_plus_two_tf1', 'shape [3] (TF Serving passes it to TF)');
    expect([...(c.outputs.y!.data as Float32Array)]).toEqual([3.0, 3.5, 4.0]);
    const row = await rest(tfs, '/v1/models/half_plus_two:predict', '{"instances": [2.0, 3.0, 4.0]}');
    expect(row.status, row.text).toBe(200);
    expect(row.json).toEqual({ predictions: [3.0, 3.5, 4.0] });
    for (const body of ['{"inputs": [2.0, 3.0, 4.0]}', '{"inputs": {"x": [2.0, 3.0, 4.0]}}']) {
      const columnar = await rest(tfs, '/v1/models/half_plus_two:predict', body);
      expect(columnar.status, columnar.text).toBe(200);
      expect(columnar.json).toEqual({ outputs: [3.0, 3.5, 4.0] });
    }
    // the declared shape still works, of course
    const declared = await rest(tfs, '/v1/models/half_plus_two:predict', { instances: [[1.0], [2.0], [5.0]] });
    expect(declared.json).toEqual({ predictions: [[2.5], [3.0], [4.5]] });
  });

  it('half_plus_three (TF Serving\'s second test model) the same way', async () => {
    const c = oracleCase('half_plus_three_tf1', 'shape [3] (TF Serving passes it to TF)');
    const row = await rest(tfs, '/v1/models/half_plus_three:predict', { instances: [2.0, 3.0, 4.0] });
    expect(row.json).toEqual({ predictions: [...(c.outputs.y!.data as Float32Array)] });
    expect(row.json).toEqual({ predictions: [4.0, 4.5, 5.0] });
    const one = oracleCase('half_plus_three_tf1', 'shape [1] (TF Serving passes it to TF)');
    const answer = await py.rpc({ op: 'predict', target: grpcTarget(tfs), model: 'half_plus_three', inputs: wireAll(one.inputs) });
    expect(answer.float_val).toEqual({ y: [4.0] });
  });

  it("a Keras 2 Sequential export: the declared shape works; a shape TF refuses comes back as TF's own error", async () => {
    const c = oracleCase('keras2_sequential', 'instances [[1],[2],[5]]');
    const ok = await rest(tfs, '/v1/models/keras:predict', { instances: [[1.0], [2.0], [5.0]] });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toEqual({ predictions: [[2.5], [3.0], [4.5]] });
    expect(ok.json.predictions.flat()).toEqual([...(c.outputs.dense!.data as Float32Array)]);
    // Dense's MatMul needs a matrix: TF says so (400 INVALID_ARGUMENT, TF's message)
    const flat = await rest(tfs, '/v1/models/keras:predict', { instances: [1.0, 2.0] });
    expect(flat.status).toBe(400);
    // TF's text names the MatMul kernel's complaint: oneDNN's fused kernel (TF Serving, remapper
    // on) or Eigen's (remapper off, which jetserve's --graph_remapper=auto picks for this model)
    expect(flat.json.error).toMatch(/^In\[0\] (is not a matrix|ndims must be >= 2)/);
    const grpc = await py.call({
      op: 'predict',
      target: grpcTarget(tfs),
      model: 'keras',
      inputs: { dense_input: wire({ dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }) },
    });
    expectError(grpc, 'INVALID_ARGUMENT', /^In\[0\] (is not a matrix|ndims must be >= 2)/);
    // dtypes are still checked before TF runs
    const ints = await py.call({
      op: 'predict',
      target: grpcTarget(tfs),
      model: 'keras',
      inputs: { dense_input: wire({ dtype: 'int32', shape: [1, 1], data: new Int32Array([1]) }) },
    });
    expectError(ints, 'INVALID_ARGUMENT', "input 'dense_input' expects dtype float32 but got int32");
  });

  it('--validate_input_shapes checks shapes against the signature (REST and gRPC)', async () => {
    const c = oracleCase('half_plus_two_tf1', 'shape [1] (TF Serving passes it to TF)');
    const answer = await py.call({ op: 'predict', target: grpcTarget(strict), model: 'half_plus_two', inputs: wireAll(c.inputs) });
    expectError(answer, 'INVALID_ARGUMENT', "input 'x' expects shape [-1,1] but got [1]");
    const row = await rest(strict, '/v1/models/half_plus_two:predict', { instances: [2.0, 3.0, 4.0] });
    expect(row.status).toBe(400);
    expect(row.json).toEqual({ error: "input 'x' expects shape [-1,1] but got [3]" });
    const declared = await rest(strict, '/v1/models/half_plus_two:predict', { instances: [[2.0]] });
    expect(declared.json).toEqual({ predictions: [[3.0]] });
  });
});

describe('--enable_signature_method_name_check (default false, as TF Serving)', () => {
  const tf2 = 'half_plus_two_tf2';

  it('TF2 signatures (method_name tensorflow/serving/predict) classify and regress by default: gRPC and REST', async () => {
    expect(loadOracle(tf2).signatures.classify_x_to_y!.methodName).toBe('tensorflow/serving/predict');
    for (const [op, sig, output] of [
      ['classify', 'classify_x_to_y', 'scores'],
      ['regress', 'regress_x_to_y', 'outputs'],
      ['regress', 'regress_x_to_y2', 'outputs'],
    ] as const) {
      const c = oracleCase(tf2, `${sig} on 3 examples`);
      const expected = [...(c.outputs[output]!.data as Float32Array)];
      const answer = await py.rpc({ op, target: grpcTarget(tfs), model: tf2, signature: sig, examples: c.examples });
      expectOk(answer);
      const got =
        op === 'classify'
          ? (answer.result as { classifications: { classes: { score: number }[] }[] }).classifications.map((k) => k.classes[0]!.score)
          : (answer.values as number[]);
      expect(got, sig).toEqual(expected);
      const r = await rest(tfs, `/v1/models/${tf2}:${op}`, examplesBody(sig, c.examples!));
      expect(r.status, r.text).toBe(200);
      expect(r.json.results.map((v: unknown) => (op === 'classify' ? (v as [string, number][])[0]![1] : v))).toEqual(expected);
    }
    const multi = await py.rpc({
      op: 'multi_inference',
      target: grpcTarget(tfs),
      model: tf2,
      examples: [{ x: 1.0 }, { x: 2.0 }],
      tasks: [
        { signature: 'classify_x_to_y', method: 'tensorflow/serving/classify' },
        { signature: 'regress_x_to_y2', method: 'tensorflow/serving/regress' },
      ],
    });
    expectOk(multi);
    const results = multi.results as Record<string, unknown>[];
    expect(results[0]).toMatchObject({ classification_result: { classifications: [{ classes: [{ score: 2.5 }] }, { classes: [{ score: 3 }] }] } });
    expect(results[1]).toMatchObject({ regression_result: { regressions: [{ value: 3.5 }, { value: 4 }] } });
  });

  it("with the check on, TF2 signatures are refused with TF Serving's message; TF1 ones with real method names work", async () => {
    const c = oracleCase(tf2, 'classify_x_to_y on 3 examples');
    expectError(
      await py.call({ op: 'classify', target: grpcTarget(strict), model: tf2, signature: 'classify_x_to_y', examples: c.examples }),
      'INVALID_ARGUMENT',
      'Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/predict',
    );
    expectError(
      await py.call({ op: 'regress', target: grpcTarget(strict), model: tf2, signature: 'regress_x_to_y', examples: c.examples }),
      'INVALID_ARGUMENT',
      'Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/predict',
    );
    const r = await rest(strict, `/v1/models/${tf2}:classify`, examplesBody('classify_x_to_y', c.examples!));
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/predict' });
    const tf1 = oracleCase('half_plus_two_tf1', 'regress_x_to_y on 3 examples');
    const ok = await py.rpc({ op: 'regress', target: grpcTarget(strict), model: 'half_plus_two', signature: 'regress_x_to_y', examples: tf1.examples });
    expectOk(ok);
    expect(ok.values).toEqual([...(tf1.outputs.outputs!.data as Float32Array)]);
  });

  it('without the check, a signature still needs the input and outputs the method reads', async () => {
    // TF1 classify_x2_to_y3 reads x2 (a float tensor) as "inputs": TF Serving feeds it the
    // serialized examples; jetserve refuses before TF (a DT_STRING input is needed)
    expectError(
      await py.call({ op: 'classify', target: grpcTarget(tfs), model: 'half_plus_two', signature: 'classify_x2_to_y3', examples: [{ x: 1 }] }),
      'INVALID_ARGUMENT',
      'Expected input Tensor of type DT_STRING (serialized tf.Example) for signature classify_x2_to_y3',
    );
    expectError(
      await py.call({ op: 'regress', target: grpcTarget(tfs), model: tf2, signature: 'serving_default', examples: [{ x: 1 }] }),
      'INVALID_ARGUMENT',
      /^No regression inputs found in SignatureDef: serving_default /,
    );
  });
});

describe('--enable_serialization_as_tensor_content (default false, as TF Serving)', () => {
  it('typed float_val by default, tensor_content with the flag; make_ndarray reads both', async () => {
    const c = oracleCase('half_plus_two_tf1', 'declared shape [3,1]');
    const typed = await py.rpc({ op: 'predict', target: grpcTarget(tfs), model: 'half_plus_two', inputs: wireAll(c.inputs) });
    expect(typed.fields).toEqual({ y: ['float_val'] });
    expect(typed.float_val).toEqual({ y: [2.5, 3.0, 4.5] });
    const content = await py.rpc({ op: 'predict', target: grpcTarget(strict), model: 'half_plus_two', inputs: wireAll(c.inputs) });
    expect(content.fields).toEqual({ y: ['tensor_content'] });
    expect(content.float_val).toEqual({ y: [] });
    for (const answer of [typed, content]) expectOutputsClose(unwire(answer.outputs), c.outputs, 0);
  });
});
