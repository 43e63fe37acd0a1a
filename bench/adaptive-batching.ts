// `npm run bench:adaptive`: SLO-driven adaptive batching against hand-tuned static batching, on two
// models of very different cost — the tiny MLP fixture (x float32 [1,4], tens of µs per run) and
// ResNet50 (random weights, [1,224,224,3], ~100 ms per image on 2 cores) — measured through
// `jetserve perf` against a `jetserve` child per configuration, in one run.
//
// Per model, each configuration serves the model and `jetserve perf` sweeps closed-loop
// concurrency; its score is perf_analyzer's latency-threshold view: the best throughput (items/s)
// among the levels whose p99 meets the model's target. Configurations (batching parameters files):
//   static-N      max_batch_size N, batch_timeout_micros 0, num_batch_threads = cores, unbounded queue
//                 (the hand-tuning grid: N in 1, 16, 256 for the MLP; 1, 4, 16 for ResNet50)
//   tfs-example   TF Serving's batching guide example file verbatim: max_batch_size 128,
//                 batch_timeout_micros 0, max_enqueued_batches 1000000, num_batch_threads 8
//   tfs-timeout   the same with batch_timeout_micros 5000 (the guide's "then try 1-10 ms")
//   adaptive      the tfs-timeout file plus target_p99_ms (its 128 rows and 5 ms become bounds)
// The best static configuration is the best of every static-* and tfs-* one. Checked: adaptive
// reaches ≥ 95 % of it while its level meets the target; a TF Serving-style default misses a model
// (< 95 % of the best, or no level within the target).
//
// The MLP server runs on CPU 0 and perf on CPU 1 (taskset); ResNet50's server gets both cores
// (TF's intra-op threads) and perf shares them (a few hundred requests/s cost it little).
// Env: BENCH_MLP_TARGET_MS (20), BENCH_RESNET_TARGET_MS (2500), BENCH_ONLY=mlp|resnet50,
// BENCH_RESNET_SWEEP (1:16:x2; one level, e.g. 16, makes rounds short enough to run many),
// BENCH_QUICK=1 (shorter windows; for a smoke run, not for numbers), BENCH_ROUNDS (1: each configuration
// once; more: alternating rounds, and each configuration's score is the median of its rounds — see
// below). Writes
// bench/results/adaptive-batching-<time>.json and the adaptive runs' perf reports
// (bench/results/perf-<model>-adaptive.json / .html, committed).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVenv } from '../scripts/python-env.mjs';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import type { PerfResult } from '../src/cli/perf/index.js';
import { renderHtml } from '../src/cli/perf/report/html.js';
import { median, printTable, writeResults } from './lib/report.js';
import { perfCli, ROOT, serve, throughputAtSlo } from './lib/perf-run.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const ONLY = process.env.BENCH_ONLY;
const CORES = availableParallelism();
const DIR = mkdtempSync(join(tmpdir(), 'jetserve-bench-adaptive-'));

interface ModelCase {
  name: string;
  /** The model's base path (made on first use: BENCH_ONLY=mlp does not build ResNet50). */
  basePath: () => Promise<string>;
  targetMs: number;
  grid: number[];
  sweep: string;
  protocol: string;
  perfFlags: string[];
  serverCpus?: string;
  perfCpus?: string;
}

interface Config {
  name: string;
  file: string;
  static: boolean;
}

function paramsFile(name: string, body: string): string {
  const file = join(DIR, `${name}.txt`);
  writeFileSync(file, body);
  return file;
}

const TFS_EXAMPLE = 'max_batch_size { value: 128 }\nbatch_timeout_micros { value: 0 }\nmax_enqueued_batches { value: 1000000 }\nnum_batch_threads { value: 8 }\n';
const TFS_TIMEOUT = TFS_EXAMPLE.replace('batch_timeout_micros { value: 0 }', 'batch_timeout_micros { value: 5000 }');

