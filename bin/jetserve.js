#!/usr/bin/env node
// `jetserve` command shim: runs the compiled CLI (dist/cli/index.js) when the package is built, else the
// TypeScript source through tsx (a development checkout before `npm run build:ts`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/index.js', import.meta.url);
let cli;
if (existsSync(fileURLToPath(dist))) {
  cli = await import(dist.href);
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('jetserve: dist/cli/index.js is missing and tsx is not installed; run `npm run build:ts`\n');
    process.exit(1);
  }
  cli = await import(new URL('../src/cli/index.ts', import.meta.url).href);
}
await cli.main(process.argv.slice(2));
