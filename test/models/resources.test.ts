// Resource control (issue 13 item 6) over real parts:
//   --max_inflight_requests_per_model: a model at its bound refuses further requests at once with
//     RESOURCE_EXHAUSTED naming the flag — HTTP 429 over REST, status 8 for the official gRPC
//     client — and serves again once requests finish.
//   --model_memory_budget_mb: a SavedModel made here by Python TF with a 24 MiB variable. A load
//     whose files cannot fit is refused before it allocates; a loaded version's resident-memory
//     growth is measured and held; a second load beyond the budget ends END with RESOURCE_EXHAUSTED
//     while the first serves on; unloading the first lets the second load.
//   --per_process_gpu_memory_fraction: reaches ConfigProto.gpu_options of every load, read back by
//     TF's own ConfigProto parser (no GPU here: the option is carried, TF ignores it on CPU).

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureVenv } from '../../scripts/python-env.mjs';
import { Batching } from '../../src/batching/index.js';
import { parseFlags } from '../../src/cli/index.js';
import { encodeConfigProto } from '../../src/engine/session-config.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { ModelManager } from '../../src/models/manager.js';
import { MemoryBudget, residentMemoryBytes } from '../../src/models/resources.js';
import { startGrpcServer } from '../../src/server/grpc/index.js';
import { HttpServer } from '../../src/server/http/server.js';
import { resolveServerOptions } from '../../src/serve/options.js';
import { loadOptionsOf, startServer, StartupError } from '../../src/serve/start.js';
import { expectError, PythonDriver } from '../grpc/python-driver.js';
import { wireAll } from '../grpc/stack.js';
import { fixturesDir } from '../helpers/oracle.js';

const MiB = 1024 * 1024;
const HALF_PLUS_TWO = join(fixturesDir(), 'half_plus_two');

let python: string;
let dir: string;

const MAKE_BIG_MODEL = `
import sys, os
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import tensorflow as tf
class Big(tf.Module):
    def __init__(self):
        # 6 Mi float32 = 24 MiB of variables, random so no page is shared or compressed
        self.w = tf.Variable(tf.random.stateless_uniform([6 * 1024 * 1024], seed=[1, 2]))
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def serve(self, x):
        return {'y': x + self.w[0]}
m = Big()
tf.saved_model.save(m, sys.argv[1], signatures={'serving_default': m.serve})
`;

