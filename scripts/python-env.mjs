// The Python venv the tests use: TensorFlow (the numerical oracle and fixture maker) plus the
// Python clients used as cross-checks and benchmark baselines. Owns creating it, installing
// test/requirements*.txt into it, and marking it complete.
//
//   import { ensureVenv } from './python-env.mjs';  const python = await ensureVenv();
//   node scripts/python-env.mjs                       # prints the venv's python path on stdout
//
// Location: $JETSERVE_VENV, or ~/.cache/jetserve/venv-<12 hex of sha256(requirements files)>, so
// clones on one machine share it and a change of pins gets a fresh venv. A stamp file is written
// only after every install step and the import check passed; a venv without it is redone.
// Base interpreter: $JETSERVE_PYTHON, else `python3` on PATH.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REQUIREMENTS = join(REPO_ROOT, 'test', 'requirements.txt');
const REQUIREMENTS_NODEPS = join(REPO_ROOT, 'test', 'requirements-nodeps.txt');

/** Written right after `python -m venv`: marks a directory this script owns (and may wipe). */
const OWNER_MARK = '.jetserve-venv';
/** Written last, holding the requirements hash: the venv is complete. */
const STAMP = '.jetserve-stamp';

const IMPORT_CHECK = [
  'import tensorflow as tf, numpy, grpc, google.protobuf, tritonclient.http, tritonclient.grpc',
  'from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc, model_service_pb2_grpc',
  'import fastapi, uvicorn, orjson, uvloop, httptools',
  'assert tf.__version__.startswith("2."), tf.__version__',
].join('\n');

/** sha256 over both requirements files; its first 12 hex digits name the default venv. */
export async function requirementsHash() {
  const h = createHash('sha256');
  h.update(await readFile(REQUIREMENTS));
  h.update('\0');
  h.update(await readFile(REQUIREMENTS_NODEPS));
  return h.digest('hex');
}

export async function venvDir() {
  if (process.env.JETSERVE_VENV) return resolve(process.env.JETSERVE_VENV);
  return join(homedir(), '.cache', 'jetserve', `venv-${(await requirementsHash()).slice(0, 12)}`);
}

function venvPython(dir) {
  return process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python3');
}

async function readText(file) {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Returns the path of a python3 inside a venv that has test/requirements.txt (and, without its
 * dependencies, test/requirements-nodeps.txt) installed, creating or repairing the venv first.
 * Install output goes to stderr. Concurrent callers on one machine wait for each other.
 */
export async function ensureVenv() {
  const hash = await requirementsHash();
  const dir = await venvDir();
  const python = venvPython(dir);
  if ((await readText(join(dir, STAMP)))?.trim() === hash && existsSync(python)) return python;

  await mkdir(dirname(dir), { recursive: true });
  return withLock(`${dir}.lock`, async () => {
    // another process may have finished while we waited
    if ((await readText(join(dir, STAMP)))?.trim() === hash && existsSync(python)) return python;
    const started = Date.now();
    const ours = existsSync(join(dir, OWNER_MARK));
    if (ours && !existsSync(join(dir, STAMP))) {
      log(`removing incomplete venv ${dir}`);
      await rm(dir, { recursive: true, force: true });
    }
    if (!existsSync(python)) {
      const base = findBasePython();
      log(`creating venv ${dir} (base ${base})`);
      await run(base, ['-m', 'venv', dir], 'python -m venv');
      await writeFile(join(dir, OWNER_MARK), 'created by jetserve scripts/python-env.mjs\n');
    } else {
      log(`updating venv ${dir}`);
    }
    const pip = [python, '-m', 'pip', 'install', '--disable-pip-version-check'];
    await run(pip[0], [...pip.slice(1), '-r', REQUIREMENTS], 'pip install -r test/requirements.txt');
    await run(
      pip[0],
      [...pip.slice(1), '--no-deps', '-r', REQUIREMENTS_NODEPS],
      'pip install --no-deps -r test/requirements-nodeps.txt',
    );
    await run(python, ['-c', IMPORT_CHECK], 'import check of the installed packages', {
      TF_CPP_MIN_LOG_LEVEL: '2',
    });
    await writeFile(join(dir, STAMP), `${hash}\n`);
    log(`venv ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${python}`);
    return python;
  });
}

function findBasePython() {
  const base = process.env.JETSERVE_PYTHON || 'python3';
  const probe = spawnSync(
    base,
    ['-c', 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])'],
    { encoding: 'utf8' },
  );
  if (probe.error) {
    throw new Error(
      `jetserve: '${base}' was not found. The test suite needs Python 3.10–3.13 with the venv module ` +
        '(Debian/Ubuntu: apt-get install python3 python3-venv), or set JETSERVE_PYTHON to an interpreter.',
    );
  }
  if (probe.status !== 0) {
    throw new Error(
      `jetserve: '${base}' has no working venv/ensurepip module (Debian/Ubuntu: apt-get install python3-venv).\n` +
        probe.stderr.trim(),
    );
  }
  const [major, minor] = probe.stdout.trim().split('.').map(Number);
  if (major !== 3 || minor < 10 || minor > 13) {
    throw new Error(
      `jetserve: '${base}' is Python ${probe.stdout.trim()}; tensorflow-cpu 2.21 has wheels for 3.10–3.13. ` +
        'Set JETSERVE_PYTHON to a supported interpreter.',
    );
  }
  return base;
}

/** Runs a command with stdout redirected to our stderr (keeps our stdout for results). */
export function run(cmd, args, what, env = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', process.stderr, process.stderr],
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', ...env },
    });
    child.on('error', (err) => reject(new Error(`jetserve: ${what} could not start: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`jetserve: ${what} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

function log(message) {
  process.stderr.write(`[jetserve python-env] ${message}\n`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * Cross-process mutex: a directory made with mkdir (atomic), holding the owner's pid. A lock whose
 * owner died is taken over. Shared by ensureVenv and the fixture maker.
 */
export async function withLock(lockDir, fn) {
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const pid = Number(await readText(join(lockDir, 'pid')));
      let stale = pid > 0 && !alive(pid);
      if (!pid) {
        // created but pid not yet written, or its writer died in between
        const age = await stat(lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
        stale = age > 30_000;
      }
      if (stale) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for process ${pid || '?'} holding ${lockDir}`);
        announced = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureVenv().then(
    (python) => process.stdout.write(`${python}\n`),
    (err) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
