// A child process for test/engine/teardown.test.ts: loads a model, starts many predict() calls,
// and ends while they are in flight, the way named by argv[2]:
//   exit            process.exit(3) from the main thread
//   throw           an uncaught exception (Node exits with 1)
//   worker-terminate  a worker thread does the predicts; the main thread terminates it, exits 0
//   worker-exit     a worker thread calls process.exit(5) mid-run; the main thread exits 0
// argv[3] is the SavedModel directory. The runs must be executing natively at that moment, so the
// child waits for the first run to finish (the executor is then busy with the rest).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadSavedModel, type Tensor } from '../../src/index.js';

const IN_FLIGHT = 64;

async function startRuns(dir: string): Promise<void> {
  // Always offloaded (inlineBelowMicros 0): the point is runs on the executor threads. The busy
  // fixture at batch 64, 20 rounds spends ~2 ms per run in oneDNN's float32 GEMM, whose JIT code
  // C exit() unmaps while a thread may still execute it.
  const model = await loadSavedModel(dir, { inlineBelowMicros: 0 });
  const x: Tensor = { dtype: 'float32', shape: [64, 256], data: new Float32Array(64 * 256).fill(0.1) };
  const rounds: Tensor = { dtype: 'int32', shape: [], data: new Int32Array([20]) };
  const runs = Array.from({ length: IN_FLIGHT }, () => model.predict({ x, rounds }));
  await Promise.race(runs);
}

if (isMainThread) {
  const [scenario, dir] = process.argv.slice(2) as [string, string];
  if (scenario === 'exit') {
    await startRuns(dir);
    process.exit(3);
  } else if (scenario === 'throw') {
    await startRuns(dir);
    setImmediate(() => {
      throw new Error('uncaught on purpose (teardown test)');
    });
  } else if (scenario === 'worker-terminate' || scenario === 'worker-exit') {
    const worker = new Worker(new URL('./ts-worker.mjs', import.meta.url), {
      workerData: { entry: import.meta.url, scenario, dir },
    });
    worker.on('error', (err) => {
      console.error('worker error', err);
      process.exit(20);
    });
    const code = await new Promise<number>((resolve) => {
      worker.on('message', () => {
        if (scenario === 'worker-terminate') void worker.terminate();
      });
      worker.on('exit', resolve);
    });
    // terminate() ends the worker with code 1; its own process.exit(5) with 5.
    process.exit(code === (scenario === 'worker-terminate' ? 1 : 5) ? 0 : 21);
  } else {
    console.error(`unknown scenario ${scenario}`);
    process.exit(22);
  }
} else {
  const { scenario, dir } = workerData as { scenario: string; dir: string };
  await startRuns(dir);
  if (scenario === 'worker-exit') process.exit(5);
  parentPort!.postMessage('running');
  // Keep the worker busy with runs until it is terminated.
  await new Promise(() => setInterval(() => undefined, 1000));
}
