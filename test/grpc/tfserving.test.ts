// TF Serving's gRPC API driven by the official Python client (tensorflow-serving-api stubs with
// tf.make_tensor_proto / tf.make_ndarray): Predict on every fixture case equals Python TF's own
// output, GetModelMetadata, GetModelStatus, Classify/Regress/MultiInference, and the error paths
// with TF Serving's status codes and messages — the server staying healthy throughout.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/tensor.js';
import { encodeMessage } from '../../src/wire/protobuf/schemas.js';
import { join } from 'node:path';
import { expectOutputsClose, fixturesDir, loadOracle, oracleCases } from '../helpers/oracle.js';
import { expectError, expectOk, PythonDriver, unwire } from './python-driver.js';
import { batchCases, fixtureModel, startStack, wireAll, type Stack } from './stack.js';
import { AdminAuth } from '../../src/server/admin-auth.js';

const MODELS = ['mlp', 'multi_sig', 'dtypes', 'strings', 'conv', 'half_plus_two'];
/** The TensorProto field TF's Tensor::AsProtoField fills for each dtype (TF Serving's Predict outputs). */
const TYPED_FIELD: Record<string, string> = {
  float16: 'half_val',
  bfloat16: 'half_val',
  float32: 'float_val',
  float64: 'double_val',
  int8: 'int_val',
  int16: 'int_val',
  int32: 'int_val',
  uint8: 'int_val',
  uint16: 'int_val',
  int64: 'int64_val',
  uint32: 'uint32_val',
  uint64: 'uint64_val',
  bool: 'bool_val',
  string: 'string_val',
  complex64: 'scomplex_val',
  complex128: 'dcomplex_val',
};
const REL_TOL = 1e-5;

let stack: Stack;
let contentStack: Stack;
let http2Stack: Stack;
let py: PythonDriver;

beforeAll(async () => {
  const [s, driver] = await Promise.all([
    startStack(
      MODELS.map((name) => fixtureModel(name, name === 'mlp' ? { versionLabels: { stable: 1 } } : {})),
      { reloadApi: true, admin: new AdminAuth({ allowLoopback: true }) },
    ),
    PythonDriver.start(),
  ]);
  stack = s;
  py = driver;
  // a second front end over the same models, with --enable_serialization_as_tensor_content, on the
  // grpc-js transport (the official client covers both transports)
  contentStack = await startStack([], { tensorContentOutputs: true, transport: 'grpc-js' }, stack.manager);
  http2Stack = await startStack([], { transport: 'http2' }, stack.manager);
});

afterAll(async () => {
  await py?.close();
  await contentStack?.close();
  await http2Stack?.close();
  await stack?.close();
});

const mlpInputs = () => wireAll(batchCases('mlp')[1]!.inputs);

