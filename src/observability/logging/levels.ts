// Log levels and the one function type every part of jetserve logs through. A LogFn is called
// with a message, its level (info when omitted: a plain (message) => void sink still works) and
// optional structured fields (request_id, model, …) that JSON logs keep as keys.

/** pino's levels, least to most severe, plus "silent" (nothing). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export type LogLevel = Exclude<LogLevelName, 'silent'>;

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

/** Where a message goes; `level` defaults to info. */
export type LogFn = (message: string, level?: LogLevel, fields?: LogFields) => void;

const RANK: Readonly<Record<LogLevelName, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** True when a message of `level` passes a `threshold` (--log_level). */
export function levelEnabled(level: LogLevel, threshold: LogLevelName): boolean {
  return RANK[level] >= RANK[threshold];
}

/** A LogFn that drops everything. */
export const discardLog: LogFn = () => {};
