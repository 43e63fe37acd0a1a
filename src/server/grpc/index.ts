// The gRPC front end's public surface (the CLI starts it with startGrpcServer).
export {
  startGrpcServer,
  parseChannelArguments,
  DEFAULT_GRPC_PORT,
  DEFAULT_GRPC_MAX_MESSAGE_SIZE,
} from './server.js';
export type { GrpcModelSource, GrpcServer, GrpcServerOptions } from './server.js';
export { DEFAULT_TRANSPORT_LIMITS, LIMIT_FLAGS } from './transport.js';
export type { Transport, TransportLimits, TransportName } from './transport.js';
export type { CallContext } from './common.js';
export type { RequestMetadata } from './metadata.js';
export { parseSslConfig, readSslConfigFile } from './ssl-config.js';
export type { SslConfig } from './ssl-config.js';
export type { ReloadableModelSource } from './tfserving.js';
export { HealthState } from './health.js';