describe('Predict with tensorflow-serving-api equals Python TF', () => {
  for (const model of MODELS) {
    for (const c of batchCases(model)) {
      if (model === 'half_plus_two' && c.signature !== 'serving_default') continue;
      it(`${model}: ${c.name}`, async () => {
        const answer = await py.rpc({ op: 'predict', target: stack.target, model, signature: c.signature, inputs: wireAll(c.inputs) });
        expectOk(answer);
        expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `${model}/${c.name}`);
        expect(answer.model_spec).toEqual({ name: model, version: '1', signature_name: c.signature });
        for (const [alias, fields] of Object.entries(answer.fields as Record<string, string[]>)) {
          const t = c.outputs[alias]!;
          if (t.data.length === 0) continue;
          // TF Serving's default: Tensor::AsProtoField's typed field for each dtype
          expect(fields, alias).toEqual([TYPED_FIELD[t.dtype]]);
        }
      });
    }
  }

  it('typed *_val inputs (not tensor_content) give the same outputs', async () => {
    for (const model of ['mlp', 'dtypes', 'multi_sig', 'strings']) {
      for (const c of batchCases(model)) {
        const answer = await py.rpc({
          op: 'predict',
          target: stack.target,
          model,
          signature: c.signature,
          inputs: wireAll(c.inputs),
          encoding: 'typed',
        });
        expectOk(answer);
        expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `${model}/${c.name} typed`);
      }
    }
  });

  it('a single typed value broadcasts over the shape (tf.make_tensor_proto(v, shape=...))', async () => {
    const c = batchCases('mlp')[1]!;
    const x = c.inputs.x!;
    const same: Tensor = { dtype: 'float32', shape: x.shape, data: new Float32Array(x.data.length).fill(0.25) };
    const expected = await py.rpc({ op: 'predict', target: stack.target, model: 'mlp', inputs: wireAll({ x: same }) });
    const broadcast = await py.rpc({
      op: 'predict',
      target: stack.target,
      model: 'mlp',
      inputs: { x: { ...wireAll({ x: same }).x, typed_count: 1 } },
      encoding: 'typed',
    });
    expectOk(broadcast);
    expectOutputsClose(unwire(broadcast.outputs), unwire(expected.outputs), 0, 'broadcast');
  });

  it('outputs as tensor_content with --enable_serialization_as_tensor_content', async () => {
    for (const model of ['dtypes', 'multi_sig', 'strings']) {
      for (const c of batchCases(model)) {
        const answer = await py.rpc({ op: 'predict', target: contentStack.target, model, signature: c.signature, inputs: wireAll(c.inputs) });
        expectOk(answer);
        expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `${model}/${c.name} tensor_content outputs`);
        for (const [alias, fields] of Object.entries(answer.fields as Record<string, string[]>)) {
          const t = c.outputs[alias]!;
          if (t.data.length === 0) continue;
          expect(fields, alias).toEqual(t.dtype === 'string' ? ['string_val'] : ['tensor_content']);
        }
      }
    }
  });

  it('a 4 MB tensor each way (the client\'s HTTP/2 flow control), on the own and the node:http2 transport', async () => {
    const n = 1024 * 1024;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i % 1013) * 0.25 - 100;
    for (const target of [stack.target, http2Stack.target]) {
      const answer = await py.rpc({ op: 'predict', target, model: 'half_plus_two', inputs: wireAll({ x: { dtype: 'float32', shape: [n], data: x } }) });
      expectOk(answer);
      const y = unwire(answer.outputs).y!.data as Float32Array;
      expect(y.length).toBe(n);
      for (let i = 0; i < n; i += 1009) expect(y[i]).toBe(Math.fround(0.5 * x[i]!) + 2);
    }
  });

  it('the node:http2 transport answers the official client as the own one does', async () => {
    for (const model of MODELS) {
      const c = batchCases(model).find((k) => k.signature === 'serving_default')!;
      const answer = await py.rpc({ op: 'predict', target: http2Stack.target, model, signature: c.signature, inputs: wireAll(c.inputs) });
      expectOk(answer);
      expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `${model}/${c.name} over node:http2`);
    }
  });

  it('output_filter returns only the named outputs', async () => {
    const c = oracleCases('multi_sig', 'serving_default')[0]!;
    const answer = await py.rpc({
      op: 'predict',
      target: stack.target,
      model: 'multi_sig',
      inputs: wireAll(c.inputs),
      output_filter: ['sum', 'norm'],
    });
    expectOk(answer);
    expectOutputsClose(unwire(answer.outputs), { sum: c.outputs.sum!, norm: c.outputs.norm! }, REL_TOL);
  });

  it('selects versions by number and by label', async () => {
    const byVersion = await py.rpc({ op: 'predict', target: stack.target, model: 'mlp', version: 1, inputs: mlpInputs() });
    expectOk(byVersion);
    expect(byVersion.model_spec).toMatchObject({ version: '1' });
    const byLabel = await py.rpc({ op: 'predict', target: stack.target, model: 'mlp', label: 'stable', inputs: mlpInputs() });
    expectOk(byLabel);
    expect(byLabel.model_spec).toMatchObject({ name: 'mlp', version: '1', signature_name: 'serving_default' });
  });

  it('feeds tensor_content without copying it again in the engine', async () => {
    const { native } = await import('../../src/engine/native.js');
    const before = native().stats().bytesCopiedIn;
    const answer = await py.rpc({ op: 'predict', target: stack.target, model: 'conv', inputs: wireAll(oracleCases('conv')[1]!.inputs) });
    expectOk(answer);
    expect(native().stats().bytesCopiedIn - before).toBe(0);
  });
});

