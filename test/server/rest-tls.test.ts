// REST over TLS from TF Serving's --ssl_config_file (the file gRPC uses), with certificates made
// here by the openssl CLI as test/grpc/tls.test.ts makes them: server TLS (uWS SSLApp) and mutual
// TLS (client_verify: a client without a certificate, or with one from another CA, is refused at
// the handshake; one with a CA-signed certificate is served). Also through startServer: one file
// secures both listeners.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../src/models/manager.js';
import { AdminAuth } from '../../src/server/admin-auth.js';
import { HttpServer } from '../../src/server/http/server.js';
import { parseSslConfig, type SslConfig } from '../../src/server/ssl-config.js';
import { startServer } from '../../src/serve/start.js';
import { PythonDriver } from '../grpc/python-driver.js';
import { demoBasePath } from './helpers.js';

let dir: string;
let manager: ModelManager;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate; and a rogue CA with its own client. */
function makeCertificates(): void {
  for (const ca of ['ca', 'rogue-ca']) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=jetserve ${ca}`]);
  }
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [who, ca, ext] of [
    ['server', 'ca', 'server'],
    ['client', 'ca', 'client'],
    ['rogue', 'rogue-ca', 'client'],
  ] as const) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
    openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${ext}.ext`]);
  }
}

/** An SSLConfig text file as TF Serving users write it. */
function sslConfigFile(name: string, clientVerify: boolean): string {
  const pem = (file: string) => JSON.stringify(readFileSync(join(dir, file), 'utf8'));
  const file = join(dir, name);
  writeFileSync(file, `server_key: ${pem('server.key')}\nserver_cert: ${pem('server.pem')}\ncustom_ca: ${pem('ca.pem')}\nclient_verify: ${clientVerify}\n`);
  return file;
}

const sslConfig = (clientVerify: boolean): SslConfig => parseSslConfig(readFileSync(sslConfigFile(`c-${clientVerify}`, clientVerify), 'utf8'));

interface Answer {
  status?: number;
  body?: string;
  error?: string;
}

/** One HTTPS request (never throws: a refused handshake comes back as `error`). */
function https(port: number, path: string, options: RequestOptions & { body?: string } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: options.body ? 'POST' : 'GET', ca: readFileSync(join(dir, 'ca.pem')), agent: false, ...options },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
      },
    );
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(options.body);
  });
}

const client = () => ({ cert: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client.key')) });
const rogue = () => ({ cert: readFileSync(join(dir, 'rogue.pem')), key: readFileSync(join(dir, 'rogue.key')) });
const PREDICT = { body: '{"instances": [1.0, 2.0, 5.0]}' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jetserve-rest-tls-'));
  makeCertificates();
  manager = await ModelManager.create([{ name: 'half_plus_two', basePath: demoBasePath() }]);
});

afterAll(async () => {
  await manager?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('REST TLS (--ssl_config_file)', () => {
  it('server TLS: HTTPS clients with the CA are served; plaintext HTTP and clients without the CA are not', async () => {
    const server = new HttpServer(manager, { log: () => {}, tls: sslConfig(false) });
    const port = await server.listen(0, '127.0.0.1');
    try {
      const answer = await https(port, '/v1/models/half_plus_two:predict', PREDICT);
      expect(answer).toEqual({ status: 200, body: expect.any(String) });
      expect(JSON.parse(answer.body!)).toEqual({ predictions: [2.5, 3, 4.5] });
      // a client certificate is not asked for
      expect((await https(port, '/v2/health/ready')).status).toBe(200);
      const untrusted = await https(port, '/v2/health/ready', { ca: readFileSync(join(dir, 'rogue-ca.pem')) });
      expect(untrusted.error).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify/i);
      await expect(fetch(`http://127.0.0.1:${port}/v2/health/ready`)).rejects.toThrow();
    } finally {
      await server.close(1000);
    }
  });

  it('client_verify: no certificate or one from another CA fails the handshake; a CA-signed one is served', async () => {
    const server = new HttpServer(manager, { log: () => {}, tls: sslConfig(true), repositoryApi: true, admin: new AdminAuth({ allowLoopback: true }) });
    const port = await server.listen(0, '127.0.0.1');
    try {
      const none = await https(port, '/v1/models/half_plus_two:predict', PREDICT);
      expect(none.status).toBeUndefined();
      expect(none.error).toMatch(/ECONNRESET|CERTIFICATE_REQUIRED|HANDSHAKE|socket hang up|EPIPE/i);
      const other = await https(port, '/v1/models/half_plus_two:predict', { ...PREDICT, ...rogue() });
      expect(other.status).toBeUndefined();
      expect(other.error).toMatch(/UNKNOWN_CA|ECONNRESET|socket hang up|EPIPE/i);

      const ok = await https(port, '/v1/models/half_plus_two:predict', { ...PREDICT, ...client() });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body!)).toEqual({ predictions: [2.5, 3, 4.5] });
      // many requests on one connection, and a large response, through the TLS front
      const big = await https(port, '/v1/models/half_plus_two:predict', { ...client(), body: JSON.stringify({ instances: new Array(50_000).fill(2) }) });
      expect((JSON.parse(big.body!) as { predictions: number[] }).predictions).toHaveLength(50_000);
      // behind the front every peer is the front itself: the loopback opt-in never applies (a token is needed)
      const index = await https(port, '/v2/repository/index', { ...client(), method: 'POST' });
      expect(index.status).toBe(401);
    } finally {
      await server.close(1000);
    }
    // closed: nothing listens any more
    expect((await https(port, '/v2/health/ready', client())).error).toBe('ECONNREFUSED');
  });

  it('startServer: one --ssl_config_file secures REST and gRPC (the official gRPC client with the CA)', async () => {
    const py = await PythonDriver.start();
    const server = await startServer({ sslConfigFile: sslConfigFile('both.conf', false), restApiPort: 0, port: 0, host: '127.0.0.1', log: false });
    try {
      const rest = await https(server.http!.port, '/v1/models/half_plus_two:predict', PREDICT);
      expect(JSON.parse(rest.body!)).toEqual({ predictions: [2.5, 3, 4.5] });
      const grpc = await py.rpc({ op: 'status', target: `127.0.0.1:${server.grpc!.port}`, tls: { ca: join(dir, 'ca.pem') }, model: 'half_plus_two' });
      expect(grpc.ok, JSON.stringify(grpc)).toBe(true);
    } finally {
      await server.close();
      await py.close();
    }
  });

  it('a bad SSLConfig fails start-up naming the flag', async () => {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, 'server_cert: "x"\n');
    await expect(startServer({ sslConfigFile: file, restApiPort: 0, port: false, log: false })).rejects.toThrow(
      /invalid --ssl_config_file: SSLConfig needs both server_key and server_cert/,
    );
    writeFileSync(file, 'server_key: "not a key"\nserver_cert: "not a cert"\n');
    await expect(startServer({ sslConfigFile: file, restApiPort: 0, port: false, log: false })).rejects.toThrow(/REST TLS: the SSLConfig's server_key \/ server_cert were refused/);
  });
});
