// One configured model as the manager holds it: its version source (source.ts), its versions'
// harnesses by number, its labels, version policy and traffic settings (traffic split, shadow),
// the chain that serializes its transitions, and the routing of an unversioned request.

import type { VersionPolicy } from './config.js';
import type { ShadowReport } from './capabilities.js';
import type { ServableVersion } from './harness.js';
import { InflightGate } from './resources.js';
import type { RequestLogger } from './request-logger.js';
import { emptyShadowMetrics, type ShadowMetrics } from './shadow.js';
import { VersionDirectorySource } from './source.js';

export class ManagedModel {
  readonly versions = new Map<number, ServableVersion>();
  /** label → version. Replaced as a whole, so a label move is atomic for resolve(). */
  versionLabels = new Map<string, number>();
  policy: VersionPolicy = { kind: 'latest', numVersions: 1 };
  trafficSplit: { version: number; weight: number }[] | undefined;
  shadow: { version: number; percent: number } | undefined;
  readonly shadowMetrics: ShadowMetrics = emptyShadowMetrics();
  /** logging_config: a sampled share of successful runs is logged (undefined: none). */
  requestLogger: RequestLogger | undefined;
  /** Unloaded through the repository API: no version is aspired until it is loaded again. */
  disabled = false;
  /** The base path's version directories. */
  readonly source: VersionDirectorySource;
  /** Serializes this model's transitions (polls, reloads, repository calls). */
  private chain: Promise<void> = Promise.resolve();
  busy = false;
  /** Highest AVAILABLE version, cached: resolve() is on every request's path. */
  private latest: ServableVersion | undefined;

  constructor(
    readonly name: string,
    basePath: string,
    /** Requests in flight over every version, and --max_inflight_requests_per_model. */
    readonly inflight: InflightGate = new InflightGate(name, 0),
  ) {
    this.source = new VersionDirectorySource(name, basePath);
  }

  get basePath(): string {
    return this.source.basePath;
  }

  latestAvailable(): ServableVersion | undefined {
    return this.latest;
  }

  /** Recomputes the latest-AVAILABLE cache; call after any version changes state. */
  refresh(): void {
    let best: ServableVersion | undefined;
    for (const v of this.versions.values()) {
      if (v.state === 'AVAILABLE' && (!best || v.version > best.version)) best = v;
    }
    this.latest = best;
  }

  /** Runs `fn` after every earlier transition of this model has finished. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      this.busy = true;
      try {
        return await fn();
      } finally {
        this.busy = false;
      }
    });
    this.chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** An unversioned request's version: weighted split when configured, else the latest. */
  pick(): ServableVersion | undefined {
    const split = this.trafficSplit;
    if (split) {
      let total = 0;
      for (const s of split) if (this.versions.get(s.version)?.state === 'AVAILABLE') total += s.weight;
      if (total > 0) {
        let r = Math.random() * total;
        for (const s of split) {
          const v = this.versions.get(s.version);
          if (v?.state !== 'AVAILABLE') continue;
          r -= s.weight;
          if (r < 0) return v;
        }
      }
    }
    return this.latest;
  }

  /** Traffic settings and shadow diff metrics (GET /v2/models/{m}/shadow, :jetserve:shadow:*). */
  shadowReport(): ShadowReport {
    return { shadow: this.shadow, trafficSplit: this.trafficSplit, metrics: this.shadowMetrics };
  }
}
