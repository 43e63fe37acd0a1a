// `jetserve/server`: start a jetserve model server from a Node program (what the CLI does).
export { startServer, StartupError, DEMO_MODEL_NAME, DEMO_MODEL_PATH } from './start.js';
export type { JetserveServer, CloseOptions } from './start.js';
export { ServerOptionsError, SERVER_FLAGS } from './options.js';
export type { ServerOptions } from './options.js';
export type { ModelConfig, VersionPolicy } from '../models/config.js';
