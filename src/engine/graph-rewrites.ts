// Chooses, per model, how TF builds its session: whether grappler's remapper runs on the graph
// and which executor runs it. Both matter most where per-op overhead dominates: small graphs.
// The remapper fuses ops (MatMul + BiasAdd + Relu, Conv2D + BiasAdd + Relu, …) into one oneDNN
// kernel: a large win for convolutions, a loss for small dense graphs, where each oneDNN call's
// fixed setup costs more than the arithmetic it fuses. TF's single-threaded executor runs the
// kernels in one precomputed order on the calling thread without the default executor's ready
// queue and atomic counts, but refuses control flow, reference edges, collectives and partitioned
// graphs (graph-ops.ts says which graphs it can run). Measured with raw TF_SessionRun
// (bench/raw-c, intra 1, inline; µs per run pinned to one core, medians of 5 runs (MLP), 3 (CNN)):
//   tiny MLP (4→8→3)       batch 1: fused 8.6, unfused 4.9, fused single-threaded 7.9, unfused single-threaded 3.7
//   small CNN (28×28 conv) batch 1: fused 24.7, unfused 24.4, fused single-threaded 22.1, unfused single-threaded 26.9
//                          batch 8: fused 57.1, unfused 72.5, fused single-threaded 57.9, unfused single-threaded 70.2
// (earlier, remapper only: MLP batch 64 11.7 fused vs 8.9 unfused; CNN batch 64 338 vs 483.)
// No rule on the graph's shape predicts the winner, so 'auto' measures: a model whose signature is
// small enough to run inline is loaded again in each challenging variant, all sessions run the
// default signature on zero inputs (through predict(), bursts of ≤ 200 µs between event-loop
// turns), alternating, at batch 1 and 16, and a challenger replaces TF's default only when it
// wins at batch 1 and holds at 16 (the CNN's unfused variants lose there).
// Only graphs whose reachable ops change no state run on made-up inputs (graph-ops.ts); anything
// else, and every model slower than the inline threshold, keeps its first variant unmeasured.

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { NumericDType } from './dtypes.js';
import { reachableOps, readOpRegistry, singleThreadedBlockers, stateChangingOps, type OpRegistry } from './graph-ops.js';
import { native } from './native.js';
import type { ExecutorKind, RemapperToggle, SessionVariant } from './session-config.js';
import type { SignatureInfo } from './signature.js';
import { allocTensor, type Tensor } from './tensor.js';
import { invalidArgument } from '../errors.js';

/** 'auto' (default): measured per model as above; 'on' / 'off': as given. */
export type RemapperMode = 'auto' | RemapperToggle;

export const REMAPPER_MODES: readonly RemapperMode[] = ['auto', 'on', 'off'];

/** 'auto' (default): measured per model as above where the executor can run the graph; else as given. */
export type ExecutorMode = 'auto' | ExecutorKind;

export const EXECUTOR_MODES: readonly ExecutorMode[] = ['auto', 'default', 'single-threaded'];

export interface GraphRewrites extends SessionVariant {
  /** 'option': the caller chose both; 'measurement': variants were timed; 'default': nothing was measured. */
  chosenBy: 'option' | 'measurement' | 'default';
  /** What was measured (µs per run, medians), or why nothing was. */
  reason: string;
  /** The race behind a 'measurement' choice: median µs per run at each batch size, by variant label. */
  measured?: RaceResult[];
}

export interface RaceResult {
  batch: number;
  /** µs per run, keyed by variantLabel(). */
  micros: Record<string, number>;
}

/** "fused", "unfused", "fused single-threaded", "unfused single-threaded". */
export function variantLabel(variant: SessionVariant): string {
  return `${variant.remapper === 'on' ? 'fused' : 'unfused'}${variant.executor === 'single-threaded' ? ' single-threaded' : ''}`;
}

/**
 * The label the measurements choose: a challenger replaces `baseline` only if it beats it by
 * MIN_GAIN at batch 1 and is not slower by more than NOISE at every larger batch; of several
 * such, the fastest at batch 1.
 */
