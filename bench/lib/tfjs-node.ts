// tfjs-node 4.22 as a same-runtime baseline for bench/engine.ts: built from source against the
// very TF library jetserve uses, installed into a scratch folder (never a jetserve dependency).
//
// Recipe (shared/reference/feasibility.md): tfjs-node's installer downloads
// `${TFJS_NODE_BASE_URI}cpu-linux-x86_64-2.9.1.tar.gz` and builds its addon with node-gyp against
// it. We serve it such a tarball from loopback: lib/ holds symlinks to jetserve's TF libraries
// (under the names tfjs-node links), include/ the TF wheel's full header tree (tfjs-node includes
// internal headers that jetserve's subset lacks).
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

export const TFJS_NODE_VERSION = '4.22.0';

interface TfPaths {
  includeDir: string;
  libDir: string;
  libraries: string[];
}

function wheelFile(): string | undefined {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'jetserve', 'wheels');
  if (!existsSync(dir)) return undefined;
  const wheel = readdirSync(dir).find((f) => f.startsWith('tensorflow') && f.endsWith('.whl'));
  return wheel ? join(dir, wheel) : undefined;
}

/** Returns the scratch folder whose node_modules holds a built tfjs-node, installing it once. */
export async function ensureTfjsNode(tf: TfPaths, python: string): Promise<string> {
  const root = join(homedir(), '.cache', 'jetserve', 'bench-tfjs-node', TFJS_NODE_VERSION);
  const pkg = join(root, 'pkg');
  const binding = join(pkg, 'node_modules', '@tensorflow', 'tfjs-node', 'lib', 'napi-v8', 'tfjs_binding.node');
  if (existsSync(binding)) {
    relinkLibraries(join(pkg, 'node_modules', '@tensorflow', 'tfjs-node', 'deps', 'lib'), tf);
    return pkg;
  }
  console.log(`building tfjs-node ${TFJS_NODE_VERSION} against ${tf.libDir} (one time) …`);
  rmSync(root, { recursive: true, force: true });
  const headers = join(root, 'wheel');
  const wheel = wheelFile();
  if (!wheel) throw new Error('no TF wheel in the jetserve wheel cache (npm install puts it there)');
  const unzip = spawnSync(
    python,
    [
      '-c',
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nz.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("tensorflow/include/")])',
      wheel,
      headers,
    ],
    { stdio: 'inherit' },
  );
  if (unzip.status !== 0) throw new Error('extracting the TF headers from the wheel failed');

  const tarRoot = join(root, 'tarball');
  mkdirSync(join(tarRoot, 'lib'), { recursive: true });
  const cc = tf.libraries.find((l) => /libtensorflow(_cc)?\.so\.2$/.test(basename(l)))!;
  const framework = tf.libraries.find((l) => basename(l) === 'libtensorflow_framework.so.2');
  symlinkSync(cc, join(tarRoot, 'lib', 'libtensorflow_cc.so.2'));
  for (const name of ['libtensorflow.so.2', 'libtensorflow.so']) symlinkSync('libtensorflow_cc.so.2', join(tarRoot, 'lib', name));
  if (framework) {
    symlinkSync(framework, join(tarRoot, 'lib', 'libtensorflow_framework.so.2'));
    symlinkSync('libtensorflow_framework.so.2', join(tarRoot, 'lib', 'libtensorflow_framework.so'));
  }
  symlinkSync(join(headers, 'tensorflow', 'include'), join(tarRoot, 'include'));
  const served = join(root, 'served');
  mkdirSync(served, { recursive: true });
  const tarball = join(served, 'libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz');
  const tar = spawnSync('tar', ['czf', tarball, '-C', tarRoot, 'lib', 'include'], { stdio: 'inherit' });
  if (tar.status !== 0) throw new Error('tar failed');

  const server = createServer((req, res) => {
    const stream = createReadStream(join(served, basename(new URL(req.url ?? '/', 'http://x').pathname)));
    stream.on('error', () => {
      res.statusCode = 404;
      res.end();
    });
    stream.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'jetserve-bench-tfjs-node', private: true }));
    const env: NodeJS.ProcessEnv = { ...process.env, TFJS_NODE_BASE_URI: `http://127.0.0.1:${port}/libtensorflow-` };
    // node-gyp needs the Node headers; the distribution's nodejs package ships them under /usr.
    if (existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr';
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('npm', ['install', '--no-audit', '--no-fund', `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`], {
        cwd: pkg,
        env,
        stdio: 'inherit',
      });
      child.on('exit', resolve);
    });
    if (code !== 0 || !existsSync(binding)) throw new Error(`installing tfjs-node failed (exit ${code})`);
  } finally {
    server.close();
  }
  return pkg;
}

/**
 * A cached build links the TF library through deps/lib symlinks; they point at the checkout that
 * built it. Pointed at this checkout's library (the same pinned wheel) when they lead elsewhere or
 * nowhere, so a removed checkout does not break the baseline.
 */
function relinkLibraries(depsLib: string, tf: TfPaths): void {
  const cc = tf.libraries.find((l) => /libtensorflow(_cc)?\.so\.2$/.test(basename(l)));
  const framework = tf.libraries.find((l) => basename(l) === 'libtensorflow_framework.so.2');
  for (const [name, target] of [['libtensorflow_cc.so.2', cc], ['libtensorflow_framework.so.2', framework]] as const) {
    if (!target) continue;
    const link = join(depsLib, name);
    let current: string | undefined;
    try {
      current = realpathSync(link);
    } catch {
      current = undefined; // dangling
    }
    if (current === realpathSync(target)) continue;
    rmSync(link, { force: true });
    symlinkSync(target, link);
  }
}

/** µs per synchronous predict + dataSync call of the SavedModel's serving_default, in a child process. */
export function tfjsPerCall(pkg: string, modelDir: string, inputKey: string, shape: number[], iterations: number): number {
  const script = join(import.meta.dirname, 'tfjs-node-run.cjs');
  const result = spawnSync(process.execPath, [script, modelDir, inputKey, shape.join(','), String(iterations)], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', NODE_PATH: join(pkg, 'node_modules') },
  });
  const match = /us_per_call=([\d.]+)/.exec(result.stdout);
  if (!match) throw new Error(`tfjs-node run failed: ${result.stderr}`);
  return Number(match[1]);
}

/** µs per serial `await predict()` of jetserve on the same model and input, in a child process like tfjsPerCall's. */
export function jetservePerCall(modelDir: string, inputKey: string, shape: number[], iterations: number): number {
  const script = join(import.meta.dirname, 'jetserve-per-call-run.ts');
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, modelDir, inputKey, shape.join(','), String(iterations)], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const match = /us_per_call=([\d.]+)/.exec(result.stdout);
  if (!match) throw new Error(`jetserve per-call run failed: ${result.stderr}`);
  return Number(match[1]);
}

