// `npm test`: runs the vitest suite (its global setup prepares the Python venv and TF fixtures),
// then prints one plain summary line ("N passed, N failed, N skipped") that CI logs can be read by.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = join(root, 'build', 'test-results.json');
mkdirSync(dirname(resultsFile), { recursive: true });
rmSync(resultsFile, { force: true });

const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const child = spawn(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => {
  let summary = 'vitest wrote no results';
  if (existsSync(resultsFile)) {
    const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
    const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);
    summary = `${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`;
  }
  console.log(`\ntests: ${summary}`);
  process.exit(code ?? (signal ? 1 : 0));
});
