// The npm package as a Node app gets it: the package is staged and packed (scripts/prebuild.mjs
// --stage, the prepack step, into a temp copy so this tree's dist/ stays as the other tests use
// it), the tarball is installed into a fresh app whose PATH has no cmake, no C/C++ compiler and no
// make (the addon and uWebSockets.js must come prebuilt), and the app runs `npx jetserve --help`,
// an in-process predict from import('jetserve'), a server from 'jetserve/server' queried with both
// clients from 'jetserve/client', and a strict TypeScript check of all three entry points.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_MATRIX } from '../../scripts/node-matrix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
let work: string;
let app: string;
let tarball: string;
let files: string[];
let installLog: string;
/** PATH of the app: node, npm and python3 (for the wheel's extraction), no build tools. */
let appPath: string;

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeout ?? 300_000, cwd: opts.cwd, env: opts.env ?? process.env });
}

function which(tool: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} is not on PATH`);
  return r.stdout.trim();
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'jetserve-pack-'));
  const stage = join(work, 'stage');
  const prebuild = run(process.execPath, [join(root, 'scripts', 'prebuild.mjs'), '--stage', stage], { cwd: root, timeout: 600_000 });
  if (prebuild.status !== 0) throw new Error(`prebuild failed:\n${prebuild.stdout}\n${prebuild.stderr}`);
  const pack = run('npm', ['pack', stage, '--ignore-scripts', '--json', '--pack-destination', work], { cwd: work });
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  files = info.files.map((f) => f.path);

  const bin = join(work, 'bin');
  mkdirSync(bin);
  // python3 resolved to the interpreter itself (not a version-manager shim that needs its own PATH)
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(python, join(bin, 'python3'));
  for (const tool of ['node', 'npm', 'npx', 'sh', 'tar', 'gzip', 'env', 'uname']) symlinkSync(realpathSync(which(tool)), join(bin, tool));
  appPath = bin;

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], {
    cwd: app,
    env: { ...process.env, PATH: appPath, npm_config_update_notifier: 'false' },
    timeout: 600_000,
  });
  installLog = `${install.stdout}\n${install.stderr}`;
  if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${installLog.slice(-4000)}`);
}, 1_200_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const appEnv = () => ({ ...process.env, PATH: appPath, TF_CPP_MIN_LOG_LEVEL: '2' });

