import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the Python venv (TF oracle, official clients) and the fixture SavedModels once.
    globalSetup: ['test/global-setup.ts'],
    // Each test file in its own process: TF sessions and servers never share a heap across files.
    pool: 'forks',
    maxWorkers: 2,
    // Leak tests call gc() to prove native buffers are released with their JS owners.
    execArgv: ['--expose-gc'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
