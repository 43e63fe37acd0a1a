// Child of compute-priority.test.ts: loads a model, runs it on the executor, prints its threads.
import { loadSavedModel } from '../../src/index.js';
import { threads } from './compute-threads.js';

const model = await loadSavedModel(process.argv[2]!, { inlineBelowMicros: 0 });
await model.predict({ x: { dtype: 'float32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });
console.log(JSON.stringify(threads()));
await model.dispose();
