// The Prometheus page carries the engine's cost model: :jetserve:engine:run_cost_microseconds per
// AVAILABLE version, signature and batch-size bucket (stat ewma / p99), equal to Model.stats().
import { describe, expect, it } from 'vitest';
import { loadSavedModel } from '../../src/index.js';
import { ServingMetrics } from '../../src/observability/serving-metrics.js';
import { loadOracle } from '../helpers/oracle.js';

describe(':jetserve:engine:run_cost_microseconds', () => {
  it('exposes each AVAILABLE version’s measured run cost', async () => {
    const oracle = loadOracle('mlp');
    const model = await loadSavedModel(oracle.savedModelPath!);
    for (let i = 0; i < 5; i++) await model.predict(oracle.cases[0]!.inputs);
    await model.predict(oracle.cases[2]!.inputs); // batch 8
    const metrics = new ServingMetrics();
    metrics.attachManager({
      modelNames: () => ['mlp', 'gone'],
      status: (name) => {
        if (name === 'gone') throw new Error('no versions');
        return [
          { version: 1, state: 'AVAILABLE', error: null },
          { version: 2, state: 'LOADING', error: null },
        ];
      },
      resolve: ({ name, version }) => ({ name, version: version!, model, run: () => Promise.reject(new Error('unused')) }),
      shadowReport: () => undefined,
    });
    const text = metrics.registry.expose();
    expect(text).toContain('# TYPE :jetserve:engine:run_cost_microseconds gauge');
    const samples = [...text.matchAll(/^:jetserve:engine:run_cost_microseconds\{(.*)\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]);
    const [one, eight] = model.stats().runs;
    expect(samples).toEqual([
      ['model_name="mlp",version="1",signature="serving_default",batch_size="0-1",stat="ewma"', one!.ewmaMicros],
      ['model_name="mlp",version="1",signature="serving_default",batch_size="0-1",stat="p99"', one!.p99Micros],
      ['model_name="mlp",version="1",signature="serving_default",batch_size="5-8",stat="ewma"', eight!.ewmaMicros],
      ['model_name="mlp",version="1",signature="serving_default",batch_size="5-8",stat="p99"', eight!.p99Micros],
    ]);
    expect(one!.ewmaMicros).toBeGreaterThan(0);
    await model.dispose();
  });
});
