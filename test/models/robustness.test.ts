// What happens to a served model when its files or its process meet bad luck (issue 10: "keep,
// with tests"). Each case ends with a clear status — the version that broke is END with TF's
// error, or is forgotten when its directory is gone — and the version serving before keeps
// serving (or, after a crash, a restart serves):
//   - a version directory deleted while it loads, and one deleted while it serves;
//   - a truncated variables file (and the same version once its file is whole again);
//   - `kill -9` of a server while a new version loads, then a restart on the same directory;
//   - TF runtime errors under concurrency, through a server started with default flags.
// Covered elsewhere: a saved_model.pb that is not a SavedModel (manager.test.ts, swap.test.ts
// under load), load failures out of retries (lifecycle.test.ts), a TF failure inside a merged
// batch (batching/batcher.test.ts), the serving version's directory removed and re-added 20+
// times under REST and gRPC load (swap.test.ts rollbacks).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSavedModel } from '../../src/engine/model.js';
import { allocTensor, type Tensor } from '../../src/engine/tensor.js';
import { ModelManager, type ModelLoader } from '../../src/models/manager.js';
import { WARMUP_FILE } from '../../src/models/warmup.js';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { fixturesDir, loadOracle } from '../helpers/oracle.js';
import { freePort } from '../helpers/net.js';
import { lenField, tfRecordFile } from '../helpers/tfrecord.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE = join(fixturesDir(), 'half_plus_two', '1');
const VARIABLES_DATA = join('variables', 'variables.data-00000-of-00001');
let root: string;
let counter = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'jetserve-robustness-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function basePath(versions: number[]): string {
  const dir = join(root, `b${counter++}`);
  mkdirSync(dir, { recursive: true });
  for (const v of versions) cpSync(SOURCE, join(dir, String(v)), { recursive: true });
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function x(values: number[]): Tensor {
  const t = allocTensor('float32', [values.length]);
  (t.data as Float32Array).set(values);
  return t;
}

/** Predicts in a loop on whatever answers unversioned requests until stopped; half_plus_two: y = x / 2 + 2. */
function loadGenerator(m: ModelManager, name: string) {
  let stop = false;
  const failures: string[] = [];
  const versions = new Set<number>();
  let requests = 0;
  const worker = async () => {
    while (!stop) {
      requests++;
      try {
        const servable = m.resolve({ name });
        const out = await servable.run({ x: x([1, 2, 5]) }, { signature: 'serving_default' });
        const got = Array.from(out.y!.data as Float32Array).join();
        if (got !== '2.5,3,4.5') failures.push(`version ${servable.version}: ${got}`);
        versions.add(servable.version);
      } catch (err) {
        failures.push(String(err));
      }
      await sleep(1);
    }
  };
  const workers = [worker(), worker(), worker()];
  return {
    failures,
    versions,
    get requests() {
      return requests;
    },
    async stop() {
      stop = true;
      await Promise.all(workers);
    },
  };
}

