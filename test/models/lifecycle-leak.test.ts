// The lifecycle frees what it loads: a model server runs for months while versions come and go.
// 40 version swaps (latest{1}: each new version loads, takes over, the old one drains and unloads)
// and 10 repository unload/load cycles must leave exactly one TF session alive, return every TF
// tensor and native buffer, and keep RSS flat after warm-up; closing the manager frees the last
// session.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allocTensor, engineInfo } from '../../src/index.js';
import { ModelManager } from '../../src/models/manager.js';
import { fixturesDir } from '../helpers/oracle.js';

const SOURCE = join(fixturesDir(), 'half_plus_two', '1');
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One predict on whatever answers unversioned requests; half_plus_two: y = x / 2 + 2. */
async function predictOnce(m: ModelManager): Promise<number> {
  const s = m.resolve({ name: 'leak' });
  const x = allocTensor('float32', [2]);
  (x.data as Float32Array).set([2, 4]);
  const out = await s.run({ x }, { signature: 'serving_default' });
  expect(Array.from(out.y!.data as Float32Array)).toEqual([3, 4]);
  return s.version;
}

describe('lifecycle memory', () => {
  it('40 version swaps and 10 repository unload/load cycles free every session, tensor and buffer', async () => {
    expect(gc, 'vitest.config.ts runs tests with --expose-gc').toBeTypeOf('function');
    const base = mkdtempSync(join(tmpdir(), 'jetserve-lifecycle-leak-'));
    cpSync(SOURCE, join(base, '1'), { recursive: true });
    await settle();
    const before = engineInfo().stats;
    const m = new ModelManager({ fileSystemPollWaitSeconds: 0 });
    try {
      await m.addModel({ name: 'leak', basePath: base });
      const swapTo = async (version: number) => {
        cpSync(SOURCE, join(base, String(version)), { recursive: true });
        // a new directory is trusted once its listing is unchanged across two polls
        await m.pollNow();
        await m.pollNow();
        rmSync(join(base, String(version - 1)), { recursive: true, force: true });
        expect(await predictOnce(m)).toBe(version);
      };
      for (let v = 2; v <= 6; v++) await swapTo(v); // warm-up: allocator pools, JIT
      await settle();
      const warmRss = process.memoryUsage().rss;
      // after warm-up: allocTensor's current slab (a shared block) is alive from here on
      const warm = engineInfo().stats;
      for (let v = 7; v <= 41; v++) await swapTo(v);
      for (let i = 0; i < 10; i++) {
        await m.repositoryUnload('leak');
        await m.repositoryLoad('leak');
        expect(await predictOnce(m)).toBe(41);
      }
      await settle();
      const stats = engineInfo().stats;
      const rss = process.memoryUsage().rss;
      console.log(
        `lifecycle leak: sessions ${before.liveSessions} → ${stats.liveSessions}; RSS after warm-up ` +
          `${(warmRss / 2 ** 20).toFixed(1)} MiB → ${(rss / 2 ** 20).toFixed(1)} MiB after 35 swaps + 10 reloads`,
      );
      // exactly the serving version's session is alive; the 49 others were freed
      expect(stats.liveSessions).toBe(before.liveSessions + 1);
      expect(m.status('leak').filter((s) => s.state === 'AVAILABLE').map((s) => s.version)).toEqual([41]);
      expect(stats.liveTensors).toBeLessThanOrEqual(warm.liveTensors);
      expect(stats.liveBlocks).toBeLessThanOrEqual(warm.liveBlocks);
      // a session of half_plus_two is small; 45 leaked ones would show well above this
      expect(rss - warmRss).toBeLessThan(48 * 2 ** 20);
    } finally {
      await m.close();
      rmSync(base, { recursive: true, force: true });
    }
    await settle();
    expect(engineInfo().stats.liveSessions).toBe(before.liveSessions);
  }, 180_000);
});