export function chooseVariant(baseline: string, results: readonly RaceResult[]): string {
  const [first, ...rest] = results;
  if (first === undefined) return baseline;
  let best = baseline;
  for (const [label, micros] of Object.entries(first.micros)) {
    if (label === baseline || !(micros < MIN_GAIN * first.micros[baseline]!)) continue;
    if (!rest.every((r) => r.micros[label]! <= NOISE * r.micros[baseline]!)) continue;
    if (best === baseline || micros < first.micros[best]!) best = label;
  }
  return best;
}

/** What loadWithRewrites needs of a loaded model (Model implements it). */
export interface MeasurableModel {
  signatureKeys(): string[];
  signature(name?: string): SignatureInfo;
  graphDef(): Uint8Array;
  /** "CPU", "GPU", … for each device the session places ops on. */
  deviceTypes(): string[];
  predict(inputs: Record<string, Tensor>, options: { signature: string }): Promise<unknown>;
  /** The native cost model's measurements: `lastMicros` is TF_SessionRun's time of the latest run. */
  stats(): { runs: ReadonlyArray<{ signature: string; batchSizes: [number, number]; lastMicros: number }> };
  /** Forgets the measured run costs (the race's runs are not the caller's). */
  resetCostStats(): void;
  dispose(): Promise<void>;
}

/**
 * A challenger is kept when it beats the baseline by this factor at batch 1 and is not slower by
 * more than NOISE at batch 16 (a process's first model measures with ±10 % noise: V8 is still
 * compiling).
 */
const MIN_GAIN = 0.9;
const NOISE = 1.1;
/**
 * Models whose batch-1 run takes longer are not measured: per-op setup no longer dominates there
 * (the CNN above already prefers fusion at 22 µs), and the race would hold the loader longer.
 */
export const MEASURE_BELOW_MICROS = 500;
/**
 * The race holds up to three sessions at once: a model whose files (variables, graph) exceed this
 * is not loaded again, however fast it runs (an embedding table is cheap to run and large to hold).
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
 * Why `model` (the baseline variant) should not be measured against other variants, or undefined
 * when it should. Runs its signature a few times and judges TF's own time for a run (the native
 * cost model's TF_SessionRun time), not the call's round trip: on a busy machine the hop to the
 * executor thread alone can take milliseconds, which says nothing about the model. The first run
 * builds TF's executor for the feed/fetch set and is left out.
 */
async function reasonNotToMeasure(model: MeasurableModel, graphDef: Uint8Array, signature: string): Promise<string | undefined> {
  const sig = model.signature(signature);
  const changing = stateChangingOps(reachableOps(graphDef, endpointsOf(sig)), opRegistry());
  if (changing.length > 0) return `signature '${signature}' reaches ops that change state or are unknown (${changing.slice(0, 5).join(', ')})`;
  const inputs = zeroInputs(sig, 1);
  if (typeof inputs === 'string') return inputs;
  let micros = Infinity;
  for (let i = 0; i < 4; i++) {
    await model.predict(inputs, { signature });
    if (i === 0) continue;
    const cost = model.stats().runs.find((r) => r.signature === signature && r.batchSizes[0] <= 1 && r.batchSizes[1] >= 1);
    if (cost !== undefined) micros = Math.min(micros, cost.lastMicros);
  }
  if (!Number.isFinite(micros)) return `signature '${signature}' reported no run cost`;
  return micros > MEASURE_BELOW_MICROS ? `a batch-1 run takes ${micros.toFixed(0)} µs, above ${MEASURE_BELOW_MICROS} µs` : undefined;
}

function endpointsOf(sig: SignatureInfo): string[] {
  return [...Object.values(sig.inputs), ...Object.values(sig.outputs)].map((spec) => spec.name);
}

/**
 * Why the single-threaded executor cannot run `model`'s session, or undefined when it can: every
 * signature's reachable ops are checked, since the executor serves the whole session.
 */
