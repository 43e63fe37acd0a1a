import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that compare two things' speed in the same run (ratios, never absolute times) run after the
 * rest of the suite, one file at a time, so the suite's other files do not load the CPU under them.
 */
const QUIET_FILES = ['test/perf/wrk.test.ts'];

export default defineConfig({
  test: {
    // Builds the Python venv (TF oracle, official clients) and the fixture SavedModels once.
    globalSetup: ['test/global-setup.ts'],
    // Each test file in its own process: TF sessions and servers never share a heap across files.
    pool: 'forks',
    maxWorkers: 2,
    // Leak tests call gc() to prove native buffers are released with their JS owners.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...QUIET_FILES], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'quiet', include: QUIET_FILES, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
