// The per-model remapper choice (src/engine/graph-rewrites.ts): the ops a signature reaches, the
// guard that keeps state-changing graphs from being run on made-up inputs, the options, the
// decision rule, and outputs equal to TF's whichever way the session was built.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadSavedModel, type Model } from '../../src/index.js';
import { native } from '../../src/engine/native.js';
import { reachableOps, readOpRegistry, stateChangingOps } from '../../src/engine/graph-ops.js';
import { unfusedWins } from '../../src/engine/graph-rewrites.js';
import { encodeConfigProto } from '../../src/engine/session-config.js';
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

  it("'auto' races a small stateless model both ways and keeps what the rule picks; the race's runs are not reported", async () => {
    const mlp = await load('mlp');
    const rewrites = mlp.graphRewrites;
    expect(rewrites.chosenBy).toBe('measurement');
    expect(rewrites.measured!.map((r) => r.batch)).toEqual([1, 16]);
    for (const r of rewrites.measured!) {
      expect(r.fused).toBeGreaterThan(0);
      expect(r.unfused).toBeGreaterThan(0);
    }
    expect(rewrites.remapper).toBe(unfusedWins(rewrites.measured!) ? 'off' : 'on');
    expect(mlp.stats().runs).toEqual([]);
    expect(mlp.stats().graphRewrites).toEqual(rewrites);
  });

  it("'auto' keeps TF's default, unmeasured, for a signature it cannot feed made-up inputs", async () => {
    const strings = await load('strings');
    expect(strings.graphRewrites).toMatchObject({ remapper: 'on', chosenBy: 'default' });
    expect(strings.graphRewrites.reason).toContain("input 'text' is not numeric");
  });

  it.each(['on', 'off'] as const)("'%s' is used as given, and mlp's and conv's outputs equal TF's", async (mode) => {
    for (const name of ['mlp', 'conv']) {
      const model = await load(name, { remapper: mode });
      expect(model.graphRewrites).toMatchObject({ remapper: mode, chosenBy: 'option' });
      for (const c of loadOracle(name).cases) {
        expectOutputsClose(await model.predict(c.inputs, { signature: c.signature }), c.outputs);
      }
    }
  });

  it('refuses an unknown mode', async () => {
    await expect(load('mlp', { remapper: 'fast' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('remapper must be one of auto, on, off'),
    });
  });

  it("'off' is ConfigProto.graph_options.rewrite_options.remapping = OFF on the wire", () => {
    const on = encodeConfigProto({ intraOpThreads: 1, interOpThreads: -1 });
    const off = encodeConfigProto({ intraOpThreads: 1, interOpThreads: -1 }, 'off');
    // field 10 (graph_options) { field 10 (rewrite_options) { field 14 (remapping) = 2 (OFF) } }
    expect(Buffer.from(off.subarray(on.length)).toString('hex')).toBe('520452027002');
    expect(Buffer.from(off.subarray(0, on.length))).toEqual(Buffer.from(on));
  });
});

describe('the decision rule', () => {
  it('keeps unfused only when it wins by 10 % at batch 1 and is not 10 % slower at batch 16', () => {
    expect(unfusedWins([{ batch: 1, fused: 8, unfused: 4.3 }, { batch: 16, fused: 11.7, unfused: 8.9 }])).toBe(true);
    expect(unfusedWins([{ batch: 1, fused: 8, unfused: 7.5 }, { batch: 16, fused: 11.7, unfused: 8.9 }])).toBe(false);
    expect(unfusedWins([{ batch: 1, fused: 22, unfused: 19 }, { batch: 16, fused: 63, unfused: 80 }])).toBe(false);
    expect(unfusedWins([{ batch: 1, fused: 8, unfused: 4.3 }])).toBe(true);
    expect(unfusedWins([])).toBe(false);
  });
});
