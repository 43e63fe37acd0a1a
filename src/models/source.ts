// The version source of one model (TF Serving's FileSystemStoragePathSource): it looks at the
// model's base path, finds the integer version directories, decides which are ready to load
// (complete — they hold saved_model.pb — and unchanged between two looks, so a directory still
// being copied is not loaded half-written), remembers the versions whose load failed until their
// files change, and emits the aspired versions its version policy (latest N / all / specific)
// picks among the ready ones. PollTimer drives the looks (--file_system_poll_wait_seconds).

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, JetserveError, notFound } from '../errors.js';
import type { VersionPolicy } from './config.js';

/** A version directory found under a base path. */
export interface VersionDir {
  version: number;
  path: string;
  /** Holds saved_model.pb (or .pbtxt): safe to load. */
  complete: boolean;
}

/** One look at a base path. */
export interface SourceScan {
  /** Every integer version directory, highest first. */
  dirs: VersionDir[];
  /** Complete directories that are stable, or trusted at once (failed ones included). */
  ready: VersionDir[];
  /** Complete directories that changed since the previous look (ready at the next one if they settle). */
  pending: number;
}

const SAVED_MODEL_FILES = ['saved_model.pb', 'saved_model.pbtxt'];
const MAX_VERSION = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Lists the integer version sub-directories of `basePath`, highest first. Names that do not parse
 * as non-negative integers are ignored (as TF Serving does); of duplicates like `007` and `7`, the
 * first in directory order wins.
 */
export function listVersionDirs(basePath: string): VersionDir[] {
  const found = new Map<number, VersionDir>();
  for (const entry of readdirSync(basePath, { withFileTypes: true })) {
    if (!/^\d+$/.test(entry.name)) continue;
    if (BigInt(entry.name) > MAX_VERSION) continue;
    const path = join(basePath, entry.name);
    let isDir = entry.isDirectory();
    if (!isDir && entry.isSymbolicLink()) {
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        isDir = false;
      }
    }
    if (!isDir) continue;
    const version = Number(entry.name);
    if (found.has(version)) continue;
    found.set(version, { version, path, complete: SAVED_MODEL_FILES.some((f) => existsSync(join(path, f))) });
  }
  return [...found.values()].sort((a, b) => b.version - a.version);
}

