// `npm run bench:engine`: in-process predict() against a C program calling TF_SessionRun on the
// same SavedModel, measured in the same run (ratios, plus absolute overhead in µs, since fixed
// costs dominate any ratio on a tiny graph). Also sweeps TF's intra/inter-op thread settings.
//
// Models: the tiny MLP fixture (batch 1 and 64) and a ResNet50 with random weights (batch 1, 8).
// Env: BENCH_QUICK=1 shortens every measurement (smoke run).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { loadSavedModel, allocTensor, engineInfo, type Model } from '../src/index.js';
import { ensureVenv } from '../scripts/python-env.mjs';
import { ensureFixtures } from '../test/fixtures/ensure-fixtures.mjs';
import { nowUs, percentile, printTable, writeResults } from './lib/report.js';
import { tfPaths } from '../scripts/tf-paths.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const ROOT = process.cwd();

interface Scenario {
  model: string;
  dir: string;
  inputKey: string;
  inputTensor: string;
  outputTensor: string;
  sampleShape: number[];
  batch: number;
  iterations: number;
}

function compileBaseline(): string {
  const out = join(ROOT, 'build', 'bench', 'savedmodel_run');
  mkdirSync(join(ROOT, 'build', 'bench'), { recursive: true });
  const { includeDir, libDir, libraries } = tfPaths();
  const result = spawnSync(
    'gcc',
    [
      '-O2',
      '-o',
      out,
      join(ROOT, 'bench', 'raw-c', 'savedmodel_run.c'),
      `-I${includeDir}`,
      ...libraries,
      `-Wl,-rpath,${libDir}`,
    ],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error('compiling bench/raw-c/savedmodel_run.c failed');
  return out;
}

function rawC(binary: string, s: Scenario, intra: number, inter: number): number {
  const dims = [s.batch, ...s.sampleShape].join(',');
  const result = spawnSync(
    binary,
    [s.dir, s.inputTensor, s.outputTensor, dims, String(s.iterations), String(intra), String(inter)],
    { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } },
  );
  const match = /us_per_run=([\d.]+)/.exec(result.stdout);
  if (!match) throw new Error(`baseline failed: ${result.stderr}`);
  return Number(match[1]);
}

