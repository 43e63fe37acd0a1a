// The server's logger: pino writing one JSON object per line to stderr (--log_format=json), or
// pino-pretty lines for people (--log_format=text, loaded only then), at --log_level. Programs
// that pass their own log function (startServer's `log` option) get the same messages, levels and
// fields instead, filtered by the same level.
//
// Lines are written synchronously: a line is on stderr before the next thing happens (the ready
// banner, process.exit), in order. It costs nothing measurable: one access-log line took 5.5 µs
// written synchronously and 6.7 µs through sonic-boom's asynchronous buffer (medians of 5 rounds of
// 10^5 lines to /dev/null, same run), and at the default --access_log_sample_rate=0 only lifecycle
// events are logged.

import pino from 'pino';
import { discardLog, levelEnabled, type LogFields, type LogFn, type LogFormat, type LogLevel, type LogLevelName } from './levels.js';

export interface ServerLogger {
  /** Logs a message at a level (info by default), with optional fields. */
  readonly log: LogFn;
  /** True when a message at `level` would be written (skip building fields otherwise). */
  enabled(level: LogLevel): boolean;
  /** Writes buffered lines now (before process.exit). */
  flush(): void;
}

export interface LoggerOptions {
  level: LogLevelName;
  format: LogFormat;
  /** A program's own sink (messages still filtered by level), or false for none. Default: pino on stderr. */
  sink?: LogFn | false;
  /** Where pino writes (file descriptor). Default 2 (stderr). */
  fd?: number;
}

export async function createServerLogger(options: LoggerOptions): Promise<ServerLogger> {
  const threshold = options.level;
  const enabled = (level: LogLevel) => levelEnabled(level, threshold);
  if (options.sink === false || threshold === 'silent') return { log: discardLog, enabled: () => false, flush: () => {} };
  const sink = options.sink;
  if (sink) {
    return {
      log: (message, level = 'info', fields) => {
        if (enabled(level)) sink(message, level, fields);
      },
      enabled,
      flush: () => {},
    };
  }
  const fd = options.fd ?? 2;
  let logger: pino.Logger;
  let flush: () => void;
  if (options.format === 'text') {
    // pino-pretty formats each JSON line in this thread (no transport worker): the text format
    // is for people watching a terminal, not for request-rate logging
    const { default: pretty } = await import('pino-pretty');
    const stream = pretty({ destination: fd, sync: true, colorize: false, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' });
    logger = pino({ level: threshold }, stream);
    flush = () => {};
  } else {
    const destination = pino.destination({ dest: fd, sync: true });
    logger = pino(
      {
        level: threshold,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    );
    flush = () => {
      try {
        destination.flushSync();
      } catch {
        // already closed: nothing to flush
      }
    };
  }
  const log: LogFn = (message: string, level: LogLevel = 'info', fields?: LogFields) => {
    if (fields) logger[level](fields, message);
    else logger[level](message);
  };
  return { log, enabled, flush };
}
