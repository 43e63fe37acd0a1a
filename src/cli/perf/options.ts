// `jetserve perf` flags: parsing, defaults and help. Flags are --kebab-case (--flag=value or
// --flag value), the way perf_analyzer and load tools spell them. Mistakes are PerfUsageErrors
// (the CLI prints them and exits 2).

export const PROTOCOLS = ['tfserving-rest', 'kserve-rest', 'kserve-binary', 'flatbuffers', 'tfserving-grpc', 'kserve-grpc', 'in-process'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const GRPC_PROTOCOLS: ReadonlySet<Protocol> = new Set(['tfserving-grpc', 'kserve-grpc']);

export class PerfUsageError extends Error {}

/** A sweep of load levels: concurrencies or request rates, in the order they are measured. */
export type Levels = { kind: 'concurrency'; values: number[] } | { kind: 'request-rate'; values: number[] };

export interface PerfOptions {
  url: string;
  protocol: Protocol;
  model: string;
  signature: string;
  /** Version to address (0: the server's choice). */
  modelVersion: number;
  inProcess: string | undefined;
  levels: Levels;
  /** Open loop only: gaps between intended sends. */
  distribution: 'constant' | 'poisson';
  /** Seconds per measurement window. */
  duration: number;
  /** Seconds of load before the first window of each level. */
  warmup: number;
  /** Stability: the last 3 windows' throughput and mean latency within this % of their mean. */
  stabilityPercent: number;
  /** Windows measured per level at most (stable or not). */
  maxWindows: number;
  batchSize: number;
  /** name → dims for variable (-1) dimensions past the batch dimension. */
  shapes: Record<string, number[]>;
  inputData: string | undefined;
  json: string | undefined;
  csv: string | undefined;
  html: string | undefined;
  /** 0: automatic (grow while a worker's event loop saturates). */
  workers: number;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  /** Open loop: connections (or in-flight calls) at most; later sends wait, their latency counted from the intended time. */
  maxInflight: number;
  /** Prometheus page of the target; '' = the jetserve default path when the target serves it; 'none' = off. */
  metricsUrl: string;
  /** Stop a sweep after a level whose p99 exceeds this (ms); 0 = no limit. */
  latencyThresholdMs: number;
  quiet: boolean;
  help: boolean;
}

interface FlagDef {
  kind: 'string' | 'int' | 'float' | 'bool';
  help: string;
  value?: string;
}

const FLAGS: Record<string, FlagDef> = {
  url: { kind: 'string', value: 'URL', help: 'Target: http(s)://host:port for the REST protocols and FlatBuffers, grpc://host:port for gRPC (default http://localhost:8501, grpc://localhost:8500).' },
  model: { kind: 'string', value: 'NAME', help: 'Model name on the server (default: the only model the server lists, for REST targets).' },
  signature: { kind: 'string', value: 'NAME', help: 'Signature to call (default serving_default).' },
  'model-version': { kind: 'int', value: 'N', help: 'Model version to address (default: the server picks).' },
  protocol: {
    kind: 'string',
    value: 'P',
    help: `${PROTOCOLS.join(' | ')}. Default: tfserving-rest for http(s):// URLs, tfserving-grpc for grpc://, in-process with --in-process.`,
  },
  'in-process': { kind: 'string', value: 'DIR', help: 'Load this SavedModel in-process (a version directory holding saved_model.pb) and call predict() on it: no network, no server.' },
  concurrency: { kind: 'string', value: 'N|A:B[:xF|:+S]', help: 'Closed loop: N requests in flight; A:B:x2 sweeps A, 2A, 4A … up to B (A:B:+S steps by S). Default 1.' },
  'request-rate': { kind: 'string', value: 'R|A:B[:xF|:+S]', help: 'Open loop: send R requests/s whatever the answers (latency counted from each intended send time, so stalls are not hidden). Sweeps like --concurrency.' },
  'request-distribution': { kind: 'string', value: 'constant|poisson', help: 'Gaps between open-loop sends (default constant).' },
  duration: { kind: 'float', value: 'S', help: 'Seconds per measurement window (default 5).' },
  warmup: { kind: 'float', value: 'S', help: 'Seconds of load before measuring each level (default 2).' },
  'stability-percentage': { kind: 'float', value: 'P', help: 'A level is stable when its last 3 windows agree within P % on throughput and mean latency (default 10, as perf_analyzer).' },
  'max-windows': { kind: 'int', value: 'N', help: 'Measurement windows per level at most, stable or not (default 10).' },
  'batch-size': { kind: 'int', value: 'B', help: 'Rows per request for generated inputs (default 1).' },
  shape: { kind: 'string', value: 'NAME:D1,D2', help: "Sizes of an input's variable (-1) dimensions past the batch one, e.g. --shape tokens:128; several inputs separated by ';' (a:3;b:4,4). Default 1." },
  'input-data': { kind: 'string', value: 'FILE', help: 'JSON file of requests instead of random data: {"data": [{"<input>": [values] | {"content": [values], "shape": [dims]} | {"b64": "..."}}, …]} (perf_analyzer\'s format); requests cycle through the list.' },
  json: { kind: 'string', value: 'FILE', help: 'Write the results as JSON (one entry per load level).' },
  csv: { kind: 'string', value: 'FILE', help: 'Write the results as CSV (one row per load level).' },
  html: { kind: 'string', value: 'FILE', help: 'Write a self-contained HTML report with SVG charts.' },
  workers: { kind: 'int', value: 'N', help: 'Load-generator worker threads (default 0 = automatic: one, more while a worker saturates its thread).' },
  'timeout-ms': { kind: 'int', value: 'MS', help: 'Per-request timeout; a request past it counts as a "timeout" error (default 30000).' },
  'max-inflight': { kind: 'int', value: 'N', help: 'Open loop: requests in flight at most (connections); sends beyond wait client-side, their wait counted in latency (default 1024).' },
  'metrics-url': { kind: 'string', value: 'URL', help: "Prometheus page of the target for the server-side split (queue / compute / codec) and batch sizes. Default: the target's /monitoring/prometheus/metrics when it answers; 'none' turns it off." },
  'latency-threshold-ms': { kind: 'float', value: 'MS', help: 'Stop a sweep after the first level whose p99 latency exceeds this (default: no limit).' },
  quiet: { kind: 'bool', help: 'No progress line.' },
  help: { kind: 'bool', help: 'Print this help and exit.' },
};

function parseSweep(flag: string, text: string, integer: boolean): number[] {
  const bad = (why: string): never => {
    throw new PerfUsageError(`--${flag} '${text}': ${why} (write N, or A:B:xF to multiply by F, or A:B:+S to add S)`);
  };
  const num = (s: string): number => {
    if (!/^\d+(\.\d+)?$/.test(s)) bad(`'${s}' is not a positive number`);
    const v = Number(s);
    if (v <= 0) bad('values must be > 0');
    if (integer && !Number.isInteger(v)) bad(`'${s}' is not an integer`);
    return v;
  };
  const parts = text.split(':');
  if (parts.length === 1) return [num(parts[0]!)];
  if (parts.length > 3) bad('too many parts');
  const start = num(parts[0]!);
  const end = num(parts[1]!);
  if (end < start) bad('the end is below the start');
  const step = parts[2] ?? 'x2';
  const values: number[] = [];
  if (/^x/.test(step)) {
    const factor = num(step.slice(1));
    if (factor <= 1) bad('a factor must be > 1');
    for (let v = start; v <= end * (1 + 1e-9); v *= factor) values.push(integer ? Math.round(v) : v);
  } else if (/^\+/.test(step)) {
    const add = num(step.slice(1));
    for (let v = start; v <= end * (1 + 1e-9); v += add) values.push(v);
  } else {
    bad(`step '${step}' is neither xF nor +S`);
  }
  if (values.length > 64) bad('more than 64 levels');
  return [...new Set(values)];
}

function parseShapes(text: string): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const part of text.split(';').filter(Boolean)) {
    const m = /^([^:]+):(\d+(,\d+)*)$/.exec(part.trim());
    if (!m) throw new PerfUsageError(`--shape '${part}': write NAME:D1,D2 (several inputs separated by ';')`);
    shapes[m[1]!] = m[2]!.split(',').map(Number);
  }
  return shapes;
}

