// Exercised under AddressSanitizer/LeakSanitizer by scripts/asan-check.sh: every native path
// (load, run with copied and adopted inputs, strings, errors, GraphDef, dispose), then exit.
import { allocTensor, loadGraphDef, loadSavedModel } from '../../src/index.js';
import { loadOracle } from '../helpers/oracle.js';

const gc = (globalThis as { gc?: () => void }).gc!;
for (const name of ['mlp', 'dtypes', 'strings', 'multi_sig']) {
  const oracle = loadOracle(name);
  const model = await loadSavedModel(oracle.savedModelPath!);
  for (let i = 0; i < 50; i++) {
    for (const c of oracle.cases) await model.predict(c.inputs, { signature: c.signature });
  }
  await model.predict({ nope: [1] }).catch(() => undefined);
  await model.dispose();
}
const mlp = await loadSavedModel(loadOracle('mlp').savedModelPath!);
await Promise.all(Array.from({ length: 500 }, () => mlp.run({ x: allocTensor('float32', [2, 4]) })));
await mlp.dispose();
const g = loadOracle('graphdef');
const graph = await loadGraphDef(g.graphFile!, { inputs: g.inputTensors!, outputs: g.outputTensors! });
for (const c of g.cases) await graph.predict(c.inputs);
await graph.dispose();
await loadSavedModel('/nonexistent').catch(() => undefined);
for (let i = 0; i < 5; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 20));
}
console.log('asan driver done');
