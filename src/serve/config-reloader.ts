// Re-reads --model_config_file and applies it when its content changed: on a timer
// (--model_config_file_poll_wait_seconds) and on request (SIGHUP, through the CLI). An unreadable
// or invalid file, or a config the manager refuses, is reported and changes nothing; the running
// config keeps serving and the next poll tries again.

import { asJetserveError } from '../errors.js';
import { readModelConfigFile, type ModelConfig } from '../models/config.js';
import type { LogFn } from '../observability/logging/levels.js';

export interface ConfigTarget {
  applyConfig(configs: readonly ModelConfig[]): Promise<void>;
}

export class ConfigFileReloader {
  /** The content last applied successfully (JSON of the parsed config). */
  private applied: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly target: ConfigTarget,
    initial: readonly ModelConfig[],
    private readonly log: LogFn,
  ) {
    this.applied = JSON.stringify(initial);
  }

  /** Polls every `seconds` (unreferenced: the poll alone does not keep the process alive). */
  startPolling(seconds: number): void {
    if (seconds <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.reload('config poll'), seconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads the file and applies it when it differs from the last config applied (`force`: apply
   * even when unchanged, as SIGHUP does). Resolves true when a config was applied.
   */
  async reload(why: string, force = false): Promise<boolean> {
    let next: ModelConfig[];
    try {
      next = readModelConfigFile(this.file);
    } catch (err) {
      this.log(`${why}: config not reloaded, the running config keeps serving: ${asJetserveError(err).message}`, 'warn');
      return false;
    }
    const text = JSON.stringify(next);
    if (text === this.applied && !force) return false;
    this.log(`${why}: applying ${this.file} (${next.map((c) => c.name).join(', ') || 'no models'})`);
    try {
      await this.target.applyConfig(next);
    } catch (err) {
      // not recorded as applied: the next poll tries this content again
      this.log(`${why}: ${asJetserveError(err).message}`, 'error');
      return false;
    }
    this.applied = text;
    this.log(`${why}: config applied`);
    return true;
  }
}
