// gRPC server credentials from TF Serving's --ssl_config_file (parsed by src/server/ssl-config.ts,
// which the REST front end reads too).

import * as grpc from '@grpc/grpc-js';
import { validateSslConfig, type SslConfig } from '../ssl-config.js';

export { parseSslConfig, readSslConfigFile, type SslConfig } from '../ssl-config.js';

/** grpc-js server credentials for an SSLConfig (client_verify → require a client cert signed by custom_ca). */
export function sslServerCredentials(config: SslConfig): grpc.ServerCredentials {
  validateSslConfig(config);
  return grpc.ServerCredentials.createSsl(
    config.customCa ? Buffer.from(config.customCa) : null,
    [{ private_key: Buffer.from(config.serverKey), cert_chain: Buffer.from(config.serverCert) }],
    config.clientVerify,
  );
}