describe('GetModelMetadata', () => {
  for (const model of ['mlp', 'multi_sig', 'half_plus_two']) {
    it(`${model}: signature_def packed in Any as TF Serving does, equal to the SavedModel's`, async () => {
      const answer = await py.rpc({ op: 'metadata', target: stack.target, model });
      expectOk(answer);
      expect(answer.type_url).toBe('type.googleapis.com/tensorflow.serving.SignatureDefMap');
      expect(answer.unpacked).toBe(true);
      expect(answer.model_spec).toEqual({ name: model, version: '1' });
      const defs = answer.signature_def as Record<string, { method_name?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }>;
      const oracle = loadOracle(model).signatures;
      expect(Object.keys(defs).sort()).toEqual(Object.keys(oracle).sort());
      const info = (t: { name: string; tfDtype: string; shape: number[] | null }) => ({
        name: t.name,
        ...(t.tfDtype !== 'DT_INVALID' ? { dtype: t.tfDtype } : {}),
        tensor_shape: t.shape === null ? { unknown_rank: true } : t.shape.length ? { dim: t.shape.map((d) => ({ size: String(d) })) } : {},
      });
      for (const [key, sig] of Object.entries(oracle)) {
        const def = defs[key]!;
        expect(def.method_name ?? '', key).toBe(sig.methodName);
        for (const side of ['inputs', 'outputs'] as const) {
          const want = Object.fromEntries(Object.entries(sig[side]).map(([k, t]) => [k, info(t)]));
          expect(def[side] ?? {}, `${key}.${side}`).toEqual(want);
        }
      }
    });
  }

  it('rejects a request without metadata_field or with an unsupported one', async () => {
    expectError(
      await py.call({ op: 'metadata', target: stack.target, model: 'mlp', fields: [] }),
      'INVALID_ARGUMENT',
      'GetModelMetadataRequest must specify at least one metadata_field',
    );
    expectError(
      await py.call({ op: 'metadata', target: stack.target, model: 'mlp', fields: ['signature_def', 'graph'] }),
      'INVALID_ARGUMENT',
      'Metadata field graph is not supported',
    );
    expectError(await py.call({ op: 'metadata', target: stack.target, model: 'nope' }), 'NOT_FOUND', 'Servable not found for request: Latest(nope)');
  });
});

describe('GetModelStatus', () => {
  it('reports the loaded version AVAILABLE with an OK status', async () => {
    const answer = await py.rpc({ op: 'status', target: stack.target, model: 'mlp' });
    expectOk(answer);
    expect(answer.status).toEqual({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: {} }] });
    expect(answer.states).toEqual([30]);
    const one = await py.rpc({ op: 'status', target: stack.target, model: 'mlp', version: 1 });
    expect(one.states).toEqual([30]);
    const label = await py.rpc({ op: 'status', target: stack.target, model: 'mlp', label: 'stable' });
    expect(label.states).toEqual([30]);
  });

  it('answers NOT_FOUND / INVALID_ARGUMENT as TF Serving does', async () => {
    expectError(await py.call({ op: 'status', target: stack.target, model: 'nope' }), 'NOT_FOUND', 'Could not find any versions of model nope');
    expectError(
      await py.call({ op: 'status', target: stack.target, model: 'mlp', version: 7 }),
      'NOT_FOUND',
      'Could not find version 7 of model mlp',
    );
    expectError(await py.call({ op: 'status', target: stack.target, model: 'mlp', no_model_spec: true }), 'INVALID_ARGUMENT', 'Missing ModelSpec');
  });

  it('HandleReloadConfigRequest applies a config (same models: a no-op) and reports a failing one', async () => {
    if (typeof (stack.manager as { reloadConfig?: unknown }).reloadConfig === 'function') {
      const same = MODELS.map((name) => ({ name, base_path: join(fixturesDir(), name) }));
      const answer = await py.call({ op: 'reload', target: stack.target, models: same });
      expect(answer.error).toBeUndefined();
      expect(stack.manager.modelNames().sort()).toEqual([...MODELS].sort());
      const bad = await py.call({ op: 'reload', target: stack.target, models: [...same, { name: 'ghost', base_path: '/nonexistent/ghost' }] });
      expectError(bad, 'FAILED_PRECONDITION', /model ghost: base path \/nonexistent\/ghost does not exist/);
      expect(stack.manager.resolve({ name: 'half_plus_two' }).version).toBe(1);
    } else {
      const answer = await py.call({ op: 'reload', target: stack.target, models: [{ name: 'mlp', base_path: '/x' }] });
      expectError(answer, 'UNIMPLEMENTED', /HandleReloadConfigRequest is not supported/);
    }
  });
});

