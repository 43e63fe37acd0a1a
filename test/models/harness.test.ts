// The version harness's state machine (src/models/harness.ts) on a real SavedModel: the legal
// transitions are exactly the table, every other transition throws IllegalTransitionError and
// leaves the state as it was — tried from each of the five states — and the operations move
// through the table: a load ends AVAILABLE or END (after its retries), unload() of a START or
// LOADING version cancels it (END with CANCELLED, never AVAILABLE, the session freed before
// unload() resolves), unload() of an AVAILABLE version drains its requests first.

import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { engineInfo } from '../../src/engine/info.js';
import { loadSavedModel, type Model } from '../../src/engine/model.js';
import { allocTensor, type Tensor } from '../../src/engine/tensor.js';
import { JetserveError } from '../../src/errors.js';
import { IllegalTransitionError, ServableVersion, TRANSITIONS, type LoadSettings, type ModelLoader } from '../../src/models/harness.js';
import type { VersionState } from '../../src/models/servable.js';
import { fixturesDir } from '../helpers/oracle.js';

const DIR = join(fixturesDir(), 'half_plus_two', '1');
const STATES: VersionState[] = ['START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END'];

function settings(overrides: Partial<LoadSettings> = {}): LoadSettings {
  return { loader: loadSavedModel, options: {}, runners: undefined, warmup: false, signatureMethodNameCheck: false, maxRetries: 0, retryMs: 0, log: () => {}, ...overrides };
}

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

function x(value: number): Tensor {
  const t = allocTensor('float32', [1]);
  (t.data as Float32Array)[0] = value;
  return t;
}

/** A harness that records every state it enters. */
function harness(): { sv: ServableVersion; entered: VersionState[] } {
  const entered: VersionState[] = [];
  const sv = new ServableVersion('hpt', 1, DIR, (v) => entered.push(v.state));
  return { sv, entered };
}

/** Cleanups for harnesses a test leaves mid-way (a gate to open, a version to unload). */
const pending: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const done of pending.splice(0)) await done();
});

/** A real harness in `state` (the gates that hold LOADING / UNLOADING open are released after the test). */
async function harnessIn(state: VersionState): Promise<ServableVersion> {
  const { sv } = harness();
  if (state === 'START') {
    pending.push(() => sv.unload());
    return sv;
  }
  if (state === 'LOADING') {
    const g = gate();
    const loading = sv.load(settings({ loader: async (d, o) => (await g.wait, loadSavedModel(d, o)) }));
    pending.push(async () => {
      g.open();
      await loading;
      await sv.unload();
    });
    return sv;
  }
  const g = gate();
  // a runner whose runs wait at the gate: a run in flight holds an unloading version in UNLOADING
  const runners = { runnerFor: (model: Model) => ({ run: async (i: Record<string, Tensor>, o: { signature: string }) => (await g.wait, model.run(i, o)) }) };
  expect(await sv.load(settings({ runners }))).toBe('available');
  pending.push(async () => {
    g.open();
    await sv.unload();
  });
  if (state === 'AVAILABLE') return sv;
  const running = sv.run({ x: x(1) }, { signature: 'serving_default' });
  const unloading = sv.unload();
  expect(sv.state).toBe('UNLOADING');
  pending.push(async () => {
    await running;
    await unloading;
  });
  if (state === 'UNLOADING') return sv;
  g.open();
  await running;
  await unloading;
  return sv;
}

describe('the transition table', () => {
  it('lists the legal transitions: START → LOADING | END, LOADING → AVAILABLE | END, AVAILABLE → UNLOADING, UNLOADING → END', () => {
    expect(TRANSITIONS).toEqual({
      START: ['LOADING', 'END'],
      LOADING: ['AVAILABLE', 'END'],
      AVAILABLE: ['UNLOADING'],
      UNLOADING: ['END'],
      END: [],
    });
  });

  const illegal = STATES.flatMap((from) => STATES.filter((to) => !TRANSITIONS[from].includes(to)).map((to) => [from, to] as const));

  it('has 19 illegal transitions (every one is tried below)', () => {
    expect(illegal).toHaveLength(19);
  });

  it.each(illegal)('%s → %s throws IllegalTransitionError and leaves the state unchanged', async (from, to) => {
    const sv = await harnessIn(from);
    expect(sv.state).toBe(from);
    let err: unknown;
    try {
      sv.transition(to);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IllegalTransitionError);
    expect(err).toBeInstanceOf(JetserveError);
    expect((err as JetserveError).code).toBe('INTERNAL');
    expect((err as Error).message).toContain(`model hpt version 1: illegal state transition ${from} → ${to}`);
    expect(sv.state).toBe(from);
  });
});

