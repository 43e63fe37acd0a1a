// The model manager over real SavedModels on disk: which version directory is served, TF Serving's
// error texts for unknown models / versions / labels, per-version states (a failed load is END
// with its error), and unloading that drains in-flight requests before freeing the session.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocTensor, type Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { ModelManager } from '../../src/models/manager.js';
import type { ServableRunnerFactory } from '../../src/models/servable.js';
import { listVersionDirs } from '../../src/models/source.js';
import { fixturesDir } from '../helpers/oracle.js';

const SOURCE = join(fixturesDir(), 'half_plus_two', '1');
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'jetserve-manager-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A base path with complete copies of half_plus_two at `complete`, empty dirs at `incomplete`. */
function basePath(name: string, complete: string[], incomplete: string[] = []): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const v of complete) cpSync(SOURCE, join(dir, v), { recursive: true });
  for (const v of incomplete) mkdirSync(join(dir, v), { recursive: true });
  return dir;
}

function x(values: number[]): Tensor {
  const t = allocTensor('float32', [values.length]);
  (t.data as Float32Array).set(values);
  return t;
}

async function rejection(p: Promise<unknown>): Promise<JetserveError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JetserveError);
  return err as JetserveError;
}

describe('version directories', () => {
  it('lists integer directories highest first, marking the ones holding saved_model.pb', () => {
    const dir = basePath('listing', ['1', '7', 'abc'], ['9']);
    writeFileSync(join(dir, '12'), 'a file, not a version');
    expect(listVersionDirs(dir).map((d) => [d.version, d.complete])).toEqual([
      [9, false],
      [7, true],
      [1, true],
    ]);
  });

  it('serves the highest complete version and reports it AVAILABLE', async () => {
    const dir = basePath('highest', ['1', '7'], ['9']);
    const m = await ModelManager.create([{ name: 'hpt', basePath: dir }]);
    try {
      expect(m.resolve({ name: 'hpt' }).version).toBe(7);
      expect(m.status('hpt')).toEqual([{ version: 7, state: 'AVAILABLE', error: null }]);
      expect(m.ready()).toBe(true);
      const out = await m.resolve({ name: 'hpt', version: 7 }).run({ x: x([1, 2, 5]) }, { signature: 'serving_default' });
      expect(Array.from(out.y!.data as Float32Array)).toEqual([2.5, 3, 4.5]);
    } finally {
      await m.close();
    }
  });

  it.each([
    ['a missing base path', () => join(root, 'absent'), /base path .*absent does not exist/],
    ['only incomplete versions', () => basePath('incomplete', [], ['3', '4']), /no complete version under .* \(version directories 4, 3 hold no saved_model\.pb\)/],
    ['a SavedModel without a version directory', () => {
      const dir = join(root, 'flat');
      cpSync(SOURCE, dir, { recursive: true });
      return dir;
    }, /itself is a SavedModel .* move it into a numbered sub-directory/],
  ])('%s fails start-up with a message naming the problem', async (_what, dir, message) => {
    const err = await rejection(ModelManager.create([{ name: 'hpt', basePath: dir() }]));
    expect(err.message).toMatch(/^1 model\(s\) did not become available: /);
    expect(err.message).toMatch(message);
  });

  it('a corrupt version fails to load: state END with the load error, and start-up fails', async () => {
    const dir = basePath('corrupt', ['2']);
    writeFileSync(join(dir, '2', 'saved_model.pb'), 'not a protobuf');
    const m = new ModelManager();
    const err = await rejection(m.addModel({ name: 'bad', basePath: dir }));
    expect(err.message).toMatch(/^model bad version 2 \(.*\) failed to load: /);
    const [status] = m.status('bad');
    expect(status!.state).toBe('END');
    expect(status!.error?.code).not.toBe('OK');
    expect(status!.error?.message.length).toBeGreaterThan(0);
    expect(m.ready()).toBe(false);
    expect(() => m.resolve({ name: 'bad' })).toThrow('Servable not found for request: Latest(bad)');
    await m.close();
    await expect(ModelManager.create([{ name: 'bad', basePath: dir }])).rejects.toThrow(/did not become available/);
  });
});

