// KServe v2 GRPCInferenceService driven by the official tritonclient[grpc]: liveness, readiness,
// metadata, infer (raw_input_contents as tritonclient sends, and typed contents through Triton's
// own stub), streaming, and error paths. Outputs equal Python TF's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectOutputsClose, loadOracle, oracleCases } from '../helpers/oracle.js';
import { expectError, expectOk, PythonDriver, unwire } from './python-driver.js';
import { batchCases, fixtureModel, startStack, wireAll, type Stack } from './stack.js';

const MODELS = ['mlp', 'multi_sig', 'dtypes', 'strings'];
const REL_TOL = 1e-5;
/** Dtypes tritonclient maps from numpy (no complex; bfloat16 needs special casing). */
const TRITON_DTYPES = ['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string'];

let stack: Stack;
let py: PythonDriver;

beforeAll(async () => {
  [stack, py] = await Promise.all([startStack(MODELS.map((m) => fixtureModel(m))), PythonDriver.start()]);
});

afterAll(async () => {
  await py?.close();
  await stack?.close();
});

describe('health and metadata', () => {
  it('server live, ready; model ready', async () => {
    const target = stack.target;
    expect((await py.rpc({ op: 'triton_live', target })).live).toBe(true);
    expect((await py.rpc({ op: 'triton_ready', target })).ready).toBe(true);
    expect((await py.rpc({ op: 'triton_model_ready', target, model: 'mlp' })).ready).toBe(true);
    expect((await py.rpc({ op: 'triton_model_ready', target, model: 'mlp', version: '1' })).ready).toBe(true);
    expect((await py.rpc({ op: 'triton_model_ready', target, model: 'mlp', version: '2' })).ready).toBe(false);
    expect((await py.rpc({ op: 'triton_model_ready', target, model: 'nope' })).ready).toBe(false);
  });

  it('server metadata', async () => {
    const answer = await py.rpc({ op: 'triton_server_metadata', target: stack.target });
    expectOk(answer);
    expect(answer.metadata).toMatchObject({ name: 'jetserve' });
    expect((answer.metadata as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('model metadata lists the serving_default signature with KServe datatypes', async () => {
    const answer = await py.rpc({ op: 'triton_model_metadata', target: stack.target, model: 'multi_sig' });
    expectOk(answer);
    const sig = loadOracle('multi_sig').signatures.serving_default!;
    const datatype: Record<string, string> = { DT_FLOAT: 'FP32', DT_DOUBLE: 'FP64' };
    const meta = (m: Record<string, { tfDtype: string; shape: number[] | null }>) =>
      Object.entries(m).map(([name, t]) => ({ name, datatype: datatype[t.tfDtype], shape: t.shape!.map(String) }));
    expect(answer.metadata).toEqual({
      name: 'multi_sig',
      versions: ['1'],
      platform: 'tensorflow_savedmodel',
      inputs: meta(sig.inputs),
      outputs: meta(sig.outputs),
    });
    expectError(await py.call({ op: 'triton_model_metadata', target: stack.target, model: 'nope' }), 'NOT_FOUND', /unknown model: 'nope'/);
  });
});

describe('ModelInfer with tritonclient equals Python TF', () => {
  for (const model of ['mlp', 'multi_sig', 'strings']) {
    for (const c of batchCases(model)) {
      it(`${model}: ${c.name}`, async () => {
        const parameters = c.signature === 'serving_default' ? undefined : { signature_name: c.signature };
        const answer = await py.rpc({
          op: 'triton_infer',
          target: stack.target,
          model,
          inputs: wireAll(c.inputs),
          id: `req-${c.name}`,
          ...(parameters ? { parameters } : {}),
        });
        expectOk(answer);
        expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `${model}/${c.name}`);
        expect(answer).toMatchObject({ model_name: model, model_version: '1', id: `req-${c.name}` });
      });
    }
  }

  it('every dtype tritonclient can send (raw_input_contents)', async () => {
    for (const c of oracleCases('dtypes').filter((c) => TRITON_DTYPES.includes(c.signature))) {
      const answer = await py.rpc({
        op: 'triton_infer',
        target: stack.target,
        model: 'dtypes',
        inputs: wireAll(c.inputs),
        parameters: { signature_name: c.signature },
      });
      expectOk(answer);
      expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, c.name);
    }
  });

  it('typed InferTensorContents (Triton\'s stub, no raw bytes)', async () => {
    const typed = TRITON_DTYPES.filter((d) => d !== 'float16');
    for (const c of oracleCases('dtypes').filter((c) => typed.includes(c.signature))) {
      const answer = await py.rpc({
        op: 'triton_infer_typed',
        target: stack.target,
        model: 'dtypes',
        inputs: wireAll(c.inputs),
        parameters: { signature_name: c.signature },
      });
      expectOk(answer);
      expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `typed ${c.name}`);
    }
    for (const c of batchCases('mlp')) {
      const answer = await py.rpc({ op: 'triton_infer_typed', target: stack.target, model: 'mlp', inputs: wireAll(c.inputs) });
      expectOk(answer);
      expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL, `typed ${c.name}`);
    }
    const s = oracleCases('strings')[0]!;
    const answer = await py.rpc({ op: 'triton_infer_typed', target: stack.target, model: 'strings', inputs: wireAll(s.inputs) });
    expectOk(answer);
    expectOutputsClose(unwire(answer.outputs), s.outputs, REL_TOL, 'typed BYTES');
  });

  it('requested outputs come back in the requested order', async () => {
    const c = oracleCases('multi_sig', 'serving_default')[0]!;
    const answer = await py.rpc({ op: 'triton_infer', target: stack.target, model: 'multi_sig', inputs: wireAll(c.inputs), outputs: ['sum', 'norm'] });
    expectOk(answer);
    expect(answer.order).toEqual(['sum', 'norm']);
    expectOutputsClose(unwire(answer.outputs), { sum: c.outputs.sum!, norm: c.outputs.norm! }, REL_TOL);
  });

  it('ModelStreamInfer answers every request on the stream', async () => {
    const cases = batchCases('mlp');
    const answer = await py.rpc({
      op: 'triton_stream',
      target: stack.target,
      model: 'mlp',
      requests: cases.map((c, i) => ({ id: `s${i}`, inputs: wireAll(c.inputs) })),
    });
    expectOk(answer);
    const results = answer.results as { id: string; outputs: unknown; error?: string }[];
    expect(results.map((r) => r.id)).toEqual(cases.map((_, i) => `s${i}`));
    results.forEach((r, i) => expectOutputsClose(unwire(r.outputs), cases[i]!.outputs, REL_TOL, r.id));
  });
});

