// Child of bench/engine.ts section 3, the jetserve side of the tfjs-node comparison: times serial
// `await model.predict()` on a SavedModel's serving_default in a fresh process, exactly as
// tfjs-node-run.cjs times tfjs-node in its own (same input values and shape, the same input
// tensor every call, same warm-up, one clock reading at each end of the loop). A fresh process on
// each side: timed inside the bench's own process, jetserve would carry the heap, malloc arenas
// and ResNet50 session left by sections 1-2, which tfjs-node's child does not.
// usage: node --import tsx jetserve-per-call-run.ts MODEL_DIR INPUT_KEY "d0,d1" ITERATIONS → us_per_call=<float>
import { allocTensor, loadSavedModel } from '../../src/index.js';

const [dir, inputKey, dims, iterations] = process.argv.slice(2);
const shape = dims!.split(',').map(Number);
const model = await loadSavedModel(dir!);
const x = allocTensor('float32', shape);
const data = x.data as Float32Array;
for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000;
const inputs = { [inputKey!]: x };
const n = Number(iterations);
for (let i = 0; i < Math.ceil(n / 10) + 1; i++) await model.predict(inputs);
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) await model.predict(inputs);
console.log(`us_per_call=${Number(process.hrtime.bigint() - start) / 1000 / n}`);
await model.dispose();