describe('resolving requests (TF Serving texts)', () => {
  let m: ModelManager;
  beforeAll(async () => {
    m = await ModelManager.create([
      { name: 'hpt', basePath: basePath('labels', ['3']), versionLabels: { stable: 3, old: 1 } },
    ]);
  });
  afterAll(() => m.close());

  it('latest, by version, by label', () => {
    expect(m.resolve({ name: 'hpt' }).version).toBe(3);
    expect(m.resolve({ name: 'hpt', version: 3 }).version).toBe(3);
    expect(m.resolve({ name: 'hpt', label: 'stable' }).version).toBe(3);
    expect(m.labels('hpt')).toEqual({ stable: 3, old: 1 });
    expect(m.modelNames()).toEqual(['hpt']);
  });

  it.each([
    [{ name: 'nope' }, 'NOT_FOUND', 'Servable not found for request: Latest(nope)'],
    [{ name: 'nope', version: 2 }, 'NOT_FOUND', 'Servable not found for request: Specific(nope, 2)'],
    [{ name: 'hpt', version: 2 }, 'NOT_FOUND', 'Servable not found for request: Specific(hpt, 2)'],
    [{ name: 'hpt', label: 'canary' }, 'INVALID_ARGUMENT', 'Unrecognized servable version label: canary'],
    [{ name: 'hpt', label: 'old' }, 'NOT_FOUND', 'Servable not found for request: Specific(hpt, 1)'],
  ])('%j → %s %s', (spec, code, message) => {
    let err: unknown;
    try {
      m.resolve(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JetserveError);
    expect((err as JetserveError).code).toBe(code);
    expect((err as JetserveError).message).toBe(message);
  });

  it('status of unknown models and versions', () => {
    expect(() => m.status('nope')).toThrow('Could not find any versions of model nope');
    expect(() => m.status('hpt', 9)).toThrow('Could not find version 9 of model hpt');
    expect(m.status('hpt', 3)).toEqual([{ version: 3, state: 'AVAILABLE', error: null }]);
  });
});

describe('unloading', () => {
  it('drains requests in flight (UNLOADING), then frees the session (END); later runs are refused', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // a runner factory (what batching plugs into) whose runs wait at the gate
    const gated: ServableRunnerFactory = {
      runnerFor: (model) => ({
        async run(inputs, options) {
          await gate;
          return model.run(inputs, options);
        },
      }),
    };
    const m = await ModelManager.create([{ name: 'hpt', basePath: basePath('drain', ['1']) }], { batching: gated });
    const v = m.model('hpt')!.versions.get(1)!;
    const model = v.model;
    const running = v.run({ x: x([4]) }, { signature: 'serving_default' });
    expect(v.inFlight).toBe(1);
    const closing = m.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(v.state).toBe('UNLOADING');
    expect(m.ready()).toBe(false);
    release();
    const out = await running;
    expect(Array.from(out.y!.data as Float32Array)).toEqual([4]);
    await closing;
    expect(v.state).toBe('END');
    expect(model.disposed).toBe(true);
    const err = await rejection(v.run({ x: x([1]) }, { signature: 'serving_default' }));
    expect(err.code).toBe('UNAVAILABLE');
  });

  it('a run past its deadline rejects DEADLINE_EXCEEDED and still counts as in flight until it ends', async () => {
    // the run ends when the test says so, so a busy machine cannot end it before the deadline fires
    let finish!: () => void;
    const ended = new Promise<void>((r) => (finish = r));
    const slow: ServableRunnerFactory = {
      runnerFor: (model) => ({
        async run(inputs, options) {
          await ended;
          return model.run(inputs, options);
        },
      }),
    };
    const m = await ModelManager.create([{ name: 'hpt', basePath: basePath('deadline', ['1']) }], { batching: slow });
    const v = m.model('hpt')!.versions.get(1)!;
    const err = await rejection(v.run({ x: x([1]) }, { signature: 'serving_default', deadline: Date.now() + 50 }));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(v.inFlight).toBe(1);
    finish();
    for (let i = 0; i < 500 && v.inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(v.inFlight).toBe(0);
    await m.close();
  });

  it('runWith (callback) answers like run(): outputs, errors, the deadline, in-flight and statistics', async () => {
    let finish!: () => void;
    const ended = new Promise<void>((r) => (finish = r));
    let hold = false;
    const calls: string[] = [];
    const runner: ServableRunnerFactory = {
      runnerFor: (model) => ({
        run: (inputs, options) => model.run(inputs, options),
        runWith(inputs, options, done) {
          calls.push('runWith');
          const run = hold ? ended.then(() => model.run(inputs, options)) : model.run(inputs, options);
          run.then(
            (outputs) => done(undefined, outputs),
            (err: unknown) => done(err, undefined),
          );
        },
      }),
    };
    const m = await ModelManager.create([{ name: 'hpt', basePath: basePath('callback', ['1']) }], { batching: runner });
    const v = m.model('hpt')!.versions.get(1)!;
    const call = (inputs: Record<string, Tensor>, deadline?: number) =>
      new Promise<{ err: unknown; outputs: Record<string, Tensor> | undefined }>((resolve) =>
        v.runWith(inputs, { signature: 'serving_default', ...(deadline !== undefined ? { deadline } : {}) }, (err, outputs) =>
          resolve({ err, outputs }),
        ),
      );
    const ok = await call({ x: x([1, 2]) });
    expect([...(ok.outputs!.y!.data as Float32Array)]).toEqual([2.5, 3]);
    const bad = await call({ nope: x([1]) });
    expect(bad.outputs).toBeUndefined();
    expect((bad.err as JetserveError).code).toBe('INVALID_ARGUMENT');
    expect(calls).toEqual(['runWith', 'runWith']);
    const stats = v.statistics();
    expect([stats.inference_stats.success.count, stats.inference_stats.fail.count, stats.inference_count]).toEqual([1, 1, 2]);

    hold = true;
    let answers = 0;
    const late = await new Promise<unknown>((resolve) =>
      v.runWith({ x: x([1]) }, { signature: 'serving_default', deadline: Date.now() + 50 }, (err) => {
        answers++;
        resolve(err);
      }),
    );
    expect((late as JetserveError).code).toBe('DEADLINE_EXCEEDED');
    expect(v.inFlight).toBe(1);
    finish();
    for (let i = 0; i < 500 && v.inFlight !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(v.inFlight).toBe(0);
    expect(answers).toBe(1); // the run's own end after its deadline answers nobody
    expect(v.statistics().inference_stats.success.count).toBe(2);
    await m.close();
  });
});
