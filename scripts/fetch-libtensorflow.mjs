#!/usr/bin/env node
// Fetches the TensorFlow C library for the native addon and records where it is.
//
// Default: downloads the pinned official TensorFlow wheel with pip (same file whatever the local
// Python, thanks to explicit --python-version/--platform/--abi), checks its sha256, and extracts
// the two shared libraries plus the C API headers (transitive closure of the public C headers)
// into <package>/deps/libtensorflow/. A stamp file there makes the next run a no-op.
//
// Override: LIBTENSORFLOW_DIR=/path uses an existing library instead. Accepted layouts:
//   (a) wheel folder:    libtensorflow_cc.so.2, libtensorflow_framework.so.2, include/
//       (e.g. <site-packages>/tensorflow of a pip-installed TensorFlow)
//   (b) tarball/Homebrew: include/, lib/libtensorflow.so.2 [, lib/libtensorflow_framework.so.2]
//   (c) jetserve's own:  include/, lib/libtensorflow_cc.so.2, lib/libtensorflow_framework.so.2
//
// Either way the result is written to <package>/deps/tf-paths.json, which CMakeLists.txt reads.
//
// Environment:
//   JETSERVE_TF_VARIANT   cpu (default) | gpu
//   LIBTENSORFLOW_DIR     use an existing libtensorflow (no download)
//   JETSERVE_TF_WHEEL     path to an already downloaded wheel (sha256 still checked)
//   JETSERVE_PYTHON       python executable used to run pip/zipfile (default: python3)
//   XDG_CACHE_HOME        wheel cache is ${XDG_CACHE_HOME:-~/.cache}/jetserve/wheels
//   JETSERVE_FORCE_FETCH  1: ignore the stamp and re-extract
//   JETSERVE_PROGRESS_SECONDS  interval of the download progress lines when stdout is not a TTY (5)

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const TF_VERSION = '2.21.0';

export const VARIANTS = {
  cpu: {
    pkg: 'tensorflow-cpu',
    wheel: 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    sha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c',
    approxBytes: 273_829_956,
  },
  gpu: {
    // CUDA/cuDNN are not in this wheel: at run time they come from the nvidia-* wheels
    // (pip install 'tensorflow[and-cuda]==2.21.0'). See docs in install notes.
    pkg: 'tensorflow',
    wheel: 'tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    sha256: '9056fbc9ba04235810b71ae6cbd958a196e8804fb53bbcffbf3e23b56155f124',
    approxBytes: 572_440_367,
  },
};

/**
 * The CPU wheel of every platform the install step can fetch for: `<platform>-<arch>` →
 * { variants, pip platform tag, libraries in the wheel's tensorflow/ folder }. linux-x64 is the
 * one built and tested here; the linux-arm64 and darwin-arm64 pins (sha256 from PyPI's index for
 * tensorflow 2.21.0) let those platforms fetch and build, untested on this project's machines.
 * Neither has a tensorflow-cpu wheel: their `tensorflow` wheel is the CPU build.
 */
export const PLATFORM_WHEELS = {
  'linux-x64': {
    platformTag: 'manylinux_2_27_x86_64',
    libs: ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'],
    variants: VARIANTS,
  },
  'linux-arm64': {
    platformTag: 'manylinux_2_27_aarch64',
    libs: ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'],
    variants: {
      cpu: {
        pkg: 'tensorflow',
        wheel: 'tensorflow-2.21.0-cp311-cp311-manylinux_2_27_aarch64.whl',
        sha256: '4b24aca16d527a3cf1c37f720c04c484c3d20f4d0fdfa98632ac8b9f3be6eb5c',
        approxBytes: 281_828_020,
      },
    },
  },
  'darwin-arm64': {
    platformTag: 'macosx_12_0_arm64',
    libs: ['libtensorflow_cc.2.dylib', 'libtensorflow_framework.2.dylib'],
    variants: {
      cpu: {
        pkg: 'tensorflow',
        wheel: 'tensorflow-2.21.0-cp311-cp311-macosx_12_0_arm64.whl',
        sha256: '51f46f4806139d01fc7920cc72a4c75876f80649bf40ff083ab6212ceb43ca88',
        approxBytes: 223_405_849,
      },
    },
  },
};

