#!/usr/bin/env node
// Builds uWebSockets.js from pinned sources for a Node.js version (a V8-API addon: one binary per
// Node ABI). Why: the registry's uWebSockets.js binaries either stop at Node 20 (ABI 115) or need
// glibc ≥ 2.38 (Debian 12 has 2.36), so on Node 22/24 jetserve would run on the slower node:http
// fallback. Building from source also lets the parser answer requests it cannot hold (see PATCHES).
//
//   node scripts/uws/build-uws.mjs                  for the running node → build/uws/
//   node scripts/uws/build-uws.mjs --node 24        for a matrix Node (scripts/node-matrix.mjs)
//   node scripts/uws/build-uws.mjs --out DIR        somewhere else (prepack: prebuilds/linux-x64/)
//
// Sources, each checked against its sha256 before use:
//   - the binding (uWebSockets.js src/: addon.cpp and the *Wrapper.h files) from the npm package
//     `uwebsockets@3.0.6`, a republish of uWebSockets.js at commit b8704be9 (file source_commit);
//   - uWebSockets (C++ headers) and uSockets (C) from the crate `libuwebsockets-sys@0.0.9`, which
//     vendors them (fetched with cargo).
// Built binaries are cached under ${XDG_CACHE_HOME:-~/.cache}/jetserve/uws/, keyed by the sources,
// the patches, the Node headers and the compiler, so a rebuild of the same inputs is a copy.
//
// Environment: JETSERVE_UWS_BINDING_TGZ / JETSERVE_UWS_CORE_CRATE point at already downloaded
// source archives (offline machines; sha256 still checked). JETSERVE_BUILD_JOBS: parallel jobs.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { applyPatches, PATCHES_ID } from './patches.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

export const UWS_SOURCES = {
  binding: {
    spec: 'uwebsockets@3.0.6',
    file: 'uwebsockets-3.0.6.tgz',
    sha256: 'd5ed71d15a139d366f41404a671a593612cb21d6d70bf6a80073f4425ae11696',
    sourceCommit: 'b8704be92ff2b16c6dd44cc2b334158ab73eef2a',
  },
  core: {
    crate: 'libuwebsockets-sys',
    version: '0.0.9',
    file: 'libuwebsockets-sys-0.0.9.crate',
    sha256: '7febf76101ed7a00ffd164475d0c95737019bc11656a4601f6fe6355ef0b0448',
  },
};

/** What the binding reports as its version (uws.js's own scheme), for logs and /v2 metadata. */
export const UWS_BUILD_LABEL = `uWebSockets.js ${UWS_SOURCES.binding.sourceCommit.slice(0, 8)} (jetserve source build)`;

export class UwsBuildError extends Error {}

const log = (msg) => console.log(`[jetserve:uws] ${msg}`);

export function uwsBinaryName(abi = process.versions.modules, platform = process.platform, arch = process.arch) {
  return `uws_${platform}_${arch}_${abi}.node`;
}

function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'jetserve', 'uws');
}

