// Exercised under AddressSanitizer/LeakSanitizer by scripts/asan-check.sh: every native path
// (load, run with copied and adopted inputs, inputs released while their runs are in flight,
// strings, errors, GraphDef, dispose; inline runs, predictSync, outputs copied and zero-copy; a
// worker terminated with runs in flight; the JSON codec's decoders and encoders on generated,
// mutated and hostile bodies), then exit.
import { Worker } from 'node:worker_threads';
import { allocTensor, loadGraphDef, loadSavedModel } from '../../src/index.js';
import { releaseTensor } from '../../src/engine/tensor.js';
import { signatureNotFound } from '../../src/engine/signature.js';
import { JetserveError } from '../../src/errors.js';
import {
  decodeInferRequestNative,
  decodePredictRequestNative,
  inferResponseChunksNative,
  predictResponseChunksNative,
} from '../../src/wire/json/native.js';
import { cleanKind, fuzzSignatures, inferBody, mutate, predictBody, randomOutputs, Rng, setClean } from '../wire/json-native-fuzz.js';
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
// inputs released (detached) while their runs are queued or running on the executor: TF's own
// reference keeps each block alive until its run ends (the batcher and servers release after the
// run; this is the harder case)
await Promise.all(
  Array.from({ length: 200 }, () => {
    const x = allocTensor('float32', [128, 4]);
    const run = mlp.run({ x });
    releaseTensor(x);
    return run;
  }),
);
await mlp.dispose();
const g = loadOracle('graphdef');
const graph = await loadGraphDef(g.graphFile!, { inputs: g.inputTensors!, outputs: g.outputTensors! });
for (const c of g.cases) await graph.predict(c.inputs);
await graph.dispose();
await loadSavedModel('/nonexistent').catch(() => undefined);

// Inline runs by the placement policy, predictSync, small (copied) and large (external) outputs.
const tiny = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: 1e6 });
for (let i = 0; i < 200; i++) await tiny.predict({ x: [[1, 2, 3, 4]] });
for (let i = 0; i < 200; i++) tiny.predictSync({ x: allocTensor('float32', [i % 2 ? 1 : 128, 4]) });
try {
  tiny.predictSync({ x: [[1, 2, 3]] });
} catch {
  // expected: INVALID_ARGUMENT
}
if (tiny.stats().runs.every((r) => r.inlineRuns === 0)) throw new Error('no inline run happened');
await tiny.dispose();

// A worker terminated while its runs are on its executor (the env cleanup hook path).
const worker = new Worker(new URL('../engine/ts-worker.mjs', import.meta.url), {
  workerData: { entry: new URL('../engine/teardown-child.mts', import.meta.url).href, scenario: 'worker-terminate', dir: loadOracle('busy').savedModelPath! },
});
await new Promise<void>((resolve, reject) => {
  worker.on('message', () => void worker.terminate());
  worker.on('error', reject);
  worker.on('exit', () => resolve());
});

// the JSON codec: generated, mutated and hostile bodies, every outcome (tensors, errors, budgets)
{
  const sigs = fuzzSignatures();
  const keys = Object.keys(sigs);
  const resolve = (name: string) => {
    if (!Object.hasOwn(sigs, name)) throw signatureNotFound(name, keys);
    return sigs[name]!;
  };
  const quietly = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof JetserveError)) throw err;
    }
  };
  const rng = new Rng(3);
  for (let i = 0; i < 20_000; i++) {
    const key = rng.pick(keys);
    const sig = sigs[key]!;
    const clean = rng.chance(0.5);
    setClean(clean ? cleanKind(sig.inputs[Object.keys(sig.inputs)[0]!]?.dtype) : undefined);
    let p = predictBody(rng, sigs, key);
    let k = inferBody(rng, sig);
    setClean(undefined);
    if (!clean) {
      p = mutate(rng, p);
      k = mutate(rng, k);
    }
    const limits = rng.chance(0.8) ? undefined : { maxTensorElements: rng.int(20), maxJsonDepth: 1 + rng.int(6) };
    quietly(() => decodePredictRequestNative(p, sigs, { resolveSignature: resolve, ...(limits ? { limits } : {}) }));
    quietly(() => decodeInferRequestNative(k, sigs, key, limits ? { limits } : {}));
    if (i % 4 === 0) {
      const row = rng.chance(0.5);
      const outputs = randomOutputs(rng, row);
      const chunk = rng.pick([1, 64, 65536]);
      quietly(() => {
        const it = predictResponseChunksNative(outputs, row ? 'row' : 'columnar', chunk);
        // abandon some encoders half way: their handles are freed by the GC
        for (let r = it.next(), n = 0; !r.done && (n < 3 || rng.chance(0.9)); r = it.next(), n++);
      });
      quietly(() => {
        const it = inferResponseChunksNative({ modelName: 'm', outputs }, chunk);
        for (let r = it.next(); !r.done; r = it.next());
      });
    }
  }
  const bomb = `{"inputs": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  quietly(() => decodePredictRequestNative(Buffer.from(bomb), sigs));
  const many = Buffer.alloc(20_000_016, '1,');
  many.write('{"instances":  [', 0);
  many.write('1]}', many.length - 3);
  quietly(() => decodePredictRequestNative(many, sigs));
}
// TF's profiler server (native/profiler.cc): started through the engine's lease, stopped off the
// JS thread; a second start while one runs is refused; the last one is left for process exit
{
  const { leaseProfilerServer } = await import('../../src/engine/profiler.js');
  const { native } = await import('../../src/engine/native.js');
  for (let i = 0; i < 2; i++) {
    const lease = leaseProfilerServer(() => {});
    const port = await lease.port();
    let refused = false;
    try {
      native().startProfilerServer(port + 1);
    } catch {
      refused = true;
    }
    if (!refused) throw new Error('a second profiler server started');
    await lease.release();
  }
  await leaseProfilerServer(() => {}).port();
}
for (let i = 0; i < 5; i++) {
  gc();
  await new Promise((r) => setTimeout(r, 20));
}
// the listen guard (shutdown): find a listener by port, read its accept queue, filter its SYNs
{
  const { createServer } = await import('node:net');
  const { native } = await import('../../src/engine/native.js');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  for (let i = 0; i < 100; i++) native().listenQueueLength(port);
  if (native().holdListenSockets(port) !== 1) throw new Error('listen guard did not find the listener');
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
console.log('asan driver done');
