// The server-side split of a jetserve target, read from its Prometheus page before and after a
// level's measured windows (differences of counters, so other traffic before the run does not
// count):
//   queue   = Δ :jetserve:batching:queue_time_microseconds / Δ :jetserve:batching:requests
//   compute = Δ runtime_latency_sum / Δ runtime_latency_count − queue   (runtime includes the queue)
//   codec   = Δ request_latency_sum / Δ request_latency_count − runtime (decode, encode, routing)
// the batch-size histogram from :jetserve:batching:batch_size, and adaptive batching's cap and
// timeout at the end (:jetserve:batching:adaptive_*, per version and signature). The batching
// counters are the whole server's (every model); the latency ones are the model's. Any TF
// Serving-compatible page gives the request / runtime part; a page without them gives no split.

export type Samples = Map<string, number>;

/** Parses the Prometheus text format into "name{labels}" → value (labels as printed). */
export function parsePrometheus(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^\s{]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

function labelsOf(key: string): Record<string, string> {
  const open = key.indexOf('{');
  const labels: Record<string, string> = {};
  if (open === -1) return labels;
  for (const m of key.slice(open + 1, -1).matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

/** Sum of every sample of `name` whose labels include `match`. */
function sum(samples: Samples, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const base = key.indexOf('{') === -1 ? key : key.slice(0, key.indexOf('{'));
    if (base !== name) continue;
    const labels = labelsOf(key);
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) total += value;
  }
  return total;
}

export interface ServerSplit {
  /** Requests the server counted in the interval (OK, for this model). */
  requests: number;
  /** Mean µs per request. */
  request_us: number | null;
  queue_us: number | null;
  compute_us: number | null;
  codec_us: number | null;
  /** Batches dispatched by rows (padding included), from the server's histogram. */
  batch_size_histogram: { le: number[]; counts: number[] } | null;
  mean_batch_size: number | null;
  /**
   * What the server's adaptive batching (--batching_target_p99_ms) had settled on for the
   * signature at the end of the level (the newest version that shows it); null without it.
   */
  adaptive: AdaptiveSetting | null;
}

export interface AdaptiveSetting {
  max_batch_size: number;
  batch_timeout_us: number;
  target_p99_us: number;
  /** The p99 of the batcher's queue + run time its last decision judged by. */
  observed_p99_us: number | null;
}

/** The :jetserve:batching:adaptive_* gauges of one signature: the newest version's, or null. */
export function adaptiveSetting(samples: Samples, model: string, signature: string): AdaptiveSetting | null {
  const byVersion = new Map<number, Partial<Record<string, number>>>();
  const prefix = ':jetserve:batching:adaptive_';
  for (const [key, value] of samples) {
    if (!key.startsWith(prefix)) continue;
    const labels = labelsOf(key);
    if (labels.model_name !== model || labels.signature !== signature) continue;
    const version = Number(labels.version);
    const fields = byVersion.get(version) ?? {};
    fields[key.slice(prefix.length, key.indexOf('{'))] = value;
    byVersion.set(version, fields);
  }
  if (byVersion.size === 0) return null;
  const f = byVersion.get(Math.max(...byVersion.keys()))!;
  if (f.max_batch_size === undefined || f.batch_timeout_microseconds === undefined || f.target_p99_microseconds === undefined) return null;
  return {
    max_batch_size: f.max_batch_size,
    batch_timeout_us: f.batch_timeout_microseconds,
    target_p99_us: f.target_p99_microseconds,
    observed_p99_us: f.observed_p99_microseconds === undefined ? null : Math.round(f.observed_p99_microseconds * 10) / 10,
  };
}

export function serverSplit(before: Samples, after: Samples, model: string, signature: string): ServerSplit | null {
  const d = (name: string, match?: Record<string, string>) => sum(after, name, match) - sum(before, name, match);
  const m = { model_name: model };
  const reqCount = d(':tensorflow:serving:request_latency_count', m);
  const reqSum = d(':tensorflow:serving:request_latency_sum', m);
  const runCount = d(':tensorflow:serving:runtime_latency_count', m);
  const runSum = d(':tensorflow:serving:runtime_latency_sum', m);
  if (reqCount <= 0 && runCount <= 0) return null;
  const batchRequests = d(':jetserve:batching:requests');
  const queueMicros = d(':jetserve:batching:queue_time_microseconds');
  const request = reqCount > 0 ? reqSum / reqCount : null;
  const runtime = runCount > 0 ? runSum / runCount : null;
  const queue = batchRequests > 0 ? queueMicros / batchRequests : runtime !== null ? 0 : null;
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

  // batch sizes: cumulative bucket counts → per-bucket counts
  const bounds: number[] = [];
  for (const key of after.keys()) {
    if (!key.startsWith(':jetserve:batching:batch_size_bucket')) continue;
    const le = labelsOf(key).le;
    if (le !== undefined && le !== '+Inf') bounds.push(Number(le));
  }
  bounds.sort((a, b) => a - b);
  let histogram: ServerSplit['batch_size_histogram'] = null;
  let meanBatch: number | null = null;
  const batches = d(':jetserve:batching:batch_size_count');
  if (bounds.length > 0 && batches > 0) {
    const cumulative = [...bounds.map((b) => d(':jetserve:batching:batch_size_bucket', { le: String(b) })), batches];
    const counts = cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1]! : 0));
    histogram = { le: [...bounds, Infinity], counts };
    meanBatch = round(d(':jetserve:batching:batch_size_sum') / batches);
  }
  return {
    requests: Math.round(reqCount > 0 ? reqCount : runCount),
    request_us: round(request),
    queue_us: round(queue),
    compute_us: round(runtime !== null && queue !== null ? Math.max(0, runtime - queue) : runtime),
    codec_us: round(request !== null && runtime !== null ? Math.max(0, request - runtime) : null),
    batch_size_histogram: histogram,
    mean_batch_size: meanBatch,
    adaptive: adaptiveSetting(after, model, signature),
  };
}

/** Fetches and parses a Prometheus page (undefined when it cannot be read). */
export async function scrape(url: string): Promise<Samples | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    return text.includes('# TYPE') || text.includes(':tensorflow:') ? parsePrometheus(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The metrics page to read for a target: --metrics-url, else jetserve's default path on a REST target. */
export function metricsUrlFor(target: string, given: string, rest: boolean): string | undefined {
  if (given === 'none') return undefined;
  if (given) return given;
  if (!rest) return undefined;
  return `${target.replace(/\/+$/, '')}/monitoring/prometheus/metrics`;
}
