// The gRPC front end's public surface (the CLI starts it with startGrpcServer).
export {
  startGrpcServer,
  parseChannelArguments,
  DEFAULT_GRPC_PORT,
  DEFAULT_GRPC_MAX_MESSAGE_SIZE,
} from './server.js';
export type { GrpcServer, GrpcServerOptions } from './server.js';
export { parseSslConfig, readSslConfigFile } from './ssl-config.js';
export type { SslConfig } from './ssl-config.js';
export type { ReloadableModelSource } from './tfserving.js';
export { HealthState } from './health.js';
