// The `jetserve` command as a TF Serving user runs it: TF Serving's flag names in both spellings,
// clear failures (exit 2) for unknown flags and bad values, the bundled demo model with working
// curl lines when no model flags are given, and a graceful stop on SIGTERM / SIGINT.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, UsageError } from '../../src/cli/index.js';
import { parseLenientJson } from './helpers.js';
import { fixturesDir } from '../helpers/oracle.js';
import { freePort } from '../helpers/net.js';
import { ensureVenv } from '../../scripts/python-env.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'index.ts');
const TSX = ['--import', 'tsx'];

function runCli(args: string[], timeout = 30_000) {
  return spawnSync(process.execPath, [...TSX, CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, () => s.close(() => res(true)));
  });
}

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts the CLI and resolves once it printed its ready banner (or rejects when it exits). */
async function startCli(args: string[], command: string[] = [...TSX, CLI]): Promise<Running> {
  const child = spawn(process.execPath, [...command, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no ready banner in 60 s\nstdout: ${out}\nstderr: ${err}`)), 60_000);
    const check = () => {
      if (/jetserve ready/.test(out) && /\n\n$/.test(out)) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`exited with ${code} before ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('flag parsing (TF Serving names and defaults)', () => {
  it('defaults: REST 8501, gRPC 8500, 30 s timeout, model name "default"', () => {
    const f = parseFlags([]);
    expect(f.rest_api_port).toBe(8501);
    expect(f.port).toBe(8500);
    expect(f.rest_api_timeout_in_ms).toBe(30000);
    expect(f.model_name).toBe('default');
    expect(f.model_base_path).toBe('');
  });

  it('accepts --flag=value and --flag value, including negative numbers', () => {
    const f = parseFlags([
      '--rest_api_port',
      '9001',
      '--port=9000',
      '--model_name',
      'm',
      '--model_base_path=/x',
      '--tensorflow_inter_op_parallelism',
      '-1',
      '--tensorflow_intra_op_parallelism=2',
      '--rest_api_num_threads=64',
    ]);
    expect([f.rest_api_port, f.port, f.model_name, f.model_base_path]).toEqual([9001, 9000, 'm', '/x']);
    expect([f.tensorflow_inter_op_parallelism, f.tensorflow_intra_op_parallelism, f.rest_api_num_threads]).toEqual([-1, 2, 64]);
  });

  it.each([
    [['--bogus=1'], /^unknown flag --bogus \(see --help\)$/],
    [['--rest_api_prot=1'], /unknown flag --rest_api_prot \(did you mean --rest_api_port\?\)/],
    [['--port=abc'], /^--port takes an integer, not 'abc'$/],
    [['--port=70000'], /^--port=70000 is out of range \(0 to 65535\)$/],
    [['--rest_api_timeout_in_ms=-5'], /out of range/],
    [['--model_name'], /^--model_name needs a value$/],
    [['--port=8501'], /--rest_api_port and --port must differ/],
    [['--model_name=m'], /--model_name needs --model_base_path/],
    [['--platform_config_file=x'], /^--platform_config_file is a TF Serving flag jetserve does not support: a PlatformConfigMap configures TF Serving C\+\+ source adapters; use /],
    [['--model_config_file=x', '--model_base_path=/y'], /--model_config_file and --model_base_path are mutually exclusive/],
    [['--model_repository=/r', '--model_config_file=x'], /--model_repository replaces --model_config_file, --model_base_path and --model_name/],
    [['--model_repository='], /--model_repository must not be empty/],
    [['--model_config_file_poll_wait_seconds=5'], /--model_config_file_poll_wait_seconds needs --model_config_file/],
    [['--enable_batching=sometimes'], /takes true or false/],
    [['--grpc_transport=quic'], /^--grpc_transport must be 'jetserve' or 'grpc-js', not 'quic'$/],
    [['--log_level=loud'], /^--log_level must be one of trace, debug, info, warn, error, fatal, silent, not 'loud'$/],
    [['--log_format=xml'], /^--log_format must be 'json' or 'text', not 'xml'$/],
    [['--access_log_sample_rate=2'], /^--access_log_sample_rate=2 is out of range \(0 to 1\)$/],
    [['--drain_grace_seconds=soon'], /^--drain_grace_seconds takes a number, not 'soon'$/],
    [['--drain_timeout_seconds=-1'], /^--drain_timeout_seconds=-1 is out of range \(0 to 3600\)$/],
    [['--grpc_max_message_size=10'], /out of range/],
    [['positional'], /unexpected argument 'positional'/],
    [['--help=maybe'], /takes true or false/],
  ])('%j → UsageError %s', (args, message) => {
    expect(() => parseFlags(args)).toThrow(UsageError);
    expect(() => parseFlags(args)).toThrow(message);
  });
});

describe('the jetserve command', () => {
  it('--help prints every flag and exits 0', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--rest_api_port', '--port', '--model_name', '--model_base_path', '--rest_api_timeout_in_ms', '--tensorflow_intra_op_parallelism', '--tensorflow_inter_op_parallelism', '--rest_api_num_threads']) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/rest_api_num_threads[^\n]*\n\s+Accepted for compatibility and ignored/);
  });

  it.each([
    [['--nope'], 'jetserve: unknown flag --nope (see --help)'],
    [['--rest_api_port=http'], "jetserve: --rest_api_port takes an integer, not 'http'"],
  ])('%j exits 2 with a clear message', (args, message) => {
    const r = runCli(args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(message);
  });

  it('a missing model base path exits 1 naming the path', () => {
    const r = runCli(['--model_base_path=/no/such/dir', '--rest_api_port=0', '--port=0', '--grpc_socket_path=/tmp/x.sock']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('jetserve: Failed to start server. Error: ');
    expect(r.stderr).toContain('base path /no/such/dir does not exist');
  });

  it('an unreadable --model_repository exits 1 naming it', () => {
    const r = runCli(['--model_repository=/no/such/repo', '--rest_api_port=0', '--port=0', '--grpc_socket_path=/tmp/x.sock']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^jetserve: invalid --model_repository: model repository \/no\/such\/repo cannot be read: ENOENT/m);
  });

  it('with no model flags it serves the demo model, and every printed curl line works', async () => {
    const [rest, grpc] = [await freePort(), await freePort()];
    const cli = await startCli([`--rest_api_port=${rest}`, `--port=${grpc}`]);
    expect(cli.stderr()).toMatch(/serving the bundled demo model half_plus_two/);
    expect(cli.stderr()).toMatch(/HTTP engine: uWebSockets\.js native/);
    const lines = cli
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('curl '));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const replies = lines.map((line) => {
      const r = spawnSync('sh', ['-c', `${line} -s -w '\\n%{http_code}'`], { encoding: 'utf8', timeout: 20_000 });
      const text = r.stdout.trim();
      const status = Number(text.slice(text.lastIndexOf('\n') + 1));
      return { line, status, body: parseLenientJson(text.slice(0, text.lastIndexOf('\n'))) };
    });
    for (const r of replies) expect(r.status, r.line).toBe(200);
    const byPath = (part: string) => replies.find((r) => r.line.includes(part))!.body;
    expect(replies.find((r) => r.line.endsWith('/v1/models/half_plus_two'))!.body.model_version_status[0]).toEqual({
      version: '1',
      state: 'AVAILABLE',
      status: { error_code: 'OK', error_message: '' },
    });
    expect(byPath('/metadata').metadata.signature_def.signature_def.serving_default.inputs.x.dtype).toBe('DT_FLOAT');
    expect(replies.find((r) => r.line.includes('"instances"'))!.body).toEqual({ predictions: [2.5, 3.0, 4.5] });
    expect(replies.find((r) => r.line.includes('"inputs": {"x"'))!.body).toEqual({ outputs: [2.5, 3.0, 4.5] });
    expect(byPath(':regress').results).toEqual([2.5, 4.5]);
    const infer = byPath('/infer');
    expect(infer.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP32', shape: [3], data: [2.5, 3.0, 4.5] });

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toMatch(/SIGTERM: shutting down/);
    expect(cli.stderr()).toMatch(/stopped/);
  }, 90_000);

  it('serves --model_name / --model_base_path (space-separated values) and stops on SIGINT', async () => {
    const rest = await freePort();
    const cli = await startCli([
      '--model_name',
      'mlp',
      '--model_base_path',
      join(fixturesDir(), 'mlp'),
      '--rest_api_port',
      String(rest),
      '--port=0',
      '--tensorflow_intra_op_parallelism=1',
      '--tensorflow_inter_op_parallelism=1',
    ]);
    const r = await fetch(`http://127.0.0.1:${rest}/v1/models/mlp:predict`, {
      method: 'POST',
      body: '{"instances": [[1.0, 2.0, 3.0, 4.0]]}',
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { predictions: number[][] }).predictions[0]).toHaveLength(3);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  }, 90_000);

  it('--model_config_file: serves its models; SIGHUP applies a new file; an invalid one keeps the old config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-cli-config-'));
    try {
      const file = join(dir, 'models.config');
      const hpt = join(fixturesDir(), 'half_plus_two');
      const mlp = join(fixturesDir(), 'mlp');
      writeFileSync(file, `model_config_list {\n  config { name: 'hpt' base_path: '${hpt}' model_platform: 'tensorflow' }\n}\n`);
      const rest = await freePort();
      const cli = await startCli([`--model_config_file=${file}`, `--rest_api_port=${rest}`, '--port=0', '--max_num_load_retries=0']);
      const base = `http://127.0.0.1:${rest}`;
      expect(cli.stdout()).toMatch(/jetserve ready: model hpt version 1/);
      expect((await fetch(`${base}/v1/models/mlp`)).status).toBe(404);

      writeFileSync(
        file,
        `model_config_list {\n  config { name: 'hpt' base_path: '${hpt}' }\n  config {\n    name: 'mlp'\n    base_path: '${mlp}'\n    version_labels { key: 'stable' value: 1 }\n  }\n}\n`,
      );
      cli.child.kill('SIGHUP');
      const end = Date.now() + 30_000;
      while (!/SIGHUP: config applied/.test(cli.stderr()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const status = await fetch(`${base}/v1/models/mlp/labels/stable`);
      expect(status.status).toBe(200);
      expect(await status.json()).toEqual({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });

      writeFileSync(file, `model_config_list {\n  config { name: 'hpt' bsae_path: '${hpt}' }\n}\n`);
      cli.child.kill('SIGHUP');
      const end2 = Date.now() + 30_000;
      while (!/config not reloaded/.test(cli.stderr()) && Date.now() < end2) await new Promise((r) => setTimeout(r, 50));
      expect(cli.stderr()).toMatch(
        /SIGHUP: config not reloaded, the running config keeps serving: Error parsing text-format tensorflow\.serving\.ModelServerConfig: 2:24: unknown field 'bsae_path' in ModelConfig .*; Invalid protobuf file: '.*models\.config'/,
      );
      expect((await fetch(`${base}/v1/models/mlp`)).status).toBe(200);
      expect((await fetch(`${base}/v1/models/hpt`)).status).toBe(200);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('--model_repository: tritonclient indexes, loads (a directory added after start-up) and unloads models (REST; index over gRPC too)', async () => {
    const python = await ensureVenv();
    const repo = mkdtempSync(join(tmpdir(), 'jetserve-cli-repo-'));
    try {
      const hpt = join(fixturesDir(), 'half_plus_two');
      cpSync(hpt, join(repo, 'a'), { recursive: true });
      const rest = await freePort();
      const grpcPort = await freePort();
      const cli = await startCli([`--model_repository=${repo}`, '--enable_model_repository_api', '--admin_allow_loopback_without_token', `--rest_api_port=${rest}`, `--port=${grpcPort}`, '--max_num_load_retries=0']);
      const base = `http://127.0.0.1:${rest}`;
      expect(cli.stdout()).toMatch(/jetserve ready: model a version 1/);
      expect(await (await fetch(`${base}/v2/repository/index`, { method: 'POST' })).json()).toEqual([{ name: 'a', version: '1', state: 'READY', reason: '' }]);

      // after start-up: a good model directory, a corrupt one, and a hidden one (never listed)
      cpSync(hpt, join(repo, 'b'), { recursive: true });
      mkdirSync(join(repo, 'broken', '1'), { recursive: true });
      writeFileSync(join(repo, 'broken', '1', 'saved_model.pb'), 'not a SavedModel');
      mkdirSync(join(repo, '.staging'));
      const script = `
import json, sys
import tritonclient.http as http
from tritonclient.utils import InferenceServerException
c = http.InferenceServerClient(sys.argv[1])
def attempt(f):
    try:
        f(); return 'ok'
    except InferenceServerException as e:
        return e.message()
out = {'index_before': c.get_model_repository_index()}
out['load_b'] = attempt(lambda: c.load_model('b'))
out['b_ready'] = c.is_model_ready('b')
out['load_broken'] = attempt(lambda: c.load_model('broken'))
out['load_nope'] = attempt(lambda: c.load_model('nope'))
out['load_parent'] = attempt(lambda: c.load_model('..'))
out['unload_a'] = attempt(lambda: c.unload_model('a'))
out['a_ready'] = c.is_model_ready('a')
out['index_after'] = c.get_model_repository_index()
import tritonclient.grpc as grpcclient
g = grpcclient.InferenceServerClient(sys.argv[2])
out['grpc_index'] = g.get_model_repository_index(as_json=True)
print(json.dumps(out))
`;
      const r = spawnSync(python, ['-c', script, `127.0.0.1:${rest}`, `127.0.0.1:${grpcPort}`], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as Record<string, any>;
      expect(out.index_before).toEqual([
        { name: 'a', version: '1', state: 'READY', reason: '' },
        { name: 'b', state: 'UNAVAILABLE', reason: 'unloaded' },
        { name: 'broken', state: 'UNAVAILABLE', reason: 'unloaded' },
      ]);
      expect(out.load_b).toBe('ok');
      expect(out.b_ready).toBe(true);
      expect(out.load_broken).toMatch(/broken/);
      expect(out.load_nope).toMatch(/failed to load 'nope', failed to poll from model repository: no model directory nope/);
      expect(out.load_parent).not.toBe('ok');
      expect(out.unload_a).toBe('ok');
      expect(out.a_ready).toBe(false);
      expect(out.index_after.map((m: { name: string; state: string }) => [m.name, m.state])).toEqual([
        ['a', 'UNAVAILABLE'],
        ['b', 'READY'],
        ['broken', 'UNAVAILABLE'],
      ]);
      expect(out.index_after[2].reason).toMatch(/^version 1 failed to load: ./);
      // the same index over gRPC (Triton's RepositoryIndex, tritonclient.grpc)
      expect(out.grpc_index.models.map((m: { name: string; state: string }) => [m.name, m.state])).toEqual([
        ['a', 'UNAVAILABLE'],
        ['b', 'READY'],
        ['broken', 'UNAVAILABLE'],
      ]);

      // the model loaded through the API serves (half_plus_two: x / 2 + 2)
      const p = await fetch(`${base}/v1/models/b:predict`, { method: 'POST', body: '{"instances": [1.0, 2.0]}' });
      expect(await p.json()).toEqual({ predictions: [2.5, 3.0] });
      expect((await fetch(`${base}/v1/models/a:predict`, { method: 'POST', body: '{"instances": [1.0]}' })).status).toBe(404);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  }, 240_000);

  it('--model_config_file_poll_wait_seconds re-reads the file (JSON) and applies changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-cli-config-'));
    try {
      const file = join(dir, 'models.json');
      const hpt = join(fixturesDir(), 'half_plus_two');
      const config = (labels: Record<string, number>) =>
        JSON.stringify({ model_config_list: { config: [{ name: 'hpt', base_path: hpt, version_labels: labels }] } });
      writeFileSync(file, config({}));
      const rest = await freePort();
      const cli = await startCli([`--model_config_file=${file}`, '--model_config_file_poll_wait_seconds=1', `--rest_api_port=${rest}`, '--port=0']);
      const base = `http://127.0.0.1:${rest}`;
      const predict = () => fetch(`${base}/v1/models/hpt/labels/blue:predict`, { method: 'POST', body: '{"instances": [2.0]}' });
      expect((await predict()).status).toBe(400);
      writeFileSync(file, config({ blue: 1 }));
      const end = Date.now() + 20_000;
      while (!/config poll: config applied/.test(cli.stderr()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      const r = await predict();
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ predictions: [3.0] });
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('--monitoring_config_file: the REST port serves Prometheus metrics at prometheus_config.path', async () => {
    expect(parseFlags(['--monitoring_config_file=/m.config']).monitoring_config_file).toBe('/m.config');
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-cli-monitoring-'));
    try {
      const file = join(dir, 'monitoring.config');
      writeFileSync(file, 'prometheus_config {\n  enable: true,\n  path: "/metrics"\n}\n');
      const rest = await freePort();
      const cli = await startCli([
        '--model_name=hpt',
        `--model_base_path=${join(fixturesDir(), 'half_plus_two')}`,
        `--rest_api_port=${rest}`,
        '--port=0',
        `--monitoring_config_file=${file}`,
      ]);
      const base = `http://127.0.0.1:${rest}`;
      expect(cli.stderr()).toContain(`Prometheus metrics at http://localhost:${rest}/metrics`);
      for (let i = 0; i < 2; i++) {
        expect((await fetch(`${base}/v1/models/hpt:predict`, { method: 'POST', body: '{"instances": [1.0]}' })).status).toBe(200);
      }
      expect((await fetch(`${base}/v1/models/hpt:predict`, { method: 'POST', body: '{"instances": ' })).status).toBe(400);
      const r = await fetch(`${base}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await r.text();
      expect(text).toContain('# TYPE :tensorflow:serving:request_count counter\n');
      expect(text).toContain(':tensorflow:serving:request_count{model_name="hpt",status="OK"} 2\n');
      expect(text).toContain(':tensorflow:serving:request_count{model_name="hpt",status="INVALID_ARGUMENT"} 1\n');
      expect(text).toContain(':tensorflow:serving:request_latency_count{model_name="hpt",API="predict",entrypoint="REST"} 2\n');
      expect(text).toContain(`:tensorflow:cc:saved_model:load_attempt_count{model_path="${join(fixturesDir(), 'half_plus_two', '1')}",status="success"} 1\n`);
      expect(text).toContain(':jetserve:model_version_state{model_name="hpt",version="1",state="AVAILABLE"} 1\n');
      // only the configured path: TF Serving's default is an unknown route here
      expect((await fetch(`${base}/monitoring/prometheus/metrics`)).status).toBe(404);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('an invalid --monitoring_config_file exits 1 naming the line and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-cli-monitoring-'));
    try {
      const file = join(dir, 'monitoring.config');
      writeFileSync(file, 'prometheus_config {\n  enable: true\n  pth: "/metrics"\n}\n');
      const r = runCli([`--monitoring_config_file=${file}`, '--port=0', '--rest_api_port=0', '--grpc_socket_path=/tmp/x.sock']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `jetserve: invalid --monitoring_config_file: ${file}:3:3: unknown field 'pth' in PrometheusConfig (known: enable, path)\n`,
      );
      // enabled without a REST port: nowhere to serve the metrics
      writeFileSync(file, 'prometheus_config { enable: true }\n');
      const r2 = runCli([`--monitoring_config_file=${file}`, '--port=0', '--rest_api_port=0', '--grpc_socket_path=/tmp/x.sock']);
      expect(r2.status).toBe(1);
      expect(r2.stderr).toMatch(/--monitoring_config_file enables Prometheus metrics, which are served on the REST port, but --rest_api_port=0 disables REST/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it("an invalid --model_config_file fails start-up in TF Serving's words, naming the line and field", () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-cli-config-'));
    try {
      const text = join(dir, 'models.config');
      writeFileSync(text, "model_config_list {\n  config { name: 'a' bsae_path: '/models/a' }\n}\n");
      const bad = runCli([`--model_config_file=${text}`, '--port=0', '--rest_api_port=0', '--grpc_socket_path=/tmp/x.sock'], 60_000);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(
        new RegExp(
          `^jetserve: invalid --model_config_file: Error parsing text-format tensorflow\\.serving\\.ModelServerConfig: 2:22: unknown field 'bsae_path' in ModelConfig \\(known: [^)]*\\); Invalid protobuf file: '${text}'\n$`,
        ),
      );
      const file = join(dir, 'models.yaml');
      writeFileSync(file, 'model_config_list:\n  config:\n    - name: a\n      base_path: relative/path\n');
      const r = runCli([`--model_config_file=${file}`, '--port=0', '--rest_api_port=0', '--grpc_socket_path=/tmp/x.sock'], 60_000);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/invalid --model_config_file: Expected model a to have an absolute path or URI; got base_path\(\)=relative\/path \(.*models\.yaml\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('bin/jetserve.js (the npx entry point) runs the CLI', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'jetserve.js'), '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^jetserve \d+\.\d+\.\d+/);
  });

  it('with no flags at all it listens on TF Serving’s ports 8501 (REST) and 8500 (gRPC)', async (ctx) => {
    if (!(await portFree(8501)) || !(await portFree(8500))) ctx.skip();
    const cli = await startCli([]);
    expect(cli.stdout()).toContain('curl http://localhost:8501/v1/models/half_plus_two');
    expect(cli.stderr()).toMatch(/gRPC API .* listening on 0\.0\.0\.0:8500/);
    const r = await fetch('http://127.0.0.1:8501/v1/models/half_plus_two:predict', {
      method: 'POST',
      body: '{"instances": [1.0, 2.0, 5.0]}',
    });
    expect(await r.json()).toEqual({ predictions: [2.5, 3.0, 4.5] });
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  }, 90_000);
});
