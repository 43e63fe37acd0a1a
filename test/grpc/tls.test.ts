// TLS from TF Serving's --ssl_config_file (SSLConfig text format) with certificates made here by
// the openssl CLI: server-only TLS and mutual TLS (client_verify), checked with the official
// Python clients, plus the text-format parser.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../src/models/manager.js';
import { parseSslConfig } from '../../src/server/grpc/index.js';
import { expectOutputsClose, oracleCases } from '../helpers/oracle.js';
import { PythonDriver, unwire } from './python-driver.js';
import { fixtureModel, startStack, wireAll, type Stack } from './stack.js';

let dir: string;
let manager: ModelManager;
let py: PythonDriver;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA. */
function makeCertificates(): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=jetserve test CA']);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? 'localhost' : 'jetserve client'}`]);
    openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`]);
  }
}

/** An SSLConfig text file as TF Serving users write it: PEM text with \n escapes. */
function writeSslConfig(name: string, clientVerify: boolean): string {
  const pem = (file: string) => JSON.stringify(readFileSync(join(dir, file), 'utf8'));
  const text = [
    '# jetserve test SSL config',
    `server_key: ${pem('server.key')}`,
    `server_cert: ${pem('server.pem')}`,
    `custom_ca: ${pem('ca.pem')}`,
    `client_verify: ${clientVerify}`,
    '',
  ].join('\n');
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jetserve-tls-'));
  makeCertificates();
  [manager, py] = await Promise.all([ModelManager.create([fixtureModel('mlp')]), PythonDriver.start()]);
});

afterAll(async () => {
  await py?.close();
  await manager?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('TLS (--ssl_config_file)', () => {
  const c = () => oracleCases('mlp')[1]!;

  it('server TLS: the official clients connect with the CA; plaintext clients cannot', async () => {
    const stack: Stack = await startStack([], { sslConfigFile: writeSslConfig('ssl.conf', false) }, manager);
    try {
      const tls = { ca: join(dir, 'ca.pem') };
      const answer = await py.rpc({ op: 'predict', target: stack.target, tls, model: 'mlp', inputs: wireAll(c().inputs) });
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      expectOutputsClose(unwire(answer.outputs), c().outputs, 1e-5);

      const triton = await py.rpc({ op: 'triton_infer', target: stack.target, tls, model: 'mlp', inputs: wireAll(c().inputs) });
      expect(triton.ok, JSON.stringify(triton)).toBe(true);
      expectOutputsClose(unwire(triton.outputs), c().outputs, 1e-5);

      const plain = await py.rpc({ op: 'predict', target: stack.target, model: 'mlp', inputs: wireAll(c().inputs), timeout: 5 });
      expect(plain.ok).toBe(false);
      expect(plain.code).toBe('UNAVAILABLE');
    } finally {
      await stack.close();
    }
  });

  it('client_verify: a client without a certificate is refused, one with a CA-signed certificate is served', async () => {
    const stack = await startStack([], { sslConfigFile: writeSslConfig('mtls.conf', true) }, manager);
    try {
      const noCert = await py.rpc({ op: 'predict', target: stack.target, tls: { ca: join(dir, 'ca.pem') }, model: 'mlp', inputs: wireAll(c().inputs), timeout: 5 });
      expect(noCert.ok).toBe(false);
      expect(noCert.code).toBe('UNAVAILABLE');

      const tls = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
      const answer = await py.rpc({ op: 'predict', target: stack.target, tls, model: 'mlp', inputs: wireAll(c().inputs) });
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      expectOutputsClose(unwire(answer.outputs), c().outputs, 1e-5);
    } finally {
      await stack.close();
    }
  });

  it('refuses an SSLConfig without a key or with client_verify but no CA', async () => {
    await expect(startStack([], { sslConfig: { serverKey: '', serverCert: 'x', customCa: '', clientVerify: false } }, manager)).rejects.toThrow(
      /needs both server_key and server_cert/,
    );
    await expect(startStack([], { sslConfig: { serverKey: 'k', serverCert: 'c', customCa: '', clientVerify: true } }, manager)).rejects.toThrow(
      /client_verify needs custom_ca/,
    );
  });
});

describe('SSLConfig text format', () => {
  it('reads quoted PEM text with escapes, comments, single quotes and concatenated literals', () => {
    const config = parseSslConfig(
      [
        '# comment',
        'server_key: "-----BEGIN KEY-----\\nAB\\tC\\x41\\101\\"\\\\\\n"',
        "server_cert : 'line1\\n' 'line2'  # trailing comment",
        'custom_ca: "raw',
        'newline"',
        'client_verify: true',
      ].join('\n'),
    );
    expect(config).toEqual({
      serverKey: '-----BEGIN KEY-----\nAB\tCAA"\\\n',
      serverCert: 'line1\nline2',
      customCa: 'raw\nnewline',
      clientVerify: true,
    });
    expect(parseSslConfig('').clientVerify).toBe(false);
  });

  it('reports unknown fields and bad values with the line', () => {
    expect(() => parseSslConfig('server_key: "a"\nserver_pem: "b"', 'ssl.conf')).toThrow(
      "ssl.conf: line 2: unknown field 'server_pem' (SSLConfig has server_key, server_cert, custom_ca, client_verify)",
    );
    expect(() => parseSslConfig('client_verify: maybe')).toThrow(/not a boolean/);
    expect(() => parseSslConfig('server_key: "abc')).toThrow(/unterminated string/);
  });
});
