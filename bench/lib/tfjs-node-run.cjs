// Child of bench/lib/tfjs-node.ts: times tfjs-node's synchronous predict + dataSync on a
// SavedModel (the same input tensor every call, as the jetserve side reuses its input).
// usage: node tfjs-node-run.cjs MODEL_DIR INPUT_KEY "d0,d1" ITERATIONS   → prints us_per_call=<float>
const tf = require('@tensorflow/tfjs-node');

async function main() {
  const [dir, inputKey, dims, iterations] = process.argv.slice(2);
  const shape = dims.split(',').map(Number);
  const model = await tf.node.loadSavedModel(dir, ['serve'], 'serving_default');
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(Float32Array.from({ length: size }, (_, i) => ((i * 7919) % 1000) / 1000), shape);
  const call = () => {
    const out = model.predict({ [inputKey]: x });
    const first = out instanceof tf.Tensor ? out : Object.values(out)[0];
    first.dataSync();
    tf.dispose(out);
  };
  const n = Number(iterations);
  for (let i = 0; i < Math.ceil(n / 10) + 1; i++) call();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) call();
  console.log(`us_per_call=${Number(process.hrtime.bigint() - start) / 1000 / n}`);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
