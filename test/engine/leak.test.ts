// Memory stays flat over 100k predicts: RSS grows < 5 % after warm-up, and every TF tensor and
// native buffer is released once JS drops the outputs.
import { describe, expect, it } from 'vitest';
import { allocTensor, engineInfo, loadSavedModel } from '../../src/index.js';
import { loadOracle } from '../helpers/oracle.js';

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function drive(model: Awaited<ReturnType<typeof loadSavedModel>>, total: number): Promise<void> {
  const concurrency = 32;
  let issued = 0;
  const lane = async () => {
    while (issued < total) {
      issued++;
      // Alternate the copying and the zero-copy input paths.
      const x =
        issued % 2 === 0
          ? allocTensor('float32', [2, 4])
          : { dtype: 'float32' as const, shape: [2, 4], data: new Float32Array(8).fill(issued % 7) };
      const out = await model.run({ x });
      if (out.y!.data.length !== 6) throw new Error('bad output');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

describe('memory', () => {
  it('RSS is stable (< 5 % growth) over 100k predicts and native objects return to baseline', async () => {
    expect(gc, 'vitest.config.ts runs tests with --expose-gc').toBeTypeOf('function');
    const model = await loadSavedModel(loadOracle('mlp').savedModelPath!);
    await drive(model, 10_000); // warm-up: allocator pools, JIT, TF's caches
    await settle();
    const baseRss = process.memoryUsage().rss;
    const baseStats = engineInfo().stats;
    await drive(model, 100_000);
    await settle();
    const rss = process.memoryUsage().rss;
    const stats = engineInfo().stats;
    const growth = (rss - baseRss) / baseRss;
    console.log(`RSS ${(baseRss / 2 ** 20).toFixed(1)} MiB → ${(rss / 2 ** 20).toFixed(1)} MiB (${(growth * 100).toFixed(2)} %)`);
    expect(growth).toBeLessThan(0.05);
    expect(stats.liveTensors).toBeLessThanOrEqual(baseStats.liveTensors);
    expect(stats.liveBlocks).toBeLessThanOrEqual(baseStats.liveBlocks);
    await model.dispose();
  }, 180_000);
});
