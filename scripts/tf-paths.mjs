// Where the TensorFlow C library used by the build lives (deps/tf-paths.json, written by
// scripts/fetch-libtensorflow.mjs), for tools that compile against it too (bench baselines).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @returns {{ includeDir: string, libDir: string, libraries: string[] }} */
export function tfPaths() {
  const file = join(root, 'deps', 'tf-paths.json');
  try {
    const paths = JSON.parse(readFileSync(file, 'utf8'));
    return { includeDir: paths.includeDir, libDir: paths.libDir, libraries: paths.libraries };
  } catch (err) {
    throw new Error(`${file} is missing or unreadable; run \`npm install\` (or \`npm run fetch:tf\`) first: ${err}`);
  }
}
