#!/usr/bin/env node
// `npm pack` / `npm publish` (prepack): makes the package self-sufficient for a Node app.
//
//   1. dist/        tsc + run-time assets (scripts/copy-assets.mjs), so installing needs no TypeScript
//   2. prebuilds/<platform>-<arch>/jetserve_native.node
//                   the addon of build/Release/, built against the pinned TF wheel (its RUNPATH is
//                   package-relative: $ORIGIN/../../deps/libtensorflow/lib), so installing needs
//                   neither cmake nor g++ when it loads there (scripts/install.mjs checks)
//   3. prebuilds/<platform>-<arch>/uws_<platform>_<arch>_<abi>.node for every Node of the support
//                   matrix (scripts/uws/build-uws.mjs; Node headers from scripts/node-matrix.mjs),
//                   with the uWebSockets licences
//
//   node scripts/prebuild.mjs                 in place (prepack)
//   node scripts/prebuild.mjs --stage DIR     into a copy of the package at DIR, leaving this tree's
//                                             dist/ and build/ untouched (test/dist/pack-install):
//                                             takes the addon already in build/Release/
//
// Environment: JETSERVE_PREBUILD_NODES=22,24 limits step 3 to those Node majors (default: all).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode, NODE_MATRIX } from './node-matrix.mjs';
import { buildUws, prepareSources } from './uws/build-uws.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => console.log(`[jetserve:prebuild] ${msg}`);

/** Not copied into a stage: installed or built here, or test data. */
const STAGE_SKIP = new Set(['.git', 'node_modules', 'build', 'build-asan', 'deps', 'dist', 'prebuilds', '.venv', 'test', 'bench']);

function fail(message) {
  console.error(`[jetserve:prebuild] ERROR: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`${path.basename(args[0] ?? cmd)} failed (exit ${r.status})`);
}

const stageArg = process.argv.indexOf('--stage');
const target = stageArg >= 0 ? path.resolve(process.argv[stageArg + 1] ?? fail('--stage needs a directory')) : root;
const staged = target !== root;
if (staged) {
  fs.rmSync(target, { recursive: true, force: true });
  fs.cpSync(root, target, { recursive: true, filter: (src) => !STAGE_SKIP.has(path.relative(root, src).split(path.sep)[0]) });
  log(`package sources copied to ${target}`);
}
const platformDir = path.join(target, 'prebuilds', `${process.platform}-${process.arch}`);

// 1. dist/, compiled beside it and swapped in
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!fs.existsSync(tsc)) fail('typescript is not installed: run `npm install` (with dev dependencies) before packing');
const distTmp = path.join(target, `dist.tmp-${process.pid}`);
run(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', distTmp]);
run(process.execPath, [path.join(root, 'scripts', 'copy-assets.mjs'), distTmp]);
fs.rmSync(path.join(target, 'dist'), { recursive: true, force: true });
fs.renameSync(distTmp, path.join(target, 'dist'));
log('dist/ built');

// 2. the addon
fs.rmSync(path.join(target, 'prebuilds'), { recursive: true, force: true });
fs.mkdirSync(platformDir, { recursive: true });
const paths = JSON.parse(fs.readFileSync(path.join(root, 'deps', 'tf-paths.json'), 'utf8'));
if (paths.source !== 'wheel' || paths.variant !== 'cpu') {
  fail(`the prebuilt addon must be built against the pinned tensorflow-cpu wheel (deps/tf-paths.json: source ${paths.source}, variant ${paths.variant}); unset LIBTENSORFLOW_DIR / JETSERVE_TF_VARIANT and run npm install`);
}
if (paths.rpath.some((p) => !p.startsWith('$ORIGIN'))) fail(`deps/tf-paths.json has an absolute RUNPATH (${paths.rpath.join(':')}): run npm install again`);
if (!staged) run(process.execPath, [path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), 'compile', '--out', 'build', '--CDJETSERVE_SANITIZE=']);
const addon = path.join(root, 'build', 'Release', 'jetserve_native.node');
if (!fs.existsSync(addon)) fail(`${addon} is missing: run npm install`);
fs.copyFileSync(addon, path.join(platformDir, 'jetserve_native.node'));
log(`${path.relative(target, platformDir)}/jetserve_native.node (${(fs.statSync(addon).size / 1024).toFixed(0)} KB)`);

// 3. uWebSockets.js per Node ABI
const majors = process.env.JETSERVE_PREBUILD_NODES ? process.env.JETSERVE_PREBUILD_NODES.split(',').map((s) => s.trim()) : NODE_MATRIX.map((e) => String(e.major));
for (const major of majors) {
  const node = ensureNode(major);
  const file = buildUws({ nodeInclude: node.include, abi: node.abi, nodeBin: node.bin, outDir: platformDir });
  log(`${path.relative(target, file)} (Node ${node.version})`);
}
// the binaries are Apache-2.0 (uWebSockets.js, uWebSockets, uSockets): their licences travel with them
const sources = prepareSources();
fs.copyFileSync(path.join(sources.dir, 'binding', 'LICENSE'), path.join(platformDir, 'uWebSockets.js.LICENSE'));
fs.copyFileSync(path.join(sources.dir, 'uWebSockets', 'LICENSE'), path.join(platformDir, 'uWebSockets.LICENSE'));