function sha256File(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw new UwsBuildError(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new UwsBuildError(`${cmd} ${args.slice(0, 2).join(' ')} … failed (exit ${r.status})`);
  return r;
}

function checkSha(file, expected) {
  const actual = sha256File(file);
  if (actual !== expected) {
    throw new UwsBuildError(`sha256 mismatch for ${path.basename(file)}\n  expected ${expected}\n  actual   ${actual}`);
  }
}

/** The binding's npm tarball, from JETSERVE_UWS_BINDING_TGZ, the cache, or `npm pack`. */
function bindingArchive() {
  const { spec, file, sha256 } = UWS_SOURCES.binding;
  const given = process.env.JETSERVE_UWS_BINDING_TGZ;
  const cached = path.join(cacheRoot(), 'sources', file);
  if (given) {
    checkSha(given, sha256);
    return given;
  }
  if (fs.existsSync(cached) && sha256File(cached) === sha256) return cached;
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  log(`fetching ${spec} (npm pack)`);
  run('npm', ['pack', spec, '--pack-destination', path.dirname(cached), '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  checkSha(cached, sha256);
  return cached;
}

/** The crate archive, from JETSERVE_UWS_CORE_CRATE, the cache, cargo's cache, or `cargo fetch`. */
function coreArchive() {
  const { crate, version, file, sha256 } = UWS_SOURCES.core;
  const given = process.env.JETSERVE_UWS_CORE_CRATE;
  if (given) {
    checkSha(given, sha256);
    return given;
  }
  const cached = path.join(cacheRoot(), 'sources', file);
  if (fs.existsSync(cached) && sha256File(cached) === sha256) return cached;
  const cargoHome = process.env.CARGO_HOME || path.join(os.homedir(), '.cargo');
  const fromCargo = () => {
    const dir = path.join(cargoHome, 'registry', 'cache');
    if (!fs.existsSync(dir)) return undefined;
    for (const index of fs.readdirSync(dir)) {
      const f = path.join(dir, index, file);
      if (fs.existsSync(f)) return f;
    }
    return undefined;
  };
  let found = fromCargo();
  if (!found) {
    const cargo = spawnSync('cargo', ['--version'], { encoding: 'utf8' });
    if (cargo.error || cargo.status !== 0) {
      throw new UwsBuildError(
        `cargo is needed to fetch the crate ${crate}@${version} (uWebSockets + uSockets sources); install Rust's cargo, ` +
          `or download ${file} elsewhere and set JETSERVE_UWS_CORE_CRATE=/path/to/${file}`,
      );
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'jetserve-uws-crate-'));
    try {
      fs.writeFileSync(
        path.join(work, 'Cargo.toml'),
        `[package]\nname = "jetserve-uws-sources"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n${crate} = "=${version}"\n`,
      );
      fs.mkdirSync(path.join(work, 'src'));
      fs.writeFileSync(path.join(work, 'src', 'lib.rs'), '');
      log(`fetching ${crate}@${version} (cargo fetch)`);
      run('cargo', ['fetch', '--manifest-path', path.join(work, 'Cargo.toml')], { stdio: ['ignore', 'inherit', 'inherit'] });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    found = fromCargo();
    if (!found) throw new UwsBuildError(`cargo fetch finished but ${file} is not in ${cargoHome}/registry/cache`);
  }
  checkSha(found, sha256);
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.copyFileSync(found, cached);
  return cached;
}

/** Extracted, patched sources: <dir>/binding (uWebSockets.js src/), <dir>/uWebSockets. */
export function prepareSources() {
  const key = createHash('sha256')
    .update(`${UWS_SOURCES.binding.sha256}\n${UWS_SOURCES.core.sha256}\n${PATCHES_ID}`)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(cacheRoot(), `src-${key}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir, key };
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const binding = bindingArchive();
  const core = coreArchive();
  const work = fs.mkdtempSync(path.join(cacheRoot(), '.src-'));
  try {
    run('tar', ['xzf', binding, '-C', work, 'package/src', 'package/source_commit', 'package/LICENSE']);
    const commit = fs.readFileSync(path.join(work, 'package', 'source_commit'), 'utf8').trim();
    if (commit !== UWS_SOURCES.binding.sourceCommit) {
      throw new UwsBuildError(`${UWS_SOURCES.binding.file}: source_commit ${commit}, expected ${UWS_SOURCES.binding.sourceCommit}`);
    }
    const crateDir = `${UWS_SOURCES.core.crate}-${UWS_SOURCES.core.version}`;
    run('tar', ['xzf', core, '-C', work, `${crateDir}/uWebSockets/src`, `${crateDir}/uWebSockets/uSockets/src`, `${crateDir}/uWebSockets/LICENSE`]);
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    fs.renameSync(path.join(work, 'package', 'src'), path.join(out, 'binding'));
    fs.renameSync(path.join(work, 'package', 'LICENSE'), path.join(out, 'binding', 'LICENSE'));
    fs.renameSync(path.join(work, crateDir, 'uWebSockets'), path.join(out, 'uWebSockets'));
    const applied = applyPatches(out);
    for (const p of applied) log(`patch: ${p}`);
    fs.writeFileSync(path.join(out, '.complete'), JSON.stringify({ sources: UWS_SOURCES, patches: applied }, null, 2) + '\n');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(out, dir);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { dir, key };
}

/** Node's headers for the running node: beside its executable (official tarballs, distro packages). */
export function currentNodeInclude() {
  const candidates = [
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  for (const dir of candidates) {
    try {
      const text = fs.readFileSync(path.join(dir, 'node_version.h'), 'utf8');
      const abi = /#define NODE_MODULE_VERSION (\d+)/.exec(text)?.[1];
      if (abi === process.versions.modules && fs.existsSync(path.join(dir, 'v8.h'))) return dir;
    } catch { /* not here */ }
  }
  return undefined;
}

function compilerId() {
  const r = spawnSync('c++', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : 'unknown';
}

/**
 * Builds (or takes from the cache) the binary for the Node whose headers are in nodeInclude.
 * @returns {string} the .node file written into outDir
 */
export function buildUws({ nodeInclude, abi, outDir, nodeBin }) {
  const name = uwsBinaryName(abi);
  const sources = prepareSources();
  const headerText = fs.readFileSync(path.join(nodeInclude, 'node_version.h'), 'utf8');
  const key = createHash('sha256')
    .update(`${sources.key}\n${headerText}\n${compilerId()}\n${fs.readFileSync(path.join(here, 'CMakeLists.txt'), 'utf8')}\n${fs.readFileSync(path.join(here, 'no-quic.c'), 'utf8')}`)
    .digest('hex')
    .slice(0, 16);
  const cached = path.join(cacheRoot(), 'bin', key, name);
  if (!fs.existsSync(cached)) {
    const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), `jetserve-uws-${abi}-`));
    try {
      const t0 = Date.now();
      log(`building ${name} from ${sources.dir} against ${nodeInclude}`);
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      const tmpOut = `${cached}.tmp-${process.pid}`;
      run('cmake', ['-S', here, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', `-DUWS_SOURCE_DIR=${sources.dir}`,
        `-DNODE_INCLUDE_DIR=${nodeInclude}`, `-DUWS_OUTPUT=${tmpOut}`], { stdio: ['ignore', 'ignore', 'inherit'] });
      const jobs = process.env.JETSERVE_BUILD_JOBS || String(os.availableParallelism?.() ?? os.cpus().length);
      run('cmake', ['--build', buildDir, '--parallel', jobs], { stdio: ['ignore', 'ignore', 'inherit'] });
      fs.renameSync(tmpOut, cached);
      log(`built ${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      fs.rmSync(buildDir, { recursive: true, force: true });
    }
  }
  if (nodeBin) smokeTest(nodeBin, cached);
  fs.mkdirSync(outDir, { recursive: true });
  const dest = path.join(outDir, name);
  fs.copyFileSync(cached, `${dest}.tmp-${process.pid}`);
  fs.renameSync(`${dest}.tmp-${process.pid}`, dest);
  fs.writeFileSync(
    path.join(outDir, `${name}.json`),
    JSON.stringify({ label: UWS_BUILD_LABEL, abi, sha256: sha256File(dest), sources: UWS_SOURCES, patches: PATCHES_ID }, null, 2) + '\n',
  );
  return dest;
}

/** Loads the binary in a child process of the target node and serves one request on loopback. */
export function smokeTest(nodeBin, file) {
  const code = `
    const u = require(${JSON.stringify(file)});
    const app = u.App().get('/*', (res) => res.end('ok'));
    app.listen('127.0.0.1', 0, (s) => {
      if (!s) { console.error('listen failed'); process.exit(1); }
      fetch('http://127.0.0.1:' + u.us_socket_local_port(s) + '/').then((r) => r.text()).then((t) => {
        u.us_listen_socket_close(s);
        if (t !== 'ok') { console.error('unexpected body ' + t); process.exit(1); }
        process.exit(0);
      }, (e) => { console.error(e.message); process.exit(1); });
    });`;
  const r = spawnSync(nodeBin, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new UwsBuildError(`${path.basename(file)} does not serve under ${nodeBin}: ${(r.stderr || r.error?.message || '').trim()}`);
}

async function main(argv) {
  let nodeMajor;
  let outDir = path.join(root, 'build', 'uws');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--node') nodeMajor = argv[++i];
    else if (argv[i] === '--out') outDir = path.resolve(argv[++i]);
    else {
      console.error('usage: node scripts/uws/build-uws.mjs [--node 20|22|24] [--out DIR]');
      process.exit(2);
    }
  }
  let target;
  if (nodeMajor) {
    const { ensureNode } = await import('../node-matrix.mjs');
    const n = ensureNode(nodeMajor);
    target = { nodeInclude: n.include, abi: n.abi, nodeBin: n.bin };
  } else {
    const include = currentNodeInclude();
    if (!include) throw new UwsBuildError(`no headers for this node (${process.version}) beside ${process.execPath} or in /usr/include/node`);
    target = { nodeInclude: include, abi: process.versions.modules, nodeBin: process.execPath };
  }
  const file = buildUws({ ...target, outDir });
  log(`${path.relative(process.cwd(), file) || file} ready (Node ABI ${target.abi})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`[jetserve:uws] ERROR: ${e instanceof UwsBuildError ? e.message : e.stack}`);
    process.exit(1);
  });
}
