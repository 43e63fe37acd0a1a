// Resource control of the model manager: a per-model bound on requests in flight
// (--max_inflight_requests_per_model) and a memory budget for loaded versions
// (--model_memory_budget_mb). Both refuse with RESOURCE_EXHAUSTED naming their flag — a request at
// once (HTTP 429), a load before it can take the process past the budget (the version ends END
// with that error; the versions serving are not touched).
//
// Memory is measured as the growth of the process's resident memory across a version's load and
// warmup: what the load actually took, TF's allocations included, where an estimate from file
// sizes would miss decompression, graph optimizations and warmup buffers. On Linux it is the
// anonymous part of the resident set (RssAnon in /proc/self/status): the first load maps
// TensorFlow's shared libraries, ~320 MB of file-backed pages that are shared and reclaimable and
// would otherwise be charged to whichever model loads first (measured with half_plus_two: RSS
// +355 MB, RssAnon +35 MB — TF's one-off runtime set-up, still charged to the first load). Other
// systems use the whole RSS (process.memoryUsage.rss()). V8's JS heap is subtracted from both
// readings: a garbage collection during a load would otherwise offset the load's growth (seen:
// a 24 MiB model measured at 12 KiB). Before a load, the budget reserves the version directory's size on disk (TF Serving's
// resource estimate: the variables end up in memory), so a load that cannot fit is refused before
// it allocates anything; after the load the reservation becomes the measured growth, but never
// less than the files' size: the allocator reuses pages an earlier unload freed without RSS
// growing (seen: a 24 MiB model reloaded after another one's unload measured at 1.1 MiB), and a
// free elsewhere in the process during a load offsets its growth the same way. Loads that
// run at the same time (--num_load_threads > 1) or traffic during a load blur the attribution, and
// RSS does not always fall after an unload (the allocator keeps freed pages): the budget counts
// what loaded versions took when they loaded, and releases it when they end.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JetserveError } from '../errors.js';

export const MAX_INFLIGHT_FLAG = '--max_inflight_requests_per_model';
export const MEMORY_BUDGET_FLAG = '--model_memory_budget_mb';

/** Requests of one model running or queued now, and the most allowed (0 = unbounded). */
export class InflightGate {
  active = 0;
  constructor(
    readonly model: string,
    readonly limit: number,
  ) {}

  /** Counts a request in; false (nothing counted) when the model is at its limit. */
  tryEnter(): boolean {
    if (this.limit > 0 && this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  leave(): void {
    this.active--;
  }

  refusal(): JetserveError {
    return new JetserveError(
      'RESOURCE_EXHAUSTED',
      `model ${this.model} already has ${this.limit} requests in flight, the most ${MAX_INFLIGHT_FLAG} allows; retry later`,
    );
  }
}

/** Bytes the budget holds for each loading or loaded version. */
export class MemoryBudget {
  private readonly held = new Map<object, number>();

  /** `limitBytes` 0: no limit (loads are still measured). */
  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    let sum = 0;
    for (const b of this.held.values()) sum += b;
    return sum;
  }

  /** Before a load: holds `estimate` bytes for `owner`, or throws RESOURCE_EXHAUSTED. */
  reserve(owner: object, estimate: number, what: string): void {
    this.held.delete(owner);
    if (this.limitBytes > 0 && this.usedBytes + estimate > this.limitBytes) {
      throw this.exhausted(`${what} needs about ${mib(estimate)} (its files on disk)`);
    }
    this.held.set(owner, estimate);
  }

  /** After a load: holds the measured growth instead; throws RESOURCE_EXHAUSTED (and holds nothing) past the limit. */
  settle(owner: object, measured: number, what: string): void {
    this.held.delete(owner);
    if (this.limitBytes > 0 && this.usedBytes + measured > this.limitBytes) {
      throw this.exhausted(`${what} took ${mib(measured)} when it loaded`);
    }
    this.held.set(owner, measured);
  }

  release(owner: object): void {
    this.held.delete(owner);
  }

  private exhausted(detail: string): JetserveError {
    return new JetserveError(
      'RESOURCE_EXHAUSTED',
      `${detail}, and the loaded versions hold ${mib(this.usedBytes)} of the ${mib(this.limitBytes)} ${MEMORY_BUDGET_FLAG} allows; the load was refused`,
    );
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Total size of the files under `dir` (symlinks followed to 16 levels, unreadable entries skipped). */
export function directoryBytes(dir: string, depth = 0): number {
  if (depth > 16) return 0;
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      total += directoryBytes(path, depth + 1);
      continue;
    }
    try {
      const s = statSync(path);
      total += s.isDirectory() ? directoryBytes(path, depth + 1) : s.size;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * Native resident memory of the process in bytes: anonymous RSS (RssAnon on Linux, else the whole
 * RSS) minus V8's JS heap, so a garbage collection that shrinks the heap while a model loads
 * does not hide what the load took.
 */
export function residentMemoryBytes(): number {
  const { heapTotal } = process.memoryUsage();
  try {
    const m = /^RssAnon:\s*(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024 - heapTotal;
  } catch {
    // not Linux
  }
  return process.memoryUsage.rss() - heapTotal;
}
