// The availability-preserving policy (TF Serving's AvailabilityPreservingPolicy), as one pure
// decision: given the versions the source aspires to and the state of every version the manager
// holds, what to load, what to unload and what to forget. The manager acts on the decision; nothing
// here touches a version.
//
// Load before unload: every aspired version without a live harness is loaded; a version that is no
// longer aspired is unloaded only once an aspired version is AVAILABLE (a swap never leaves a gap),
// or when the model is unloaded on purpose, or when nothing on disk can replace it any more (no
// aspired version, no directory still being written, none that failed at its current files — so a
// broken newest version never retires the one serving).

import type { VersionState } from './servable.js';

export interface PolicyInput {
  /** Versions the source aspires to. */
  aspired: readonly number[];
  /** Every version the manager holds, with its state. */
  versions: readonly { readonly version: number; readonly state: VersionState }[];
  /** Versions that have a directory on disk (complete or not). */
  onDisk: ReadonlySet<number>;
  /** The model was unloaded on purpose (repository API): everything not aspired goes. */
  disabled: boolean;
  /** Something on disk may still become aspired: a directory still changing, or one that failed at its current files. */
  waiting: boolean;
}

export interface PolicyDecision {
  /** Aspired versions to load: not held, or held only by a harness that is ending (UNLOADING / END). */
  load: number[];
  /** AVAILABLE versions to unload. */
  unload: number[];
  /** END versions that are not aspired and whose directory is gone: dropped from the status. */
  forget: number[];
}

/** The policy's decision for one model. Pure: the same input always gives the same decision. */
export function decide(input: PolicyInput): PolicyDecision {
  const stateOf = new Map(input.versions.map((v) => [v.version, v.state]));
  const aspired = new Set(input.aspired);
  const load = input.aspired.filter((v) => {
    const state = stateOf.get(v);
    return state === undefined || state === 'END' || state === 'UNLOADING';
  });
  const anyAspiredAvailable = input.aspired.some((v) => stateOf.get(v) === 'AVAILABLE');
  const retire = input.disabled || anyAspiredAvailable || (input.aspired.length === 0 && !input.waiting);
  const unload: number[] = [];
  const forget: number[] = [];
  for (const { version, state } of input.versions) {
    if (aspired.has(version)) continue;
    if (state === 'AVAILABLE' && retire) unload.push(version);
    else if (state === 'END' && !input.onDisk.has(version)) forget.push(version);
  }
  return { load, unload, forget };
}
