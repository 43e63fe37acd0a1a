// Loads in flight when the manager closes or a model goes away (issue 9): close() resolves only
// after every load in flight has ended and its session is freed, and no version becomes AVAILABLE
// once close() began; removing a model (config reload) or unloading it (repository API) while one
// of its versions loads cancels that load: the version ends END with CANCELLED, never AVAILABLE,
// and its session is freed before the call resolves. Loads are held at a gate (a loader that waits
// before loading the real SavedModel) so that each case happens mid-load every time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineInfo } from '../../src/engine/info.js';
import { loadSavedModel } from '../../src/engine/model.js';
import { allocTensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { ModelManager, type LifecycleEvent, type ModelLoader } from '../../src/models/manager.js';
import { fixturesDir } from '../helpers/oracle.js';

const SOURCE = join(fixturesDir(), 'half_plus_two', '1');
let root: string;
let counter = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'jetserve-load-cancel-'));
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

interface Session {
  dir: string;
  /** performance.now() when its dispose() finished (undefined: still alive). */
  freedAt: number | undefined;
}

/**
 * A real loader that holds the load of `gated` at a gate until release(); every session it makes
 * records when it was freed.
 */
function gatedLoader(gated: string) {
  let release!: () => void;
  const opened = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const reached = new Promise<void>((r) => (entered = r));
  const sessions: Session[] = [];
  let releasedAt = Infinity;
  const loader: ModelLoader = async (dir, options) => {
    if (dir === gated) {
      entered();
      await opened;
    }
    const model = await loadSavedModel(dir, options);
    const session: Session = { dir, freedAt: undefined };
    sessions.push(session);
    const dispose = model.dispose.bind(model);
    model.dispose = async () => {
      await dispose();
      session.freedAt ??= performance.now();
    };
    return model;
  };
  return {
    loader,
    sessions,
    /** Resolves once the gated load has started. */
    reached,
    release: () => {
      releasedAt = performance.now();
      release();
    },
    get releasedAt() {
      return releasedAt;
    },
  };
}

/** A manager serving version 1 of `dir`, with version 2 copied in and its load held at the gate. */
async function loadingVersion2(events: LifecycleEvent[], options: { numLoadThreads?: number } = {}) {
  const dir = basePath([1]);
  const gate = gatedLoader(join(dir, '2'));
  const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader: gate.loader, onEvent: (e) => events.push(e), ...options });
  await m.addModel({ name: 'm', basePath: dir });
  cpSync(SOURCE, join(dir, '2'), { recursive: true });
  await m.pollNow(); // first sighting of version 2: not yet trusted
  const polling = m.pollNow(); // unchanged: version 2 loads (and waits at the gate)
  await gate.reached;
  expect(m.status('m', 2)[0]!.state).toBe('LOADING');
  return { m, dir, gate, polling };
}

const states = (events: LifecycleEvent[], version: number) =>
  events.filter((e) => e.kind === 'state' && e.version === version).map((e) => e.state);