async function jetserveSerial(model: Model, s: Scenario): Promise<{ mean: number; p50: number; p99: number }> {
  const x = allocTensor('float32', [s.batch, ...s.sampleShape]);
  const data = x.data as Float32Array;
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000;
  const inputs = { [s.inputKey]: x };
  const warmup = Math.ceil(s.iterations / 10) + 1;
  for (let i = 0; i < warmup; i++) await model.run(inputs);
  const samples: number[] = new Array(s.iterations);
  const start = nowUs();
  for (let i = 0; i < s.iterations; i++) {
    const t0 = nowUs();
    await model.run(inputs);
    samples[i] = nowUs() - t0;
  }
  const mean = (nowUs() - start) / s.iterations;
  samples.sort((a, b) => a - b);
  return { mean, p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** Throughput with `concurrency` runs kept in flight: µs per run. */
async function jetserveConcurrent(model: Model, s: Scenario, concurrency: number): Promise<number> {
  const x = allocTensor('float32', [s.batch, ...s.sampleShape]);
  const inputs = { [s.inputKey]: x };
  let started = 0;
  const total = s.iterations;
  const start = nowUs();
  const worker = async () => {
    while (started < total) {
      started++;
      await model.run(inputs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (nowUs() - start) / total;
}

async function ensureResnet(python: string): Promise<string> {
  const dir = join(homedir(), '.cache', 'jetserve', 'bench-models', 'resnet50');
  if (!existsSync(join(dir, '1', 'saved_model.pb'))) {
    console.log('making a random-weight ResNet50 SavedModel (one time) …');
    const r = spawnSync(python, [join(ROOT, 'bench', 'make_resnet50.py'), dir], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('bench/make_resnet50.py failed');
  }
  return join(dir, '1');
}

async function main(): Promise<void> {
  const python = await ensureVenv();
  const fixtures = await ensureFixtures();
  const resnetDir = await ensureResnet(python);
  const baseline = compileBaseline();
  const cores = availableParallelism();
  console.log(`TF ${engineInfo().tfVersion}, ${cores} cores${QUICK ? ', quick mode' : ''}\n`);

  const mlp = await loadSavedModel(join(fixtures, 'mlp', '1'));
  const mlpSig = mlp.signature();
  const [mlpIn] = Object.entries(mlpSig.inputs);
  const [, mlpOut] = Object.entries(mlpSig.outputs)[0]!;
  const resnet = await loadSavedModel(resnetDir, { intraOpThreads: cores });
  const rSig = resnet.signature();
  const [rIn] = Object.entries(rSig.inputs);
  const [, rOut] = Object.entries(rSig.outputs)[0]!;

  const k = QUICK ? 0.1 : 1;
  const mlpScenario = (batch: number): Scenario => ({
    model: 'tiny MLP',
    dir: join(fixtures, 'mlp', '1'),
    inputKey: mlpIn![0],
    inputTensor: mlpIn![1].name,
    outputTensor: mlpOut.name,
    sampleShape: mlpIn![1].shape!.slice(1),
    batch,
    iterations: Math.round(20000 * k),
  });
  const resnetScenario = (batch: number, iterations: number): Scenario => ({
    model: 'ResNet50',
    dir: resnetDir,
    inputKey: rIn![0],
    inputTensor: rIn![1].name,
    outputTensor: rOut.name,
    sampleShape: rIn![1].shape!.slice(1),
    batch,
    iterations: Math.max(3, Math.round(iterations * k)),
  });

  // 1. jetserve vs raw C, both with jetserve's default session config.
  const rows: Record<string, string | number>[] = [];
  const scenarios: [Scenario, Model, number, number][] = [
    [mlpScenario(1), mlp, 1, -1],
    [mlpScenario(64), mlp, 1, -1],
    [resnetScenario(1, 30), resnet, cores, -1],
    [resnetScenario(8, 8), resnet, cores, -1],
  ];
  for (const [s, model, intra, inter] of scenarios) {
    const c = rawC(baseline, s, intra, inter);
    const js = await jetserveSerial(model, s);
    const conc = await jetserveConcurrent(model, s, cores * 2);
    rows.push({
      model: s.model,
      batch: s.batch,
      'raw C µs/run': c,
      'jetserve µs (serial)': js.mean,
      'p50 µs': js.p50,
      'p99 µs': js.p99,
      'ratio serial/C': js.mean / c,
      'overhead µs': js.mean - c,
      [`jetserve µs/run (${cores * 2} in flight)`]: conc,
      'ratio in-flight/C': conc / c,
    });
  }
  console.log('predict() vs TF_SessionRun from C (same SavedModel, same config, same run):');
  printTable(rows);

  // 2. Thread settings for the tiny model: TF's pools can cost more than the graph.
  const settings: [string, number, number][] = [
    ['TF default (0, 0)', 0, 0],
    ['intra 1, inter 1', 1, 1],
    [`intra ${cores}, inter ${cores}`, cores, cores],
    ['intra 1, inter -1 (inline)', 1, -1],
    [`intra ${cores}, inter -1 (inline)`, cores, -1],
  ];
  const sweep: Record<string, string | number>[] = [];
  for (const [label, intra, inter] of settings) {
    const s = mlpScenario(1);
    const model = await loadSavedModel(s.dir, { intraOpThreads: intra, interOpThreads: inter });
    const js = await jetserveSerial(model, s);
    const conc = await jetserveConcurrent(model, s, cores * 2);
    await model.dispose();
    sweep.push({
      'session config': label,
      'raw C µs/run': rawC(baseline, s, intra, inter),
      'jetserve serial µs': js.mean,
      [`jetserve µs/run (${cores * 2} in flight)`]: conc,
    });
  }
  console.log('\nTiny MLP, batch 1, by ConfigProto thread settings:');
  printTable(sweep);

  await mlp.dispose();
  await resnet.dispose();
  const file = writeResults('engine', { cores, rows, sweep });
  console.log(`\nresults: ${file}`);
}

await main();
