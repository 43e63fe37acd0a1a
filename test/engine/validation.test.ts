// Every validation path of predict() fails with INVALID_ARGUMENT (or the TF code) and a message
// naming the input and what was expected; loading failures carry TF's code and message.
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocTensor, JetserveError, loadGraphDef, loadSavedModel, type Model, type Tensor } from '../../src/index.js';
import { expectOutputsClose, loadOracle } from '../helpers/oracle.js';
import { native } from '../../src/engine/native.js';
import { writeRunCall } from '../../src/engine/run-io.js';
import { toJetserveError } from '../../src/engine/model.js';

let multi: Model;
let mlp: Model;

beforeAll(async () => {
  multi = await loadSavedModel(loadOracle('multi_sig').savedModelPath!);
  mlp = await loadSavedModel(loadOracle('mlp').savedModelPath!);
});
afterAll(async () => {
  await multi.dispose();
  await mlp.dispose();
});

async function rejection(promise: Promise<unknown>): Promise<JetserveError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(JetserveError);
    return err as JetserveError;
  }
  throw new Error('expected a rejection');
}

const row = [[1, 2]];

describe('input validation', () => {
  it('rejects an unknown input, naming it and the expected ones', async () => {
    const err = await rejection(multi.predict({ a: row, b: row, c: row }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain("unknown input 'c'");
    expect(err.message).toContain('a, b');
  });

  it('rejects a missing input, naming it', async () => {
    const err = await rejection(multi.predict({ a: row }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain("missing input 'b'");
  });

  it('rejects a tensor of the wrong dtype', async () => {
    const wrong = { dtype: 'int32' as const, shape: [1, 2], data: new Int32Array([1, 2]) };
    const err = await rejection(multi.run({ a: wrong, b: allocTensor('float32', [1, 2]) }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe("input 'a' expects dtype float32 but got int32");
  });

  it('rejects a typed array of the wrong kind', async () => {
    const err = await rejection(mlp.predict({ x: new Int32Array(4) }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain("input 'x'");
    expect(err.message).toContain('float32');
  });

  it('rejects an incompatible shape, showing expected and actual', async () => {
    const err = await rejection(mlp.predict({ x: [[1, 2, 3]] }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe("input 'x' expects shape [-1,4] but got [1,3]");
    const rank = await rejection(mlp.predict({ x: [1, 2, 3, 4] }));
    expect(rank.message).toBe("input 'x' expects shape [-1,4] but got [4]");
  });

  it('rejects ragged nested arrays and non-numbers', async () => {
    const ragged = await rejection(mlp.predict({ x: [[1, 2, 3, 4], [1, 2]] }));
    expect(ragged.code).toBe('INVALID_ARGUMENT');
    expect(ragged.message).toContain("input 'x': ragged nested array");
    const text = await rejection(mlp.predict({ x: [[1, 2, 'three', 4]] }));
    expect(text.message).toContain("input 'x': element 2 is not a number");
  });

  it('rejects data whose length does not match the shape', async () => {
    const bad = { dtype: 'float32' as const, shape: [2, 4], data: new Float32Array(4) };
    const err = await rejection(mlp.run({ x: bad }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain("input 'x'");
  });

  it('rejects an unknown signature, listing the known ones', async () => {
    const err = await rejection(multi.predict({ x: [1] }, { signature: 'nope' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('"nope" not found');
    expect(err.message).toContain('scale');
  });

  it('rejects an output filter naming a non-output', async () => {
    const err = await rejection(multi.predict({ a: row, b: row }, { outputs: ['sum', 'bogus'] }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain("output filter 'bogus'");
  });

  it('computes only the filtered outputs', async () => {
    const out = await multi.predict({ a: row, b: row }, { outputs: ['sum'] });
    expect(Object.keys(out)).toEqual(['sum']);
    expect([...(out.sum!.data as Float32Array)]).toEqual([2, 4]);
  });

  it('rejects a scalar input given as a vector', async () => {
    const err = await rejection(multi.predict({ x: [1, 2], factor: [1, 2] }, { signature: 'scale' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe("input 'factor' expects shape [] but got [2]");
  });

  it('surfaces TF run-time errors as JetserveError with the TF code and message, on the executor and inline', async () => {
    // Bypass jetserve's validation to make TF itself fail inside MatMul.
    const session = await native().loadSavedModel(loadOracle('mlp').savedModelPath!, ['serve'], new Uint8Array());
    const sig = session.signatures().serving_default!;
    const x: Tensor = { dtype: 'float32', shape: [1, 5], data: new Float32Array(5) };
    const call = (placement: number) => {
      writeRunCall(0, placement, [sig.inputs.x!.endpoint], [x], [sig.outputs.y!.endpoint]);
      return session.run([x.data]);
    };
    const offloaded = call(0);
    expect(offloaded).toBeInstanceOf(Promise);
    const raw = await (offloaded as Promise<unknown>).then(() => undefined, (e: unknown) => e);
    let thrown: unknown;
    try {
      call(-1);
    } catch (e) {
      thrown = e;
    }
    for (const err of [toJetserveError(raw), toJetserveError(thrown)]) {
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain('Matrix size-incompatible');
    }
    await session.close();
  });
});

describe('validateShapes: false (what TF Serving does: dtypes checked, TF decides about shapes)', () => {
  // TF Serving's classic half_plus_two declares x [-1,1]; its x is the parsed tf.Example feature,
  // not a placeholder, so TF computes y = 0.5x + 2 for any shape (oracle: a TF1 session's callable)
  it('feeds shapes the signature does not declare and returns what TF computes', async () => {
    const oracle = loadOracle('half_plus_two_tf1');
    const lenient = await loadSavedModel(oracle.savedModelPath!, { validateShapes: false });
    const strict = await loadSavedModel(oracle.savedModelPath!);
    try {
      expect(lenient.validatesShapes).toBe(false);
      expect(strict.validatesShapes).toBe(true);
      const cases = oracle.cases.filter((c) => c.signature === 'serving_default');
      expect(cases.map((c) => c.inputs.x!.shape)).toEqual([[3, 1], [1], [3]]);
      for (const c of cases) {
        expectOutputsClose(await lenient.run(c.inputs), c.outputs, 0, c.name);
        expectOutputsClose(lenient.runSync(c.inputs), c.outputs, 0, c.name);
        expect(() => lenient.validate(c.inputs)).not.toThrow();
      }
      const [, one] = cases;
      expect([...(await lenient.run(one!.inputs)).y!.data as Float32Array]).toEqual([3]);
      // the in-process default keeps the check
      const err = await rejection(strict.run(one!.inputs));
      expect(err.message).toBe("input 'x' expects shape [-1,1] but got [1]");
      expect(() => strict.validate(one!.inputs)).toThrow("input 'x' expects shape [-1,1] but got [1]");
    } finally {
      await lenient.dispose();
      await strict.dispose();
    }
  });

  it("answers TF's own error when TF refuses the shape, and still checks names and dtypes", async () => {
    const lenient = await loadSavedModel(loadOracle('mlp').savedModelPath!, { validateShapes: false });
    try {
      const err = await rejection(lenient.predict({ x: [1, 2, 3, 4] }));
      expect(err.code).toBe('INVALID_ARGUMENT');
      // TF's text depends on the MatMul kernel the session runs: oneDNN's fused one (remapper on)
      // or Eigen's (remapper off, which --graph_remapper=auto picks for this MLP)
      expect(err.message).toMatch(/^In\[0\] (is not a matrix|ndims must be >= 2)/);
      const dtype = await rejection(lenient.run({ x: { dtype: 'int32', shape: [1, 4], data: new Int32Array(4) } }));
      expect(dtype.message).toBe("input 'x' expects dtype float32 but got int32");
      const name = await rejection(lenient.predict({ y: [[1, 2, 3, 4]] }));
      expect(name.message).toContain("unknown input 'y'");
      // a tensor whose data does not fill its shape never reaches TF
      const short = await rejection(lenient.run({ x: { dtype: 'float32', shape: [2, 4], data: new Float32Array(4) } }));
      expect(short.message).toContain("input 'x'");
    } finally {
      await lenient.dispose();
    }
  });
});

describe('loading', () => {
  it('reports a missing SavedModel directory with TF code NOT_FOUND', async () => {
    const err = await rejection(loadSavedModel('/nonexistent/jetserve/model'));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('/nonexistent/jetserve/model');
  });

  it('reports a corrupt saved_model.pb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-corrupt-'));
    mkdirSync(join(dir, 'variables'));
    writeFileSync(join(dir, 'saved_model.pb'), Buffer.from('this is not a protobuf'));
    const err = await rejection(loadSavedModel(dir));
    expect(['INVALID_ARGUMENT', 'DATA_LOSS', 'INTERNAL']).toContain(err.code);
  });

  it('reports unknown tags', async () => {
    const err = await rejection(loadSavedModel(loadOracle('mlp').savedModelPath!, { tags: ['gpu-only'] }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('gpu-only');
  });

  it('reports a GraphDef tensor name that is not in the graph', async () => {
    const oracle = loadOracle('graphdef');
    const err = await rejection(loadGraphDef(oracle.graphFile!, { inputs: ['no_such_op:0'], outputs: Object.values(oracle.outputTensors!) }));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain("'no_such_op:0'");
  });
});