describe('npm package', () => {
  it('carries what runs (dist with types and .proto files, prebuilt addon and uWS for every matrix Node, demo model) and no tests or sources', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/serve/index.d.ts', 'dist/client/index.d.ts', 'dist/cli/index.js',
      'dist/server/http/json-worker.js', 'dist/wire/protobuf/proto/tensorflow_serving/apis/predict.proto', 'dist/wire/flatbuffers/schema/predict.fbs',
      'prebuilds/linux-x64/jetserve_native.node', 'models/half_plus_two/1/saved_model.pb', 'bin/jetserve.js', 'CMakeLists.txt',
      'native/addon.cc', 'scripts/install.mjs', 'scripts/fetch-libtensorflow.mjs', 'scripts/uws/build-uws.mjs', 'scripts/uws/CMakeLists.txt']) {
      expect(files, f).toContain(f);
    }
    for (const { abi } of NODE_MATRIX) expect(files).toContain(`prebuilds/linux-x64/uws_linux_x64_${abi}.node`);
    expect(files.filter((f) => /^(test|bench|src)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('installs without cmake or a compiler: the prebuilt addon and uWebSockets.js load', () => {
    expect(which('cmake')).toBeTruthy(); // the machine has them; the app's PATH does not
    const r = run('sh', ['-c', 'command -v cmake || command -v g++ || command -v c++ || command -v cc || command -v make || echo none'], { cwd: app, env: appEnv() });
    expect(r.stdout.trim()).toBe('none');
    expect(installLog).toMatch(/native addon: prebuilt prebuilds\/linux-x64\/jetserve_native\.node/);
    expect(installLog).toMatch(new RegExp(`prebuilt prebuilds/linux-x64/uws_linux_x64_${process.versions.modules}\\.node serves on this Node`));
    expect(installLog).toMatch(/dist\/ is prebuilt/);
    expect(installLog).not.toMatch(/cmake-js/);
  });

  it('npx jetserve --help and --version', () => {
    const help = run('npx', ['--no-install', 'jetserve', '--help'], { cwd: app, env: appEnv() });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: jetserve/m);
    expect(help.stdout).toMatch(/--rest_api_port/);
    const version = run('npx', ['--no-install', 'jetserve', '--version'], { cwd: app, env: appEnv() });
    expect(version.stdout.trim()).toBe(`jetserve ${pkg.version}`);
  });

  it("import('jetserve') predicts in process; 'jetserve/server' serves; 'jetserve/client' queries it (FlatBuffers and KServe binary)", () => {
    writeFileSync(
      join(app, 'smoke.mjs'),
      `
      const { loadSavedModel, engineInfo } = await import('jetserve');
      const { startServer, DEMO_MODEL_PATH } = await import('jetserve/server');
      const { predictFlat, inferKServe } = await import('jetserve/client');
      const model = await loadSavedModel(DEMO_MODEL_PATH + '/1');
      const { y } = await model.predict({ x: [1, 2, 5] });
      await model.dispose();
      const logs = [];
      const server = await startServer({ restApiPort: 0, port: 0, host: '127.0.0.1', log: (m) => logs.push(m),
        enableDashboard: true, adminAllowLoopbackWithoutToken: true });
      const base = 'http://127.0.0.1:' + server.http.port;
      const dashboard = await fetch(base + '/dashboard/dashboard.js');
      const dashboardScript = dashboard.status + ' ' + (await dashboard.text()).length;
      const x = { dtype: 'float32', shape: [2], data: Float32Array.from([1, 3]) };
      const flat = await predictFlat(base, 'half_plus_two', { x });
      const kserve = await inferKServe(base, 'half_plus_two', { x });
      await server.close();
      console.log(JSON.stringify({ predict: Array.from(y.data), tf: engineInfo().tfVersion, flat: Array.from(flat.y.data),
        kserve: Array.from(kserve.y.data), engine: logs.find((l) => l.startsWith('HTTP engine')), dashboardScript }));
      `,
    );
    const r = run(process.execPath, ['smoke.mjs'], { cwd: app, env: appEnv(), timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.predict).toEqual([2.5, 3, 4.5]);
    expect(out.tf).toBe('2.21.0');
    expect(out.flat).toEqual([2.5, 3.5]);
    expect(out.kserve).toEqual([2.5, 3.5]);
    // the dashboard's static page ships in the package
    expect(out.dashboardScript).toMatch(/^200 [1-9]\d{3,}$/);
    expect(out.engine).toBe(
      `HTTP engine: uWebSockets.js native (jetserve source build, prebuilds/linux-x64/uws_linux_x64_${process.versions.modules}.node)`,
    );
  });

  it('types: every entry point type-checks under strict NodeNext resolution', () => {
    writeFileSync(
      join(app, 'check.ts'),
      `
      import { loadSavedModel, JetserveError, type Tensor } from 'jetserve';
      import { startServer, type JetserveServer, type ServerOptions } from 'jetserve/server';
      import { inferKServe, predictFlat, type InferKServeOptions } from 'jetserve/client';
      export async function f(opts: ServerOptions, k: InferKServeOptions): Promise<number> {
        const m = await loadSavedModel('/m');
        const t: Tensor = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
        const s: JetserveServer = await startServer(opts);
        const a = await predictFlat('http://x', 'm', { t });
        const b = await inferKServe('http://x', 'm', { t }, k);
        return Object.keys(m.signatures).length + Object.keys(a).length + Object.keys(b).length + (s.http?.port ?? 0) + (new JetserveError('INTERNAL', 'x').code.length);
      }
      // @ts-expect-error: the client takes tensors, not numbers
      predictFlat('http://x', 'm', { t: 1 });
      `,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), 'check.ts'], { cwd: app });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
