#!/usr/bin/env node
// `npm install` hook: TensorFlow C library → native addon → TypeScript build.
//
//   1. fetch   scripts/fetch-libtensorflow.mjs (no-op when deps/libtensorflow's stamp matches)
//   2. native  cmake-js compile --out build   → build/Release/jetserve_native.node
//   3. ts      tsc -p tsconfig.build.json     → dist/ (skipped when typescript or src/ is absent,
//              e.g. in a published package that ships dist/)
//
// Environment:
//   JETSERVE_SKIP_NATIVE=1   skip steps 1 and 2 (docs/CI debugging only: the engine will not load)
//   JETSERVE_SANITIZE=address  build the addon with -fsanitize=address (reconfigures when changed)
//   JETSERVE_BUILD_JOBS=N    parallel compile jobs (default: number of CPUs)
//   plus everything scripts/fetch-libtensorflow.mjs reads (LIBTENSORFLOW_DIR, JETSERVE_TF_VARIANT, …)

import { spawn } from 'node:child_process';
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

async function fetchStep() {
  const { fetchLibtensorflow } = await import('./fetch-libtensorflow.mjs');
  const r = await fetchLibtensorflow();
  return r.action;
}

async function nativeStep() {
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
  await run(process.execPath, args);
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
      await step('build native addon (cmake-js)', nativeStep);
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