describe('a version directory that goes away', () => {
  it('deleted while it loads: END with TF’s NOT_FOUND, the serving version keeps serving, the next look forgets it', async () => {
    const dir = basePath([1]);
    const v2 = join(dir, '2');
    let load: ReturnType<typeof loadGenerator> | undefined;
    // the directory vanishes between the look that aspired it and TF reading it, while requests flow
    const loader: ModelLoader = async (d, o) => {
      if (d === v2) {
        const before = load!.requests;
        await until('requests during the load', () => load!.requests >= before + 10);
        rmSync(v2, { recursive: true, force: true });
      }
      return loadSavedModel(d, o);
    };
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader });
    try {
      await m.addModel({ name: 'm', basePath: dir });
      load = loadGenerator(m, 'm');
      cpSync(SOURCE, v2, { recursive: true });
      await m.pollNow();
      await m.pollNow();
      const [status] = m.status('m', 2);
      expect(status!.state).toBe('END');
      expect(status!.error?.code).toBe('NOT_FOUND');
      expect(status!.error?.message).toMatch(/Could not find SavedModel \.pb or \.pbtxt at supplied export directory path: .*\/2/);
      expect(m.status('m', 1)).toEqual([{ version: 1, state: 'AVAILABLE', error: null }]);
      await m.pollNow();
      expect(m.status('m')).toEqual([{ version: 1, state: 'AVAILABLE', error: null }]);
      await sleep(50);
      await load.stop();
      expect(load.failures.slice(0, 5)).toEqual([]);
      expect([...load.versions]).toEqual([1]);
    } finally {
      await m.close();
    }
  });

  it('deleted while it serves: the older version comes back first, a request in flight on it finishes, 0 failed requests', async () => {
    const dir = basePath([1, 2]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = 0;
    // a runner factory whose runs of one marked request wait at the gate: in flight during the swap
    const m = new ModelManager({
      fileSystemPollWaitSeconds: 0,
      batching: {
        runnerFor: (model) => ({
          async run(inputs, options) {
            if ((inputs.x!.data as Float32Array)[0] === 42) {
              held++;
              await gate;
            }
            return model.run(inputs, options);
          },
        }),
      },
    });
    try {
      await m.addModel({ name: 'm', basePath: dir });
      expect(m.resolve({ name: 'm' }).version).toBe(2);
      await m.pollNow(); // version 1 is seen (not loaded: latest 1)
      const load = loadGenerator(m, 'm');
      const inFlight = m.resolve({ name: 'm' }).run({ x: x([42]) }, { signature: 'serving_default' });
      await until('the held request to start', () => held === 1);
      rmSync(join(dir, '2'), { recursive: true, force: true });
      await m.pollNow(); // version 1 loads and serves, then version 2 drains
      expect(m.status('m', 1)[0]!.state).toBe('AVAILABLE');
      expect(m.status('m', 2)[0]!.state).toBe('UNLOADING');
      release();
      expect(Array.from((await inFlight).y!.data as Float32Array)).toEqual([23]);
      await until('version 2 END', () => m.status('m', 2)[0]!.state === 'END');
      expect(m.status('m', 2)).toEqual([{ version: 2, state: 'END', error: null }]);
      await m.pollNow();
      expect(m.status('m')).toEqual([{ version: 1, state: 'AVAILABLE', error: null }]);
      await sleep(50);
      await load.stop();
      expect(load.failures.slice(0, 5)).toEqual([]);
      expect([...load.versions].sort()).toEqual([1, 2]);
    } finally {
      await m.close();
    }
  });
});

describe('a truncated variables file', () => {
  it('END with TF’s restore error, the serving version untouched and not retried until the file changes; whole again, it loads', async () => {
    const dir = basePath([1]);
    let loads = 0;
    const loader: ModelLoader = async (d, o) => {
      if (d.endsWith('/2')) loads++;
      return loadSavedModel(d, o);
    };
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader });
    try {
      await m.addModel({ name: 'm', basePath: dir });
      const load = loadGenerator(m, 'm');
      cpSync(SOURCE, join(dir, '2'), { recursive: true });
      const data = join(dir, '2', VARIABLES_DATA);
      truncateSync(data, Math.floor(statSync(data).size / 2));
      await m.pollNow();
      await m.pollNow();
      const [status] = m.status('m', 2);
      expect(status!.state).toBe('END');
      expect(status!.error?.code).toBe('OUT_OF_RANGE');
      expect(status!.error?.message).toMatch(/Read less bytes than requested[\s\S]*RestoreV2/);
      expect(m.status('m', 1)[0]).toEqual({ version: 1, state: 'AVAILABLE', error: null });
      await m.pollNow();
      expect(loads).toBe(1); // unchanged files: not retried
      // the file is whole again: its fingerprint changed, the version is tried again and takes over
      cpSync(join(SOURCE, VARIABLES_DATA), data);
      await m.pollNow(); // first look at the new files
      await m.pollNow(); // unchanged since: loads
      await until('version 1 END', () => m.status('m', 1)[0]!.state === 'END');
      expect(m.status('m')).toEqual([
        { version: 2, state: 'AVAILABLE', error: null },
        { version: 1, state: 'END', error: null },
      ]);
      expect(loads).toBe(2);
      await load.stop();
      expect(load.failures.slice(0, 5)).toEqual([]);
      expect([...load.versions].sort()).toEqual([1, 2]);
    } finally {
      await m.close();
    }
  });
});

// ---- kill -9 during a load ----

interface Cli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts the jetserve command and resolves once it printed its ready banner. */
async function startCli(args: string[]): Promise<Cli> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'index.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
  await until('the ready banner', async () => {
    if (child.exitCode !== null) throw new Error(`jetserve exited with ${child.exitCode} before ready:\n${out}`);
    return /jetserve ready/.test(out);
  }, 60_000);
  return { child, output: () => out, exited };
}