/** Pip selection flags: fetch the cp311 wheel for that platform whatever the local interpreter is. */
function pipTarget(platformTag) {
  return ['--python-version', '3.11', '--implementation', 'cp', '--abi', 'cp311', '--platform', platformTag];
}

// Public C API headers the addon uses; their `#include "…"` closure is extracted.
const HEADER_ROOTS = [
  'tensorflow/c/c_api.h',
  'tensorflow/c/tf_tensor.h',
  'tensorflow/c/tf_tstring.h',
  'tensorflow/c/c_api_experimental.h',
];
const WHEEL_INCLUDE_PREFIX = 'tensorflow/include/';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(here, '..');
export const DEPS_DIR = path.join(PROJECT_ROOT, 'deps');
export const TF_DIR = path.join(DEPS_DIR, 'libtensorflow');
export const PATHS_JSON = path.join(DEPS_DIR, 'tf-paths.json');
const STAMP = path.join(TF_DIR, '.jetserve-stamp');
const PACKAGE_RPATH = '$ORIGIN/../../deps/libtensorflow/lib';

export class FetchError extends Error {}

const log = (msg) => console.log(`[jetserve:tf] ${msg}`);
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'jetserve', 'wheels');
}

function pythonExe() {
  return process.env.JETSERVE_PYTHON || 'python3';
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Writes only when the content changes, so CMake (which depends on the file) does not re-run needlessly. */
function writeIfChanged(file, content) {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return false;
  } catch { /* missing */ }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
  return true;
}

function isFile(p) {
  try {
    return fs.statSync(p).isFile(); // follows symlinks
  } catch {
    return false;
  }
}

function dirSize(dir) {
  let total = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      if (e.isDirectory()) total += dirSize(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    } catch { /* vanished while scanning */ }
  }
  return total;
}

