// Chooses, per model, whether TF's grappler remapper runs on its graph. The remapper fuses ops
// (MatMul + BiasAdd + Relu, Conv2D + BiasAdd + Relu, …) into one oneDNN kernel: a large win for
// convolutions, a loss for small dense graphs, where each oneDNN call's fixed setup costs more than
// the arithmetic it fuses. Measured with raw TF_SessionRun (bench/raw-c, intra 1, inline):
//   tiny MLP (4→8→3)       batch 1: 8.0 µs fused vs 4.3 µs unfused; batch 64: 11.7 vs 8.9; 1024: 26.4 vs 14.9
//   small CNN (28×28 conv) batch 1: 22.2 vs 20.8;                   batch 8: 62.8 vs 79.7; 64: 338 vs 483
// No rule on the graph's shape predicts the winner, so 'auto' measures: a model whose signature is
// small enough to run inline is loaded a second time without the remapper, both sessions run the
// default signature on zero inputs (through predict(), bursts of ≤ 200 µs between event-loop
// turns), alternating, at batch 1 and 16, and unfused is kept only when
// it wins at batch 1 and holds at 16 (the CNN above loses there).
// Only graphs whose reachable ops change no state run on made-up inputs (graph-ops.ts); anything
// else, and every model slower than the inline threshold, keeps TF's default without a second load.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NumericDType } from './dtypes.js';
import { reachableOps, readOpRegistry, stateChangingOps, type OpRegistry } from './graph-ops.js';
import { native } from './native.js';
import type { RemapperToggle } from './session-config.js';
import type { SignatureInfo } from './signature.js';
import { allocTensor, type Tensor } from './tensor.js';

/** 'auto' (default): measured per model as above; 'on' / 'off': as given, nothing measured. */
export type RemapperMode = 'auto' | RemapperToggle;

export const REMAPPER_MODES: readonly RemapperMode[] = ['auto', 'on', 'off'];

export interface GraphRewrites {
  /** Whether grappler's remapper (op fusion into oneDNN kernels) ran on this session's graph. */
  remapper: RemapperToggle;
  /** 'option': the caller chose; 'measurement': both were timed; 'default': TF's, unmeasured. */
  chosenBy: 'option' | 'measurement' | 'default';
  /** What was measured (µs per run, medians), or why nothing was. */
  reason: string;
  /** The race behind a 'measurement' choice: median µs per run at each batch size. */
  measured?: RaceResult[];
}

export interface RaceResult {
  batch: number;
  fused: number;
  unfused: number;
}

/** The choice the measurements make: unfused only if it wins at batch 1 and holds at the larger batch. */
export function unfusedWins(results: readonly RaceResult[]): boolean {
  const [first, ...rest] = results;
  return first !== undefined && first.unfused < MIN_GAIN * first.fused && rest.every((r) => r.unfused <= NOISE * r.fused);
}

/** What chooseRemapper needs of a loaded model (Model implements it). */
export interface MeasurableModel {
  signatureKeys(): string[];
  signature(name?: string): SignatureInfo;
  graphDef(): Uint8Array;
  predict(inputs: Record<string, Tensor>, options: { signature: string }): Promise<unknown>;
  /** Forgets the measured run costs (the race's runs are not the caller's). */
  resetCostStats(): void;
  dispose(): Promise<void>;
}

/**
 * Unfused is kept when it beats fused by this factor at batch 1 and is not slower by more than
 * NOISE at batch 16 (a process's first model measures with ±10 % noise: V8 is still compiling).
 */
const MIN_GAIN = 0.9;
const NOISE = 1.1;
/**
 * Models whose batch-1 run takes longer are not measured: per-op setup no longer dominates there
 * (the CNN above already prefers fusion at 22 µs), and the race would hold the loader longer.
 */
export const MEASURE_BELOW_MICROS = 500;
/**
 * The race holds two sessions at once: a model whose files (variables, graph) exceed this is not
 * loaded twice, however fast it runs (an embedding table is cheap to run and large to hold).
 */
export const MEASURE_BELOW_BYTES = 16 * 1024 * 1024;
const ROUNDS = 7;
const WARMUP_BURSTS = 5;
/**
 * A burst's runs go through predict(), placed by the policy: runs below the inline threshold run
 * on the JS thread and continue in microtasks, so a burst is sized to hold the thread no longer
 * than the default threshold (200 µs) before it yields; heavier runs go to the executor.
 */
const BURST_MICROS = 200;
const MEASURED_BATCHES = [1, 16] as const;

let registry: OpRegistry | undefined;

function opRegistry(): OpRegistry {
  registry ??= readOpRegistry(native().opList());
  return registry;
}

/** The signature the remapper is measured on: serving_default, else the first predict-able one. */
function measuredSignature(model: MeasurableModel): string | undefined {
  const keys = model.signatureKeys().filter((key) => !key.startsWith('__'));
  return keys.includes('serving_default') ? 'serving_default' : keys[0];
}

/** Zero inputs of `batch` rows, or why the signature cannot be run on made-up inputs. */
function zeroInputs(sig: SignatureInfo, batch: number): Record<string, Tensor> | string {
  const inputs: Record<string, Tensor> = {};
  for (const [key, spec] of Object.entries(sig.inputs)) {
    if (spec.dtype === undefined || spec.dtype === 'string') return `input '${key}' is not numeric`;
    if (spec.shape === null) return `input '${key}' has unknown rank`;
    const shape = spec.shape.map((dim, i) => (dim >= 0 ? dim : i === 0 ? batch : 1));
    inputs[key] = allocTensor(spec.dtype as NumericDType, shape);
  }
  return inputs;
}