describe('ModelInfer error paths', () => {
  const x = (): Record<string, Tensor> => batchCases('mlp')[0]!.inputs;

  it('unknown model or version', async () => {
    expectError(await py.call({ op: 'triton_infer', target: stack.target, model: 'nope', inputs: wireAll(x()) }), 'NOT_FOUND', /nope/);
    expectError(
      await py.call({ op: 'triton_infer', target: stack.target, model: 'mlp', version: '3', inputs: wireAll(x()) }),
      'NOT_FOUND',
      /Specific\(mlp, 3\)/,
    );
    expectError(
      await py.call({ op: 'triton_infer', target: stack.target, model: 'mlp', version: 'latest', inputs: wireAll(x()) }),
      'INVALID_ARGUMENT',
      /failed to parse model version 'latest'/,
    );
  });

  it('wrong datatype, wrong size, unknown input or output', async () => {
    const ints: Tensor = { dtype: 'int32', shape: [1, 4], data: new Int32Array(4) };
    expectError(
      await py.call({ op: 'triton_infer', target: stack.target, model: 'mlp', inputs: wireAll({ x: ints }) }),
      'INVALID_ARGUMENT',
      /inference input 'x' data-type is 'INT32', but model 'mlp' expects 'FP32'/,
    );
    const wrongShape: Tensor = { dtype: 'float32', shape: [1, 5], data: new Float32Array(5) };
    expectError(
      await py.call({ op: 'triton_infer', target: stack.target, model: 'mlp', inputs: wireAll({ x: wrongShape }) }),
      'INVALID_ARGUMENT',
      // checked by the KServe front end, as Triton does, though the engine leaves shapes to TF
      "unexpected shape for input 'x' for model 'mlp'. Expected [-1,4], got [1,5]",
    );
    expectError(
      await py.call({ op: 'triton_infer', target: stack.target, model: 'mlp', inputs: wireAll({ z: x().x! }) }),
      'INVALID_ARGUMENT',
      /unexpected inference input 'z' for model 'mlp'/,
    );
    expectError(
      await py.call({ op: 'triton_infer', target: stack.target, model: 'mlp', inputs: wireAll(x()), outputs: ['q'] }),
      'INVALID_ARGUMENT',
      /unexpected inference output 'q' for model 'mlp'/,
    );
    const short = { ...wireAll(x()).x!, count: 2 };
    expectError(
      await py.call({ op: 'triton_infer_typed', target: stack.target, model: 'mlp', inputs: { x: short } }),
      'INVALID_ARGUMENT',
      /input 'x': shape \[1,4\] needs 4 values but contents has 2/,
    );
  });

  it('the server keeps serving', async () => {
    const c = batchCases('mlp')[1]!;
    const answer = await py.rpc({ op: 'triton_infer', target: stack.target, model: 'mlp', inputs: wireAll(c.inputs) });
    expectOk(answer);
    expectOutputsClose(unwire(answer.outputs), c.outputs, REL_TOL);
  });
});
