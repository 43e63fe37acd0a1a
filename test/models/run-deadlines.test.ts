// RunDeadlines: the one timer behind every model run's deadline (src/models/run-deadlines.ts).
// Runs expire at their own deadlines whatever order they were added in, a run that settled never
// expires, and an earlier deadline added later re-arms the timer for itself.

import { describe, expect, it } from 'vitest';
import { RunDeadline, RunDeadlines } from '../../src/models/run-deadlines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RunDeadlines', () => {
  it('expires each run at its deadline, in any order of arrival; settled runs never expire', async () => {
    const deadlines = new RunDeadlines();
    const expired: string[] = [];
    const t0 = Date.now();
    const late = new RunDeadline(t0 + 120, () => expired.push('late'));
    const settled = new RunDeadline(t0 + 30, () => expired.push('settled'));
    const early = new RunDeadline(t0 + 40, () => expired.push('early'));
    deadlines.add(late);
    deadlines.add(settled);
    deadlines.add(early);
    deadlines.delete(settled);
    expect(deadlines.size).toBe(2);
    await sleep(80);
    expect(expired).toEqual(['early']);
    await sleep(90);
    expect(expired).toEqual(['early', 'late']);
    expect(deadlines.size).toBe(0);
  });

  it('an earlier deadline added after a later one fires at its own time', async () => {
    const deadlines = new RunDeadlines();
    const at: Record<string, number> = {};
    const t0 = Date.now();
    deadlines.add(new RunDeadline(t0 + 400, () => (at.far = Date.now() - t0)));
    deadlines.add(new RunDeadline(t0 + 30, () => (at.near = Date.now() - t0)));
    await sleep(150);
    expect(at.near).toBeGreaterThanOrEqual(29);
    expect(at.near).toBeLessThan(150);
    expect(at.far).toBeUndefined();
    await sleep(300);
    expect(at.far).toBeGreaterThanOrEqual(399);
  });

  it('deleting twice, or a run never added, changes nothing', () => {
    const deadlines = new RunDeadlines();
    const run = new RunDeadline(Date.now() + 1000, () => {});
    deadlines.delete(run);
    deadlines.add(run);
    deadlines.delete(run);
    deadlines.delete(run);
    expect(deadlines.size).toBe(0);
  });
});