beforeAll(async () => {
  python = await ensureVenv();
  dir = mkdtempSync(join(tmpdir(), 'jetserve-resources-'));
  const r = spawnSync(python, ['-c', MAKE_BIG_MODEL, join(dir, 'big', '1')], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`making the big model failed: ${r.stderr}`);
  cpSync(join(dir, 'big'), join(dir, 'big2'), { recursive: true });
  // TF's one-off runtime set-up (~35 MB) is charged to the first load of a process: take it here
  const warm = await ModelManager.create([{ name: 'warm', basePath: HALF_PLUS_TWO }]);
  await warm.close();
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const f32 = (values: number[]): Tensor => ({ dtype: 'float32', shape: [values.length], data: new Float32Array(values) });

describe('--max_inflight_requests_per_model', () => {
  it('a model at its bound refuses at once, naming the flag; finished requests make room again', async () => {
    const manager = await ModelManager.create([{ name: 'h', basePath: HALF_PLUS_TWO }], { maxInflightRequestsPerModel: 2 });
    try {
      const servable = manager.resolve({ name: 'h' });
      const runs = Array.from({ length: 6 }, () => servable.run({ x: f32([1, 2]) }, { signature: 'serving_default' }));
      const settled = await Promise.allSettled(runs);
      const ok = settled.filter((s) => s.status === 'fulfilled');
      const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      expect(ok).toHaveLength(2);
      expect(refused).toHaveLength(4);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(JetserveError);
        expect((r.reason as JetserveError).code).toBe('RESOURCE_EXHAUSTED');
        expect((r.reason as JetserveError).message).toBe(
          'model h already has 2 requests in flight, the most --max_inflight_requests_per_model allows; retry later',
        );
      }
      expect(manager.resources().models[0]!.inFlight).toBe(0);
      // the refusals count as failed inferences
      expect(manager.modelStatistics('h')[0]!.inference_stats.fail.count).toBe(4);
      const again = await Promise.all([1, 2].map(() => servable.run({ x: f32([4]) }, { signature: 'serving_default' })));
      expect(again.map((o) => Array.from(o.y!.data as Float32Array))).toEqual([[4], [4]]);
    } finally {
      await manager.close();
    }
  });

  it('REST answers 429 and the official gRPC client gets RESOURCE_EXHAUSTED, naming the flag', async () => {
    // a 300 ms batch timeout holds the first request in the queue: it is in flight, deterministically
    const manager = await ModelManager.create([{ name: 'h', basePath: HALF_PLUS_TWO }], {
      maxInflightRequestsPerModel: 1,
      batching: new Batching({ batchTimeoutMicros: 300_000, maxBatchSize: 64 }),
    });
    const http = new HttpServer(manager, { log: () => {} });
    const base = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
    const grpc = await startGrpcServer(manager, { port: 0, host: '127.0.0.1', log: () => {} });
    const py = await PythonDriver.start();
    try {
      const predict = () => fetch(`${base}/v1/models/h:predict`, { method: 'POST', body: '{"instances": [1.0, 2.0]}' });
      const first = predict();
      for (let i = 0; i < 100 && manager.resources().models[0]!.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(manager.resources().models[0]!.inFlight).toBe(1);
      const second = await predict();
      expect(second.status).toBe(429);
      expect(((await second.json()) as { error: string }).error).toMatch(/already has 1 requests in flight, the most --max_inflight_requests_per_model allows/);
      const grpcAnswer = py.call({ op: 'predict', target: `127.0.0.1:${grpc.port}`, model: 'h', inputs: wireAll({ x: f32([1]) }) });
      expectError(await grpcAnswer, 'RESOURCE_EXHAUSTED', /--max_inflight_requests_per_model/);
      expect(await (await first).json()).toEqual({ predictions: [2.5, 3] });
      expect((await predict()).status).toBe(200);
    } finally {
      await py.close();
      await grpc.close(1000);
      await http.close(1000);
      await manager.close();
    }
  });
});

describe('--model_memory_budget_mb', () => {
  it('a load whose files cannot fit is refused before it allocates anything', async () => {
    const manager = new ModelManager({ memoryBudgetBytes: 16 * MiB, maxNumLoadRetries: 3, fileSystemPollWaitSeconds: 0 });
    try {
      const before = residentMemoryBytes();
      const failure = manager.addModel({ name: 'big', basePath: join(dir, 'big') });
      await expect(failure).rejects.toThrow(
        /model big version 1 needs about 24\.\d MiB \(its files on disk\), and the loaded versions hold 0\.0 MiB of the 16\.0 MiB --model_memory_budget_mb allows; the load was refused/,
      );
      await expect(failure).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
      // not retried (another attempt cannot fit either), and nothing was loaded (24 MiB otherwise)
      expect(manager.status('big')).toEqual([expect.objectContaining({ version: 1, state: 'END', error: expect.objectContaining({ code: 'RESOURCE_EXHAUSTED' }) })]);
      expect(residentMemoryBytes() - before).toBeLessThan(8 * MiB);
    } finally {
      await manager.close();
    }
  });

  it('measures each load, refuses a second one beyond the budget while the first serves, and loads it once the first is unloaded', async () => {
    const manager = await ModelManager.create([{ name: 'big', basePath: join(dir, 'big') }], {
      memoryBudgetBytes: 40 * MiB,
      repositoryRoot: dir,
      fileSystemPollWaitSeconds: 0,
    });
    try {
      const measured = manager.resources().models[0]!.versions[0]!.memoryBytes;
      // the 24 MiB variable is resident; graph and session overhead are small next to it
      expect(measured).toBeGreaterThan(20 * MiB);
      expect(measured).toBeLessThan(40 * MiB);
      expect(manager.resources().memoryUsedBytes).toBe(measured);

      await expect(manager.repositoryLoad('big2')).rejects.toThrow(/model big2 version 1 .*--model_memory_budget_mb allows; the load was refused/);
      const [status] = manager.status('big2');
      expect(status!.state).toBe('END');
      expect(status!.error?.code).toBe('RESOURCE_EXHAUSTED');
      const out = await manager.resolve({ name: 'big' }).run({ x: f32([1]) }, { signature: 'serving_default' });
      expect((out.y!.data as Float32Array)[0]).toBeGreaterThan(1);
      expect(manager.resources().memoryUsedBytes).toBe(measured);

      await manager.repositoryUnload('big');
      expect(manager.resources().memoryUsedBytes).toBe(0);
      await manager.repositoryLoad('big2');
      expect(manager.status('big2')[0]!.state).toBe('AVAILABLE');
      expect(manager.resources().memoryUsedBytes).toBeGreaterThan(20 * MiB);
    } finally {
      await manager.close();
    }
  });

  it('the server refuses to start with a model beyond the budget, naming the flag', async () => {
    const options = { modelName: 'big', modelBasePath: join(dir, 'big'), modelMemoryBudgetMb: 16, restApiPort: 0, port: false as const, log: false as const };
    await expect(startServer(options)).rejects.toThrow(StartupError);
    await expect(startServer(options)).rejects.toThrow(/--model_memory_budget_mb allows; the load was refused/);
  });

  it('the budget holds estimates, then measurements, and releases them', () => {
    const budget = new MemoryBudget(100);
    const a = {};
    const b = {};
    budget.reserve(a, 60, 'a');
    expect(() => budget.reserve(b, 50, 'b')).toThrow(/b needs about 0\.0 MiB \(its files on disk\)/);
    budget.settle(a, 30, 'a');
    budget.reserve(b, 50, 'b');
    expect(() => budget.settle(b, 80, 'b')).toThrow(/b took 0\.0 MiB when it loaded, and the loaded versions hold 0\.0 MiB/);
    expect(budget.usedBytes).toBe(30);
    budget.release(a);
    expect(budget.usedBytes).toBe(0);
    expect(() => new MemoryBudget(0).reserve(a, 1e15, 'a')).not.toThrow();
  });
});

describe('--per_process_gpu_memory_fraction', () => {
  it('is a number in [0, 1] on the command line', () => {
    expect(parseFlags(['--per_process_gpu_memory_fraction=0.25']).per_process_gpu_memory_fraction).toBe(0.25);
    expect(parseFlags(['--per_process_gpu_memory_fraction', '1']).per_process_gpu_memory_fraction).toBe(1);
    expect(() => parseFlags(['--per_process_gpu_memory_fraction=1.5'])).toThrow(/^--per_process_gpu_memory_fraction=1.5 is out of range \(0 to 1\)$/);
    expect(() => parseFlags(['--per_process_gpu_memory_fraction=half'])).toThrow(/^--per_process_gpu_memory_fraction takes a number, not 'half'$/);
  });

  it("reaches ConfigProto.gpu_options of every load, as TF's own parser reads the bytes; the demo model loads with it", async () => {
    const options = loadOptionsOf(resolveServerOptions({ perProcessGpuMemoryFraction: 0.25, log: false }));
    expect(options.gpu).toEqual({ memoryFraction: 0.25 });
    expect(loadOptionsOf(resolveServerOptions({ log: false })).gpu).toBeUndefined();
    const bytes = Buffer.from(encodeConfigProto(options)).toString('base64');
    const read = spawnSync(
      python,
      [
        '-c',
        `import sys, base64, os
os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
from tensorflow.core.protobuf import config_pb2
c = config_pb2.ConfigProto(); c.ParseFromString(base64.b64decode(sys.argv[1]))
print(c.gpu_options.per_process_gpu_memory_fraction, c.allow_soft_placement)`,
        bytes,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(read.status, read.stderr).toBe(0);
    expect(read.stdout.trim()).toBe('0.25 True');

    const server = await startServer({ perProcessGpuMemoryFraction: 0.25, restApiPort: 0, port: false, log: false });
    try {
      const r = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances": [2.0]}' });
      expect(await r.json()).toEqual({ predictions: [3] });
    } finally {
      await server.close();
    }
  });
});
