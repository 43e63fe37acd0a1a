// Logging: levels and the LogFn type (levels.ts), the server's pino logger (logger.ts), request
// ids (request-id.ts) and the sampled access log (access-log.ts).
export * from './levels.js';
export { createServerLogger, type LoggerOptions, type ServerLogger } from './logger.js';
export { requestIdOf, newRequestId, REQUEST_ID_HEADER } from './request-id.js';
export { AccessLog, type AccessRecord } from './access-log.js';
