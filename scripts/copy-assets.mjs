#!/usr/bin/env node
// Copies the files dist/ reads at run time beside the compiled modules, so dist/ works without
// src/: the .proto tree (src/wire/protobuf/schemas.ts looks in proto/ beside itself) and the
// FlatBuffers schema (for apps generating their own code).
//   node scripts/copy-assets.mjs [DIST_DIR]     (default: dist/)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(process.argv[2] ?? path.join(root, 'dist'));
const ASSETS = [
  ['src/wire/protobuf/proto', 'wire/protobuf/proto'],
  ['src/wire/flatbuffers/schema', 'wire/flatbuffers/schema'],
];
for (const [from, to] of ASSETS) {
  fs.rmSync(path.join(dist, to), { recursive: true, force: true });
  fs.cpSync(path.join(root, from), path.join(dist, to), { recursive: true });
}
console.log(`[jetserve] copied ${ASSETS.map(([, to]) => path.join(path.relative(process.cwd(), dist) || '.', to)).join(', ')}`);
