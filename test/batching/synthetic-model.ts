// A model for batching tests: each run takes fixedMs + perRowMs × rows on a timer (no CPU, a cost
// the batcher measures; 0 ms: a microtask) and echoes x [-1, 4] as y; each run's rows go to `onRun`.
import type { Model } from '../../src/engine/model.js';
import type { SignatureInfo } from '../../src/engine/signature.js';
import type { Tensor } from '../../src/engine/tensor.js';

export const SIGNATURE: SignatureInfo = {
  methodName: 'tensorflow/serving/predict',
  inputs: { x: { name: 'x:0', dtype: 'float32', tfDtype: 1, shape: [-1, 4] } },
  outputs: { y: { name: 'y:0', dtype: 'float32', tfDtype: 1, shape: [-1, 4] } },
};

export function syntheticModel(fixedMs: number, perRowMs: number, onRun: (rows: number) => void): Model {
  const model = {
    signatures: { serving_default: SIGNATURE },
    signature: () => SIGNATURE,
    validate: () => undefined,
    async run(inputs: Record<string, Tensor>) {
      const rows = inputs.x!.shape[0]!;
      onRun(rows);
      const ms = fixedMs + perRowMs * rows;
      await (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
      return { y: inputs.x! };
    },
  };
  return model as unknown as Model;
}
