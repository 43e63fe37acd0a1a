// The per-model session variant (src/engine/graph-rewrites.ts): the ops a signature reaches, the
// guard that keeps state-changing graphs from being run on made-up inputs, which graphs TF's
// single-threaded executor can run (checked against TF itself), the options, the decision rule,
// and outputs equal to TF's whichever way the session was built.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadSavedModel, type Model } from '../../src/index.js';
import { Model as ModelClass } from '../../src/engine/model.js';
import { native } from '../../src/engine/native.js';
import { reachableOps, readOpRegistry, singleThreadedBlockers, stateChangingOps } from '../../src/engine/graph-ops.js';
import { chooseVariant, loadWithRewrites, MEASURE_BELOW_MICROS, variantLabel } from '../../src/engine/graph-rewrites.js';
import { encodeConfigProto, type SessionVariant } from '../../src/engine/session-config.js';
import { expectOutputsClose, fixturesDir, loadOracle } from '../helpers/oracle.js';

const loaded: Model[] = [];
async function load(name: string, options: Parameters<typeof loadSavedModel>[1] = {}): Promise<Model> {
  const model = await loadSavedModel(join(fixturesDir(), name, '1'), options);
  loaded.push(model);
  return model;
}

afterAll(async () => {
  await Promise.all(loaded.map((m) => m.dispose()));
});

function signatureEndpoints(model: Model, signature = 'serving_default'): string[] {
  const sig = model.signature(signature);
  return [...Object.values(sig.inputs), ...Object.values(sig.outputs)].map((spec) => spec.name);
}

describe('the ops a signature reaches', () => {
  it('follows the signature into its function and leaves the graph’s save/restore ops out', async () => {
    const model = await load('mlp', { remapper: 'on' });
    const graphDef = model.graphDef();
    const everything = reachableOps(graphDef, ['saver_filename', 'StatefulPartitionedCall_1', 'StatefulPartitionedCall_2']);
    const ops = reachableOps(graphDef, signatureEndpoints(model));
    // the whole graph does hold a restore path that assigns variables …
    expect(everything).toContain('AssignVariableOp');
    // … which serving_default does not reach; its function's body is read
    expect([...ops].sort()).toEqual(expect.arrayContaining(['MatMul', 'Relu', 'ReadVariableOp', 'AddV2']));
    expect(ops).not.toContain('AssignVariableOp');
    expect(ops).not.toContain('RestoreV2');
    expect(stateChangingOps(ops, readOpRegistry(native().opList()))).toEqual([]);
  });

  it('names what changes state: a counter’s AssignAddVariableOp; a While is judged by its body', async () => {
    const registry = readOpRegistry(native().opList());
    const counter = await load('counter', { remapper: 'on' });
    expect(stateChangingOps(reachableOps(counter.graphDef(), signatureEndpoints(counter)), registry)).toEqual(['AssignAddVariableOp']);
    const busy = await load('busy', { remapper: 'on' });
    const busyOps = reachableOps(busy.graphDef(), signatureEndpoints(busy));
    expect(busyOps).toContain('While');
    expect(busyOps).toContain('Tanh'); // the loop body
    expect(stateChangingOps(busyOps, registry)).toEqual([]);
  });

  it('counts an op TF does not register as unsafe', () => {
    const registry = readOpRegistry(native().opList());
    expect(registry.registered.has('MatMul')).toBe(true);
    expect(registry.stateful.has('AssignVariableOp')).toBe(true);
    expect(stateChangingOps(new Set(['MatMul', 'MyCustomOp']), registry)).toEqual(['MyCustomOp']);
  });
});

