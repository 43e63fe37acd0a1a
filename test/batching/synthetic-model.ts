// A model for batching tests: each run takes fixedMs + perRowMs × rows on a timer (no CPU, a cost
// the batcher measures; 0 ms: a microtask) and echoes x [-1, 4] as y; each run's rows go to `onRun`.
// It may run only so many at once, as the native executor does (SyntheticOptions.parallelRuns).
import type { Model } from '../../src/engine/model.js';
import type { SignatureInfo } from '../../src/engine/signature.js';
import type { Tensor } from '../../src/engine/tensor.js';

export const SIGNATURE: SignatureInfo = {
  methodName: 'tensorflow/serving/predict',
  inputs: { x: { name: 'x:0', dtype: 'float32', tfDtype: 1, shape: [-1, 4] } },
  outputs: { y: { name: 'y:0', dtype: 'float32', tfDtype: 1, shape: [-1, 4] } },
};

export interface SyntheticOptions {
  /**
   * Runs that execute at once, like the native executor's threads (Model.parallelRuns): a run
   * beyond them waits its turn before its time starts. Unset: every run starts at once.
   */
  parallelRuns?: number;
  /** Called with the runs submitted and not finished (executing or waiting) as each run is submitted. */
  onSubmitted?: (outstanding: number) => void;
}

export function syntheticModel(fixedMs: number, perRowMs: number, onRun: (rows: number) => void, options: SyntheticOptions = {}): Model {
  const { parallelRuns, onSubmitted } = options;
  let outstanding = 0;
  let executing = 0;
  const waiting: (() => void)[] = [];
  const model = {
    signatures: { serving_default: SIGNATURE },
    signature: () => SIGNATURE,
    validate: () => undefined,
    ...(parallelRuns !== undefined ? { parallelRuns } : {}),
    async run(inputs: Record<string, Tensor>) {
      const rows = inputs.x!.shape[0]!;
      onRun(rows);
      onSubmitted?.(++outstanding);
      // a finished run hands its thread straight to the oldest waiting one (executing stays),
      // so a run submitted meanwhile cannot slip past the bound
      if (parallelRuns !== undefined && executing >= parallelRuns) await new Promise<void>((r) => waiting.push(r));
      else executing++;
      try {
        const ms = fixedMs + perRowMs * rows;
        await (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
      } finally {
        outstanding--;
        const next = waiting.shift();
        if (next) next();
        else executing--;
      }
      return { y: inputs.x! };
    },
  };
  return model as unknown as Model;
}
