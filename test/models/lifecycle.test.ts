// Model lifecycle (issue 5): config files (text / JSON / YAML, errors naming line and field),
// version policies, incomplete and still-changing directories, load retries, labels and
// --allow_version_labels_for_unavailable_models, config reloads (valid and invalid), traffic split
// ratios, shadow diff metrics, warmup from a TFRecord written by Python TF with the
// tensorflow-serving-api protos, REST status of failed versions, and the repository API.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadSavedModel, type Model } from '../../src/engine/model.js';
import { allocTensor, type Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { ConfigError, modelConfigsFromObject, parseModelConfig, repositoryModelConfigs } from '../../src/models/config.js';
import { ModelManager, type ModelLoader, type VersionPolicy } from '../../src/models/manager.js';
import { releaseRequestInputs, type ServableRunner, type ServableRunnerFactory } from '../../src/models/servable.js';
import { MAX_SHADOW_IN_FLIGHT } from '../../src/models/shadow.js';
import { HttpServer } from '../../src/server/http/server.js';
import { ServingMetrics } from '../../src/observability/serving-metrics.js';
import { ensureVenv } from '../../scripts/python-env.mjs';
import { fixturesDir } from '../helpers/oracle.js';
import { AdminAuth } from '../../src/server/admin-auth.js';

const SOURCE = join(fixturesDir(), 'half_plus_two', '1');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'jetserve-lifecycle-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

let counter = 0;
function basePath(versions: number[]): string {
  const dir = join(root, `b${counter++}`);
  mkdirSync(dir, { recursive: true });
  for (const v of versions) cpSync(SOURCE, join(dir, String(v)), { recursive: true });
  return dir;
}

function x(values: number[]): Tensor {
  const t = allocTensor('float32', [values.length]);
  (t.data as Float32Array).set(values);
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const versionsOf = (m: ModelManager, name: string) => m.status(name).map((s) => [s.version, s.state]);

/** Waits (up to 10 s) for `cond`; the assertions that follow say what was expected. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond() && Date.now() < end) await sleep(10);
}

describe('model config files', () => {
  it('a --model_repository lists its model directories (symlinks too), not files or hidden entries', () => {
    const repo = join(root, `repo${counter++}`);
    mkdirSync(join(repo, 'b'), { recursive: true });
    mkdirSync(join(repo, '.staging'));
    writeFileSync(join(repo, 'README'), 'not a model');
    const elsewhere = join(root, `elsewhere${counter++}`);
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(repo, 'a'));
    symlinkSync(join(root, 'missing-target'), join(repo, 'dangling'));
    expect(repositoryModelConfigs(repo)).toEqual([
      { name: 'a', basePath: join(repo, 'a') },
      { name: 'b', basePath: join(repo, 'b') },
    ]);
    expect(() => repositoryModelConfigs(join(root, 'no-such-repo'))).toThrow(/model repository .*no-such-repo cannot be read/);
  });

  const text = `# two models
model_config_list {
  config {
    name: 'm'
    base_path: "/models/m"
    model_platform: 'tensorflow'
    model_version_policy { specific { versions: 42 versions: 43 } }
    version_labels { key: 'stable' value: 42 }
    version_labels { key: 'canary' value: 43 }
  }
  config: { name: "n" base_path: "/models/n" model_version_policy: { latest: { num_versions: 2 } } }
}`;
  const expected = [
    {
      name: 'm',
      basePath: '/models/m',
      modelPlatform: 'tensorflow',
      versionPolicy: { kind: 'specific', versions: [42, 43] },
      versionLabels: { stable: 42, canary: 43 },
    },
    { name: 'n', basePath: '/models/n', modelPlatform: 'tensorflow', versionPolicy: { kind: 'latest', numVersions: 2 } },
  ];

  it('reads TF Serving text format, JSON (proto JSON names) and YAML to the same configs', () => {
    expect(parseModelConfig(text, 'models.config')).toEqual(expected);
    const json = {
      modelConfigList: {
        config: [
          {
            name: 'm',
            basePath: '/models/m',
            modelPlatform: 'tensorflow',
            modelVersionPolicy: { specific: { versions: ['42', '43'] } },
            versionLabels: { stable: '42', canary: '43' },
          },
          { name: 'n', base_path: '/models/n', model_version_policy: { latest: { num_versions: 2 } } },
        ],
      },
    };
    expect(parseModelConfig(JSON.stringify(json), 'models.json')).toEqual(expected);
    const yaml = `model_config_list:
  config:
    - name: m
      base_path: /models/m
      model_platform: tensorflow
      model_version_policy: { specific: { versions: [42, 43] } }
      version_labels: { stable: 42, canary: 43 }
    - name: n
      base_path: /models/n
      model_version_policy: { latest: { num_versions: 2 } }
`;
    expect(parseModelConfig(yaml, 'models.yaml')).toEqual(expected);
  });

  it('reads a ModelServerConfig as protobufjs decodes it (gRPC ReloadConfigRequest, defaults on)', () => {
    const decoded = {
      config: 'model_config_list',
      custom_model_config: null,
      model_config_list: {
        config: [
          {
            name: 'n',
            base_path: '/models/n',
            model_type: 0,
            model_platform: '',
            model_version_policy: { latest: { num_versions: 0 }, policy_choice: 'latest' },
            version_labels: {},
            logging_config: null,
          },
        ],
      },
    };
    expect(modelConfigsFromObject(decoded)).toEqual([
      { name: 'n', basePath: '/models/n', modelPlatform: 'tensorflow', versionPolicy: { kind: 'latest', numVersions: 1 }, versionLabels: {} },
    ]);
  });

  // text-format mistakes read as TF Serving prints them: protobuf's prefix with line:col, jetserve's
  // detail, then ServerCore's "Invalid protobuf file"; the checks after parsing use ServerCore's words
  const textError = (at: string, detail: string) =>
    new RegExp(`^Error parsing text-format tensorflow\\.serving\\.ModelServerConfig: ${at}: ${detail}.*; Invalid protobuf file: 'f\\.config'$`);
  it.each([
    ['unknown field', `model_config_list { config {\n name: 'm' base_pth: '/x' } }`, textError('2:12', "unknown field 'base_pth' in ModelConfig")],
    ['two policies', `model_config_list {\n config {\n name: 'm'\n base_path: '/x'\n model_version_policy { latest {} all {} }\n }\n}`, textError('5:35', 'model_version_policy sets more than one')],
    ['duplicate names', `model_config_list { config { name: 'm' base_path: '/x' }\n config { name: 'm' base_path: '/y' } }`, /^Illegal to list model m multiple times in config list \(f\.config: config\[0\] and config\[1\]\)$/],
    ['unclosed brace', `model_config_list { config { name: 'm' base_path: '/x' }`, textError('1:57', "missing '}' to close ModelConfigList opened at line 1")],
    ['unquoted string', `model_config_list { config { name: m base_path: '/x' } }`, textError('1:36', "field 'name' takes a quoted string, not m")],
    ['label not an int', `model_config_list {\n config {\n name: 'm' base_path: '/x'\n version_labels { key: 'a' value: 'b' }\n }\n}`, textError('4:35', "field 'version_labels\\.value' takes an integer")],
    ['no base path', `model_config_list { config { name: 'm' } }`, /model m \(line 1\): base_path must be a non-empty string/],
    ['other platform', `model_config_list { config { name: 'm' base_path: '/x' model_platform: 'pytorch' } }`, /model_platform 'pytorch' is not supported/],
  ])('rejects %s with a message naming line / field', (_what, src, message) => {
    let err: unknown;
    try {
      parseModelConfig(src, 'f.config');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });

  it('YAML and JSON errors name the file and the field', () => {
    expect(() => parseModelConfig('model_config_list:\n  config:\n    - name: a\n      base_pat: /a\n', 'd.yaml')).toThrow(
      /d\.yaml: model_config_list\.config\[0\]: unknown field 'base_pat'/,
    );
    expect(() => parseModelConfig('{"model_config_list": {', 'd.json')).toThrow(/^d\.json: invalid JSON/);
    expect(() =>
      parseModelConfig('{"model_config_list": {"config": [{"name": "a", "base_path": "/a", "model_version_policy": {"latest": {"num_versions": "x"}}}]}}', 'e.json'),
    ).toThrow(/e\.json: model a: model_version_policy\.latest\.num_versions must be an integer/);
  });
});

describe('version policies and discovery', () => {
  it.each([
    [{ kind: 'latest', numVersions: 2 }, [3, 2]],
    [{ kind: 'all' }, [3, 2, 1]],
    [{ kind: 'specific', versions: [1, 3] }, [3, 1]],
  ] as [VersionPolicy, number[]][])('%j serves %j', async (policy, served) => {
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await m.applyConfig([{ name: 'p', basePath: basePath([1, 2, 3]), versionPolicy: policy }]);
      expect(versionsOf(m, 'p')).toEqual(served.map((v) => [v, 'AVAILABLE']));
      expect(m.resolve({ name: 'p' }).version).toBe(3);
    } finally {
      await m.close();
    }
  });

  it('a specific policy naming no present version fails start-up clearly', async () => {
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    await expect(m.applyConfig([{ name: 'p', basePath: basePath([1]), versionPolicy: { kind: 'specific', versions: [7] } }])).rejects.toThrow(
      /none of the versions its policy names \(7\) is under .* \(found 1\)/,
    );
    await m.close();
  });

  it('loads a new directory only once it is complete and unchanged between two polls', async () => {
    const dir = basePath([1]);
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await m.addModel({ name: 'd', basePath: dir });
      mkdirSync(join(dir, '2'));
      await m.pollNow();
      await m.pollNow();
      expect(versionsOf(m, 'd')).toEqual([[1, 'AVAILABLE']]); // no saved_model.pb yet
      cpSync(SOURCE, join(dir, '2'), { recursive: true });
      writeFileSync(join(dir, '2', 'in-progress'), 'a');
      await m.pollNow(); // first sighting: not yet
      expect(versionsOf(m, 'd')).toEqual([[1, 'AVAILABLE']]);
      await sleep(20);
      appendFileSync(join(dir, '2', 'in-progress'), 'more');
      await m.pollNow(); // changed since the last poll: still not
      expect(versionsOf(m, 'd')).toEqual([[1, 'AVAILABLE']]);
      await m.pollNow(); // unchanged: loaded, then version 1 retired (it drains first)
      await until(() => m.status('d', 1)[0]!.state === 'END');
      expect(versionsOf(m, 'd')).toEqual([
        [2, 'AVAILABLE'],
        [1, 'END'],
      ]);
      expect(m.resolve({ name: 'd' }).version).toBe(2);
      rmSync(join(dir, '1'), { recursive: true });
      await m.pollNow();
      expect(versionsOf(m, 'd')).toEqual([[2, 'AVAILABLE']]);
    } finally {
      await m.close();
    }
  });

  it('polls on its own (--file_system_poll_wait_seconds)', async () => {
    const dir = basePath([1]);
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0.05 });
    try {
      await m.addModel({ name: 'auto', basePath: dir });
      cpSync(SOURCE, join(dir, '5'), { recursive: true });
      const end = Date.now() + 10_000;
      while (m.model('auto')!.latestAvailable()?.version !== 5 && Date.now() < end) await sleep(20);
      expect(m.resolve({ name: 'auto' }).version).toBe(5);
    } finally {
      await m.close();
    }
  });
});

describe('load retries and failures', () => {
  const flaky = (failures: number): { loader: ModelLoader; attempts: () => number } => {
    let n = 0;
    return {
      attempts: () => n,
      loader: async (dir, options) => {
        n++;
        if (dir.endsWith('/2') && n <= failures) throw new JetserveError('UNAVAILABLE', `transient failure ${n}`);
        return loadSavedModel(dir, options);
      },
    };
  };

  it('retries a failed load (--max_num_load_retries) and succeeds', async () => {
    const f = flaky(2);
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader: f.loader, maxNumLoadRetries: 2, loadRetryIntervalMicros: 1000 });
    try {
      await m.addModel({ name: 'r', basePath: basePath([2]) });
      expect(versionsOf(m, 'r')).toEqual([[2, 'AVAILABLE']]);
      expect(f.attempts()).toBe(3);
    } finally {
      await m.close();
    }
  });

  it('out of retries: END with the error in status; the serving version is untouched', async () => {
    const dir = basePath([1]);
    let calls = 0;
    const loader: ModelLoader = async (d, o) => {
      if (d.endsWith('/2')) {
        calls++;
        throw new JetserveError('UNAVAILABLE', 'disk on fire');
      }
      return loadSavedModel(d, o);
    };
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader, maxNumLoadRetries: 1 });
    try {
      await m.addModel({ name: 'r', basePath: dir });
      cpSync(SOURCE, join(dir, '2'), { recursive: true });
      await m.pollNow();
      await m.pollNow();
      expect(calls).toBe(2);
      expect(m.status('r')).toEqual([
        { version: 2, state: 'END', error: { code: 'UNAVAILABLE', message: 'disk on fire' } },
        { version: 1, state: 'AVAILABLE', error: null },
      ]);
      expect(m.resolve({ name: 'r' }).version).toBe(1);
      await m.pollNow(); // not retried while the directory is unchanged
      expect(calls).toBe(2);
    } finally {
      await m.close();
    }
  });
});

describe('labels', () => {
  it('only AVAILABLE versions can be labelled; moves are atomic; the allow flag admits new labels only', async () => {
    const dir = basePath([1, 2]);
    const strict = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    const lax = new ModelManager({ fileSystemPollWaitSeconds: 0, allowVersionLabelsForUnavailableModels: true });
    try {
      for (const m of [strict, lax]) {
        await m.applyConfig([{ name: 'l', basePath: dir, versionPolicy: { kind: 'all' }, versionLabels: { stable: 1, canary: 2 } }]);
        expect(m.resolve({ name: 'l', label: 'stable' }).version).toBe(1);
        m.setLabels('l', { stable: 2, canary: 2 });
        expect(m.resolve({ name: 'l', label: 'stable' }).version).toBe(2);
      }
      expect(() => strict.setLabels('l', { stable: 2, canary: 2, next: 9 })).toThrow(
        /cannot assign version label 'next' to version 9, which is not currently available for inference/,
      );
      expect(strict.labels('l')).toEqual({ stable: 2, canary: 2 }); // unchanged
      lax.setLabels('l', { stable: 2, canary: 2, next: 9 });
      expect(lax.labels('l')).toEqual({ stable: 2, canary: 2, next: 9 });
      expect(() => lax.resolve({ name: 'l', label: 'next' })).toThrow('Servable not found for request: Specific(l, 9)');
      expect(() => lax.setLabels('l', { stable: 7 })).toThrow(/only a new label may point at an unavailable version/);
      // a config reload with a bad label reports it and keeps the old labels
      await expect(strict.applyConfig([{ name: 'l', basePath: dir, versionPolicy: { kind: 'all' }, versionLabels: { stable: 8 } }])).rejects.toThrow(
        /model config not fully applied: .*version label 'stable' to version 8/,
      );
      expect(strict.labels('l')).toEqual({ stable: 2, canary: 2 });
    } finally {
      await strict.close();
      await lax.close();
    }
  });
});

describe('config reload', () => {
  it('adds, changes and removes models; an invalid config changes nothing', async () => {
    const a = basePath([1, 2]);
    const b = basePath([4]);
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await m.applyConfig([{ name: 'a', basePath: a }]);
      expect(versionsOf(m, 'a')).toEqual([[2, 'AVAILABLE']]);
      await m.reloadConfig({
        model_config_list: {
          config: [
            { name: 'a', base_path: a, model_version_policy: { all: {} } },
            { name: 'b', base_path: b },
          ],
        },
      });
      expect(versionsOf(m, 'a')).toEqual([
        [2, 'AVAILABLE'],
        [1, 'AVAILABLE'],
      ]);
      expect(m.resolve({ name: 'b' }).version).toBe(4);
      await expect(m.reloadConfig({ model_config_list: { config: [{ name: 'a' }] } })).rejects.toThrow(/base_path must be a non-empty string/);
      expect(m.modelNames().sort()).toEqual(['a', 'b']);
      const b4 = m.model('b')!.versions.get(4)!;
      await m.reloadConfig({ model_config_list: { config: [{ name: 'a', base_path: a, model_version_policy: { all: {} } }] } });
      expect(m.modelNames()).toEqual(['a']);
      expect(b4.state).toBe('END');
      expect(() => m.resolve({ name: 'b' })).toThrow('Servable not found for request: Latest(b)');
    } finally {
      await m.close();
    }
  });
});

describe('traffic split and shadowing', () => {
  it('splits unversioned requests by weight (90/10 within tolerance); versioned requests are untouched', async () => {
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await m.applyConfig([{ name: 's', basePath: basePath([1, 2]), versionPolicy: { kind: 'all' }, trafficSplit: { 1: 90, 2: 10 } }]);
      const n = 20_000;
      let two = 0;
      for (let i = 0; i < n; i++) if (m.resolve({ name: 's' }).version === 2) two++;
      // binomial sd = sqrt(n·0.1·0.9) ≈ 42: ±5 sd
      expect(Math.abs(two - n * 0.1)).toBeLessThan(5 * Math.sqrt(n * 0.09));
      expect(m.resolve({ name: 's', version: 2 }).version).toBe(2);
    } finally {
      await m.close();
    }
  });

  it('inputs a front end gives back after its answer stay intact for the shadow, which mirrors them later', async () => {
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await m.applyConfig([
        { name: 'shr', basePath: basePath([1, 2]), versionPolicy: { kind: 'all' }, trafficSplit: { 1: 1 }, shadow: { version: 2, percent: 100 } },
      ]);
      const metrics = m.model('shr')!.shadowMetrics;
      const values = Array.from({ length: 1000 }, (_, i) => i); // 4 KB: a block of its own
      for (let k = 1; k <= 5; k++) {
        const s = m.resolve({ name: 'shr' });
        const inputs = { x: x(values) };
        const out = await s.run(inputs, { signature: 'serving_default' });
        expect((out.y!.data as Float32Array)[999]).toBe(0.5 * 999 + 2);
        releaseRequestInputs(s, inputs); // what REST and gRPC do once the answer is written
        expect(inputs.x.data.length).toBe(1000);
        await until(() => metrics.compared === k);
        expect(metrics.compared).toBe(k);
      }
      expect(metrics.mismatches).toBe(0);
      expect(metrics.errors).toBe(0);
      // a version asked for by number is not shadowed: its inputs are freed at once
      const direct = m.resolve({ name: 'shr', version: 1 });
      const inputs = { x: x(values) };
      await direct.run(inputs, { signature: 'serving_default' });
      releaseRequestInputs(direct, inputs);
      expect(inputs.x.data.length).toBe(0);
    } finally {
      await m.close();
    }
  });

  it('mirrors a share of requests to the shadow version: caller unaffected, diff metrics recorded', async () => {
    // a runner factory (what batching plugs into) whose runs a test can replace per model
    const replaced = new Map<Model, ServableRunner['run']>();
    const runners: ServableRunnerFactory = {
      runnerFor: (model) => ({ run: (inputs, options) => (replaced.get(model) ?? ((i, o) => model.run(i, o)))(inputs, options) }),
    };
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, batching: runners });
    try {
      await m.applyConfig([
        { name: 'sh', basePath: basePath([1, 2]), versionPolicy: { kind: 'all' }, trafficSplit: { 1: 1 }, shadow: { version: 2, percent: 50 } },
      ]);
      const metrics = m.model('sh')!.shadowMetrics;
      const n = 400;
      for (let i = 0; i < n; i++) {
        const s = m.resolve({ name: 'sh' });
        expect(s.version).toBe(1);
        const out = await s.run({ x: x([1, 2]) }, { signature: 'serving_default' });
        expect(Array.from(out.y!.data as Float32Array)).toEqual([2.5, 3]);
        // requests arrive from I/O: the event loop turns between them (an inline run settles at
        // once, and mirrors start from setImmediate after the caller's answer); the next request
        // waits for this one's mirror, so a loaded machine cannot push mirrors past the in-flight
        // cap (that skip has its own test below)
        await new Promise((r) => setImmediate(r));
        for (let t = 0; metrics.inFlight > 0 && t < 2000; t++) await sleep(1);
      }
      await sleep(100);
      // half the requests are picked, and each pick is mirrored
      const picked = metrics.mirrored + metrics.skipped;
      expect(picked / n).toBeGreaterThan(0.4);
      expect(picked / n).toBeLessThan(0.6);
      expect(metrics.skipped).toBe(0);
      expect(metrics.compared).toBe(metrics.mirrored);
      expect(metrics.mismatches).toBe(0);
      expect(metrics.maxAbsDiff).toBe(0);

      // a candidate whose outputs differ by 0.5 → mismatch rate 1, max abs diff 0.5
      const v2 = m.model('sh')!.versions.get(2)!;
      const model2 = v2.model;
      replaced.set(model2, async (inputs, options) => {
        const out = await model2.run(inputs, options);
        const y = out.y!.data as Float32Array;
        for (let i = 0; i < y.length; i++) y[i]! += 0.5;
        return out;
      });
      for (let i = 0; i < 200; i++) {
        const out = await m.resolve({ name: 'sh' }).run({ x: x([3]) }, { signature: 'serving_default' });
        expect(Array.from(out.y!.data as Float32Array)).toEqual([3.5]);
        await new Promise((r) => setImmediate(r));
      }
      await sleep(100);
      expect(metrics.mismatches).toBeGreaterThan(0);
      expect(metrics.maxAbsDiff).toBeCloseTo(0.5, 6);

      // exposed over REST (jetserve: GET /v2/models/{m}/shadow) and on the Prometheus page
      const serving = new ServingMetrics();
      serving.attachManager(m);
      const http = new HttpServer(m, { log: () => {}, metrics: serving });
      const port = await http.listen(0, '127.0.0.1');
      try {
        const page = await (await fetch(`http://127.0.0.1:${port}/monitoring/prometheus/metrics`)).text();
        const sample = (name: string) => Number(new RegExp(`^${name}\\{model_name="sh"\\} (\\S+)$`, 'm').exec(page)?.[1]);
        expect(sample(':jetserve:shadow:mirrored_requests')).toBe(metrics.mirrored);
        expect(sample(':jetserve:shadow:compared_requests')).toBe(metrics.compared);
        expect(sample(':jetserve:shadow:mismatched_requests')).toBe(metrics.mismatches);
        expect(sample(':jetserve:shadow:errors')).toBe(0);
        expect(sample(':jetserve:shadow:mismatch_rate')).toBeCloseTo(metrics.mismatches / metrics.compared, 9);
        expect(sample(':jetserve:shadow:max_abs_diff')).toBeCloseTo(0.5, 6);

        const body = (await (await fetch(`http://127.0.0.1:${port}/v2/models/sh/shadow`)).json()) as {
          shadow: unknown;
          metrics: { mismatches: number; maxAbsDiff: number; mismatchRate: number };
        };
        expect(body.shadow).toEqual({ version: 2, percent: 50 });
        expect(body.metrics.mismatches).toBe(metrics.mismatches);
        expect(body.metrics.mismatchRate).toBeCloseTo(metrics.mismatches / metrics.compared, 9);
        expect(body.metrics.maxAbsDiff).toBeCloseTo(0.5, 6);
        expect((await fetch(`http://127.0.0.1:${port}/v2/models/nope/shadow`)).status).toBe(404);
      } finally {
        await http.close(100);
      }

      // a failing candidate is counted, never seen by the caller
      replaced.set(model2, () => Promise.reject(new JetserveError('INTERNAL', 'candidate broke')));
      for (let i = 0; i < 100; i++) await m.resolve({ name: 'sh' }).run({ x: x([3]) }, { signature: 'serving_default' });
      await sleep(50);
      expect(metrics.errors).toBeGreaterThan(0);

      // the mirror starts only after the caller's continuation ran (its response is written by then)
      const order: string[] = [];
      replaced.set(model2, (inputs, options) => {
        order.push(`shadow ${(inputs.x!.data as Float32Array)[0]}`);
        return model2.run(inputs, options);
      });
      for (let i = 0; i < 40; i++) {
        await m.resolve({ name: 'sh' }).run({ x: x([i]) }, { signature: 'serving_default' });
        order.push(`caller ${i}`);
        await sleep(0);
      }
      const mirroredRequests = order.filter((o) => o.startsWith('shadow')).map((o) => o.slice(7));
      expect(mirroredRequests.length).toBeGreaterThan(5);
      for (const i of mirroredRequests) expect(order.indexOf(`caller ${i}`)).toBeLessThan(order.indexOf(`shadow ${i}`));

      // a stuck candidate holds at most MAX_SHADOW_IN_FLIGHT mirrors; the rest are skipped, callers unaffected
      const release: (() => void)[] = [];
      replaced.set(model2, (inputs, options) => new Promise<void>((r) => release.push(r)).then(() => model2.run(inputs, options)));
      const skippedBefore = metrics.skipped;
      const mirroredBefore = metrics.mirrored;
      for (let i = 0; i < 200; i++) {
        const out = await m.resolve({ name: 'sh' }).run({ x: x([3]) }, { signature: 'serving_default' });
        expect(Array.from(out.y!.data as Float32Array)).toEqual([3.5]);
        await new Promise((r) => setImmediate(r));
      }
      await sleep(20);
      expect(metrics.inFlight).toBe(MAX_SHADOW_IN_FLIGHT);
      expect(metrics.mirrored - mirroredBefore).toBe(MAX_SHADOW_IN_FLIGHT);
      expect(metrics.skipped - skippedBefore).toBeGreaterThan(40); // ~50% of 200 picked, 16 mirrored
      for (const r of release) r();
      await sleep(50);
      expect(metrics.inFlight).toBe(0);
    } finally {
      await m.close();
    }
  });
});

describe('warmup (assets.extra/tf_serving_warmup_requests)', () => {
  let python: string;
  beforeAll(async () => {
    python = await ensureVenv();
  }, 600_000);

  it('replays a PredictionLog TFRecord written by Python before AVAILABLE; a malformed one fails the load', async () => {
    const dir = basePath([1, 2]);
    const warmupDir = join(dir, '2', 'assets.extra');
    mkdirSync(warmupDir, { recursive: true });
    const script = `
import sys, tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
with tf.io.TFRecordWriter(sys.argv[1]) as w:
    for i in range(3):
        req = predict_pb2.PredictRequest()
        req.model_spec.name = 'w'
        req.model_spec.signature_name = 'serving_default'
        req.inputs['x'].CopyFrom(tf.make_tensor_proto([1.0 * i, 2.0], dtype=tf.float32))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=req))
        w.write(log.SerializeToString())
`;
    const r = spawnSync(python, ['-c', script, join(warmupDir, 'tf_serving_warmup_requests')], {
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    expect(r.status, r.stderr).toBe(0);

    const runs: string[] = [];
    const loader: ModelLoader = async (d, o) => {
      const model = await loadSavedModel(d, o);
      const run = model.run.bind(model);
      model.run = (inputs, options) => {
        runs.push(`${d.slice(-1)}:${Array.from((inputs.x!.data as Float32Array)).join(',')}`);
        return run(inputs, options);
      };
      return model;
    };
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader, warmup: { iterations: 2 } });
    try {
      await m.applyConfig([{ name: 'w', basePath: dir, versionPolicy: { kind: 'all' } }]);
      expect(runs).toEqual(['2:0,2', '2:0,2', '2:1,2', '2:1,2', '2:2,2', '2:2,2']);
    } finally {
      await m.close();
    }

    const bad = basePath([3]);
    mkdirSync(join(bad, '3', 'assets.extra'));
    writeFileSync(join(bad, '3', 'assets.extra', 'tf_serving_warmup_requests'), Buffer.from('definitely not a tfrecord file'));
    const m2 = new ModelManager({ fileSystemPollWaitSeconds: 0, warmup: {} });
    try {
      await expect(m2.addModel({ name: 'bad', basePath: bad })).rejects.toThrow(/failed to load: .*tf_serving_warmup_requests: corrupted record 0/);
      expect(m2.status('bad')[0]!.error?.code).toBe('DATA_LOSS');
    } finally {
      await m2.close();
    }
  }, 120_000);
  it('replays classify, regress and multi_inference logs; a wrong method or a session_run log fails the load', async () => {
    const script = `
import sys, tensorflow as tf
from tensorflow_serving.apis import classification_pb2, regression_pb2, inference_pb2, prediction_log_pb2 as pl
def examples(inp, xs):
    for x in xs:
        ex = inp.example_list.examples.add()
        ex.features.feature['x'].float_list.value.append(x)
def classify(sig):
    req = classification_pb2.ClassificationRequest()
    req.model_spec.name = 'w'; req.model_spec.signature_name = sig
    examples(req.input, [1.0, 2.0])
    return pl.PredictionLog(classify_log=pl.ClassifyLog(request=req))
def regress(sig):
    req = regression_pb2.RegressionRequest()
    req.model_spec.name = 'w'; req.model_spec.signature_name = sig
    examples(req.input, [3.0])
    return pl.PredictionLog(regress_log=pl.RegressLog(request=req))
def multi():
    req = inference_pb2.MultiInferenceRequest()
    for sig, method in (('classify_x_to_y', 'tensorflow/serving/classify'), ('regress_x_to_y2', 'tensorflow/serving/regress')):
        t = req.tasks.add(); t.model_spec.name = 'w'; t.model_spec.signature_name = sig; t.method_name = method
    examples(req.input, [4.0, 5.0, 6.0])
    return pl.PredictionLog(multi_inference_log=pl.MultiInferenceLog(request=req))
def session_run():
    return pl.PredictionLog(session_run_log=pl.SessionRunLog())
kinds = {'classify': lambda: classify('classify_x_to_y'), 'regress': lambda: regress('regress_x_to_y'),
         'multi': multi, 'wrong': lambda: classify('regress_x_to_y'), 'session_run': session_run}
for path, spec in zip(sys.argv[1::2], sys.argv[2::2]):
    with tf.io.TFRecordWriter(path) as w:
        for kind in spec.split(','):
            w.write(kinds[kind]().SerializeToString())
`;
    // one base path per warmup file (version 1 of each); Python writes them all in one run
    const files: [string, string][] = [
      ['classify,regress,multi', basePath([1])],
      ['classify,wrong', basePath([1])],
      ['session_run', basePath([1])],
    ];
    const args = files.flatMap(([kinds, dir]) => {
      mkdirSync(join(dir, '1', 'assets.extra'), { recursive: true });
      return [join(dir, '1', 'assets.extra', 'tf_serving_warmup_requests'), kinds];
    });
    const r = spawnSync(python, ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    expect(r.status, r.stderr).toBe(0);
    const runs: string[] = [];
    const loader: ModelLoader = async (d, o) => {
      const model = await loadSavedModel(d, o);
      const run = model.run.bind(model);
      model.run = async (inputs, options) => {
        const out = await run(inputs, options);
        const n = (Object.values(inputs)[0]!.shape[0] ?? 1);
        runs.push(`${options?.signature}:${n}:${Object.keys(out).sort().join('+')}`);
        return out;
      };
      return model;
    };

    const good = files[0]![1];
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader, warmup: {} });
    try {
      await m.addModel({ name: 'w', basePath: good });
      expect(m.status('w')[0]!.state).toBe('AVAILABLE');
      // half_plus_two: classify_x_to_y answers scores, regress_x_to_y(2) answer outputs
      expect(runs).toEqual([
        'classify_x_to_y:2:scores',
        'regress_x_to_y:1:outputs',
        'classify_x_to_y:3:scores',
        'regress_x_to_y2:3:outputs',
      ]);
    } finally {
      await m.close();
    }

    const cases: [string, string, RegExp, boolean][] = [
      // classifying with a regress signature: its outputs are checked (TF Serving's default) …
      [files[1]![1], 'INVALID_ARGUMENT', /warmup record 1 \(classify_log\) of .* failed: Expected classification signature outputs to contain at least one of "classes" or "scores"/, false],
      // … and its method_name first with --enable_signature_method_name_check
      [files[1]![1], 'INVALID_ARGUMENT', /warmup record 1 \(classify_log\) of .* failed: Expected classification signature method_name to be tensorflow\/serving\/classify/, true],
      [files[2]![1], 'UNIMPLEMENTED', /warmup record 0 \(session_run_log\) .* Unsupported log_type for warmup: session_run_log/, false],
    ];
    for (const [dir, code, message, signatureMethodNameCheck] of cases) {
      const m2 = new ModelManager({ fileSystemPollWaitSeconds: 0, warmup: {}, signatureMethodNameCheck });
      try {
        await expect(m2.addModel({ name: 'w', basePath: dir })).rejects.toThrow(message);
        expect(m2.status('w')[0]!.state).toBe('END');
        expect(m2.status('w')[0]!.error?.code).toBe(code);
      } finally {
        await m2.close();
      }
    }
  }, 120_000);
});

describe('REST status and the repository API', () => {
  it('reports a failed version with its error; index / unload / load in Triton shapes; disabled → 404', async () => {
    const dir = basePath([1]);
    mkdirSync(join(dir, '2'));
    writeFileSync(join(dir, '2', 'saved_model.pb'), 'garbage');
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    await m.applyConfig([{ name: 'rp', basePath: dir }]);
    const on = new HttpServer(m, { log: () => {}, repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) });
    const off = new HttpServer(m, { log: () => {} });
    const url = `http://127.0.0.1:${await on.listen(0, '127.0.0.1')}`;
    const offUrl = `http://127.0.0.1:${await off.listen(0, '127.0.0.1')}`;
    try {
      const status = (await (await fetch(`${url}/v1/models/rp`)).json()) as { model_version_status: { version: string; state: string; status: { error_code: string } }[] };
      expect(status.model_version_status.map((s) => [s.version, s.state, s.status.error_code === 'OK'])).toEqual([
        ['2', 'END', false],
        ['1', 'AVAILABLE', true],
      ]);
      const post = (path: string, body?: unknown) =>
        fetch(`${url}${path}`, { method: 'POST', ...(body ? { body: JSON.stringify(body) } : {}) });
      expect(await (await post('/v2/repository/index')).json()).toEqual([{ name: 'rp', version: '1', state: 'READY', reason: '' }]);
      expect((await post('/v2/repository/models/rp/unload')).status).toBe(200);
      expect(m.status('rp').find((s) => s.version === 1)!.state).toBe('END');
      expect((await fetch(`${url}/v2/models/rp/ready`)).status).toBe(400);
      expect(await (await post('/v2/repository/index')).json()).toEqual([{ name: 'rp', state: 'UNAVAILABLE', reason: 'unloaded' }]);
      expect(await (await post('/v2/repository/index', { ready: true })).json()).toEqual([]);
      expect((await post('/v2/repository/models/rp/load')).status).toBe(200);
      expect((await fetch(`${url}/v2/models/rp/ready`)).status).toBe(200);
      // malformed bodies: 400 naming what is wrong
      const notObject = await post('/v2/repository/index', [1, 2]);
      expect(notObject.status).toBe(400);
      expect(((await notObject.json()) as { error: string }).error).toBe('the request body of /v2/repository/index must be a JSON object');
      const badParams = await post('/v2/repository/models/rp/load', { parameters: 5 });
      expect(badParams.status).toBe(400);
      expect(((await badParams.json()) as { error: string }).error).toBe(
        "'parameters' in the request body of /v2/repository/models/rp/load must be a JSON object",
      );
      // Triton's configuration / file overrides would load something other than the directory
      const override = await post('/v2/repository/models/rp/load', { parameters: { config: '{"backend": "onnxruntime"}' } });
      expect(override.status).toBe(400);
      expect(((await override.json()) as { error: string }).error).toBe(
        "failed to load 'rp': load parameter 'config' (a configuration or file override) is not supported by jetserve",
      );
      const unknown = await post('/v2/repository/models/nope/load');
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: string }).error).toMatch(/nope/);
      // KServe server metadata lists the extension only where it is served
      const extensions = async (u: string) => ((await (await fetch(`${u}/v2`)).json()) as { extensions: string[] }).extensions;
      expect(await extensions(url)).toContain('model_repository');
      expect(await extensions(offUrl)).not.toContain('model_repository');
      const disabled = await fetch(`${offUrl}/v2/repository/index`, { method: 'POST' });
      expect(disabled.status).toBe(404);
    } finally {
      await on.close(100);
      await off.close(100);
      await m.close();
    }
  });
});
