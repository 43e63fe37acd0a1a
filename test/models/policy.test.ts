// The availability-preserving policy (src/models/policy.ts) as the pure decision it is: what to
// load, unload and forget for a model's aspired versions and version states. Load before unload: a
// version no longer aspired stays until an aspired one is AVAILABLE, unless the model is unloaded
// on purpose or nothing on disk can replace it.

import { describe, expect, it } from 'vitest';
import { decide, type PolicyInput } from '../../src/models/policy.js';
import type { VersionState } from '../../src/models/servable.js';

function input(
  aspired: number[],
  states: Record<number, VersionState>,
  extra: Partial<Pick<PolicyInput, 'disabled' | 'waiting'>> & { onDisk?: number[] } = {},
): PolicyInput {
  const versions = Object.entries(states).map(([v, state]) => ({ version: Number(v), state }));
  return {
    aspired,
    versions,
    onDisk: new Set(extra.onDisk ?? [...aspired, ...versions.map((v) => v.version)]),
    disabled: extra.disabled ?? false,
    waiting: extra.waiting ?? false,
  };
}

describe('decide()', () => {
  it('loads every aspired version not held, or held only by a harness that is ending', () => {
    expect(decide(input([5, 4, 3, 2, 1], { 4: 'END', 3: 'UNLOADING', 2: 'AVAILABLE', 1: 'LOADING' })).load).toEqual([5, 4, 3]);
    expect(decide(input([1], { 1: 'START' })).load).toEqual([]);
  });

  it('load before unload: the version serving stays until an aspired one is AVAILABLE', () => {
    // version 2 appeared and loads; version 1 is no longer aspired but is the one serving
    expect(decide(input([2], { 1: 'AVAILABLE' }))).toEqual({ load: [2], unload: [], forget: [] });
    expect(decide(input([2], { 2: 'LOADING', 1: 'AVAILABLE' }))).toEqual({ load: [], unload: [], forget: [] });
    // version 2 failed: still no gap, version 1 keeps serving
    expect(decide(input([2], { 2: 'END', 1: 'AVAILABLE' })).unload).toEqual([]);
    // version 2 serves: version 1 goes
    expect(decide(input([2], { 2: 'AVAILABLE', 1: 'AVAILABLE' }))).toEqual({ load: [], unload: [1], forget: [] });
  });

  it('nothing aspired: unload only when nothing on disk can still replace the serving versions', () => {
    // a directory still being written, or one that failed at its current files: keep serving
    expect(decide(input([], { 1: 'AVAILABLE' }, { waiting: true })).unload).toEqual([]);
    // every version directory is gone: the model serves nothing (as TF Serving)
    expect(decide(input([], { 2: 'AVAILABLE', 1: 'AVAILABLE' }, { onDisk: [] })).unload).toEqual([1, 2]);
  });

  it('a model unloaded on purpose (repository API) unloads everything not aspired, even while waiting', () => {
    expect(decide(input([], { 2: 'AVAILABLE', 1: 'AVAILABLE' }, { disabled: true, waiting: true })).unload).toEqual([1, 2]);
  });

  it('forgets END versions whose directory is gone, unless aspired; never touches LOADING or UNLOADING ones', () => {
    const d = decide(input([3], { 3: 'AVAILABLE', 2: 'END', 1: 'END', 4: 'LOADING', 5: 'UNLOADING' }, { onDisk: [3, 1] }));
    expect(d).toEqual({ load: [], unload: [], forget: [2] });
    expect(decide(input([2], { 2: 'END' }, { onDisk: [] })).forget).toEqual([]);
  });

  it('is pure: the same input gives the same decision and is not changed', () => {
    const frozen = Object.freeze(input([3, 2], { 3: 'AVAILABLE', 2: 'END', 1: 'AVAILABLE', 0: 'END' }, { onDisk: [3, 2, 1] }));
    const snapshot = JSON.stringify({ ...frozen, onDisk: [...frozen.onDisk] });
    const first = decide(frozen);
    expect(decide(frozen)).toEqual(first);
    expect(first).toEqual({ load: [2], unload: [1], forget: [0] });
    expect(JSON.stringify({ ...frozen, onDisk: [...frozen.onDisk] })).toBe(snapshot);
  });
});
