// REST over TLS from TF Serving's --ssl_config_file (the SSLConfig gRPC uses).
//
// Server TLS runs inside uWebSockets.js (SSLApp). uWS reads key, certificate and CA from files, so
// the PEM text of the SSLConfig is written to a private temporary directory (0700, files 0600)
// for the moment the app is built, then removed.
//
// client_verify (mutual TLS) cannot be enforced by this uWS build: given a CA it verifies a client
// certificate that is presented (a certificate from another CA fails the handshake) but accepts a
// client that presents none (uSockets sets SSL_VERIFY_PEER without SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
// and the JS API cannot see the peer certificate). So with client_verify a Node tls.Server
// (requestCert + rejectUnauthorized) terminates TLS on the REST port and pipes each verified
// connection to the plain-HTTP uWS app listening on a unix socket in a private directory; no TCP
// port is opened for the plaintext side. uWS then sees every peer as the unix socket, so the
// admin API's loopback exemption never applies behind it (fail closed: a token is needed).

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { SslConfig } from '../ssl-config.js';
import { validateSslConfig } from '../ssl-config.js';
import { httpEngine, uWS, type TemplatedApp } from './uws.js';

/** A uWS SSLApp for server TLS (client_verify false). Throws when the engine cannot do TLS. */
export function createTlsApp(config: SslConfig): TemplatedApp {
  validateSslConfig(config);
  requireNativeEngine();
  const dir = privateDir('jetserve-rest-tls-');
  try {
    const file = (name: string, pem: string) => {
      const path = join(dir, name);
      writeFileSync(path, pem, { mode: 0o600 });
      return path;
    };
    try {
      return uWS.SSLApp({ key_file_name: file('key.pem', config.serverKey), cert_file_name: file('cert.pem', config.serverCert) });
    } catch (err) {
      throw new Error(`REST TLS: the SSLConfig's server_key / server_cert were refused (${(err as Error).message})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Mutual TLS in front of a plain uWS app: accepts TLS connections whose client certificate chains
 * to custom_ca and pipes them to the app's unix socket.
 */
export class MutualTlsFront {
  private readonly server: TlsServer;
  private readonly dir: string;
  /** The unix socket the uWS app listens on. */
  readonly socketPath: string;
  private readonly open = new Set<Socket>();

  constructor(config: SslConfig) {
    validateSslConfig(config);
    requireNativeEngine();
    this.dir = privateDir('jetserve-rest-mtls-');
    this.socketPath = join(this.dir, 'rest.sock');
    this.server = createServer(
      {
        key: config.serverKey,
        cert: config.serverCert,
        ca: config.customCa,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (tls: TLSSocket) => this.forward(tls),
    );
    // handshake failures (no certificate, wrong CA) end that connection only
    this.server.on('tlsClientError', () => {});
  }

  /** Listens on `port` (0 = a free port); without `host`, every address (as uWS does). */
  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting connections (those open go on). */
  stopAccepting(): void {
    this.server.close();
  }

  /** Ends every connection and removes the socket directory. */
  destroy(): void {
    this.server.close();
    for (const s of this.open) s.destroy();
    this.open.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private forward(tls: TLSSocket): void {
    const inner = connect(this.socketPath);
    this.open.add(tls);
    this.open.add(inner);
    const done = () => {
      this.open.delete(tls);
      this.open.delete(inner);
      tls.destroy();
      inner.destroy();
    };
    tls.on('error', done).on('close', done);
    inner.on('error', done).on('close', done);
    tls.pipe(inner);
    inner.pipe(tls);
  }
}

function requireNativeEngine(): void {
  if (!httpEngine.native) {
    throw new Error(`REST TLS (--ssl_config_file) needs the native uWebSockets.js engine; the node:http fallback is in use (${httpEngine.reason})`);
  }
}

function privateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o700);
  return dir;
}
