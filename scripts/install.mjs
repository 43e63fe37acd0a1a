#!/usr/bin/env node
// `npm install` hook: TensorFlow C library → native addon → HTTP engine → TypeScript build.
//
//   1. fetch   scripts/fetch-libtensorflow.mjs (no-op when deps/libtensorflow's stamp matches)
//   2. native  the prebuilt addon prebuilds/<platform>-<arch>/jetserve_native.node (shipped in the
//              npm package) when it loads here against the pinned wheel's TF library; else
//              cmake-js compile --out build   → build/Release/jetserve_native.node
//   3. uws     uWebSockets.js for this Node: a shipped prebuild that serves here, else a source
//              build (scripts/uws/build-uws.mjs → build/uws/). Never fails the install: without
//              it the server runs on the node:http fallback and says why at startup.
//   4. ts      tsc -p tsconfig.build.json     → dist/ (skipped when typescript or src/ is absent,
//              e.g. in a published package that ships dist/)
//
// Environment:
//   JETSERVE_SKIP_NATIVE=1   skip steps 1 to 3 (docs/CI debugging only: the engine will not load)
//   JETSERVE_BUILD_FROM_SOURCE=1  ignore the prebuilt addon and uWS binaries: compile both
//   JETSERVE_SKIP_UWS=1      skip step 3 (the node:http fallback, or the uWebSockets.js package's
//                            own binary on Node 16/18/20, serves REST)
//   JETSERVE_SANITIZE=address  build the addon with -fsanitize=address (reconfigures when changed)
//   JETSERVE_BUILD_JOBS=N    parallel compile jobs (default: number of CPUs)
//   plus everything scripts/fetch-libtensorflow.mjs reads (LIBTENSORFLOW_DIR, JETSERVE_TF_VARIANT, …)

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'package.json'));

const log = (msg) => console.log(`[jetserve:install] ${msg}`);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

class StepError extends Error {}

/** Resolves a package's bin script so it is run with this node (works when deps are hoisted). */
function resolveBin(pkg, bin) {
  try {
    const pkgJsonPath = require.resolve(`${pkg}/package.json`);
    const pkgJson = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8'));
    const rel = typeof pkgJson.bin === 'string' ? pkgJson.bin : pkgJson.bin?.[bin];
    if (rel) return path.join(path.dirname(pkgJsonPath), rel);
  } catch { /* not installed */ }
  const local = path.join(root, 'node_modules', '.bin', bin);
  return fs.existsSync(local) ? local : null;
}