/** µs per run of `runs` predict() calls in a row, then a turn of the event loop. */
async function burst(model: MeasurableModel, inputs: Record<string, Tensor>, signature: string, runs: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await model.predict(inputs, { signature });
  const micros = Number(process.hrtime.bigint() - start) / 1000 / runs;
  await nextTurn();
  return micros;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Why `model` (loaded with TF's default rewrites) should not be measured against an unfused
 * second load, or undefined when it should. Runs its signature a few times (off the JS thread
 * for the first ones: the placement policy measures before it inlines).
 */
async function reasonNotToMeasure(model: MeasurableModel, signature: string): Promise<string | undefined> {
  const sig = model.signature(signature);
  const endpoints = [...Object.values(sig.inputs), ...Object.values(sig.outputs)].map((spec) => spec.name);
  const changing = stateChangingOps(reachableOps(model.graphDef(), endpoints), opRegistry());
  if (changing.length > 0) return `signature '${signature}' reaches ops that change state or are unknown (${changing.slice(0, 5).join(', ')})`;
  const inputs = zeroInputs(sig, 1);
  if (typeof inputs === 'string') return inputs;
  let micros = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = process.hrtime.bigint();
    await model.predict(inputs, { signature });
    micros = Math.min(micros, Number(process.hrtime.bigint() - start) / 1000);
  }
  return micros > MEASURE_BELOW_MICROS ? `a batch-1 run takes ${micros.toFixed(0)} µs, above ${MEASURE_BELOW_MICROS} µs` : undefined;
}

/** Median µs per run at each measured batch size, alternating the two models round by round. */
async function race(fused: MeasurableModel, unfused: MeasurableModel, signature: string): Promise<RaceResult[]> {
  const results: RaceResult[] = [];
  // A signature whose first dimension is fixed (or absent) runs at that size only.
  const sig = fused.signature(signature);
  const freeBatch = Object.values(sig.inputs).every((spec) => spec.shape !== null && spec.shape.length > 0 && spec.shape[0]! < 0);
  for (const batch of freeBatch ? MEASURED_BATCHES : MEASURED_BATCHES.slice(0, 1)) {
    const inputs = zeroInputs(sig, batch) as Record<string, Tensor>;
    // Warm both (first runs pay oneDNN's primitive creation and V8's unoptimized code; the
    // placement policy measures a bucket's first runs on the executor), sizing the bursts as the
    // runs get warm.
    let runs = 1;
    for (let i = 0; i < WARMUP_BURSTS; i++) {
      const probe = Math.max(await burst(fused, inputs, signature, runs), await burst(unfused, inputs, signature, runs));
      runs = Math.max(1, Math.min(100, Math.floor(BURST_MICROS / probe)));
    }
    const times = { fused: [] as number[], unfused: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      times.fused.push(await burst(fused, inputs, signature, runs));
      times.unfused.push(await burst(unfused, inputs, signature, runs));
    }
    results.push({ batch, fused: median(times.fused), unfused: median(times.unfused) });
  }
  return results;
}

/**
 * Loads the model with the remapper `mode` asks for; in 'auto', measures as the file comment says.
 * `load(toggle)` loads one session. A failed measurement keeps TF's default.
 */
export async function loadWithRemapper<M extends MeasurableModel>(
  mode: RemapperMode,
  /** The model's size on disk (bytes), for MEASURE_BELOW_BYTES. */
  diskBytes: number,
  load: (remapper: RemapperToggle) => Promise<M>,
): Promise<{ model: M; rewrites: GraphRewrites }> {
  if (mode !== 'auto') {
    return { model: await load(mode), rewrites: { remapper: mode, chosenBy: 'option', reason: `remapper: '${mode}' was given` } };
  }
  const fused = await load('on');
  const keepFused = (reason: string) => {
    fused.resetCostStats();
    return { model: fused, rewrites: { remapper: 'on' as const, chosenBy: 'default' as const, reason } };
  };
  const signature = measuredSignature(fused);
  if (signature === undefined) return keepFused('no signature to measure');
  if (diskBytes > MEASURE_BELOW_BYTES) {
    return keepFused(`its files take ${(diskBytes / 2 ** 20).toFixed(1)} MiB, above the ${MEASURE_BELOW_BYTES / 2 ** 20} MiB a second load for measuring may take`);
  }
  let unfused: M | undefined;
  try {
    const skip = await reasonNotToMeasure(fused, signature);
    if (skip !== undefined) return keepFused(skip);
    unfused = await load('off');
    const results = await race(fused, unfused, signature);
    const text = results.map((r) => `batch ${r.batch}: ${r.fused.toFixed(1)} µs fused, ${r.unfused.toFixed(1)} µs unfused`).join('; ');
    const off = unfusedWins(results);
    const [kept, dropped] = off ? [unfused, fused] : [fused, unfused];
    unfused = undefined;
    await dropped.dispose();
    kept.resetCostStats();
    return {
      model: kept,
      rewrites: { remapper: off ? 'off' : 'on', chosenBy: 'measurement', reason: `signature '${signature}', ${text}`, measured: results },
    };
  } catch (err) {
    await unfused?.dispose();
    return keepFused(`measuring failed (${(err as Error).message})`);
  }
}
