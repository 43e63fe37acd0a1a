// Ending a process or a worker while predict() calls run on the native executor never crashes:
// process.exit(), an uncaught exception, worker.terminate() and process.exit() inside a worker,
// each with 64 runs in flight. Every child must exit with its expected code and no signal
// (before env cleanup hooks existed, 34-49 of 50 died of SIGSEGV).
//
// JETSERVE_TEARDOWN_RUNS=50 runs each scenario 50 times (default 10) and prints the counts.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadOracle } from '../helpers/oracle.js';

const RUNS = Number(process.env.JETSERVE_TEARDOWN_RUNS ?? 10);
const CHILD = new URL('./teardown-child.mts', import.meta.url).pathname;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runChild(scenario: string, dir: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, scenario, dir], {
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

async function runMany(scenario: string, dir: string): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < RUNS) {
      next++;
      outcomes.push(await runChild(scenario, dir));
    }
  };
  await Promise.all(Array.from({ length: Math.min(2, availableParallelism()) }, lane));
  return outcomes;
}

const SCENARIOS: [string, number][] = [
  ['exit', 3],
  ['throw', 1],
  ['worker-terminate', 0],
  ['worker-exit', 0],
];

describe('teardown with predict() calls in flight', () => {
  const dir = loadOracle('busy').savedModelPath!;
  for (const [scenario, expectedCode] of SCENARIOS) {
    it(`${scenario}: ${RUNS} children exit with code ${expectedCode}, none by a signal`, async () => {
      const outcomes = await runMany(scenario, dir);
      const crashed = outcomes.filter((o) => o.signal !== null);
      const wrong = outcomes.filter((o) => o.signal === null && o.code !== expectedCode);
      console.log(`teardown ${scenario}: ${crashed.length}/${RUNS} crashed, ${wrong.length}/${RUNS} wrong exit code`);
      const first = [...crashed, ...wrong][0];
      expect(
        { crashed: crashed.length, wrong: wrong.length },
        first ? `e.g. code ${first.code} signal ${first.signal}: ${first.stderr.slice(-2000)}` : '',
      ).toEqual({ crashed: 0, wrong: 0 });
    }, 30_000 + RUNS * 4_000);
  }
});