export function parsePerfArgs(argv: readonly string[]): PerfOptions {
  const raw: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      raw.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new PerfUsageError(`unexpected argument '${arg}': flags look like --name=value or --name value`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq).replace(/_/g, '-');
    const def = FLAGS[name];
    if (!def) throw new PerfUsageError(`unknown flag --${name} (see jetserve perf --help)`);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (def.kind === 'bool') {
      if (value !== undefined && !/^(true|false|1|0)$/i.test(value)) throw new PerfUsageError(`--${name} takes true or false, not '${value}'`);
      raw[name] = value === undefined || /^(true|1)$/i.test(value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new PerfUsageError(`--${name} needs a value`);
    }
    if (def.kind === 'int' && !/^-?\d+$/.test(value)) throw new PerfUsageError(`--${name} takes an integer, not '${value}'`);
    if (def.kind === 'float' && !/^\d+(\.\d*)?$|^\.\d+$/.test(value)) throw new PerfUsageError(`--${name} takes a number >= 0, not '${value}'`);
    raw[name] = value;
  }
  const str = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const numOr = (k: string, d: number): number => (str(k) !== undefined ? Number(str(k)) : d);
  const positive = (k: string, d: number, min: number): number => {
    const v = numOr(k, d);
    if (!(v >= min)) throw new PerfUsageError(`--${k} must be >= ${min}, got ${v}`);
    return v;
  };

  const inProcess = str('in-process');
  const url = str('url') ?? '';
  let protocol = str('protocol') as Protocol | undefined;
  if (protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new PerfUsageError(`--protocol must be one of ${PROTOCOLS.join(', ')}; got '${protocol}'`);
  }
  if (protocol === undefined) protocol = inProcess !== undefined ? 'in-process' : /^grpcs?:\/\//.test(url) ? 'tfserving-grpc' : 'tfserving-rest';
  if (protocol === 'in-process' && inProcess === undefined) throw new PerfUsageError('--protocol in-process needs --in-process DIR (the SavedModel to load)');
  if (inProcess !== undefined && protocol !== 'in-process') throw new PerfUsageError(`--in-process loads the model in this process: it cannot be combined with --protocol ${protocol}`);
  const grpc = GRPC_PROTOCOLS.has(protocol);
  let target = url || (grpc ? 'grpc://localhost:8500' : 'http://localhost:8501');
  if (protocol !== 'in-process') {
    if (grpc && !/^grpcs?:\/\/[^/]+\/?$/.test(target)) {
      if (/^https?:\/\//.test(target)) throw new PerfUsageError(`--protocol ${protocol} needs a grpc://host:port --url, not '${target}'`);
      if (!/^[^/:]+:\d+$/.test(target)) throw new PerfUsageError(`--url '${target}' is not grpc://host:port`);
      target = `grpc://${target}`;
    }
    if (!grpc && !/^https?:\/\/[^/]+/.test(target)) {
      if (/^grpcs?:\/\//.test(target)) throw new PerfUsageError(`--protocol ${protocol} needs an http(s):// --url, not '${target}'`);
      throw new PerfUsageError(`--url '${target}' is not http(s)://host:port`);
    }
  }

  const concurrency = str('concurrency');
  const rate = str('request-rate');
  if (concurrency !== undefined && rate !== undefined) throw new PerfUsageError('give --concurrency (closed loop) or --request-rate (open loop), not both');
  const levels: Levels =
    rate !== undefined ? { kind: 'request-rate', values: parseSweep('request-rate', rate, false) } : { kind: 'concurrency', values: parseSweep('concurrency', concurrency ?? '1', true) };
  const distribution = str('request-distribution') ?? 'constant';
  if (distribution !== 'constant' && distribution !== 'poisson') throw new PerfUsageError(`--request-distribution must be constant or poisson, not '${distribution}'`);

  const duration = positive('duration', 5, 0.05);
  const warmup = numOr('warmup', 2);
  const workers = positive('workers', 0, 0);
  if (protocol === 'in-process' && workers > 1) throw new PerfUsageError('--in-process runs one model in one worker: --workers must be 0 or 1');
  return {
    url: target,
    protocol,
    model: str('model') ?? '',
    signature: str('signature') ?? 'serving_default',
    modelVersion: positive('model-version', 0, 0),
    inProcess,
    levels,
    distribution,
    duration,
    warmup,
    stabilityPercent: positive('stability-percentage', 10, 0.1),
    maxWindows: positive('max-windows', 10, 1),
    batchSize: positive('batch-size', 1, 1),
    shapes: str('shape') !== undefined ? parseShapes(str('shape')!) : {},
    inputData: str('input-data'),
    json: str('json'),
    csv: str('csv'),
    html: str('html'),
    workers,
    timeoutMs: positive('timeout-ms', 30000, 1),
    maxInflight: positive('max-inflight', 1024, 1),
    metricsUrl: str('metrics-url') ?? '',
    latencyThresholdMs: numOr('latency-threshold-ms', 0),
    quiet: raw.quiet === true,
    help: raw.help === true,
  };
}

export function perfHelpText(): string {
  const lines = [
    'jetserve perf — load a model server (or a model in-process) and report latency and throughput',
    '',
    'Usage: jetserve perf [--url URL] [--model NAME] [--protocol P] [--concurrency 1:64:x2 | --request-rate R] [--html report.html] …',
    '',
    'Works against any TF Serving or KServe v2 server (jetserve, tensorflow_model_server, Triton). Inputs are random',
    "data shaped from the model's metadata unless --input-data gives requests. Each load level runs a warm-up, then",
    'measurement windows until the last three agree (--stability-percentage) or --max-windows is reached.',
    '',
    'Flags:',
  ];
  for (const [name, def] of Object.entries(FLAGS)) {
    lines.push(`  --${name}${def.value ? `=${def.value}` : ''}`);
    lines.push(`      ${def.help}`);
  }
  lines.push('', 'Exit status: 0 when every level ran (errors are reported, not fatal), 1 when the target cannot be used, 2 for a usage mistake.');
  return lines.join('\n');
}
