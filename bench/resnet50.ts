// `npm run bench:resnet50`: ResNet50 served end to end against raw TF, same run, through
// `jetserve perf`:
//   raw TF     the SavedModel in-process (perf --in-process: Model.run, no server, no batcher),
//              `B` images per run with `F` runs in flight
//   served     `jetserve` with its default flags (default batching, no parameters file), 16
//              concurrent clients sending one image per request over KServe v2 REST with binary tensors,
//              and over gRPC (KServe ModelInfer with raw_input_contents, TF Serving Predict with
//              tensor_content)
// Checked: served images/s ≥ 0.97 × raw TF's images/s at its best batch, per protocol, against
// three raw baselines (each the best median of its group, all measured in the same rounds):
//   best batch        raw's best batch size run one call at a time — TF_SessionRun in a loop, the
//                     way raw C calls it (bench/raw-c) and the floor's wording ("raw TF's best-batch
//                     images/s"); on this 2-core CPU one ResNet50 run keeps only ~1.3-1.7 cores busy
//   same in flight    raw's best with at most as many images in flight as the clients keep (16:
//                     b16×1, b8×2, b4×2, …) — what serving costs when raw holds the same work
//   best of all       raw's best over batch size and 1 or 2 runs in flight (b16×2 and b32×2 keep
//                     32-64 images in flight, which 16 single-image clients cannot) — the strictest
// and, when raw's best holds more images than 16 single-image clients can, the same 16 clients
// sending that many images between them (4 per request for b32×2): served at raw's best shape,
// against raw's best — what serving costs apart from the shape.
//
// Method, and why. A ResNet50 run takes ~0.3-1.5 s on 2 cores, so a window of a few seconds counts
// only a handful of completions and one measurement varies ±10-20 % (other processes, TF's own
// thread scheduling). Taking the best of many noisy raw measurements (every batch size × in-flight
// count × round) against the best of a few served ones compares an upper tail with a typical
// value: the max of N noisy samples grows with N. So the two phases are kept apart:
//   1. selection — every raw configuration (batch 1, 2, 4, 8, 16, 32 × 1 or 2 runs in flight) in
//      short windows, once; only its ranking is used: the two best go on, and a third within 5 %
//      of the best (ties are common: a short window counts whole runs; among equals the one with
//      more images in flight ranks first), and the two best of each baseline group. Its numbers
//      are noise at this length: the curve is flat within noise from batch 4 up.
//   2. measurement — ROUNDS rounds; in each, every selected raw configuration and each served
//      protocol are measured once, in an order rotated every round (drift on the machine hits
//      every configuration alike), all with the same warm-up and the same three windows. Every
//      configuration gets the same number of samples, and each is summarized the same way: the
//      median over rounds. Raw's baseline is the best of its medians (the only max taken, and it
//      can only favour raw); the ratio is served median / that. Per-round ratios (served and raw
//      of the same round) and best-of-rounds vs best-of-rounds are reported beside it.
// Images/s are exact: completed requests × images per request / measured seconds (not perf's
// rounded rate, which for batch 16 at ~1.5 runs/s rounds by up to 3 %).
// Raw is the best raw TF can do here: Model.run in-process (no network, codec or batcher), with
// jetserve's default session config (intra-op threads = cores, ops inline) as the server uses, and
// nothing pinned — TF uses both cores in both, and raw may keep two runs on the executor's two
// threads exactly as the server's two batch slots do. The served side also pays for its load
// generator on the same two cores (end to end). The server is started once, warmed (its batches
// take several shapes, and oneDNN compiles kernels for each new one), and stays up, idle, while raw
// runs; every raw measurement is a fresh process whose warm-up covers its one shape.
// The model is ResNet50 with random weights (bench/make_resnet50.py; ~100 MB, made once into
// ~/.cache/jetserve/bench-models). Env: BENCH_ROUNDS (default 4), BENCH_QUICK=1 (short windows,
// fewer configurations, one round: a smoke run). Writes bench/results/resnet50-<time>.json and the
// perf report of the median served REST round.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureVenv } from '../scripts/python-env.mjs';
import type { PerfResult } from '../src/cli/perf/index.js';
import { renderHtml } from '../src/cli/perf/report/html.js';
import { median, printTable, writeResults } from './lib/report.js';
import { perfCli, ROOT, serve, type Served } from './lib/perf-run.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 4)));
const CLIENTS = 16;
/** Selection: short windows, every raw configuration once. */
const SELECT_WINDOWS = QUICK ? ['--duration', '2', '--warmup', '2', '--max-windows', '3'] : ['--duration', '3', '--warmup', '4', '--max-windows', '3'];
const SELECT_BATCHES = QUICK ? [1, 8, 16] : [1, 2, 4, 8, 16, 32];
/** Raw configurations carried into the measurement: the best two, up to SELECT_MAX within this share of the best, and each baseline group's best two. */
const SELECT_WITHIN = 0.95;
const SELECT_MAX = 3;
/** Measurement: the same warm-up and exactly three windows of the same length for every configuration. */
const WINDOW_S = QUICK ? 3 : 8;
const MEASURE_WINDOWS = ['--duration', String(WINDOW_S), '--warmup', QUICK ? '3' : '5', '--max-windows', '3'];
const PROTOCOLS = ['kserve-binary', 'kserve-grpc', 'tfserving-grpc'] as const;
type Protocol = (typeof PROTOCOLS)[number];