function singleThreadedProblem(model: MeasurableModel, graphDef: Uint8Array): string | undefined {
  const accelerators = model.deviceTypes().filter((type) => type !== 'CPU');
  if (accelerators.length > 0) return `the session has ${[...new Set(accelerators)].join(', ')} devices`;
  const endpoints = model.signatureKeys().flatMap((key) => endpointsOf(model.signature(key)));
  const blockers = singleThreadedBlockers(reachableOps(graphDef, endpoints), opRegistry());
  return blockers.length > 0 ? `the graph reaches ${blockers.slice(0, 5).join(', ')}` : undefined;
}

interface Contestant<M> {
  label: string;
  model: M;
}

/**
 * Median µs per run of each contestant at each measured batch size, alternating round by round.
 * A challenger whose warm-up runs fail (its variant cannot run the graph after all) is removed
 * from `contestants`, disposed and named in `dropped`; the baseline's failure ends the measurement.
 */
async function race<M extends MeasurableModel>(contestants: Contestant<M>[], signature: string): Promise<{ results: RaceResult[]; dropped: string[] }> {
  const results: RaceResult[] = [];
  const dropped: string[] = [];
  const baseline = contestants[0]!;
  // A signature whose first dimension is fixed (or absent) runs at that size only.
  const sig = baseline.model.signature(signature);
  const freeBatch = Object.values(sig.inputs).every((spec) => spec.shape !== null && spec.shape.length > 0 && spec.shape[0]! < 0);
  for (const batch of freeBatch ? MEASURED_BATCHES : MEASURED_BATCHES.slice(0, 1)) {
    const inputs = zeroInputs(sig, batch) as Record<string, Tensor>;
    // Warm each (first runs pay oneDNN's primitive creation and V8's unoptimized code; the
    // placement policy measures a bucket's first runs on the executor), sizing the bursts as the
    // runs get warm.
    let runs = 1;
    for (let i = 0; i < WARMUP_BURSTS; i++) {
      let probe = 0;
      for (const c of [...contestants]) {
        try {
          probe = Math.max(probe, await burst(c.model, inputs, signature, runs));
        } catch (err) {
          if (c === baseline) throw err;
          contestants.splice(contestants.indexOf(c), 1);
          dropped.push(`${c.label}: ${(err as Error).message.split('\n')[0]}`);
          await c.model.dispose();
        }
      }
      runs = Math.max(1, Math.min(100, Math.floor(BURST_MICROS / probe)));
    }
    const times = new Map<string, number[]>(contestants.map((c) => [c.label, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of contestants) times.get(c.label)!.push(await burst(c.model, inputs, signature, runs));
    }
    results.push({ batch, micros: Object.fromEntries([...times].map(([label, t]) => [label, median(t)])) });
  }
  return { results, dropped };
}

/** The variants raced against `baseline`: each mode's candidates, crossed; never more than two. */
function challengers(baseline: SessionVariant, remapper: RemapperMode, executor: ExecutorMode, singleThreadedOk: boolean): SessionVariant[] {
  const remappers: RemapperToggle[] = remapper === 'auto' ? ['on', 'off'] : [remapper];
  const executors: ExecutorKind[] = executor === 'auto' && singleThreadedOk ? ['default', 'single-threaded'] : [baseline.executor];
  const all = remappers.flatMap((r) => executors.map((e) => ({ remapper: r, executor: e })));
  const others = all.filter((v) => v.remapper !== baseline.remapper || v.executor !== baseline.executor);
  // Of four variants, unfused on the default executor is left out: the single-threaded executor
  // ran unfused graphs faster than the default one on the MLP (4.9 → 3.7 µs), where unfused wins.
  return others.length > 2 ? others.filter((v) => !(v.remapper === 'off' && v.executor === 'default')) : others;
}

export interface RewriteModes {
  remapper: RemapperMode;
  executor: ExecutorMode;
}

/**
 * Loads the model in the variant the modes ask for; where a mode is 'auto', measures as the file
 * comment says. `load(variant)` loads one session. A failed measurement keeps the baseline (TF's
 * default where the modes leave it open).
 */
export async function loadWithRewrites<M extends MeasurableModel>(
  modes: RewriteModes,
  /** The model's size on disk (bytes), for MEASURE_BELOW_BYTES. */
  diskBytes: number,
  load: (variant: SessionVariant) => Promise<M>,
): Promise<{ model: M; rewrites: GraphRewrites }> {
  const baselineVariant: SessionVariant = {
    remapper: modes.remapper === 'auto' ? 'on' : modes.remapper,
    executor: modes.executor === 'auto' ? 'default' : modes.executor,
  };
  const baseline = await load(baselineVariant);
  if (baselineVariant.executor === 'single-threaded') {
    const problem = singleThreadedProblem(baseline, baseline.graphDef());
    if (problem !== undefined) {
      await baseline.dispose();
      throw invalidArgument(`executor 'single-threaded' cannot run this model: ${problem}`);
    }
  }
  const keepBaseline = (chosenBy: GraphRewrites['chosenBy'], reason: string) => {
    baseline.resetCostStats();
    return { model: baseline, rewrites: { ...baselineVariant, chosenBy, reason } };
  };
  if (modes.remapper !== 'auto' && modes.executor !== 'auto') {
    return keepBaseline('option', `remapper '${modes.remapper}' and executor '${modes.executor}' were given`);
  }
  const signature = measuredSignature(baseline);
  if (signature === undefined) return keepBaseline('default', 'no signature to measure');
  if (diskBytes > MEASURE_BELOW_BYTES) {
    return keepBaseline('default', `its files take ${(diskBytes / 2 ** 20).toFixed(1)} MiB, above the ${MEASURE_BELOW_BYTES / 2 ** 20} MiB a second load for measuring may take`);
  }
  const contestants: Contestant<M>[] = [{ label: variantLabel(baselineVariant), model: baseline }];
  const notes: string[] = [];
  try {
    // TF serializes the graph on each call: once for both checks
    const graphDef = baseline.graphDef();
    const skip = await reasonNotToMeasure(baseline, graphDef, signature);
    if (skip !== undefined) return keepBaseline('default', skip);
    const stProblem = modes.executor === 'auto' ? singleThreadedProblem(baseline, graphDef) : undefined;
    if (stProblem !== undefined) notes.push(`single-threaded executor not tried: ${stProblem}`);
    const variants = new Map<string, SessionVariant>([[contestants[0]!.label, baselineVariant]]);
    for (const variant of challengers(baselineVariant, modes.remapper, modes.executor, stProblem === undefined)) {
      const label = variantLabel(variant);
      try {
        contestants.push({ label, model: await load(variant) });
        variants.set(label, variant);
      } catch (err) {
        notes.push(`${label} failed to load: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    if (contestants.length === 1) return keepBaseline('default', notes.join('; ') || 'no other variant to measure');
    const { results, dropped } = await race(contestants, signature);
    notes.push(...dropped.map((d) => `${d} (left the race)`));
    const chosen = chooseVariant(contestants[0]!.label, results);
    const kept = contestants.find((c) => c.label === chosen)!;
    const losers = contestants.filter((c) => c !== kept);
    contestants.length = 0;
    await Promise.all(losers.map((c) => c.model.dispose()));
    kept.model.resetCostStats();
    const text = results
      .map((r) => `batch ${r.batch}: ${Object.entries(r.micros).map(([label, micros]) => `${label} ${micros.toFixed(1)} µs`).join(', ')}`)
      .join('; ');
    return {
      model: kept.model,
      rewrites: {
        ...variants.get(chosen)!,
        chosenBy: 'measurement',
        reason: [`signature '${signature}', ${text}`, ...notes].join('; '),
        measured: results,
      },
    };
  } catch (err) {
    await Promise.all(contestants.slice(1).map((c) => c.model.dispose()));
    return keepBaseline('default', `measuring failed (${(err as Error).message})`);
  }
}
