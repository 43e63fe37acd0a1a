// --grpc_socket_path on a path that already exists, as TF Serving's gRPC core handles it: a stale
// socket (its server SIGKILLed) or a live server's socket is replaced and the new server binds;
// several servers take turns on one path in this test, and closing an older one leaves a newer
// one's socket in place. Something that is not a socket is refused and left alone. Clients are the
// official tensorflow-serving-api (grpcio) stubs over unix:PATH.

import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, StartupError, type JetserveServer } from '../../src/serve/start.js';
import { bindUnixSocket } from '../../src/server/grpc/unix-socket.js';
import { fixturesDir } from '../helpers/oracle.js';
import { expectError, expectOk, PythonDriver } from './python-driver.js';

let py: PythonDriver;
let dir: string;
let channels = 0;

beforeAll(async () => {
  py = await PythonDriver.start();
  dir = mkdtempSync(join(tmpdir(), 'jetserve-sock-'));
});

afterAll(async () => {
  await py?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A server on the socket path only, serving the mlp fixture under `name`. */
function serve(socketPath: string, name: string, transport: 'jetserve' | 'grpc-js' = 'jetserve'): Promise<JetserveServer> {
  return startServer({
    models: [{ name, basePath: join(fixturesDir(), 'mlp') }],
    grpcSocketPath: socketPath,
    grpcTransport: transport,
    port: false,
    restApiPort: false,
    log: false,
  });
}

/** Which model the server now answering on the path serves (a fresh client connection each time). */
async function servedModel(socketPath: string, names: string[]): Promise<string | undefined> {
  const channel = `c${channels++}`;
  for (const model of names) {
    const answer = await py.call({ op: 'status', target: `unix:${socketPath}`, channel, model });
    if (answer.ok) return model;
    expectError(answer, 'NOT_FOUND', /Could not find any versions of model|not found/i);
  }
  return undefined;
}

/** Leaves a stale socket at `path`: a process bound it and was SIGKILLed (no cleanup ran). */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  expect(lstatSync(path).isSocket()).toBe(true);
  // nobody listens any more: a connect is refused
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.once('error', (e) => resolve(e));
  });
  expect(err?.code).toBe('ECONNREFUSED');
}

describe('--grpc_socket_path that already exists', () => {
  it("binds over a killed server's stale socket", async () => {
    const path = join(dir, 'stale.sock');
    await staleSocket(path);
    const server = await serve(path, 'a');
    try {
      expect(server.grpc!.addresses).toEqual([`unix:${path}`]);
      expect(await servedModel(path, ['a'])).toBe('a');
      const predict = await py.call({
        op: 'predict',
        target: `unix:${path}`,
        model: 'a',
        inputs: { x: { dtype: 'float32', shape: [1, 4], b64: Buffer.from(new Float32Array([1, 2, 3, 4]).buffer).toString('base64') } },
      });
      expectOk(predict);
    } finally {
      await server.close();
    }
    expect(existsSync(path)).toBe(false); // its own socket is removed on close
  });

  it('several servers on one path: each new one takes the path over; closing an older one leaves the newer socket', async () => {
    const path = join(dir, 'shared.sock');
    const names = ['a', 'b', 'c'];
    const a = await serve(path, 'a');
    const b = await serve(path, 'b', 'grpc-js'); // the grpc-js transport binds the same way
    let c: JetserveServer | undefined;
    try {
      expect(await servedModel(path, names)).toBe('b');
      await a.close();
      expect(lstatSync(path).isSocket()).toBe(true);
      expect(await servedModel(path, names)).toBe('b');
      c = await serve(path, 'c');
      expect(await servedModel(path, names)).toBe('c');
      await b.close();
      expect(await servedModel(path, names)).toBe('c');
      await c.close();
      expect(existsSync(path)).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close(), c?.close()]);
    }
  });

  it('refuses a path that is not a socket, and leaves it alone', async () => {
    const path = join(dir, 'not-a-socket');
    writeFileSync(path, 'keep me');
    const err = await serve(path, 'a').then(
      (s) => s.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `Failed to start server. Error: gRPC server cannot listen on unix:${path}: ${path} exists and is not a unix socket; remove it or choose another --grpc_socket_path`,
    );
    expect(readFileSync(path, 'utf8')).toBe('keep me');
  });

  it('a path without room for a temporary name next to it is unlinked and bound directly', async () => {
    // 107 bytes is the kernel's limit: a short name in a deep directory fits, a temporary one does not
    const deep = join(dir, 'd'.repeat(100 - dir.length - 1));
    mkdirSync(deep);
    const long = join(deep, 'ab');
    expect(Buffer.byteLength(long)).toBe(103);
    await staleSocket(long);
    const bound: string[] = [];
    const listener = createServer();
    const binding = await bindUnixSocket(long, (p) => {
      bound.push(p);
      return new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(p, resolve);
      });
    });
    try {
      expect(bound).toEqual([long]);
      expect(lstatSync(long).isSocket()).toBe(true);
      binding.release();
      expect(existsSync(long)).toBe(false);
    } finally {
      listener.close();
    }
  });
});
