// The threads that run TF work off the JS thread — the executor's pool, load threads, and TF's own
// pool threads, which inherit from the load thread that creates the first session — are named and
// run as created by default; JETSERVE_COMPUTE_PRIORITY=idle puts them under SCHED_IDLE (the kernel
// preempts them at once for the JS thread when a heavy model keeps every core busy; the JS thread
// keeps its class), a number 1..19 gives them that nice value.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadSavedModel } from '../../src/index.js';
import { loadOracle } from '../helpers/oracle.js';
import { SCHED_IDLE, SCHED_OTHER, threads, type ThreadInfo } from './compute-threads.js';

const CHILD = new URL('./compute-priority-child.mts', import.meta.url).pathname;

/** The child's threads; its JS thread is the one whose tid is the child's pid (its name differs between Node builds). */
function childThreads(priority: string): { all: ThreadInfo[]; main: ThreadInfo | undefined } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, loadOracle('mlp').savedModelPath!], {
    encoding: 'utf8',
    env: { ...process.env, JETSERVE_COMPUTE_PRIORITY: priority, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  expect(r.status, r.stderr).toBe(0);
  const all = JSON.parse(r.stdout.trim().split('\n').pop()!) as ThreadInfo[];
  return { all, main: all.find((t) => t.tid === r.pid) };
}

const computeThreads = (all: ThreadInfo[]) => all.filter((t) => t.name === 'jetserve-run' || t.name.startsWith('tf_'));

describe.runIf(process.platform === 'linux')('compute threads scheduling', () => {
  it('names the executor threads and leaves them and TF pool threads as created by default', async () => {
    // The first session of this process (a test file runs in a process of its own): TF creates its
    // pool threads from the load thread.
    const model = await loadSavedModel(loadOracle('mlp').savedModelPath!, { inlineBelowMicros: 0 });
    const out = await model.predict({ x: { dtype: 'float32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) } });
    expect(out.y ?? Object.values(out)[0]).toBeDefined();
    const all = threads();
    const runners = all.filter((t) => t.name === 'jetserve-run');
    expect(runners.length).toBeGreaterThan(0);
    expect(all.filter((t) => t.name.startsWith('tf_')).length).toBeGreaterThan(0);
    for (const t of computeThreads(all)) expect(t, t.name).toMatchObject({ policy: SCHED_OTHER, nice: 0 });
    await model.dispose();
  });

  it('runs them under SCHED_IDLE with JETSERVE_COMPUTE_PRIORITY=idle, the JS thread unchanged', () => {
    const { all, main } = childThreads('idle');
    expect(all.some((t) => t.name === 'jetserve-run')).toBe(true);
    expect(all.some((t) => t.name.startsWith('tf_'))).toBe(true);
    for (const t of computeThreads(all)) expect(t, t.name).toMatchObject({ policy: SCHED_IDLE });
    expect(main).toMatchObject({ policy: SCHED_OTHER, nice: 0 });
  });

  it('gives them a nice value with JETSERVE_COMPUTE_PRIORITY=10', () => {
    const { all, main } = childThreads('10');
    for (const t of computeThreads(all)) expect(t, t.name).toMatchObject({ policy: SCHED_OTHER, nice: 10 });
    expect(main).toMatchObject({ policy: SCHED_OTHER, nice: 0 });
  });
});