describe('operations move through the table', () => {
  it('load(): START → LOADING → AVAILABLE; serves; unload() drains a run in flight, then END with the session freed', async () => {
    const baseline = engineInfo().stats.liveSessions;
    const { sv, entered } = harness();
    expect(await sv.load(settings())).toBe('available');
    expect(engineInfo().stats.liveSessions).toBe(baseline + 1);
    const out = await sv.run({ x: x(4) }, { signature: 'serving_default' });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([4]);
    // load() is legal from START only
    expect(() => sv.load(settings())).toThrow(IllegalTransitionError);
    await sv.unload();
    expect(entered).toEqual(['LOADING', 'AVAILABLE', 'UNLOADING', 'END']);
    expect(sv.status()).toEqual({ version: 1, state: 'END', error: null });
    expect(engineInfo().stats.liveSessions).toBe(baseline);
  });

  it('unload() while LOADING cancels: the load ends END (CANCELLED), never AVAILABLE, its session freed before unload() resolves', async () => {
    const baseline = engineInfo().stats.liveSessions;
    const { sv, entered } = harness();
    const g = gate();
    let loaded: Model | undefined;
    const loader: ModelLoader = async (d, o) => {
      await g.wait;
      loaded = await loadSavedModel(d, o);
      return loaded;
    };
    const loading = sv.load(settings({ loader }));
    const unloading = sv.unload('testing');
    setTimeout(g.open, 50);
    await unloading;
    expect(loaded?.disposed).toBe(true);
    expect(engineInfo().stats.liveSessions).toBe(baseline);
    expect(await loading).toBe('cancelled');
    expect(entered).toEqual(['LOADING', 'END']);
    expect(sv.error).toEqual({ code: 'CANCELLED', message: 'model hpt version 1: load cancelled: testing' });
    await expect(sv.run({ x: x(1) }, { signature: 'serving_default' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // END is final
    expect(() => sv.load(settings())).toThrow(/illegal state transition END → LOADING/);
  });

  it('unload() while START: END (CANCELLED) without loading', async () => {
    const { sv, entered } = harness();
    let calls = 0;
    await sv.unload();
    expect(entered).toEqual(['END']);
    expect(sv.error?.code).toBe('CANCELLED');
    expect(() =>
      sv.load(
        settings({
          loader: async (d, o) => {
            calls++;
            return loadSavedModel(d, o);
          },
        }),
      ),
    ).toThrow(IllegalTransitionError);
    expect(calls).toBe(0);
  });

  it('a failed load retries, then ends END with the last error; unload() during a retry wait ends it at once', async () => {
    let attempts = 0;
    const failing: ModelLoader = async () => {
      attempts++;
      throw new JetserveError('UNAVAILABLE', `attempt ${attempts} failed`);
    };
    const logged: string[] = [];
    const first = harness();
    expect(await first.sv.load(settings({ loader: failing, maxRetries: 2, log: (m) => logged.push(m) }))).toBe('failed');
    expect(attempts).toBe(3);
    expect(first.entered).toEqual(['LOADING', 'END']);
    expect(first.sv.error).toEqual({ code: 'UNAVAILABLE', message: 'attempt 3 failed' });
    expect(logged).toHaveLength(2);

    attempts = 0;
    const second = harness();
    const loading = second.sv.load(settings({ loader: failing, maxRetries: 5, retryMs: 60_000 }));
    while (attempts === 0) await new Promise((r) => setTimeout(r, 5));
    await second.sv.unload();
    expect(await loading).toBe('cancelled');
    expect(attempts).toBe(1);
    expect(second.entered).toEqual(['LOADING', 'END']);
    expect(second.sv.error?.code).toBe('CANCELLED');
  });
});