async function sha256File(file) {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Python / pip checks

function checkPython({ needPip }) {
  const py = pythonExe();
  const r = spawnSync(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new FetchError(
      `'${py}' was not found or does not run (${r.error ? r.error.code : `exit ${r.status}`}).\n` +
        '  jetserve needs python3 to download and unpack the TensorFlow wheel.\n' +
        '  Debian/Ubuntu: apt-get install python3 python3-pip\n' +
        '  Or set LIBTENSORFLOW_DIR to an existing libtensorflow, or JETSERVE_PYTHON to another python.',
    );
  }
  if (needPip) {
    const p = spawnSync(py, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (p.error || p.status !== 0) {
      throw new FetchError(
        `pip is not available for '${py}' (python ${r.stdout.trim()}).\n` +
          '  Debian/Ubuntu: apt-get install python3-pip\n' +
          '  Or download the wheel yourself and set JETSERVE_TF_WHEEL=/path/to/the.whl,\n' +
          '  or set LIBTENSORFLOW_DIR to an existing libtensorflow.',
      );
    }
    return p.stdout.trim().split(' ').slice(0, 2).join(' ');
  }
  return `python ${r.stdout.trim()}`;
}

// ---------------------------------------------------------------------------------------------
// Download

/** Runs pip; when stdout is not a TTY, prints the bytes received so far every few seconds. */
function runPip(args, { tty, measureDirs, approxBytes, env }) {
  const t0 = Date.now();
  let ticker = null;
  return new Promise((resolve, reject) => {
    const child = spawn(pythonExe(), args, { stdio: 'inherit', env });
    if (!tty) {
      ticker = setInterval(() => {
        const got = measureDirs.reduce((n, d) => n + dirSize(d), 0);
        const el = (Date.now() - t0) / 1000;
        const pct = approxBytes ? ` (${Math.min(100, (100 * got) / approxBytes).toFixed(0)}%)` : '';
        log(`  … ${mb(got)}${pct} after ${el.toFixed(0)} s, ${(got / 1e6 / el).toFixed(1)} MB/s`);
      }, Number(process.env.JETSERVE_PROGRESS_SECONDS || 5) * 1000);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else {
        reject(new FetchError(
          `pip download failed (${signal ?? `exit ${code}`}); see pip's output above.\n` +
            '  Offline? Download the wheel elsewhere and set JETSERVE_TF_WHEEL=/path/to/the.whl,\n' +
            '  or set LIBTENSORFLOW_DIR to an existing libtensorflow.',
        ));
      }
    });
  }).finally(() => ticker && clearInterval(ticker));
}

async function downloadWheel(variant, spec, dest, platformTag) {
  const pipVersion = checkPython({ needPip: true });
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  // pip downloads into its temp dir, then copies into -d: give it private dirs we can measure.
  const work = fs.mkdtempSync(path.join(path.dirname(dest), '.download-'));
  try {
    const outDir = path.join(work, 'out');
    const tmpDir = path.join(work, 'tmp');
    fs.mkdirSync(outDir);
    fs.mkdirSync(tmpDir);
    const tty = Boolean(process.stdout.isTTY);
    const args = [
      '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', ...pipTarget(platformTag),
      '--no-cache-dir', '--progress-bar', tty ? 'on' : 'off',
      '-d', outDir, `${spec.pkg}==${TF_VERSION}`,
    ];
    log(`downloading ${spec.wheel} (${variant}) with ${pipVersion}` + (spec.approxBytes ? `, ~${mb(spec.approxBytes)}` : ''));
    log(`  ${pythonExe()} ${args.join(' ')}`);
    const t0 = Date.now();
    await runPip(args, {
      tty,
      measureDirs: [tmpDir, outDir],
      approxBytes: spec.approxBytes,
      env: { ...process.env, TMPDIR: tmpDir },
    });
    const got = path.join(outDir, spec.wheel);
    if (!isFile(got)) {
      throw new FetchError(`pip did not produce ${spec.wheel} (got: ${fs.readdirSync(outDir).join(', ') || 'nothing'}).`);
    }
    log(`downloaded ${mb(fs.statSync(got).size)} in ${secs(Date.now() - t0)}`);
    await verifyWheel(got, spec);
    fs.renameSync(got, dest);
    return dest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function verifyWheel(file, spec, { deleteOnMismatch = true } = {}) {
  const t0 = Date.now();
  const actual = await sha256File(file);
  if (actual !== spec.sha256) {
    if (deleteOnMismatch) fs.rmSync(file, { force: true });
    throw new FetchError(
      `sha256 mismatch for ${path.basename(file)}\n  expected ${spec.sha256}\n  actual   ${actual}\n` +
        (deleteOnMismatch ? '  The file was deleted; run the install again to re-download it.' : '  The file was left in place.'),
    );
  }
  log(`sha256 ok (${actual.slice(0, 16)}…, ${secs(Date.now() - t0)})`);
}

async function obtainWheel(variant, spec, platformTag) {
  const explicit = process.env.JETSERVE_TF_WHEEL;
  if (explicit) {
    if (!isFile(explicit)) throw new FetchError(`JETSERVE_TF_WHEEL=${explicit} is not a file.`);
    log(`using wheel from JETSERVE_TF_WHEEL: ${explicit}`);
    await verifyWheel(explicit, spec, { deleteOnMismatch: false });
    return explicit;
  }
  const cached = path.join(cacheDir(), spec.wheel);
  if (isFile(cached)) {
    log(`found cached wheel ${cached}`);
    try {
      await verifyWheel(cached, spec);
      return cached;
    } catch (e) {
      log(`${e.message.split('\n')[0]}; cached copy deleted, downloading again`);
    }
  }
  return downloadWheel(variant, spec, cached, platformTag);
}

// ---------------------------------------------------------------------------------------------
// Extraction (python3 zipfile; a wheel is a zip)

const EXTRACT_PY = String.raw`
import json, os, posixpath, re, shutil, sys, time, zipfile
cfg = json.loads(sys.argv[1])
z = zipfile.ZipFile(cfg["wheel"])
names = set(z.namelist())
dest = cfg["dest"]
prefix = cfg["include_prefix"]
out = {"libs": {}, "headers": [], "header_bytes": 0, "unresolved": []}

def copy(member, target, label):
    info = z.getinfo(member)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    done, last, t0 = 0, time.time(), time.time()
    with z.open(info) as src, open(target, "wb") as dst:
        while True:
            buf = src.read(1 << 20)
            if not buf:
                break
            dst.write(buf)
            done += len(buf)
            if label and time.time() - last >= 5:
                last = time.time()
                print("[jetserve:tf]   … %s: %d%%" % (label, 100 * done // max(info.file_size, 1)), file=sys.stderr, flush=True)
    return info.file_size

for member, name in cfg["libs"]:
    if member not in names:
        sys.exit("missing in wheel: " + member)
    print("[jetserve:tf]   extracting %s (%.1f MB)" % (name, z.getinfo(member).file_size / 1e6), file=sys.stderr, flush=True)
    target = os.path.join(dest, "lib", name)
    out["libs"][name] = copy(member, target, name)
    os.chmod(target, 0o755)

inc = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
todo, seen = list(cfg["header_roots"]), set()
while todo:
    h = todo.pop()
    if h in seen:
        continue
    if prefix + h not in names:
        sys.exit("header not in wheel: " + h)
    seen.add(h)
    text = z.read(prefix + h).decode("utf-8", "replace")
    for ref in inc.findall(text):
        # quoted include: first relative to the including file, then against the include root
        for cand in (posixpath.normpath(posixpath.join(posixpath.dirname(h), ref)), posixpath.normpath(ref)):
            if prefix + cand in names:
                todo.append(cand)
                break
        else:
            out["unresolved"].append([h, ref])
for h in sorted(seen):
    out["header_bytes"] += copy(prefix + h, os.path.join(dest, "include", *h.split("/")), None)
    out["headers"].append(h)
print(json.dumps(out))
`;

function extract(wheel, dest, wheelLibs) {
  const cfg = {
    wheel,
    dest,
    include_prefix: WHEEL_INCLUDE_PREFIX,
    libs: wheelLibs.map((n) => [`tensorflow/${n}`, n]),
    header_roots: HEADER_ROOTS,
  };
  const r = spawnSync(pythonExe(), ['-c', EXTRACT_PY, JSON.stringify(cfg)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 << 20,
  });
  if (r.error || r.status !== 0) {
    throw new FetchError(`extracting ${path.basename(wheel)} failed (${r.error ? r.error.message : `exit ${r.status}`}).`);
  }
  return JSON.parse(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Stamp / paths

function stampValid(variant, spec) {
  const s = readJson(STAMP);
  if (!s || s.variant !== variant || s.version !== TF_VERSION || s.sha256 !== spec.sha256) return null;
  for (const [rel, size] of Object.entries(s.files || {})) {
    try {
      if (fs.statSync(path.join(TF_DIR, rel)).size !== size) return null;
    } catch {
      return null;
    }
  }
  return s;
}

function pathsRecord(fields) {
  const libDir = fields.libDir;
  return {
    source: fields.source,
    layout: fields.layout,
    variant: fields.variant ?? null,
    version: fields.version ?? null,
    root: fields.root,
    includeDir: fields.includeDir,
    libDir,
    libraries: fields.libraries,
    // RUNPATH of the .node: the package-relative location for the pinned wheel (so the addon in
    // build/Release/ is the same file as the prebuilt one shipped in prebuilds/<platform>/, both
    // two levels below the package root); an override's absolute lib dir first, then that one.
    rpath: fields.source === 'wheel' ? [PACKAGE_RPATH] : [libDir, PACKAGE_RPATH],
  };
}

function writePaths(rec) {
  const changed = writeIfChanged(PATHS_JSON, JSON.stringify(rec, null, 2) + '\n');
  log(`${changed ? 'wrote' : 'unchanged'} ${path.relative(process.cwd(), PATHS_JSON) || PATHS_JSON} (layout ${rec.layout}, lib dir ${rec.libDir})`);
}

/** Detects the layout of a user-supplied libtensorflow directory. */
export function detectLayout(dirArg) {
  const dir = path.resolve(dirArg);
  if (!fs.existsSync(dir)) throw new FetchError(`LIBTENSORFLOW_DIR=${dirArg} does not exist.`);
  const includeDir = path.join(dir, 'include');
  if (!isFile(path.join(includeDir, 'tensorflow', 'c', 'c_api.h'))) {
    throw new FetchError(`LIBTENSORFLOW_DIR=${dirArg}: no include/tensorflow/c/c_api.h under it.`);
  }
  const candidates = [
    // [layout, lib dir, main library, framework library (optional)]
    // In lib/, the C API library's own name wins over libtensorflow_cc (tarballs may hold both).
    ['wheel', dir, 'libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'],
    ['tarball', path.join(dir, 'lib'), 'libtensorflow.so.2', 'libtensorflow_framework.so.2'],
    ['tarball', path.join(dir, 'lib'), 'libtensorflow.so', 'libtensorflow_framework.so'],
    ['jetserve', path.join(dir, 'lib'), 'libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'],
  ];
  for (const [layout, libDir, main, fw] of candidates) {
    if (!isFile(path.join(libDir, main))) continue;
    const libraries = [path.join(libDir, main)];
    if (isFile(path.join(libDir, fw))) libraries.push(path.join(libDir, fw));
    else if (layout !== 'tarball') throw new FetchError(`LIBTENSORFLOW_DIR=${dirArg}: ${main} found but ${fw} is missing next to it.`);
    return { layout, root: dir, includeDir, libDir, libraries };
  }
  throw new FetchError(
    `LIBTENSORFLOW_DIR=${dirArg}: no TensorFlow library found. Expected one of:\n` +
      '  <dir>/libtensorflow_cc.so.2 + <dir>/libtensorflow_framework.so.2 + <dir>/include   (wheel layout)\n' +
      '  <dir>/lib/libtensorflow.so.2 [+ libtensorflow_framework.so.2] + <dir>/include      (tarball/Homebrew layout)',
  );
}

// ---------------------------------------------------------------------------------------------

/**
 * Makes sure a libtensorflow is available and deps/tf-paths.json describes it.
 * Returns { action: 'override' | 'reused' | 'extracted', ... }.
 */
export async function fetchLibtensorflow() {
  const override = process.env.LIBTENSORFLOW_DIR;
  if (override) {
    const found = detectLayout(override);
    log(`LIBTENSORFLOW_DIR=${override}: ${found.layout} layout, libraries ${found.libraries.map((l) => path.basename(l)).join(' + ')}`);
    writePaths(pathsRecord({ source: 'LIBTENSORFLOW_DIR', ...found }));
    return { action: 'override', ...found };
  }

  const variant = (process.env.JETSERVE_TF_VARIANT || 'cpu').toLowerCase();
  const platformKey = `${process.platform}-${process.arch}`;
  const platform = PLATFORM_WHEELS[platformKey];
  if (!platform) {
    throw new FetchError(
      `no pinned TensorFlow wheel for ${platformKey} (pinned: ${Object.keys(PLATFORM_WHEELS).join(', ')}).\n` +
        '  Set LIBTENSORFLOW_DIR to a libtensorflow for this platform (e.g. Homebrew: $(brew --prefix libtensorflow)).',
    );
  }
  const spec = platform.variants[variant];
  if (!spec) throw new FetchError(`JETSERVE_TF_VARIANT=${variant}: ${platformKey} has ${Object.keys(platform.variants).join(', ')}.`);
  if (platformKey !== 'linux-x64') log(`${platformKey}: the pinned ${spec.wheel} is not tested on this project's machines`);
  const WHEEL_LIBS = platform.libs;

  const record = () =>
    pathsRecord({
      source: 'wheel',
      layout: 'jetserve',
      variant,
      version: TF_VERSION,
      root: TF_DIR,
      includeDir: path.join(TF_DIR, 'include'),
      libDir: path.join(TF_DIR, 'lib'),
      libraries: WHEEL_LIBS.map((n) => path.join(TF_DIR, 'lib', n)),
    });

  const stamp = process.env.JETSERVE_FORCE_FETCH === '1' ? null : stampValid(variant, spec);
  if (stamp) {
    log(`reusing ${path.relative(PROJECT_ROOT, TF_DIR)} (tensorflow ${variant} ${TF_VERSION}, extracted ${stamp.extractedAt})`);
    writePaths(record());
    return { action: 'reused', stamp };
  }

  checkPython({ needPip: false });
  const wheel = await obtainWheel(variant, spec, platform.platformTag);

  const t0 = Date.now();
  log(`extracting libraries and C API headers into ${path.relative(PROJECT_ROOT, TF_DIR)}/`);
  fs.mkdirSync(DEPS_DIR, { recursive: true });
  const staging = fs.mkdtempSync(path.join(DEPS_DIR, '.libtensorflow-'));
  fs.chmodSync(staging, 0o755); // mkdtemp creates 0700
  let info;
  try {
    info = extract(wheel, staging, WHEEL_LIBS);
    const files = {};
    for (const [name, size] of Object.entries(info.libs)) files[`lib/${name}`] = size;
    const stampData = {
      variant,
      package: spec.pkg,
      version: TF_VERSION,
      wheel: spec.wheel,
      sha256: spec.sha256,
      files,
      headers: info.headers.length,
      extractedAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(staging, '.jetserve-stamp'), JSON.stringify(stampData, null, 2) + '\n');
    // swap in atomically-ish: old tree out of the way, new tree in, old tree deleted
    const old = `${TF_DIR}.old-${process.pid}`;
    if (fs.existsSync(TF_DIR)) fs.renameSync(TF_DIR, old);
    fs.renameSync(staging, TF_DIR);
    fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  for (const [name, size] of Object.entries(info.libs)) log(`  lib/${name}  ${mb(size)}`);
  log(`  include/: ${info.headers.length} headers, ${(info.header_bytes / 1024).toFixed(1)} KB (closure of ${HEADER_ROOTS.length} C API headers)`);
  if (info.unresolved.length) {
    log(`  note: ${info.unresolved.length} quoted include(s) not in the wheel, skipped: ` +
      info.unresolved.map(([f, r]) => `${r} (from ${f})`).join(', '));
  }
  log(`extracted in ${secs(Date.now() - t0)}`);
  if (variant === 'gpu') {
    log('GPU variant: CUDA/cuDNN libraries are NOT included. Install them at run time with');
    log(`  pip install 'tensorflow[and-cuda]==${TF_VERSION}'  and make them findable (LD_LIBRARY_PATH to the nvidia/*/lib dirs),`);
    log('  or point LIBTENSORFLOW_DIR at that installation\'s site-packages/tensorflow folder.');
  }
  writePaths(record());
  return { action: 'extracted', ...info };
}

async function main() {
  const t0 = Date.now();
  try {
    const r = await fetchLibtensorflow();
    log(`done (${r.action}) in ${secs(Date.now() - t0)}`);
  } catch (e) {
    console.error(`[jetserve:tf] ERROR: ${e instanceof FetchError ? e.message : e.stack || e}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}