describe("loadSavedModel's remapper option", () => {
  it("'auto' never runs a state-changing signature at load: the counter's first call sees 1", async () => {
    const counter = await load('counter');
    expect(counter.graphRewrites).toMatchObject({ remapper: 'on', chosenBy: 'default' });
    expect(counter.graphRewrites.reason).toContain('AssignAddVariableOp');
    const first = await counter.predict({ x: { dtype: 'float32', shape: [1, 2], data: new Float32Array([10, 20]) } });
    expect(Array.from(first.y!.data as Float32Array)).toEqual([11, 21]);
  });

  it("'auto' races a small stateless model's variants and keeps what the rule picks; the race's runs are not reported", async () => {
    const mlp = await load('mlp');
    const rewrites = mlp.graphRewrites;
    expect(rewrites.chosenBy).toBe('measurement');
    expect(rewrites.measured!.map((r) => r.batch)).toEqual([1, 16]);
    for (const r of rewrites.measured!) {
      // TF's default against both remapper settings on the single-threaded executor
      expect(Object.keys(r.micros).sort()).toEqual(['fused', 'fused single-threaded', 'unfused single-threaded']);
      for (const micros of Object.values(r.micros)) expect(micros).toBeGreaterThan(0);
    }
    expect(variantLabel(rewrites)).toBe(chooseVariant('fused', rewrites.measured!));
    expect(mlp.stats().runs).toEqual([]);
    expect(mlp.stats().graphRewrites).toEqual(rewrites);
  });

  it("'auto' judges a model small by TF's run time, not the call's round trip: a busy machine's slow hop to the executor does not skip the race", async () => {
    // every predict() of these sessions answers 2 ms late, as when the executor thread waits for a
    // core (a CI machine running other test files): the round trip exceeds MEASURE_BELOW_MICROS,
    // TF's own run of the tiny MLP does not
    const dir = join(fixturesDir(), 'mlp', '1');
    const slowCalls: number[] = [];
    const { model, rewrites } = await loadWithRewrites({ remapper: 'auto', executor: 'auto' }, 1, async (variant) => {
      const session = await native().loadSavedModel(dir, ['serve'], encodeConfigProto({}, variant));
      const m = ModelClass.fromSession(session, dir, session.signatures(), 0, false);
      const predict = m.predict.bind(m);
      m.predict = (async (...args: Parameters<typeof predict>) => {
        const started = performance.now();
        const out = await predict(...args);
        await new Promise((r) => setTimeout(r, 2));
        slowCalls.push(performance.now() - started);
        return out;
      }) as typeof m.predict;
      return m;
    });
    loaded.push(model);
    expect(Math.min(...slowCalls.slice(0, 4)) * 1000).toBeGreaterThan(MEASURE_BELOW_MICROS);
    expect(rewrites.chosenBy).toBe('measurement');
    expect(rewrites.measured!.map((r) => r.batch)).toEqual([1, 16]);
  });

  it("'auto' races only the remapper where the single-threaded executor is not offered (control flow), says why, and answers as TF", async () => {
    const cond = await load('cond_tf1');
    expect(cond.graphRewrites).toMatchObject({ executor: 'default', chosenBy: 'measurement' });
    expect(cond.graphRewrites.reason).toContain('single-threaded executor not tried: the graph reaches Merge, Switch, VariableV2');
    for (const r of cond.graphRewrites.measured!) expect(Object.keys(r.micros).sort()).toEqual(['fused', 'unfused']);
    for (const c of loadOracle('cond_tf1').cases) expectOutputsClose(await cond.predict(c.inputs), c.outputs);
    // a While, even one TF would run inside a function call, is not offered either
    const busy = await load('busy');
    expect(busy.graphRewrites.executor).toBe('default');
    expect(busy.graphRewrites.reason).toContain('single-threaded executor not tried: the graph reaches While');
  });

  it("'auto' keeps TF's default, unmeasured, for a signature it cannot feed made-up inputs", async () => {
    const strings = await load('strings');
    expect(strings.graphRewrites).toMatchObject({ remapper: 'on', chosenBy: 'default' });
    expect(strings.graphRewrites.reason).toContain("input 'text' is not numeric");
  });

  it.each([
    ['on', 'default'],
    ['off', 'default'],
    ['on', 'single-threaded'],
    ['off', 'single-threaded'],
  ] as const)("remapper '%s' with executor '%s' is used as given, and mlp's and conv's outputs equal TF's", async (remapper, executor) => {
    for (const name of ['mlp', 'conv']) {
      const model = await load(name, { remapper, executor });
      expect(model.graphRewrites).toMatchObject({ remapper, executor, chosenBy: 'option' });
      for (const c of loadOracle(name).cases) {
        expectOutputsClose(await model.predict(c.inputs, { signature: c.signature }), c.outputs);
      }
    }
  });

  it("a given remapper leaves the executor to measure (and the other way round)", async () => {
    const mlp = await load('mlp', { remapper: 'off' });
    expect(mlp.graphRewrites.remapper).toBe('off');
    for (const r of mlp.graphRewrites.measured!) expect(Object.keys(r.micros).sort()).toEqual(['unfused', 'unfused single-threaded']);
    const byDefault = await load('mlp', { executor: 'default' });
    expect(byDefault.graphRewrites.executor).toBe('default');
    for (const r of byDefault.graphRewrites.measured!) expect(Object.keys(r.micros).sort()).toEqual(['fused', 'unfused']);
  });

  it("executor 'single-threaded' is refused, naming why, for a graph it cannot run", async () => {
    const before = native().stats().liveSessions;
    await expect(load('busy', { executor: 'single-threaded' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "executor 'single-threaded' cannot run this model: the graph reaches While",
    });
    expect(native().stats().liveSessions).toBe(before);
  });

  it('refuses an unknown mode', async () => {
    await expect(load('mlp', { remapper: 'fast' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('remapper must be one of auto, on, off'),
    });
    await expect(load('mlp', { executor: 'parallel' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'executor must be one of auto, default, single-threaded (got parallel)',
    });
  });

  it("'off' is ConfigProto.graph_options.rewrite_options.remapping = OFF on the wire", () => {
    const on = encodeConfigProto({ intraOpThreads: 1, interOpThreads: -1 });
    const off = encodeConfigProto({ intraOpThreads: 1, interOpThreads: -1 }, { remapper: 'off', executor: 'default' });
    // field 10 (graph_options) { field 10 (rewrite_options) { field 14 (remapping) = 2 (OFF) } }
    expect(Buffer.from(off.subarray(on.length)).toString('hex')).toBe('520452027002');
    expect(Buffer.from(off.subarray(0, on.length))).toEqual(Buffer.from(on));
  });
});

describe('the single-threaded executor', () => {
  const ST = 'single-threaded' as const;

  it("is ConfigProto.experimental.executor_type = SINGLE_THREADED_EXECUTOR on the wire", () => {
    const base = encodeConfigProto({ intraOpThreads: 1, interOpThreads: -1 });
    const st = encodeConfigProto({ intraOpThreads: 1, interOpThreads: -1 }, { remapper: 'on', executor: ST });
    // field 16 (experimental, tag 0x82 0x01) { field 3 (executor_type) = 24 bytes }
    expect(Buffer.from(st.subarray(base.length)).toString('hex')).toBe('82011a1a18' + Buffer.from('SINGLE_THREADED_EXECUTOR').toString('hex'));
    expect(Buffer.from(st.subarray(0, base.length))).toEqual(Buffer.from(base));
  });

  /** A session in `variant` with no check of ours in between: what TF itself does. */
  async function rawModel(name: string, variant: SessionVariant): Promise<Model> {
    const dir = join(fixturesDir(), name, '1');
    const session = await native().loadSavedModel(dir, ['serve'], encodeConfigProto({ intraOpThreads: 1 }, variant));
    const model = ModelClass.fromSession(session, dir, session.signatures(), 0, false);
    loaded.push(model);
    return model;
  }

  it('is what TF runs: its kernel errors come without the default executor’s node context', async () => {
    const wrongWidth = { x: { dtype: 'float32' as const, shape: [1, 3], data: new Float32Array(3) } };
    const byDefault = await rawModel('mlp', { remapper: 'off', executor: 'default' });
    const single = await rawModel('mlp', { remapper: 'off', executor: ST });
    await expect(byDefault.predict(wrongWidth)).rejects.toThrow(/Matrix size-incompatible: In\[0\]: \[1,3\], In\[1\]: \[4,8\]\n\t \[\[\{\{node /);
    await expect(single.predict(wrongWidth)).rejects.toThrow(/^Matrix size-incompatible: In\[0\]: \[1,3\], In\[1\]: \[4,8\]$/);
  });

  it('refuses what singleThreadedBlockers names: TF itself fails the TF1 graph (v1 cond, reference variable) the check turns away', async () => {
    const registry = readOpRegistry(native().opList());
    const cond = await load('cond_tf1', { remapper: 'on', executor: 'default' });
    expect(singleThreadedBlockers(reachableOps(cond.graphDef(), signatureEndpoints(cond)), registry)).toEqual(['Merge', 'Switch', 'VariableV2']);
    // TF builds the restore graph's executor at load: the reference variable fails it there
    const before = native().stats().liveSessions;
    const config = encodeConfigProto({ intraOpThreads: 1 }, { remapper: 'on', executor: ST });
    await expect(native().loadSavedModel(join(fixturesDir(), 'cond_tf1', '1'), ['serve'], config)).rejects.toThrow(
      /^Single-threaded executor does not support reference-typed edges.*float_ref in outputs of node w$/,
    );
    expect(native().stats().liveSessions).toBe(before);
  });

  it('can run the dense, conv and multi-signature fixtures: nothing blocks them', async () => {
    const registry = readOpRegistry(native().opList());
    for (const name of ['mlp', 'conv', 'multi_sig', 'half_plus_two_tf1']) {
      const model = await load(name, { remapper: 'on', executor: 'default' });
      const endpoints = model.signatureKeys().flatMap((key) => signatureEndpoints(model, key));
      expect(singleThreadedBlockers(reachableOps(model.graphDef(), endpoints), registry), name).toEqual([]);
      expect(model.deviceTypes(), name).toEqual(['CPU']);
    }
  });

  it('blocks control flow, reference-typed outputs, collectives, send/receive and unknown ops', () => {
    const registry = readOpRegistry(native().opList());
    expect(registry.refOutputs.has('VariableV2')).toBe(true);
    expect(registry.refOutputs.has('Assign')).toBe(true);
    expect(registry.refOutputs.has('ReadVariableOp')).toBe(false);
    const ops = ['MatMul', 'StatelessIf', 'VariableV2', 'CollectiveReduceV2', '_Send', '_HostRecv', 'MyCustomOp', 'Relu'];
    expect(singleThreadedBlockers(new Set(ops), registry)).toEqual(['CollectiveReduceV2', 'MyCustomOp', 'StatelessIf', 'VariableV2', '_HostRecv', '_Send']);
  });
});

describe('the decision rule', () => {
  const race = (b1: Record<string, number>, b16?: Record<string, number>) => [{ batch: 1, micros: b1 }, ...(b16 ? [{ batch: 16, micros: b16 }] : [])];

  it('replaces the baseline only with a variant 10 % faster at batch 1 and not 10 % slower at batch 16', () => {
    expect(chooseVariant('fused', race({ fused: 8, unfused: 4.3 }, { fused: 11.7, unfused: 8.9 }))).toBe('unfused');
    expect(chooseVariant('fused', race({ fused: 8, unfused: 7.5 }, { fused: 11.7, unfused: 8.9 }))).toBe('fused');
    expect(chooseVariant('fused', race({ fused: 22, unfused: 19 }, { fused: 63, unfused: 80 }))).toBe('fused');
    expect(chooseVariant('fused', race({ fused: 8, unfused: 4.3 }))).toBe('unfused');
    expect(chooseVariant('fused', [])).toBe('fused');
  });

  it('of several that qualify, keeps the fastest at batch 1; one missing at batch 16 (it failed there) never wins', () => {
    const b1 = { fused: 8.4, 'fused single-threaded': 7.2, 'unfused single-threaded': 3.7 };
    expect(chooseVariant('fused', race(b1, { fused: 12, 'fused single-threaded': 11, 'unfused single-threaded': 9 }))).toBe('unfused single-threaded');
    expect(chooseVariant('fused', race(b1, { fused: 12, 'fused single-threaded': 11, 'unfused single-threaded': 14 }))).toBe('fused single-threaded');
    expect(chooseVariant('fused', race(b1, { fused: 12, 'fused single-threaded': 11 }))).toBe('fused single-threaded');
  });
});
