// Worker-thread body for test/engine/worker-threads.test.ts: loads the fixture models in this
// worker's own addon instance, runs every oracle case through predict() (executor, then inline
// once measured) and predictSync(), and posts the outputs back.
import { parentPort, workerData } from 'node:worker_threads';
import { loadSavedModel, type Tensor } from '../../src/index.js';
import { loadOracle } from '../helpers/oracle.js';

const { models, rounds } = workerData as { models: string[]; rounds: number };
const results: Record<string, Record<string, Tensor>[]> = {};
for (const name of models) {
  const oracle = loadOracle(name);
  const model = await loadSavedModel(oracle.savedModelPath!);
  const outputs: Record<string, Tensor>[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const c of oracle.cases) outputs.push(await model.predict(c.inputs, { signature: c.signature }));
  }
  for (const c of oracle.cases) outputs.push(model.predictSync(c.inputs, { signature: c.signature }));
  const stats = model.stats();
  results[name] = outputs;
  parentPort!.postMessage({ kind: 'stats', name, stats });
  await model.dispose();
}
parentPort!.postMessage({ kind: 'done', results });