describe('Classify, Regress, MultiInference on tf.Examples', () => {
  const cases = oracleCases('half_plus_two').filter((c) => c.examples);

  for (const c of cases) {
    const kind = c.signature.startsWith('classify') ? 'classify' : 'regress';
    it(`${kind} ${c.signature} equals Python TF`, async () => {
      const answer = await py.rpc({ op: kind, target: stack.target, model: 'half_plus_two', signature: c.signature, examples: c.examples });
      expectOk(answer);
      expect(answer.model_spec).toEqual({ name: 'half_plus_two', version: '1', signature_name: c.signature });
      const expected = Array.from(Object.values(c.outputs)[0]!.data as Float32Array);
      if (kind === 'regress') {
        expect(answer.values).toEqual(expected);
      } else {
        const result = answer.result as { classifications: { classes: { score: number; label?: string }[] }[] };
        expect(result.classifications.map((cl) => cl.classes.map((x) => x.score))).toEqual(expected.map((v) => [v]));
      }
    });
  }

  it('merges ExampleListWithContext context features (the example wins)', async () => {
    const answer = await py.rpc({
      op: 'regress',
      target: stack.target,
      model: 'half_plus_two',
      signature: 'regress_x2_to_y3',
      context: { x2: 4.0, x: 0 },
      examples: [{ x: 1.0 }, { x: 1.0, x2: 10.0 }],
    });
    expectOk(answer);
    expect(answer.values).toEqual([0.5 * 4 + 3, 0.5 * 10 + 3]);
  });

  it('MultiInference runs each task on the same examples', async () => {
    const answer = await py.rpc({
      op: 'multi_inference',
      target: stack.target,
      model: 'half_plus_two',
      examples: [{ x: 1.0 }, { x: 2.0 }],
      tasks: [
        { signature: 'classify_x_to_y', method: 'tensorflow/serving/classify' },
        { signature: 'regress_x_to_y2', method: 'tensorflow/serving/regress' },
      ],
    });
    expectOk(answer);
    const results = answer.results as Record<string, unknown>[];
    expect(results[0]).toMatchObject({
      model_spec: { name: 'half_plus_two', signature_name: 'classify_x_to_y' },
      classification_result: { classifications: [{ classes: [{ score: 2.5 }] }, { classes: [{ score: 3 }] }] },
    });
    expect(results[1]).toMatchObject({ regression_result: { regressions: [{ value: 3.5 }, { value: 4 }] } });
  });

  it('rejects a signature without the outputs the method reads, an empty input, a predict method', async () => {
    // without --enable_signature_method_name_check only inputs and outputs are checked (TF Serving's default)
    expectError(
      await py.call({ op: 'classify', target: stack.target, model: 'half_plus_two', signature: 'regress_x_to_y', examples: [{ x: 1 }] }),
      'INVALID_ARGUMENT',
      /^Expected classification signature outputs to contain at least one of "classes" or "scores"\. Signature was: regress_x_to_y /,
    );
    expectError(
      await py.call({ op: 'regress', target: stack.target, model: 'half_plus_two', signature: 'nope', examples: [{ x: 1 }] }),
      'INVALID_ARGUMENT',
      'No signature was found with the name: nope',
    );
    expectError(
      await py.call({ op: 'regress', target: stack.target, model: 'half_plus_two', signature: 'regress_x_to_y', examples: [] }),
      'INVALID_ARGUMENT',
      /input is empty/,
    );
    expectError(
      await py.call({
        op: 'multi_inference',
        target: stack.target,
        model: 'half_plus_two',
        examples: [{ x: 1 }],
        tasks: [{ signature: 'serving_default', method: 'tensorflow/serving/predict' }],
      }),
      'UNIMPLEMENTED',
      'Unsupported signature method_name: tensorflow/serving/predict',
    );
  });
});

