// Shadow mode (jetserve's extension, a model's `shadow { version percent }`): a share of a
// model's unversioned requests is mirrored to a candidate version after the caller's response is
// written, and the two outputs are compared into diff metrics. The mirror never delays or fails
// the caller, and a slow candidate holds at most MAX_SHADOW_IN_FLIGHT mirrors per model.

import type { Tensor } from '../engine/tensor.js';
import type { RunOptions, Servable } from './servable.js';

/** Output-difference metrics of a model's shadow version (candidate vs. the version that answered). */
export interface ShadowMetrics {
  /** Requests mirrored to the shadow version. */
  mirrored: number;
  /** Mirrored requests whose outputs were compared. */
  compared: number;
  /** Compared requests with any output differing (shape, or a value beyond 1e-6 relative). */
  mismatches: number;
  /** mismatches / compared. */
  mismatchRate: number;
  /** Largest absolute difference seen in any numeric output element. */
  maxAbsDiff: number;
  /** Mirrored runs that failed (the caller never sees these). */
  errors: number;
  /** Requests picked for mirroring but not mirrored: MAX_SHADOW_IN_FLIGHT mirrors were still running. */
  skipped: number;
  /** Gauge: mirrored runs not finished yet. */
  inFlight: number;
}

export function emptyShadowMetrics(): ShadowMetrics {
  return { mirrored: 0, compared: 0, mismatches: 0, mismatchRate: 0, maxAbsDiff: 0, errors: 0, skipped: 0, inFlight: 0 };
}

/** Relative tolerance for "same output" in shadow comparisons. */
const SHADOW_TOLERANCE = 1e-6;

/**
 * Mirrors still running per model beyond which a picked request is not mirrored: a slow or stuck
 * candidate must not pile work onto the executor the served version shares.
 */
export const MAX_SHADOW_IN_FLIGHT = 16;

/**
 * The servable that answers (`primary`) plus a mirror to `candidate`. The mirror starts from
 * setImmediate, after the primary's outputs reached the caller's continuation (which encodes and
 * writes the response in the same turn), so it never delays the caller; its result only feeds
 * `metrics`, and its errors are counted, never returned.
 */
export function shadowed(primary: Servable, candidate: Servable, metrics: ShadowMetrics): Servable {
  return {
    name: primary.name,
    version: primary.version,
    get model() {
      return primary.model;
    },
    readsInputsAfterRun: true,
    run(inputs, options) {
      const result = primary.run(inputs, options);
      result.then(
        (expected) => {
          if (metrics.inFlight >= MAX_SHADOW_IN_FLIGHT) {
            metrics.skipped++;
            return;
          }
          metrics.mirrored++;
          metrics.inFlight++;
          const shadowOptions: RunOptions = { signature: options.signature, ...(options.outputs ? { outputs: options.outputs } : {}) };
          setImmediate(() => {
            candidate.run(inputs, shadowOptions).then(
              (actual) => {
                metrics.inFlight--;
                compareOutputs(expected, actual, metrics);
              },
              () => {
                metrics.inFlight--;
                metrics.errors++;
              },
            );
          });
        },
        () => {},
      );
      return result;
    },
    rejected() {
      primary.rejected?.();
    },
    adaptiveState() {
      return primary.adaptiveState?.() ?? {};
    },
  };
}

function compareOutputs(expected: Record<string, Tensor>, actual: Record<string, Tensor>, metrics: ShadowMetrics): void {
  let mismatch = false;
  for (const [key, e] of Object.entries(expected)) {
    const a = actual[key];
    if (!a || a.dtype !== e.dtype || a.shape.join(',') !== e.shape.join(',')) {
      mismatch = true;
      continue;
    }
    const ed = e.data as ArrayLike<number | bigint | string | Uint8Array>;
    const ad = a.data as ArrayLike<number | bigint | string | Uint8Array>;
    if (ed.length !== ad.length) {
      mismatch = true;
      continue;
    }
    for (let i = 0; i < ed.length; i++) {
      const x = ed[i];
      const y = ad[i];
      if (typeof x === 'number' && typeof y === 'number') {
        const d = Math.abs(x - y);
        if (d > metrics.maxAbsDiff) metrics.maxAbsDiff = d;
        if (d > SHADOW_TOLERANCE * Math.max(1, Math.abs(x))) mismatch = true;
      } else if (typeof x === 'bigint' && typeof y === 'bigint') {
        const d = Number(x > y ? x - y : y - x);
        if (d > metrics.maxAbsDiff) metrics.maxAbsDiff = d;
        if (d !== 0) mismatch = true;
      } else if (x instanceof Uint8Array && y instanceof Uint8Array) {
        if (Buffer.compare(x, y) !== 0) mismatch = true;
      } else if (x !== y) {
        mismatch = true;
      }
    }
  }
  metrics.compared++;
  if (mismatch) metrics.mismatches++;
  metrics.mismatchRate = metrics.mismatches / metrics.compared;
}