/** Names, sizes and mtimes of every file under a version directory: equal twice → not being written. */
export function fingerprintDir(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      parts.push(`${rel}:unreadable`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}/${e.name}`);
      else {
        try {
          const s = statSync(p);
          parts.push(`${rel}/${e.name}:${s.size}:${s.mtimeMs}`);
        } catch {
          parts.push(`${rel}/${e.name}:gone`);
        }
      }
    }
  };
  walk(dir, '');
  return parts.join('|');
}

/** The versions a policy aspires to, among ready (complete, stable, not failed) directories. */
export function aspiredVersions(policy: VersionPolicy, ready: readonly VersionDir[]): VersionDir[] {
  const sorted = [...ready].sort((a, b) => b.version - a.version);
  if (policy.kind === 'latest') return sorted.slice(0, policy.numVersions);
  if (policy.kind === 'all') return sorted;
  const want = new Set(policy.versions);
  return sorted.filter((d) => want.has(d.version));
}

/** The version directories of one model's base path, as seen across looks. */
export class VersionDirectorySource {
  /** Fingerprints from the last look (a version is ready once its fingerprint repeats). */
  private seen = new Map<number, string>();
  /** Versions whose load failed, with the fingerprint they failed at (retried once it changes). */
  private readonly failed = new Map<number, string>();

  constructor(
    readonly modelName: string,
    private path: string,
  ) {}

  get basePath(): string {
    return this.path;
  }

  /** Serves another base path: what was seen or failed under the old one is forgotten. */
  moveTo(basePath: string): void {
    this.path = basePath;
    this.seen = new Map();
    this.failed.clear();
  }

  /**
   * Looks at the base path once. `trustNew`: accept complete directories without waiting for a
   * second, identical look (start-up, config changes, repository loads). Throws the base path's
   * problem (NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION) when it cannot be listed.
   */
  scan(trustNew: boolean): SourceScan {
    let dirs: VersionDir[];
    try {
      dirs = listVersionDirs(this.path);
    } catch (err) {
      throw basePathError(this.modelName, this.path, err);
    }
    const fingerprints = new Map<number, string>();
    const ready: VersionDir[] = [];
    let pending = 0;
    for (const d of dirs) {
      if (!d.complete) continue;
      const fp = fingerprintDir(d.path);
      fingerprints.set(d.version, fp);
      if (!trustNew && this.seen.get(d.version) !== fp) {
        pending++;
        continue;
      }
      ready.push(d);
    }
    this.seen = fingerprints;
    for (const [v, fp] of this.failed) if (fingerprints.get(v) !== fp) this.failed.delete(v);
    return { dirs, ready, pending };
  }

  /** The versions `policy` aspires to among a look's ready directories that have not failed. */
  aspired(policy: VersionPolicy, scan: SourceScan): VersionDir[] {
    return aspiredVersions(
      policy,
      scan.ready.filter((d) => !this.failed.has(d.version)),
    );
  }

  /** Some complete directory of the look failed to load at its current files. */
  failedOnDisk(scan: SourceScan): boolean {
    return scan.dirs.some((d) => d.complete && this.failed.has(d.version));
  }

  /** The fingerprint of a version's files at the last look ('' when unseen). */
  fingerprint(version: number): string {
    return this.seen.get(version) ?? '';
  }

  /** A version failed to load at `fingerprint`: it is not a candidate again until its files change. */
  markFailed(version: number, fingerprint: string): void {
    this.failed.set(version, fingerprint);
  }

  /** Forgets every failure (a repository load retries them all). */
  clearFailures(): void {
    this.failed.clear();
  }

  /** Why a model has no version to serve, from what the last look found. */
  noVersionError(policy: VersionPolicy, disabled: boolean, dirs: readonly VersionDir[]): JetserveError {
    const { modelName: name, path: basePath } = this;
    if (disabled) return new JetserveError('FAILED_PRECONDITION', `model ${name} is unloaded`);
    const complete = dirs.filter((d) => d.complete);
    if (complete.length > 0 && policy.kind === 'specific') {
      return notFound(
        `model ${name}: none of the versions its policy names (${policy.versions.join(', ')}) is under ${basePath} (found ${complete
          .map((d) => d.version)
          .join(', ')})`,
      );
    }
    if (complete.length > 0) {
      return new JetserveError('FAILED_PRECONDITION', `model ${name}: every version under ${basePath} failed to load earlier`);
    }
    if (dirs.length > 0) {
      return new JetserveError(
        'FAILED_PRECONDITION',
        `model ${name}: no complete version under ${basePath} (version directories ${dirs
          .map((d) => d.version)
          .join(', ')} hold no saved_model.pb)`,
      );
    }
    const hint = SAVED_MODEL_FILES.some((f) => existsSync(join(basePath, f)))
      ? `; ${basePath} itself is a SavedModel — TF Serving layout is <base_path>/<version>/saved_model.pb, so move it into a numbered sub-directory (e.g. ${join(basePath, '1')})`
      : '';
    return notFound(`model ${name}: no version directories (integer names) under ${basePath}${hint}`);
  }
}

function basePathError(name: string, basePath: string, err: unknown): JetserveError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return notFound(`model ${name}: base path ${basePath} does not exist`);
  if (code === 'ENOTDIR') return invalidArgument(`model ${name}: base path ${basePath} is not a directory`);
  return new JetserveError('FAILED_PRECONDITION', `model ${name}: cannot read base path ${basePath}: ${String(err)}`);
}

/** Calls `tick` every `intervalMs` until stopped (an unref'd timer: polling never keeps a process alive). */
export class PollTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `intervalMs` 0 or less: never (the base paths are looked at once, at load). */
  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => void,
  ) {}

  /** Starts polling (idempotent). */
  start(): void {
    if (this.timer || this.intervalMs <= 0 || this.stopped) return;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.tick();
      this.schedule();
    }, this.intervalMs);
    this.timer.unref();
  }
}
