// Process and Node runtime metrics under the names Node's Prometheus exporters use (prom-client's
// default metrics), so existing Node dashboards read them: CPU, memory, file descriptors, start
// time, event-loop delay, GC pauses, V8 heap and heap spaces, active resources, Node version.
// Everything but GC is read at scrape time (no work between scrapes); GC pauses come from a
// PerformanceObserver (one callback per collection), event-loop delay from perf_hooks'
// monitorEventLoopDelay (a native timer sampling every 10 ms; its statistics cover the time since
// the previous scrape). stop() ends both.

import { readdirSync, readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import type { Histogram } from './histogram.js';
import type { Registry } from './registry.js';

/** GC pause buckets in seconds (prom-client's). */
export const GC_BUCKETS_SECONDS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface RuntimeMetrics {
  stop(): void;
}

/** Registers the runtime metrics on `registry`; call stop() when the server closes. */
export function registerRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const gauge = (name: string, help: string, value: () => number | undefined) =>
    registry.collectedGauge({ name, help }, (emit) => {
      const v = value();
      if (v !== undefined) emit([], v);
    });
  const counter = (name: string, help: string, value: () => number) => registry.collectedCounter({ name, help }, (emit) => emit([], value()));

  counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => process.cpuUsage().user / 1e6);
  counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', () => process.cpuUsage().system / 1e6);
  counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const startTime = Math.round(Date.now() / 1000 - process.uptime());
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => startTime);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', () => procStatus('VmSize'));
  gauge('process_heap_bytes', 'Process heap size in bytes.', () => procStatus('VmData'));
  gauge('process_open_fds', 'Number of open file descriptors.', openFds);
  const maxFds = readMaxFds();
  gauge('process_max_fds', 'Maximum number of open file descriptors.', () => maxFds);

  const delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  registry.collectedGauge({ name: 'nodejs_eventloop_lag_seconds', help: 'Mean event-loop delay since the previous scrape, in seconds.' }, (emit) => {
    emit([], seconds(delay.mean));
  });
  const lag = (suffix: string, help: string, value: () => number) => gauge(`nodejs_eventloop_lag_${suffix}_seconds`, help, () => seconds(value()));
  lag('min', 'The minimum recorded event loop delay.', () => delay.min);
  lag('max', 'The maximum recorded event loop delay.', () => delay.max);
  lag('mean', 'The mean of the recorded event loop delays.', () => delay.mean);
  lag('stddev', 'The standard deviation of the recorded event loop delays.', () => delay.stddev);
  lag('p50', 'The 50th percentile of the recorded event loop delays.', () => delay.percentile(50));
  lag('p90', 'The 90th percentile of the recorded event loop delays.', () => delay.percentile(90));
  // the last family of the group resets the window: the next scrape reports the delays since this one
  lag('p99', 'The 99th percentile of the recorded event loop delays.', () => {
    const p99 = delay.percentile(99);
    delay.reset();
    return p99;
  });

  const gc: Histogram = registry.histogram({
    name: 'nodejs_gc_duration_seconds',
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets: GC_BUCKETS_SECONDS,
  });
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const gcEntry = entry as unknown as { detail?: { kind?: number }; kind?: number };
      const kind = GC_KINDS[gcEntry.detail?.kind ?? gcEntry.kind ?? -1] ?? 'other';
      gc.labels(kind).observe(entry.duration / 1000);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });

  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => process.memoryUsage().heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () => process.memoryUsage().heapUsed);
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes: memory native code reported to V8 (tensor buffers shared with TF are ArrayBuffer backing stores, which V8 tracks on its own and this does not include).', () => process.memoryUsage().external);
  gauge('nodejs_heap_size_limit_bytes', 'V8 heap size limit in bytes.', () => getHeapStatistics().heap_size_limit);
  const space = (suffix: string, help: string, pick: (s: ReturnType<typeof getHeapSpaceStatistics>[number]) => number) =>
    registry.collectedGauge({ name: `nodejs_heap_space_size_${suffix}_bytes`, help, labelNames: ['space'] }, (emit) => {
      for (const s of getHeapSpaceStatistics()) emit([s.space_name.replace(/_space$/, '')], pick(s));
    });
  space('total', 'Process heap space size total from Node.js in bytes.', (s) => s.space_size);
  space('used', 'Process heap space size used from Node.js in bytes.', (s) => s.space_used_size);
  space('available', 'Process heap space size available from Node.js in bytes.', (s) => s.space_available_size);
  gauge('nodejs_active_resources_total', 'Number of active resources keeping the event loop alive (handles and requests).', () =>
    process.getActiveResourcesInfo().length,
  );
  const [major, minor, patch] = process.versions.node.split('.');
  registry.collectedGauge(
    { name: 'nodejs_version_info', help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'] },
    (emit) => emit([process.version, major ?? '', minor ?? '', patch ?? ''], 1),
  );

  return {
    stop() {
      delay.disable();
      gcObserver.disconnect();
    },
  };
}

/** A "VmXxx:  123 kB" field of /proc/self/status in bytes (undefined off Linux). */
function procStatus(field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s*(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // minus the directory handle readdir opened
  } catch {
    return undefined;
  }
}

function readMaxFds(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