async function versionStates(port: number): Promise<Record<string, string>> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/models/m`);
  const body = (await res.json()) as { model_version_status: { version: string; state: string }[] };
  return Object.fromEntries(body.model_version_status.map((s) => [s.version, s.state]));
}

/** A KServe infer on `m`: [y values, the answering version]. */
async function infer(port: number): Promise<[number[], string]> {
  const res = await fetch(`http://127.0.0.1:${port}/v2/models/m/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 5] }] }),
  });
  const body = (await res.json()) as { model_version: string; outputs: { data: number[] }[] };
  return [body.outputs[0]!.data, body.model_version];
}

describe('kill -9 during a load', () => {
  it('a server killed while a new version warms up restarts on the same directory and serves that version', async () => {
    const dir = basePath([1]);
    // version 2 warms up long: one recorded request replayed --num_request_iterations_for_warmup times
    const v2 = join(dir, '2');
    cpSync(SOURCE, v2, { recursive: true });
    mkdirSync(join(v2, 'assets.extra'));
    writeFileSync(join(v2, WARMUP_FILE), tfRecordFile([lenField(6, lenField(1, predictRequest('m', { x: x([1, 2]) })))]));
    const staged = join(root, `staged${counter++}`);
    cpSync(v2, staged, { recursive: true });
    rmSync(v2, { recursive: true });

    const rest = await freePort();
    const flags = ['--model_name=m', `--model_base_path=${dir}`, `--rest_api_port=${rest}`, `--port=${await freePort()}`, '--file_system_poll_wait_seconds=1'];
    const first = await startCli([...flags, '--num_request_iterations_for_warmup=1000000']);
    expect(await infer(rest)).toEqual([[2.5, 3, 4.5], '1']);
    cpSync(staged, v2, { recursive: true });
    await until('version 2 LOADING', async () => (await versionStates(rest))['2'] === 'LOADING');
    // version 1 still serves while version 2 loads
    expect(await infer(rest)).toEqual([[2.5, 3, 4.5], '1']);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await startCli(flags);
    expect(await versionStates(rest)).toEqual({ '2': 'AVAILABLE' });
    expect(await infer(rest)).toEqual([[2.5, 3, 4.5], '2']);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 180_000);
});

// ---- TF runtime errors under concurrency ----

describe('TF runtime errors under concurrency', () => {
  let server: JetserveServer;
  beforeAll(async () => {
    server = await startServer({ modelName: 'm', modelBasePath: join(fixturesDir(), 'half_plus_two'), restApiPort: 0, port: false, log: () => {} });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('64 concurrent classify requests, every 4th not a tf.Example: those 400 with TF’s parse error, the rest right (oracle); the version stays AVAILABLE', async () => {
    const c = loadOracle('half_plus_two').cases.find((k) => k.signature === 'classify_x_to_y')!;
    const examples = c.inputs.inputs!.data as Uint8Array[];
    const scores = c.outputs.scores!.data as Float32Array;
    const garbage = Buffer.from([0xff, 0x01, 0x02]).toString('base64');
    const url = `http://127.0.0.1:${server.http!.port}/v1/models/m:predict`;
    const outcomes = await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const bad = i % 4 === 3;
        const row = i % examples.length;
        const b64 = bad ? garbage : Buffer.from(examples[row]!).toString('base64');
        const res = await fetch(url, { method: 'POST', body: JSON.stringify({ signature_name: 'classify_x_to_y', instances: [{ b64 }] }) });
        const body = (await res.json()) as { predictions?: number[][]; error?: string };
        if (bad) return res.status === 400 && /parse example/i.test(body.error ?? '') ? '' : `request ${i}: ${res.status} ${JSON.stringify(body)}`;
        return res.status === 200 && body.predictions?.[0]?.[0] === scores[row] ? '' : `request ${i}: ${res.status} ${JSON.stringify(body)}`;
      }),
    );
    expect(outcomes.filter((o) => o !== '')).toEqual([]);
    expect(server.manager.status('m')).toEqual([{ version: 1, state: 'AVAILABLE', error: null }]);
    const after = await fetch(url, { method: 'POST', body: '{"instances": [1.0, 2.0, 5.0]}' });
    expect(await after.json()).toEqual({ predictions: [2.5, 3, 4.5] });
  }, 120_000);
});