function configs(m: ModelCase): Config[] {
  return [
    ...m.grid.map((n) => ({
      name: `static-${n}`,
      static: true,
      file: paramsFile(`${m.name}-static-${n}`, `max_batch_size { value: ${n} }\nbatch_timeout_micros { value: 0 }\nmax_enqueued_batches { value: 1000000 }\nnum_batch_threads { value: ${CORES} }\n`),
    })),
    { name: 'tfs-example', static: true, file: paramsFile(`${m.name}-tfs-example`, TFS_EXAMPLE) },
    { name: 'tfs-timeout', static: true, file: paramsFile(`${m.name}-tfs-timeout`, TFS_TIMEOUT) },
    { name: 'adaptive', static: false, file: paramsFile(`${m.name}-adaptive`, `${TFS_TIMEOUT}target_p99_ms { value: ${m.targetMs} }\n`) },
  ];
}

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

async function main(): Promise<void> {
  // the CLI children run dist/: build it from these sources first
  if (spawnSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build:ts failed');
  const fixtures = await ensureFixtures();
  const window = QUICK ? ['--duration', '1', '--warmup', '0.5', '--max-windows', '3'] : ['--duration', '2', '--warmup', '1', '--max-windows', '6'];
  const models: ModelCase[] = [
    {
      name: 'mlp',
      basePath: async () => join(fixtures, 'mlp'),
      targetMs: Number(process.env.BENCH_MLP_TARGET_MS ?? 20),
      grid: [1, 16, 256],
      sweep: '1:64:x2',
      protocol: 'tfserving-rest',
      perfFlags: window,
      ...(CORES >= 2 ? { serverCpus: '0', perfCpus: '1' } : {}),
    },
    {
      name: 'resnet50',
      basePath: ensureResnet,
      targetMs: Number(process.env.BENCH_RESNET_TARGET_MS ?? 2500),
      grid: [1, 4, 16],
      sweep: process.env.BENCH_RESNET_SWEEP ?? (QUICK ? '1:8:x2' : '1:16:x2'),
      protocol: 'kserve-binary',
      perfFlags: QUICK ? ['--duration', '3', '--warmup', '2', '--max-windows', '3'] : ['--duration', '4', '--warmup', '3', '--max-windows', '4'],
    },
  ].filter((m) => !ONLY || ONLY === m.name);

  const summary: Record<string, unknown> = {};
  for (const m of models) {
    const basePath = await m.basePath();
    console.log(`\n${m.name}: p99 target ${m.targetMs} ms, concurrency ${m.sweep}, ${m.protocol}`);
    const rows: Record<string, string | number>[] = [];
    const results: Record<string, PerfResult> = {};
    const rounds: Record<string, { score: ReturnType<typeof throughputAtSlo>; result: PerfResult }[]> = {};
    // BENCH_ROUNDS > 1: every configuration runs once per round, in alternating order, and the
    // median of its rounds is its score. Not the best round: this VM's speed swings ±10 % between
    // windows, and the best static configuration is then the best of (configurations × rounds)
    // draws against adaptive's best of (rounds) — when every configuration runs at the same speed,
    // that alone puts adaptive several % behind (ResNet50, 2 rounds: static-16 read 39.9 and 33.5).
    // The best round of each is printed too
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 === 1 ? configs(m) : configs(m).reverse();
      for (const c of order) {
        const server = await serve(m.name, [`--model_name=${m.name}`, `--model_base_path=${basePath}`, `--batching_parameters_file=${c.file}`, '--enable_metrics'], { cpus: m.serverCpus });
        try {
          const result = await perfCli(['--url', server.rest, '--model', m.name, '--protocol', m.protocol, '--concurrency', m.sweep, ...m.perfFlags], { cpus: m.perfCpus });
          const score = throughputAtSlo(result, m.targetMs);
          console.log(`  ${ROUNDS > 1 ? `[round ${round}] ` : ''}${c.name}: ${score.rps.toFixed(1)} items/s within ${m.targetMs} ms (concurrency ${score.level ?? '-'})`);
          (rounds[c.name] ??= []).push({ score, result });
        } finally {
          await server.stop();
        }
      }
    }
    const scores: Record<string, ReturnType<typeof throughputAtSlo>> = {};
    const bestRounds: Record<string, number> = {};
    for (const [name, runs] of Object.entries(rounds)) {
      // the median round (the lower middle one of an even count) stands for the configuration,
      // its score the median of the rounds' scores
      const sorted = [...runs].sort((a, b) => a.score.rps - b.score.rps);
      const middle = sorted[Math.floor((sorted.length - 1) / 2)]!;
      scores[name] = { ...middle.score, rps: median(runs.map((r) => r.score.rps)) };
      results[name] = middle.result;
      bestRounds[name] = sorted.at(-1)!.score.rps;
    }
    for (const c of configs(m)) {
      const result = results[c.name]!;
      const score = scores[c.name]!;
      const top = result.levels.reduce((a, l) => (l.throughput_items_per_s > a.throughput_items_per_s ? l : a));
      rows.push({
        config: c.name,
        'items/s at SLO': Math.round(score.rps * 10) / 10,
        ...(ROUNDS > 1 ? { rounds: rounds[c.name]!.map((r) => r.score.rps.toFixed(1)).join(' / ') } : {}),
        'at concurrency': score.level ?? '-',
        'p99 ms there': score.p99Ms ?? '-',
        'peak items/s': top.throughput_items_per_s,
        'p99 ms at peak': top.latency_us.p99 / 1000,
        'mean batch at peak': top.server?.mean_batch_size ?? '-',
        errors: result.levels.reduce((a, l) => a + l.error_count, 0),
      });
    }
    printTable(rows);
    const staticNames = Object.keys(scores).filter((k) => k !== 'adaptive');
    const best = staticNames.reduce((a, k) => (scores[k]!.rps > scores[a]!.rps ? k : a));
    const adaptive = scores.adaptive!;
    const ratio = adaptive.rps / Math.max(1e-9, scores[best]!.rps);
    const misses = (k: string) => scores[k]!.level === null || scores[k]!.rps < 0.95 * scores[best]!.rps;
    const bestRoundStatic = Math.max(...staticNames.map((k) => bestRounds[k]!));
    const bestRoundRatio = bestRounds.adaptive! / Math.max(1e-9, bestRoundStatic);
    console.log(
      `${m.name}: adaptive ${adaptive.rps.toFixed(1)} items/s = ${ratio.toFixed(3)}× the best static (${best}, ${scores[best]!.rps.toFixed(1)}); ` +
        `≥ 0.95 ${ratio >= 0.95 && adaptive.level !== null ? 'met' : 'NOT MET'}; ` +
        `tfs-example ${misses('tfs-example') ? 'misses' : 'meets'}, tfs-timeout ${misses('tfs-timeout') ? 'misses' : 'meets'} (< 95 % of the best, or no level within the target)` +
        (ROUNDS > 1 ? `; medians of ${ROUNDS} rounds (best rounds: adaptive ${bestRoundRatio.toFixed(3)}× the best static round)` : ''),
    );
    summary[m.name] = {
      targetMs: m.targetMs,
      rows,
      best,
      rounds: ROUNDS,
      ratioAdaptiveToBest: ratio,
      ratioBestRounds: bestRoundRatio,
      tfsExampleMisses: misses('tfs-example'),
      tfsTimeoutMisses: misses('tfs-timeout'),
      scores,
      levels: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.levels.map((l) => ({ concurrency: l.concurrency, rps: l.throughput_items_per_s, p99_us: l.latency_us.p99, batch: l.server?.mean_batch_size ?? null }))])),
    };
    // the adaptive run's full perf report (the committed example per model)
    const out = join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `perf-${m.name}-adaptive.json`), `${JSON.stringify(results.adaptive, null, 2)}\n`);
    writeFileSync(join(out, `perf-${m.name}-adaptive.html`), renderHtml(results.adaptive!));
  }
  console.log(`\nresults: ${writeResults('adaptive-batching', { cores: CORES, quick: QUICK, summary })}`);
}

await main();
