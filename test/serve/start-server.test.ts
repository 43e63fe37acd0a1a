// startServer(), the composition root the CLI calls: free ports when asked for port 0, both
// front ends serving the same manager (checked with TF Serving's official gRPC client and REST),
// close() freeing every TF session, option mistakes refused before anything starts, and model
// config polling that retries a config the manager could not apply.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../src/engine/native.js';
import { ServerOptionsError } from '../../src/serve/options.js';
import { startServer, StartupError, type JetserveServer } from '../../src/serve/start.js';
import { DEMO_MODEL_PATH } from '../../src/serve/start.js';
import { fixturesDir } from '../helpers/oracle.js';
import { expectOk, PythonDriver, unwire } from '../grpc/python-driver.js';

let py: PythonDriver;
beforeAll(async () => {
  py = await PythonDriver.start();
});
afterAll(async () => {
  await py.close();
});

async function predictRest(port: number, model: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/models/${model}:predict`, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function refused(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/v1/models/x`);
    return false;
  } catch {
    return true;
  }
}

describe('startServer()', () => {
  it('port 0 binds free ports; REST and gRPC (official client) serve the model; close() frees every session', async () => {
    const before = native().stats().liveSessions;
    const server = await startServer({
      modelName: 'half',
      modelBasePath: DEMO_MODEL_PATH,
      restApiPort: 0,
      port: 0,
      host: '127.0.0.1',
      log: false,
    });
    try {
      expect(server.demo).toBe(false);
      expect(server.http!.port).toBeGreaterThan(0);
      expect(server.grpc!.port).toBeGreaterThan(0);
      expect(server.http!.port).not.toBe(server.grpc!.port);
      expect(native().stats().liveSessions).toBe(before + 1);
      // half_plus_two: y = 0.5 x + 2 (exact in float32)
      const rest = await predictRest(server.http!.port, 'half', { instances: [1.0, 2.0, 5.0] });
      expect(rest).toEqual({ status: 200, json: { predictions: [2.5, 3.0, 4.5] } });
      const answer = await py.rpc({
        op: 'predict',
        target: `127.0.0.1:${server.grpc!.port}`,
        model: 'half',
        inputs: { x: { dtype: 'float32', shape: [3], b64: Buffer.from(new Float32Array([1, 2, 5]).buffer).toString('base64') } },
      });
      expectOk(answer);
      expect([...(unwire(answer.outputs).y!.data as Float32Array)]).toEqual([2.5, 3, 4.5]);
      expect(server.manager.status('half')[0]!.state).toBe('AVAILABLE');
    } finally {
      await server.close();
    }
    expect(native().stats().liveSessions).toBe(before);
    expect(await refused(server.http!.port)).toBe(true);
    await server.close(); // idempotent
  });

  it('serves the bundled demo model when no model option is given, and the models option programmatically', async () => {
    const demo = await startServer({ restApiPort: 0, port: false, log: false });
    try {
      expect(demo.demo).toBe(true);
      expect(demo.grpc).toBeUndefined();
      expect(demo.manager.modelNames()).toEqual(['half_plus_two']);
    } finally {
      await demo.close();
    }
    const listed = await startServer({
      models: [{ name: 'mlp', basePath: join(fixturesDir(), 'mlp') }],
      restApiPort: false,
      port: 0,
      log: false,
    });
    try {
      expect(listed.http).toBeUndefined();
      expect(listed.manager.modelNames()).toEqual(['mlp']);
    } finally {
      await listed.close();
    }
  });

  it('inlineRunBelowMicros reaches every loaded model: 0 keeps runs on the executor, the default runs a tiny model inline', async () => {
    // `requests` predicts, or fewer once one ran inline (`untilInline`): the policy inlines a run
    // only once the measured cost (max of EWMA and last) is under the threshold, and on a machine
    // whose cores are busy with other tests one pre-empted run can keep it above for a while
    const runsOf = async (extra: object, requests = 20, untilInline = false): Promise<{ inline: number; offloaded: number; threshold: number }> => {
      const server = await startServer({ modelBasePath: DEMO_MODEL_PATH, modelName: 'half', restApiPort: 0, port: false, log: false, ...extra });
      const counts = () => {
        const stats = server.manager.resolve({ name: 'half' }).model.stats();
        return {
          inline: stats.runs.reduce((n, r) => n + r.inlineRuns, 0),
          offloaded: stats.runs.reduce((n, r) => n + r.offloadedRuns, 0),
          threshold: stats.inlineBelowMicros,
        };
      };
      try {
        for (let i = 0; i < requests && !(untilInline && counts().inline > 0); i++) {
          const r = await predictRest(server.http!.port, 'half', { instances: [1.0] });
          expect(r).toEqual({ status: 200, json: { predictions: [2.5] } });
        }
        return counts();
      } finally {
        await server.close();
      }
    };
    const off = await runsOf({ inlineRunBelowMicros: 0 });
    expect(off).toEqual({ inline: 0, offloaded: 20, threshold: 0 });
    const dflt = await runsOf({}, 2_000, true);
    expect(dflt.threshold).toBe(200);
    expect(dflt.inline).toBeGreaterThan(0);
  });

  it.each([
    ['on', 'default'],
    ['off', 'single-threaded'],
  ] as const)('graphRemapper %s and sessionExecutor %s reach the loaded model (chosen by option, not measured)', async (remapper, executor) => {
    const server = await startServer({
      modelBasePath: DEMO_MODEL_PATH,
      modelName: 'half',
      restApiPort: 0,
      port: false,
      log: false,
      graphRemapper: remapper,
      sessionExecutor: executor,
    });
    try {
      expect(server.manager.resolve({ name: 'half' }).model.graphRewrites).toMatchObject({ remapper, executor, chosenBy: 'option' });
      expect(await predictRest(server.http!.port, 'half', { instances: [1.0] })).toEqual({ status: 200, json: { predictions: [2.5] } });
    } finally {
      await server.close();
    }
  });

  it.each([
    [{ restApiPort: 'http' }, /^--rest_api_port takes an integer, not 'http'$/],
    [{ port: 70000 }, /^--port=70000 is out of range \(0 to 65535\)$/],
    [{ restApiPort: 9000, port: 9000 }, /--rest_api_port and --port must differ/],
    [{ restApiPort: false, port: false }, /disable every server/],
    [{ modelBasPath: '/x' }, /^unknown option 'modelBasPath'$/],
    [{ enableBatching: 'yes' }, /--enable_batching takes true or false/],
    [{ models: [], modelConfigFile: '/c' }, /the models option replaces/],
    [{ grpcTransport: 'quic' }, /--grpc_transport must be/],
    [{ graphRemapper: 'fast' }, /^--graph_remapper must be 'auto', 'on', 'off', not 'fast'$/],
    [{ sessionExecutor: 'parallel' }, /^--session_executor must be 'auto', 'default', 'single-threaded', not 'parallel'$/],
  ])('refuses %j before starting anything', async (options, message) => {
    const before = native().stats().liveSessions;
    await expect(startServer({ ...(options as object), log: false })).rejects.toThrow(ServerOptionsError);
    await expect(startServer({ ...(options as object), log: false })).rejects.toThrow(message);
    expect(native().stats().liveSessions).toBe(before);
  });

  it('a model that cannot load is a StartupError naming it, and nothing stays open', async () => {
    const before = native().stats().liveSessions;
    const err = await startServer({ modelName: 'm', modelBasePath: '/nonexistent/jetserve', restApiPort: 0, port: 0, log: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(/^Failed to start server\. Error: .*\/nonexistent\/jetserve/);
    expect(native().stats().liveSessions).toBe(before);
  });

  it('a busy port is a StartupError and the models loaded for it are unloaded', async () => {
    const first = await startServer({ modelBasePath: DEMO_MODEL_PATH, restApiPort: 0, port: false, log: false });
    const before = native().stats().liveSessions;
    try {
      const err = await startServer({ modelBasePath: DEMO_MODEL_PATH, restApiPort: first.http!.port, port: false, log: false }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toMatch(/^Failed to start server\. Error: .*cannot listen/);
      expect(native().stats().liveSessions).toBe(before);
    } finally {
      await first.close();
    }
  });
});

describe('model config polling', () => {
  let dir: string;
  let server: JetserveServer | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jetserve-reload-'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries a config the manager could not apply on the next poll (a label whose version was not loaded yet)', async () => {
    const config = join(dir, 'models.config');
    const base = join(dir, 'half');
    const lines: string[] = [];
    cpSync(join(DEMO_MODEL_PATH, '1'), join(base, '1'), { recursive: true });
    writeFileSync(config, `model_config_list { config { name: 'half' base_path: '${base}' } }`);
    server = await startServer({
      modelConfigFile: config,
      modelConfigFilePollWaitSeconds: 1,
      restApiPort: 0,
      port: false,
      log: (m) => lines.push(m),
    });
    // label 'stable' → version 2, which does not exist yet: the manager refuses this config
    writeFileSync(config, `model_config_list { config { name: 'half' base_path: '${base}' version_labels { key: 'stable' value: 2 } } }`);
    await waitFor(() => lines.some((l) => /^config poll: .*cannot assign version label 'stable' to version 2/.test(l)), 10_000);
    expect(server.manager.labels('half')).toEqual({});
    // the file stays as it is; version 2 appears and loads: a later poll applies the same content
    cpSync(join(DEMO_MODEL_PATH, '1'), join(base, '2'), { recursive: true });
    await waitFor(() => server!.manager.labels('half').stable === 2, 15_000);
    expect(lines.filter((l) => l === 'config poll: config applied')).toHaveLength(1);
  }, 40_000);
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (condition()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
