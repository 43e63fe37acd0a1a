// Logs (issue 13 item 2): the request id (client's x-request-id when plausible, else a new one)
// echoed on REST and gRPC (both transports), the sampled access log, --log_level filtering, and
// the command's pino output: JSON lines by default, text with --log_format=text, and a second
// SIGTERM that exits at once.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { startServer } from '../../src/serve/start.js';
import type { LogFields, LogLevel } from '../../src/observability/logging/levels.js';
import { fixturesDir } from '../helpers/oracle.js';
import { predictRequest } from '../helpers/grpc-requests.js';
import { freePort } from '../helpers/net.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'index.ts');
const models = [{ name: 'hpt', basePath: join(fixturesDir(), 'half_plus_two') }];

interface Line {
  message: string;
  level: LogLevel;
  fields: LogFields | undefined;
}

function capture(): { lines: Line[]; log: (message: string, level?: LogLevel, fields?: LogFields) => void } {
  const lines: Line[] = [];
  return { lines, log: (message, level = 'info', fields) => lines.push({ message, level, fields }) };
}

function grpcPredict(port: number, requestId?: string): Promise<grpc.Metadata> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (requestId !== undefined) md.set('x-request-id', requestId);
  const request = predictRequest('hpt', { x: { dtype: 'float32', shape: [1], data: Float32Array.from([1]) } });
  return new Promise((resolve, reject) => {
    let answer: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest('/tensorflow.serving.PredictionService/Predict', (b: Buffer) => b, (b: Buffer) => b, request, md, (err) => {
      client.close();
      if (err) reject(err);
      else resolve(answer!);
    });
    call.on('metadata', (m) => (answer = m));
  });
}

/** A generated request id: the process's random prefix and a counter. */
const GENERATED_ID = /^[0-9a-f]{16}-[0-9a-f]+$/;

describe('request ids and the access log', () => {
  it.each(['jetserve', 'grpc-js'] as const)('echoes or generates request ids and logs every request at rate 1 (gRPC transport %s)', async (transport) => {
    const { lines, log } = capture();
    const server = await startServer({ models, restApiPort: 0, port: 0, grpcTransport: transport, host: '127.0.0.1', log, accessLogSampleRate: 1 });
    try {
      const url = `http://127.0.0.1:${server.http!.port}/v1/models/hpt:predict`;
      const given = await fetch(url, { method: 'POST', headers: { 'x-request-id': 'client-id-1' }, body: '{"instances": [1.0]}' });
      expect(given.headers.get('x-request-id')).toBe('client-id-1');
      const made = await fetch(url, { method: 'POST', body: '{"instances": [1.0]}' });
      expect(made.headers.get('x-request-id')).toMatch(GENERATED_ID);
      // hostile values (too long, spaces) are replaced, never echoed or logged
      const hostile = await fetch(url, { method: 'POST', headers: { 'x-request-id': 'x'.repeat(129) }, body: '{"instances": [1.0]}' });
      expect(hostile.headers.get('x-request-id')).toMatch(GENERATED_ID);
      const bad = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/nope:predict`, { method: 'POST', headers: { 'x-request-id': 'r 2' }, body: '{}' });
      expect(bad.status).toBe(404);
      expect(bad.headers.get('x-request-id')).toMatch(GENERATED_ID);

      expect((await grpcPredict(server.grpc!.port, 'grpc-id-1')).get('x-request-id')).toEqual(['grpc-id-1']);
      expect(String((await grpcPredict(server.grpc!.port)).get('x-request-id')[0])).toMatch(GENERATED_ID);

      const access = lines.filter((l) => l.fields?.access === true).map((l) => l.fields!);
      expect(access).toHaveLength(6);
      expect(access[0]).toMatchObject({ request_id: 'client-id-1', protocol: 'http', method: 'POST', path: '/v1/models/hpt:predict', status: 200 });
      expect(access[1]!.request_id).toBe(made.headers.get('x-request-id'));
      expect(access[3]).toMatchObject({ path: '/v1/models/nope:predict', status: 404 });
      expect(access[4]).toMatchObject({ request_id: 'grpc-id-1', protocol: 'grpc', path: '/tensorflow.serving.PredictionService/Predict', status: 0 });
      for (const a of access) expect(typeof a.duration_ms).toBe('number');
    } finally {
      await server.close();
    }
  });

  it('rate 0 (the default) logs no request; --log_level=warn keeps info lines out', async () => {
    const { lines, log } = capture();
    const server = await startServer({ models, restApiPort: 0, port: false, host: '127.0.0.1', log, logLevel: 'warn' });
    try {
      const r = await fetch(`http://127.0.0.1:${server.http!.port}/v1/models/hpt:predict`, { method: 'POST', body: '{"instances": [1.0]}' });
      expect(r.status).toBe(200);
    } finally {
      await server.close();
    }
    expect(lines.filter((l) => l.level === 'info')).toEqual([]);
    expect(lines.filter((l) => l.fields?.access)).toEqual([]);
  });
});

describe("the command's logs", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });

  async function start(args: string[]) {
    const rest = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, `--rest_api_port=${rest}`, '--port=0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!/jetserve ready/.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`not ready\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, exited, stderr: () => err };
  }

  it('--log_format=json (default): pino JSON lines with level, time and msg; a second SIGTERM exits at once', async () => {
    const cli = await start(['--drain_grace_seconds=60']);
    cli.child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (!/draining: readiness is false/.test(cli.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const signalled = Date.now();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(1);
    expect(Date.now() - signalled).toBeLessThan(5000); // not the 60 s lame duck
    const ours = cli.stderr().split('\n').filter((l) => l.startsWith('{'));
    const parsed = ours.map((l) => JSON.parse(l) as { level: string; time: string; msg: string });
    expect(parsed.map((p) => p.msg)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^REST API .* listening on port \d+$/),
        'SIGTERM: shutting down (0 REST request(s) in flight)',
        expect.stringMatching(/^draining: readiness is false; still serving for 60 s/),
        'SIGTERM again: exiting now',
      ]),
    );
    expect(parsed.find((p) => p.msg === 'SIGTERM again: exiting now')!.level).toBe('warn');
    for (const p of parsed) expect(Date.parse(p.time)).toBeGreaterThan(0);
    expect(cli.stderr()).not.toContain('[jetserve]');
  });

  it('--log_format=text: one readable line per message', async () => {
    const cli = await start(['--log_format=text', '--drain_grace_seconds=0']);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: REST API .* listening on port \d+$/m);
    expect(cli.stderr()).toMatch(/^\[[^\]]+\] INFO: stopped$/m);
    expect(cli.stderr()).not.toMatch(/^\{"level"/m);
  });
});
