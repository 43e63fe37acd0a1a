// tensorflow.ProfilerService on jetserve's gRPC port, as TF Serving serves it: the official TF
// client, tf.profiler.experimental.client.trace('grpc://127.0.0.1:<port>', logdir, duration_ms),
// traces the server while it answers predict requests, and the XSpace it leaves under logdir holds
// the TF runs of the served model. Off (--enable_profiler=false) every method says so.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../src/engine/native.js';
import { startServer, type JetserveServer } from '../../src/serve/start.js';
import { fixturesDir } from '../helpers/oracle.js';
import { expectError, expectOk, PythonDriver } from './python-driver.js';

let py: PythonDriver;
let dir: string;

beforeAll(async () => {
  py = await PythonDriver.start();
  dir = mkdtempSync(join(tmpdir(), 'jetserve-profile-'));
});

afterAll(async () => {
  await py?.close();
  rmSync(dir, { recursive: true, force: true });
});

function serve(extra: Record<string, unknown> = {}): Promise<JetserveServer> {
  return startServer({
    models: [{ name: 'mlp', basePath: join(fixturesDir(), 'mlp') }],
    restApiPort: 0,
    port: 0,
    host: '127.0.0.1',
    log: false,
    ...extra,
  });
}

describe('tensorflow.ProfilerService', () => {
  it.each([
    // TF's default executor records each kernel it runs; its single-threaded one only the run.
    // The trace asks for host_tracer_level 3: TF records a kernel it has measured as cheap
    // (below its executor's cost threshold, as the mlp's are) only at that level, at 2 only
    // the expensive ones — which of the mlp's kernels count as expensive depends on the machine
    ['default', /MatMul/],
    ['single-threaded', /^SessionRun$/],
  ] as const)('tf.profiler.experimental.client.trace against the gRPC port records the TF runs of served requests (%s executor)', async (executor, event) => {
    expect(native().profilerAvailable()).toBe(true);
    const server = await serve({ sessionExecutor: executor });
    const logdir = join(dir, 'trace');
    let requests = 0;
    let tracing = true;
    try {
      const predict = () =>
        fetch(`http://127.0.0.1:${server.http!.port}/v1/models/mlp:predict`, { method: 'POST', body: '{"instances": [[1, 2, 3, 4]]}' });
      // load while the client traces (TF's client retries when a trace comes back empty)
      const load = (async () => {
        while (tracing) {
          expect((await predict()).status).toBe(200);
          requests++;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const answer = await py.rpc({ op: 'profile_trace', service_addr: `grpc://127.0.0.1:${server.grpc!.port}`, logdir, duration_ms: 1500, host_tracer_level: 3 });
      tracing = false;
      await load;
      expectOk(answer);
      const files = answer.files as string[];
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) expect(f.startsWith(join(logdir, 'plugins', 'profile'))).toBe(true);
      const names = answer.event_names as string[];
      // the mlp's runs (and on the default executor its ops: MatMul, Relu) happened inside TF while the trace was on
      expect(names.some((n) => event.test(n)), names.slice(0, 50).join(', ')).toBe(true);
      expect(requests).toBeGreaterThan(0);
      // the server is unharmed
      expect((await predict()).status).toBe(200);
    } finally {
      tracing = false;
      await server.close();
    }
    // TF's profiler server stopped with the last server that served the service: a new server
    // starts it again on first use
    const again = await serve();
    try {
      const second = await py.call({ op: 'profile_trace', service_addr: `grpc://127.0.0.1:${again.grpc!.port}`, logdir: join(dir, 'idle'), duration_ms: 200, attempts: 1 });
      // nothing ran meanwhile: TF's client reports the empty trace as UNAVAILABLE — from TF's profiler
      expect(second.ok).toBe(false);
      expect(String(second.error)).toMatch(/No trace event was collected/);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('--enable_profiler=false answers UNIMPLEMENTED naming the flag', async () => {
    const server = await serve({ enableProfiler: false });
    try {
      // TF's client reports any failed Profile call as an empty trace; the raw call shows the status
      const answer = await py.call({ op: 'raw_unary', target: `127.0.0.1:${server.grpc!.port}`, method: '/tensorflow.ProfilerService/Profile' });
      expectError(answer, 'UNIMPLEMENTED', 'the profiler service is off (--enable_profiler=false)');
    } finally {
      await server.close();
    }
  });
});

describe('with TLS (--ssl_config_file)', () => {
  it("is off unless --enable_profiler is given: TF's profiler server would listen without TLS", async () => {
    const tls = join(dir, 'tls');
    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: tls, stdio: ['ignore', 'ignore', 'pipe'] });
    mkdirSync(tls);
    writeFileSync(join(tls, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=jetserve test CA']);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
    const pem = (f: string) => JSON.stringify(readFileSync(join(tls, f), 'utf8'));
    const sslConfigFile = join(tls, 'ssl.config');
    writeFileSync(sslConfigFile, `server_key: ${pem('server.key')}\nserver_cert: ${pem('server.pem')}\n`);
    const call = (s: JetserveServer) =>
      py.call({ op: 'raw_unary', target: `127.0.0.1:${s.grpc!.port}`, tls: { ca: join(tls, 'ca.pem') }, method: '/tensorflow.ProfilerService/Terminate' });

    const lines: string[] = [];
    const off = await serve({ sslConfigFile, log: (m: string) => lines.push(m) });
    try {
      expect(lines).toContain(
        "profiler service off: --ssl_config_file is set and TF's profiler server would listen without TLS; --enable_profiler=true serves it anyway",
      );
      expectError(
        await call(off),
        'UNIMPLEMENTED',
        "the profiler service is off (--ssl_config_file is set and TF's profiler server would listen without TLS; --enable_profiler=true serves it anyway)",
      );
    } finally {
      await off.close();
    }
    const on = await serve({ sslConfigFile, enableProfiler: true, log: (m: string, level?: string) => lines.push(`${level ?? 'info'}: ${m}`) });
    try {
      expect(lines.some((l) => l.startsWith('warn: --enable_profiler with --ssl_config_file'))).toBe(true);
      // forwarded to TF's profiler: Terminate of an unknown session is OK there
      expectOk(await call(on));
    } finally {
      await on.close();
    }
  }, 60_000);
});
