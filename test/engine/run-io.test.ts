// Inline runs hand small outputs back through the run buffer (src/engine/run-io.ts, one per
// thread, shared by every session): each output must be a copy of its own in its dtype's
// typed-array class that no later run touches; outputs that do not fit it (over 1 KiB, strings)
// come back as JS values as before; a call larger than the buffer's head grows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocTensor, engineInfo, loadSavedModel, type Model, type Tensor } from '../../src/index.js';
import { TYPED_ARRAY_OF, type NumericDType } from '../../src/engine/dtypes.js';
import { native } from '../../src/engine/native.js';
import { writeRunCall } from '../../src/engine/run-io.js';
import { toJetserveError } from '../../src/engine/model.js';
import { expectTensorClose, loadOracle } from '../helpers/oracle.js';

const mlpOracle = loadOracle('mlp');
let mlp: Model;

beforeAll(async () => {
  mlp = await loadSavedModel(mlpOracle.savedModelPath!);
});
afterAll(() => mlp.dispose());

describe('the run buffer', () => {
  it('gives every inline output a copy of its own: later runs leave earlier results as they were', async () => {
    const [one, three] = [mlpOracle.cases[0]!, mlpOracle.cases[1]!];
    const first = mlp.predictSync(one.inputs);
    const second = mlp.predictSync(three.inputs);
    // predict() runs inline once its slot is measured (runSync's run counts as inline too).
    const inlineRuns = () => mlp.stats().runs.find((r) => r.batchSizes[0] <= 3 && 3 <= r.batchSizes[1])!.inlineRuns;
    for (let i = 0; i < 50 && inlineRuns() < 3; i++) await mlp.predict(three.inputs);
    expect(inlineRuns()).toBeGreaterThanOrEqual(3);
    expectTensorClose(first.y!, one.outputs.y!);
    expectTensorClose(second.y!, three.outputs.y!);
    const data = first.y!.data as Float32Array;
    expect(data.byteOffset).toBe(0);
    expect(data.buffer.byteLength).toBe(data.byteLength);
    expect(data.buffer).not.toBe((second.y!.data as Float32Array).buffer);
  });

  it('returns every numeric dtype in its typed-array class, equal to TF', async () => {
    const oracle = loadOracle('dtypes');
    const model = await loadSavedModel(oracle.savedModelPath!);
    try {
      let checked = 0;
      for (const c of oracle.cases) {
        const out = model.predictSync(c.inputs, { signature: c.signature });
        for (const [key, expected] of Object.entries(c.outputs)) {
          expectTensorClose(out[key]!, expected, 1e-6, 1e-9, `${c.signature}.${key}`);
          if (expected.dtype === 'string') continue;
          expect(out[key]!.data, `${c.signature}.${key}`).toBeInstanceOf(TYPED_ARRAY_OF[expected.dtype as NumericDType]);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(10);
    } finally {
      await model.dispose();
    }
  });

  it('returns outputs over 1 KiB over TF memory, as the executor does', async () => {
    const x = allocTensor('float32', [128, 4]); // y: 128 x 3 float32 = 1.5 KiB
    (x.data as Float32Array).forEach((_, i, d) => (d[i] = (i % 7) / 7));
    const offloaded = await loadSavedModel(mlpOracle.savedModelPath!, { inlineBelowMicros: 0 });
    try {
      const expected = await offloaded.run({ x });
      const before = engineInfo().stats;
      const inline = mlp.runSync({ x });
      expect(engineInfo().stats.zeroCopyOutputs - before.zeroCopyOutputs).toBe(1);
      expectTensorClose(inline.y!, expected.y!, 0, 0);
    } finally {
      await offloaded.dispose();
    }
  });

  it('grows for a call larger than its head and keeps serving runs', async () => {
    const session = await native().loadSavedModel(mlpOracle.savedModelPath!, ['serve'], new Uint8Array());
    try {
      const sig = session.signatures().serving_default!;
      // 300 inputs x (3 + rank 2) slots: more than the head's 512. TF itself refuses the call (x
      // fed 300 times): proof that the addon read every record of it.
      const x: Tensor = { dtype: 'float32', shape: [1, 4], data: new Float32Array(4) };
      const count = 300;
      writeRunCall(0, -1, new Array<number>(count).fill(sig.inputs.x!.endpoint), new Array<Tensor>(count).fill(x), [sig.outputs.y!.endpoint]);
      let thrown: unknown;
      try {
        session.run(new Array(count).fill(x.data));
      } catch (e) {
        thrown = e;
      }
      const err = toJetserveError(thrown);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).not.toContain('run buffer');
      expect(err.message).not.toContain('not a tensor of this graph');
    } finally {
      await session.close();
    }
    const c = mlpOracle.cases[1]!;
    expectTensorClose(mlp.predictSync(c.inputs).y!, c.outputs.y!);
  });
});
