// jetserve's outputs equal Python TF's for the same inputs on every fixture model, and the
// signatures it parses from the MetaGraphDef equal the SignatureDefs TF reports.
import { afterAll, describe, expect, it } from 'vitest';
import { loadGraphDef, loadSavedModel, type Model } from '../../src/index.js';
import { tfEnumName } from '../../src/engine/dtypes.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

const SAVED_MODELS = ['mlp', 'busy', 'multi_sig', 'dtypes', 'conv', 'strings', 'half_plus_two'];
const loaded: Model[] = [];

afterAll(async () => {
  await Promise.all(loaded.map((m) => m.dispose()));
});

describe.each(SAVED_MODELS)('SavedModel %s', (name) => {
  const oracle = loadOracle(name);
  let model: Model;

  it('loads and exposes the SignatureDefs TF reports', async () => {
    model = await loadSavedModel(oracle.savedModelPath!);
    loaded.push(model);
    expect(Object.keys(model.signatures).sort()).toEqual(Object.keys(oracle.signatures).sort());
    for (const [key, expected] of Object.entries(oracle.signatures)) {
      const actual = model.signatures[key]!;
      expect(actual.methodName, `${key} method`).toBe(expected.methodName);
      for (const side of ['inputs', 'outputs'] as const) {
        expect(Object.keys(actual[side]).sort(), `${key} ${side}`).toEqual(Object.keys(expected[side]).sort());
        for (const [tensorKey, info] of Object.entries(expected[side])) {
          const spec = actual[side][tensorKey]!;
          expect(spec.name, `${key}.${side}.${tensorKey} name`).toBe(info.name);
          expect(tfEnumName(spec.tfDtype), `${key}.${side}.${tensorKey} dtype`).toBe(info.tfDtype);
          expect(spec.shape, `${key}.${side}.${tensorKey} shape`).toEqual(info.shape);
        }
      }
    }
  });

  it.each(oracle.cases.map((c) => [`${c.signature}: ${c.name}`, c] as const))('%s equals TF', async (_label, c) => {
    const outputs = await model.predict(c.inputs, { signature: c.signature });
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(c.outputs).sort());
    for (const [key, expected] of Object.entries(c.outputs)) {
      expectTensorClose(outputs[key]!, expected, 1e-6, 1e-9, `${c.signature}.${key}`);
    }
  });

  // On the JS thread, which must flush denormals as TF's threads do (dtypes has subnormal inputs).
  it.each(oracle.cases.map((c) => [`${c.signature}: ${c.name}`, c] as const))('%s equals TF with predictSync', (_label, c) => {
    const outputs = model.predictSync(c.inputs, { signature: c.signature });
    expect(Object.keys(outputs).sort()).toEqual(Object.keys(c.outputs).sort());
    for (const [key, expected] of Object.entries(c.outputs)) {
      expectTensorClose(outputs[key]!, expected, 1e-6, 1e-9, `${c.signature}.${key}`);
    }
  });
});

describe('frozen GraphDef', () => {
  const oracle = loadOracle('graphdef');

  it('runs with the tensor names given and equals TF', async () => {
    const model = await loadGraphDef(oracle.graphFile!, {
      inputs: oracle.inputTensors!,
      outputs: oracle.outputTensors!,
    });
    loaded.push(model);
    const sig = model.signature('serving_default');
    for (const [alias, info] of Object.entries(oracle.tensors!)) {
      const spec = sig.inputs[alias] ?? sig.outputs[alias];
      expect(spec, alias).toBeDefined();
      expect(tfEnumName(spec!.tfDtype)).toBe(info.tfDtype);
      expect(spec!.shape).toEqual(info.shape);
    }
    for (const c of oracle.cases) {
      const outputs = await model.predict(c.inputs);
      for (const [key, expected] of Object.entries(c.outputs)) expectTensorClose(outputs[key]!, expected);
    }
  });
});

describe('TF 2.21-era SavedModel', () => {
  it('uses ops newer than TF 2.9 (DisableCopyOnRead) and still runs', async () => {
    const oracle = loadOracle('mlp');
    expect(oracle.graphOps).toContain('DisableCopyOnRead');
    const model = await loadSavedModel(oracle.savedModelPath!);
    loaded.push(model);
    const c = oracle.cases[0]!;
    const outputs = await model.predict(c.inputs);
    for (const [key, expected] of Object.entries(c.outputs)) expectTensorClose(outputs[key]!, expected);
  });
});