async function ensureResnet(): Promise<string> {
  const dir = join(homedir(), '.cache', 'jetserve', 'bench-models', 'resnet50');
  if (!existsSync(join(dir, '1', 'saved_model.pb'))) {
    const python = await ensureVenv();
    console.log('making a random-weight ResNet50 SavedModel (one time) …');
    const r = spawnSync(python, [join(ROOT, 'bench', 'make_resnet50.py'), dir], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('bench/make_resnet50.py failed');
  }
  return dir;
}

/** Exact images/s of a level: completed requests × images per request / measured seconds. */
function imagesPerSecond(result: PerfResult, level = 0): number {
  const l = result.levels[level]!;
  const seconds = Math.min(3, l.windows) * result.settings.window_s;
  return (l.requests * result.target.batch_size) / seconds;
}

const fmt = (x: number) => x.toFixed(2);

interface RawConfig {
  batch: number;
  inFlight: number;
}
const rawKey = (c: RawConfig) => `raw b${c.batch}×${c.inFlight}`;

async function measureRaw(modelDir: string, c: RawConfig): Promise<number> {
  const r = await perfCli(['--in-process', modelDir, '--batch-size', String(c.batch), '--concurrency', String(c.inFlight), ...MEASURE_WINDOWS]);
  const l = r.levels[0]!;
  if (l.error_count > 0) throw new Error(`${rawKey(c)}: ${JSON.stringify(l.errors)}`);
  return imagesPerSecond(r);
}

/** A served measurement: CLIENTS clients over one protocol, `images` images per request. */
interface ServedEntry {
  protocol: Protocol;
  images: number;
}
const servedKey = (e: ServedEntry) => (e.images === 1 ? e.protocol : `${e.protocol} ×${e.images}`);

async function measureServed(server: Served, entry: ServedEntry, windows: string[]): Promise<PerfResult> {
  const url = entry.protocol.endsWith('grpc') ? server.grpc! : server.rest;
  const r = await perfCli([
    '--url', url, '--model', 'resnet50', '--protocol', entry.protocol, '--concurrency', String(CLIENTS),
    '--batch-size', String(entry.images), '--metrics-url', `${server.rest}/monitoring/prometheus/metrics`, ...windows,
  ]);
  const l = r.levels[0]!;
  if (l.error_count > 0) throw new Error(`${servedKey(entry)}: ${JSON.stringify(l.errors)}`);
  return r;
}

async function main(): Promise<void> {
  if (spawnSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build:ts failed');
  const base = await ensureResnet();
  const modelDir = join(base, '1');

  // 1. selection: rank every raw configuration once, in short windows
  const selection: (RawConfig & { imagesPerSecond: number })[] = [];
  for (const batch of SELECT_BATCHES) {
    const r = await perfCli(['--in-process', modelDir, '--batch-size', String(batch), '--concurrency', '1:2:x2', ...SELECT_WINDOWS]);
    r.levels.forEach((l, i) => {
      if (l.error_count > 0) throw new Error(`raw batch ${batch}: ${JSON.stringify(l.errors)}`);
      selection.push({ batch, inFlight: l.concurrency!, imagesPerSecond: imagesPerSecond(r, i) });
    });
    console.log(`selection raw batch ${batch}: ${r.levels.map((l, i) => `${fmt(imagesPerSecond(r, i))} img/s (${l.concurrency} in flight)`).join(', ')}`);
  }
  // ties are common (a short window counts whole runs): among equals, more images in flight first
  selection.sort((a, b) => b.imagesPerSecond - a.imagesPerSecond || b.batch * b.inFlight - a.batch * a.inFlight);
  const top = selection[0]!.imagesPerSecond;
  const carried = [
    ...selection.filter((c, i) => i < 2 || (i < SELECT_MAX && c.imagesPerSecond >= SELECT_WITHIN * top)),
    // each baseline group keeps its own best two, so none is judged on a group's second choice alone
    ...selection.filter((c) => c.inFlight === 1).slice(0, 2),
    ...selection.filter((c) => c.batch * c.inFlight <= CLIENTS).slice(0, 2),
  ];
  const selected: RawConfig[] = [...new Map(carried.map(({ batch, inFlight }) => [rawKey({ batch, inFlight }), { batch, inFlight }])).values()];
  // When raw's best holds more images than 16 single-image clients can, the same clients also send
  // that many images between them (4 each for b32×2), so the server's batcher can form raw's shape:
  // those rows measure what serving costs at raw's best shape, apart from the shape itself.
  const fill = Math.max(1, Math.floor((selected[0]!.batch * selected[0]!.inFlight) / CLIENTS));
  const servedEntries: ServedEntry[] = PROTOCOLS.flatMap((protocol) => (fill > 1 ? [{ protocol, images: 1 }, { protocol, images: fill }] : [{ protocol, images: 1 }]));
  console.log(`selected: ${selected.map(rawKey).join(', ')}; served with 1${fill > 1 ? ` and ${fill}` : ''} image(s) per request\n`);

  // 2. measurement: the selected raw configurations and each served entry once per round, rotated order
  const server = await serve('resnet50', ['--model_name=resnet50', `--model_base_path=${base}`, '--enable_metrics'], { grpc: true });
  const samples = new Map<string, number[]>();
  type ServedRun = { round: number; imagesPerSecond: number; p99Ms: number; meanBatch: number | null; result: PerfResult };
  const servedRuns = new Map<string, ServedRun[]>();
  const raws = new Map<string, RawConfig>(selected.map((c) => [rawKey(c), c]));
  const served = new Map<string, ServedEntry>(servedEntries.map((e) => [servedKey(e), e]));
  const order: string[] = [...raws.keys(), ...served.keys()];
  try {
    // the server's batches take several shapes; each new one costs oneDNN a compile on its first run
    for (const images of new Set([1, fill])) {
      await measureServed(server, { protocol: 'kserve-binary', images }, ['--duration', QUICK ? '3' : '10', '--warmup', '2', '--max-windows', '1']);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const k = (round - 1) % order.length;
      for (const key of [...order.slice(k), ...order.slice(0, k)]) {
        let ips: number;
        const raw = raws.get(key);
        if (raw) {
          ips = await measureRaw(modelDir, raw);
          console.log(`round ${round} ${key}: ${fmt(ips)} img/s`);
        } else {
          const r = await measureServed(server, served.get(key)!, MEASURE_WINDOWS);
          const l = r.levels[0]!;
          ips = imagesPerSecond(r);
          servedRuns.set(key, [...(servedRuns.get(key) ?? []), { round, imagesPerSecond: ips, p99Ms: l.latency_us.p99 / 1000, meanBatch: l.server?.mean_batch_size ?? null, result: r }]);
          console.log(`round ${round} served ${key}, ${CLIENTS} clients: ${fmt(ips)} img/s, p99 ${(l.latency_us.p99 / 1000).toFixed(0)} ms, mean server batch ${l.server?.mean_batch_size ?? '-'}`);
        }
        samples.set(key, [...(samples.get(key) ?? []), ips]);
      }
    }
  } finally {
    await server.stop();
  }

  const rawRows = [...raws.entries()].map(([key, config]) => ({ key, config, rounds: samples.get(key)!, median: median(samples.get(key)!), best: Math.max(...samples.get(key)!) }));
  type RawRow = (typeof rawRows)[number];
  const bestOf = (rows: RawRow[]): RawRow => rows.reduce((a, r) => (r.median > a.median ? r : a));
  const bestOfAll = { name: 'best of all', row: bestOf(rawRows) };
  const baselines = [
    { name: 'best batch', row: bestOf(rawRows.filter((r) => r.config.inFlight === 1)) },
    { name: 'same in flight', row: bestOf(rawRows.filter((r) => r.config.batch * r.config.inFlight <= CLIENTS)) },
    bestOfAll,
  ];
  const bestRawBest = Math.max(...rawRows.map((r) => r.best));
  console.log(`\nraw TF (median of ${ROUNDS} rounds): ${rawRows.map((r) => `${r.key} ${fmt(r.median)} img/s [${r.rounds.map(fmt).join(' / ')}]`).join('; ')}`);
  console.log(`baselines: ${baselines.map((b) => `${b.name} = ${b.row.key}, median ${fmt(b.row.median)} img/s`).join('; ')}\n`);
  // single-image clients against each baseline; filled clients against raw's best (their shape)
  const rows = servedEntries.flatMap((entry) => {
    const key = servedKey(entry);
    const runs = servedRuns.get(key)!;
    const ips = runs.map((r) => r.imagesPerSecond);
    return (entry.images === 1 ? baselines : [bestOfAll]).map((b) => {
      const perRound = runs.map((r) => r.imagesPerSecond / samples.get(b.row.key)![r.round - 1]!);
      const ratio = median(ips) / b.row.median;
      return {
        served: key,
        'median img/s': median(ips),
        'p99 ms': median(runs.map((r) => r.p99Ms)),
        'server batch': median(runs.map((r) => r.meanBatch ?? NaN)),
        baseline: `${b.name} (${b.row.key})`,
        'served / raw (medians)': ratio,
        'per-round ratios': perRound.map(fmt).join(' / '),
        '≥ 0.97': ratio >= 0.97 ? 'met' : 'NOT MET',
      };
    });
  });
  printTable(rows);
  console.log(`served img/s by round: ${[...servedRuns].map(([key, runs]) => `${key} ${runs.map((r) => fmt(r.imagesPerSecond)).join(' / ')}`).join('; ')}`);
  console.log(`best round / best raw round: ${[...servedRuns].map(([key, runs]) => `${key} ${fmt(Math.max(...runs.map((r) => r.imagesPerSecond)) / bestRawBest)}`).join('; ')}`);
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const rest = servedRuns.get('kserve-binary')!;
  const report = [...rest].sort((a, b) => a.imagesPerSecond - b.imagesPerSecond)[Math.floor((rest.length - 1) / 2)]!.result;
  writeFileSync(join(out, 'perf-resnet50.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, 'perf-resnet50.html'), renderHtml(report));
  const servedSamples = [...servedRuns.entries()].flatMap(([key, runs]) => runs.map(({ result: _r, ...s }) => ({ served: key, ...s })));
  console.log(
    `results: ${writeResults('resnet50', { rounds: ROUNDS, quick: QUICK, windowS: WINDOW_S, selection, selected, fill, raw: rawRows, baselines: baselines.map((b) => ({ name: b.name, config: b.row.key, median: b.row.median })), served: servedSamples, rows })}`,
  );
}

await main();
