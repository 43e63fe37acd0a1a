// jetserve's version, read once from package.json: src/ and dist/ both sit one level below the
// package root, so the same relative path works for the TypeScript sources and the build.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const JETSERVE_VERSION: string = (() => {
  try {
    const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