describe('Predict error paths', () => {
  const t = () => stack.target;

  it('unknown model, version, label, signature', async () => {
    expectError(await py.call({ op: 'predict', target: t(), model: 'nope', inputs: mlpInputs() }), 'NOT_FOUND', 'Servable not found for request: Latest(nope)');
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', version: 42, inputs: mlpInputs() }),
      'NOT_FOUND',
      'Servable not found for request: Specific(mlp, 42)',
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', label: 'canary', inputs: mlpInputs() }),
      'INVALID_ARGUMENT',
      'Unrecognized servable version label: canary',
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', signature: 'nope', inputs: mlpInputs() }),
      'FAILED_PRECONDITION',
      'Serving signature key "nope" not found.',
    );
    expectError(await py.call({ op: 'predict', target: t(), model: 'mlp', no_model_spec: true, inputs: mlpInputs() }), 'INVALID_ARGUMENT', 'Missing ModelSpec');
  });

  it('wrong input names', async () => {
    const x = mlpInputs().x!;
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: { x, extra: x } }),
      'INVALID_ARGUMENT',
      'input size does not match signature: 2!=1 len({extra,x}) != len({x}). Sent extra: {extra}. Missing but required: {}.',
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: { y: x } }),
      'INVALID_ARGUMENT',
      'input tensor alias not found in signature: y. Inputs expected to be in the set {x}.',
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: {} }),
      'INVALID_ARGUMENT',
      /^input size does not match signature: 0!=1 .*Missing but required: \{x\}\./,
    );
  });

  it("bad dtype; a shape TF refuses gets TF's own error", async () => {
    const ints: Tensor = { dtype: 'int32', shape: [1, 4], data: new Int32Array(4) };
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: wireAll({ x: ints }) }),
      'INVALID_ARGUMENT',
      "input 'x' expects dtype float32 but got int32",
    );
    const wide: Tensor = { dtype: 'float32', shape: [2, 5], data: new Float32Array(10) };
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: wireAll({ x: wide }) }),
      'INVALID_ARGUMENT',
      /^Matrix size-incompatible: In\[0\]: \[2,5\], In\[1\]: \[4,8\]/,
    );
  });

  it('malformed TensorProtos', async () => {
    const proto = (fields: Record<string, unknown>) => ({ x: { proto_b64: encodeMessage('tensorflow.TensorProto', fields).toString('base64') } });
    expectError(
      await py.call({
        op: 'predict',
        target: t(),
        model: 'mlp',
        inputs: proto({ dtype: 1, tensor_shape: { dim: [{ size: 1 }, { size: 4 }] }, tensor_content: Buffer.alloc(12) }),
      }),
      'INVALID_ARGUMENT',
      'tensor parsing error: x: tensor_content has 12 bytes but shape [1,4] of DT_FLOAT needs 16',
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: proto({ dtype: 1, tensor_shape: { dim: [{ size: -1 }, { size: 4 }] } }) }),
      'INVALID_ARGUMENT',
      /^tensor parsing error: x: tensor_shape \[-1,4\] has an invalid dimension -1/,
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: proto({ dtype: 21, tensor_shape: { dim: [{ size: 1 }] } }) }),
      'INVALID_ARGUMENT',
      /^tensor parsing error: x: unsupported dtype DT_VARIANT/,
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: proto({ dtype: 1, tensor_shape: { unknown_rank: true } }) }),
      'INVALID_ARGUMENT',
      /^tensor parsing error: x: tensor_shape has unknown_rank/,
    );
  });

  it('bad output_filter', async () => {
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: mlpInputs(), output_filter: ['z'] }),
      'INVALID_ARGUMENT',
      'output tensor alias not found in signature: z Outputs expected to be in the set {y}.',
    );
    expectError(
      await py.call({ op: 'predict', target: t(), model: 'mlp', inputs: mlpInputs(), output_filter: ['y', 'y'] }),
      'INVALID_ARGUMENT',
      'duplicate output tensor alias: y',
    );
  });

  it('the server is still healthy and serving after all of that', async () => {
    const health = await py.rpc({ op: 'health', target: t() });
    expect(health.status).toBe(1);
    for (const service of ['tensorflow.serving.PredictionService', 'ModelService']) {
      expect((await py.rpc({ op: 'health', target: t(), service })).status).toBe(1);
    }
    const c = batchCases('mlp')[2]!;
    const answer = await py.rpc({ op: 'predict', target: t(), model: 'mlp', inputs: wireAll(c.inputs) });
    expectOk(answer);
    expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL);
  });
});