describe('close() during a load', () => {
  it('waits for the load, frees its session before resolving, and the version never becomes AVAILABLE', async () => {
    const baseline = engineInfo().stats.liveSessions;
    const events: LifecycleEvent[] = [];
    const { m, gate, polling } = await loadingVersion2(events);
    const closing = m.close();
    setTimeout(() => gate.release(), 100);
    await closing;
    const closedAt = performance.now();
    await polling;
    await sleep(100); // anything the load still did after close() resolved would show now

    expect(closedAt).toBeGreaterThanOrEqual(gate.releasedAt); // close() waited for the load
    expect(gate.sessions.map((s) => s.dir.slice(-1))).toEqual(['1', '2']);
    for (const s of gate.sessions) {
      expect(s.freedAt, `session of ${s.dir} freed`).toBeDefined();
      expect(s.freedAt!, `session of ${s.dir} freed before close() resolved`).toBeLessThanOrEqual(closedAt);
    }
    expect(engineInfo().stats.liveSessions).toBe(baseline);
    expect(states(events, 2)).toEqual(['START', 'LOADING', 'END']);
    expect(events.filter((e) => e.time > closedAt)).toEqual([]);
    const [status] = m.status('m', 2);
    expect(status!.state).toBe('END');
    expect(status!.error?.code).toBe('CANCELLED');
    expect(status!.error?.message).toMatch(/version 2: load cancelled: the server is shutting down/);
  });

  it('cuts a retry wait short (--load_retry_interval_micros 60 s) and a load waiting for a slot never starts', async () => {
    const baseline = engineInfo().stats.liveSessions;
    const dir = basePath([1, 2]);
    const other = basePath([1]);
    let attempts = 0;
    let otherLoads = 0;
    const loader: ModelLoader = async (d, o) => {
      if (d === join(dir, '2')) {
        attempts++;
        throw new JetserveError('UNAVAILABLE', 'disk not ready');
      }
      if (d.startsWith(other)) otherLoads++;
      return loadSavedModel(d, o);
    };
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0, loader, maxNumLoadRetries: 5, loadRetryIntervalMicros: 60_000_000 });
    const adding = m.applyConfig([
      { name: 'r', basePath: dir, versionPolicy: { kind: 'specific', versions: [2] } },
      { name: 'other', basePath: other },
    ]);
    const end = Date.now() + 20_000;
    while (attempts === 0 && Date.now() < end) await sleep(5);
    expect(attempts).toBe(1);
    const started = performance.now();
    await m.close();
    // the 60 s retry wait did not hold close() (the test's own timeout is far below it)
    expect(performance.now() - started).toBeLessThan(30_000);
    await adding.catch(() => {});
    expect(attempts).toBe(1);
    expect(otherLoads).toBe(0); // it waited for the one load slot and was cancelled there
    expect(m.status('r', 2)[0]).toMatchObject({ state: 'END', error: { code: 'CANCELLED' } });
    expect(m.status('other', 1)[0]).toMatchObject({ state: 'END', error: { code: 'CANCELLED' } });
    expect(engineInfo().stats.liveSessions).toBe(baseline);
  });
});

describe('removing or unloading a model while a version loads', () => {
  it('a config reload that drops the model cancels the load: END (CANCELLED), never AVAILABLE, freed before it resolves', async () => {
    const baseline = engineInfo().stats.liveSessions;
    const events: LifecycleEvent[] = [];
    const { m, gate, polling } = await loadingVersion2(events);
    try {
      const applying = m.applyConfig([]);
      setTimeout(() => gate.release(), 100);
      await applying;
      const appliedAt = performance.now();
      await polling;
      await sleep(100);
      expect(states(events, 2)).toEqual(['START', 'LOADING', 'END']);
      expect(states(events, 1)).toEqual(['START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END']);
      for (const s of gate.sessions) expect(s.freedAt!, `session of ${s.dir}`).toBeLessThanOrEqual(appliedAt);
      expect(engineInfo().stats.liveSessions).toBe(baseline);
      expect(m.modelNames()).toEqual([]);
    } finally {
      await m.close();
    }
  });

  it('a repository unload cancels the load; a repository load afterwards serves the version (a cancel is not a failure)', async () => {
    const baseline = engineInfo().stats.liveSessions;
    const events: LifecycleEvent[] = [];
    const { m, gate, polling } = await loadingVersion2(events);
    try {
      const unloading = m.repositoryUnload('m');
      setTimeout(() => gate.release(), 100);
      await unloading;
      const unloadedAt = performance.now();
      await polling;
      await sleep(100);
      expect(states(events, 2)).toEqual(['START', 'LOADING', 'END']);
      expect(m.status('m', 2)[0]).toMatchObject({ state: 'END', error: { code: 'CANCELLED' } });
      for (const s of gate.sessions) expect(s.freedAt!, `session of ${s.dir}`).toBeLessThanOrEqual(unloadedAt);
      expect(engineInfo().stats.liveSessions).toBe(baseline);
      expect(m.repositoryIndex()).toEqual([{ name: 'm', state: 'UNAVAILABLE', reason: 'unloaded' }]);

      await m.repositoryLoad('m');
      expect(m.status('m', 2)[0]).toEqual({ version: 2, state: 'AVAILABLE', error: null });
      const x = allocTensor('float32', [1]);
      (x.data as Float32Array)[0] = 4;
      const out = await m.resolve({ name: 'm' }).run({ x }, { signature: 'serving_default' });
      expect(Array.from(out.y!.data as Float32Array)).toEqual([4]);
    } finally {
      await m.close();
    }
    expect(engineInfo().stats.liveSessions).toBe(baseline);
  });
});