function run(cmd, args, opts = {}) {
  console.log(`  $ ${[cmd === process.execPath ? 'node' : cmd, ...args].join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
    child.on('error', (e) => reject(new StepError(`could not start ${cmd}: ${e.message}`)));
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new StepError(`${path.basename(args[0] ?? cmd)} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

async function step(name, fn) {
  const t0 = Date.now();
  log(`── ${name}`);
  try {
    const note = await fn();
    log(`── ${name}: ${note ?? 'done'} (${secs(Date.now() - t0)})`);
  } catch (e) {
    const msg = e instanceof StepError || e?.constructor?.name === 'FetchError' ? e.message : e?.stack || String(e);
    console.error(`[jetserve:install] ✗ ${name} failed after ${secs(Date.now() - t0)}:\n${msg}`);
    throw Object.assign(new Error('step failed'), { reported: true });
  }
}

let tfResult;
async function fetchStep() {
  const { fetchLibtensorflow } = await import('./fetch-libtensorflow.mjs');
  tfResult = await fetchLibtensorflow();
  return tfResult.action;
}

/** uWebSockets.js for this Node: a shipped prebuild that serves here, else a source build. */
async function uwsStep() {
  const uws = await import('./uws/build-uws.mjs');
  const name = uws.uwsBinaryName();
  const prebuilt = path.join(PREBUILD_DIR, name);
  if (!fromSource && fs.existsSync(prebuilt)) {
    try {
      uws.smokeTest(process.execPath, prebuilt);
      return `prebuilt ${path.relative(root, prebuilt)} serves on this Node`;
    } catch (e) {
      log(`the prebuilt ${name} does not serve here (${e.message.split('\n')[0]}): building from source`);
    }
  }
  const include = uws.currentNodeInclude();
  try {
    if (!include) throw new uws.UwsBuildError(`no Node headers (v8.h) for ${process.version} beside ${process.execPath} or in /usr/include/node`);
    const file = uws.buildUws({ nodeInclude: include, abi: process.versions.modules, nodeBin: process.execPath, outDir: path.join(root, 'build', 'uws') });
    return `${path.relative(root, file)} (source build)`;
  } catch (e) {
    const why = e instanceof uws.UwsBuildError ? e.message : e.stack;
    console.warn(`[jetserve:install] warning: no uWebSockets.js build for Node ${process.version}: ${why}`);
    return `skipped: REST will run on ${['93', '108', '115'].includes(process.versions.modules) ? "the uWebSockets.js package's own binary" : 'the node:http fallback'} (the server logs why at startup)`;
  }
}

const PREBUILD_DIR = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const fromSource = process.env.JETSERVE_BUILD_FROM_SOURCE === '1';

/** Loads a .node in a child process (a crash or missing library must not take this one down). */
function loadsInChild(file, check = '') {
  const code = `const m = require(${JSON.stringify(file)}); ${check}`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (r.status === 0) return null;
  const lines = (r.stderr || r.error?.message || '').split('\n').map((l) => l.trim());
  return lines.find((l) => /^(Error|TypeError)\b|cannot open shared object|GLIBC|version/.test(l)) ?? lines.find(Boolean) ?? `exit ${r.status}`;
}

let prebuiltProblem;

/** The shipped addon, when it fits: the pinned wheel (not LIBTENSORFLOW_DIR) and it loads here. */
function usePrebuiltAddon(tf) {
  const prebuilt = path.join(PREBUILD_DIR, 'jetserve_native.node');
  if (fromSource || !fs.existsSync(prebuilt)) return null;
  if (tf?.action === 'override') {
    log('LIBTENSORFLOW_DIR is set: compiling the addon against it instead of using the prebuilt one');
    return null;
  }
  const out = path.join(root, 'build', 'Release', 'jetserve_native.node');
  // the same depth as prebuilds/<platform>/, so its RUNPATH $ORIGIN/../../deps/… holds; a .node
  // name, or require() would not load it as an addon
  const tmp = path.join(root, 'build', 'Release', `jetserve_native.tmp-${process.pid}.node`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(prebuilt, tmp);
  const problem = loadsInChild(tmp, "if (typeof m.tfVersion() !== 'string') process.exit(3);");
  if (problem) {
    fs.rmSync(tmp, { force: true });
    prebuiltProblem = `the prebuilt ${path.relative(root, prebuilt)} does not load here (${problem})`;
    log(`${prebuiltProblem}: compiling the addon`);
    return null;
  }
  fs.renameSync(tmp, out);
  return `prebuilt ${path.relative(root, prebuilt)} → ${path.relative(root, out)} (no compiler needed)`;
}

async function nativeStep(tf) {
  const prebuilt = usePrebuiltAddon(tf);
  if (prebuilt) return prebuilt;
  const cmakeJs = resolveBin('cmake-js', 'cmake-js');
  if (!cmakeJs) throw new StepError('cmake-js is not installed (it is a dependency of jetserve; reinstall).');
  const buildDir = path.join(root, 'build');
  const sanitize = process.env.JETSERVE_SANITIZE ?? '';
  // cmake-js only passes -D options when it (re)configures; switch to a clean rebuild when the
  // requested sanitizer differs from the one in the existing CMake cache.
  let command = 'compile';
  try {
    const cache = fs.readFileSync(path.join(buildDir, 'CMakeCache.txt'), 'utf8');
    const m = /^JETSERVE_SANITIZE:STRING=(.*)$/m.exec(cache);
    if ((m ? m[1] : '') !== sanitize) {
      log(`JETSERVE_SANITIZE changed ('${m ? m[1] : ''}' → '${sanitize}'): full rebuild`);
      command = 'rebuild';
    }
  } catch { /* not configured yet */ }
  const jobs = process.env.JETSERVE_BUILD_JOBS || String(os.availableParallelism?.() ?? os.cpus().length);
  const args = [cmakeJs, command, '--out', 'build', '--parallel', jobs, `--CDJETSERVE_SANITIZE=${sanitize}`];
  try {
    await run(process.execPath, args);
  } catch (e) {
    const needs = 'compiling the addon needs cmake (≥ 3.19) and a C++17 compiler';
    throw new StepError(`${e.message}: ${needs}${prebuiltProblem ? `; ${prebuiltProblem}` : ''}`);
  }
  const node = path.join(buildDir, 'Release', 'jetserve_native.node');
  if (!fs.existsSync(node)) throw new StepError(`build finished but ${path.relative(root, node)} is missing`);
  return `${path.relative(root, node)} (${(fs.statSync(node).size / 1024).toFixed(0)} KB)`;
}

async function tsStep() {
  if (!fs.existsSync(path.join(root, 'tsconfig.build.json')) || !fs.existsSync(path.join(root, 'src'))) {
    return 'skipped (no sources; dist/ is prebuilt)';
  }
  const tsc = resolveBin('typescript', 'tsc');
  if (!tsc) {
    if (fs.existsSync(path.join(root, 'dist'))) return 'skipped (typescript not installed; using the existing dist/)';
    throw new StepError('typescript is not installed and dist/ is missing: run `npm install` with dev dependencies.');
  }
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
  await run(process.execPath, [path.join(here, 'copy-assets.mjs')]);
  return 'dist/ built';
}

async function main() {
  const t0 = Date.now();
  log(`jetserve install in ${root} (node ${process.version}, ${process.platform}-${process.arch})`);
  try {
    if (process.env.JETSERVE_SKIP_NATIVE === '1') {
      log('JETSERVE_SKIP_NATIVE=1: skipping the TensorFlow fetch and the native build (the engine will not load)');
    } else {
      await step('fetch TensorFlow C library', fetchStep);
      await step('native addon', () => nativeStep(tfResult));
      if (process.env.JETSERVE_SKIP_UWS === '1') log('JETSERVE_SKIP_UWS=1: skipping the uWebSockets.js build');
      else await step('HTTP engine (uWebSockets.js for this Node)', uwsStep);
    }
    await step('build TypeScript (tsc)', tsStep);
  } catch (e) {
    if (!e.reported) console.error(e);
    console.error(`[jetserve:install] install failed after ${secs(Date.now() - t0)}`);
    process.exit(1);
  }
  log(`install complete in ${secs(Date.now() - t0)}`);
}

await main();
