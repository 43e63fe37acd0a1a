// `jetserve perf`: a load harness for any TF Serving / KServe v2 endpoint (or a SavedModel
// in-process). Flow: flags → the model's inputs from the target's metadata → requests encoded
// once → load workers → per level: warm-up, windows until stable, the server's metrics before
// and after → table on the terminal (with a live progress line), and --json / --csv / --html.

import { writeFileSync } from 'node:fs';
import { LoadGenerator, type Level, type Progress } from './load/coordinator.js';
import { fetchModelInfo, TargetError, type ModelInfo } from './model-info.js';
import { parsePerfArgs, perfHelpText, PerfUsageError, type PerfOptions } from './options.js';
import { generateRequests, InputError, readInputData, wirePlan } from './requests.js';
import { renderHtml } from './report/html.js';
import { levelLabel, levelResult, newResult, type PerfResult } from './report/result.js';
import { formatCsv, formatTable } from './report/text.js';
import { metricsUrlFor, scrape, serverSplit } from './server-metrics.js';

export { parsePerfArgs, PerfUsageError } from './options.js';
export type { PerfOptions } from './options.js';
export type { PerfResult, LevelResult } from './report/result.js';

export interface PerfIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether `err` is a terminal (the progress line redraws in place). */
  tty: boolean;
}

const defaultIo: PerfIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  tty: Boolean(process.stderr.isTTY),
};

/** Runs a perf session with parsed options; returns the result (also written where asked). */
export async function runPerf(opts: PerfOptions, io: PerfIo = defaultIo): Promise<PerfResult> {
  const info: ModelInfo = await fetchModelInfo(opts);
  const requests = opts.inputData ? readInputData(opts.inputData, info) : generateRequests(info, opts);
  const plan = wirePlan(requests, info, opts);
  const rest = opts.protocol !== 'in-process' && !opts.protocol.endsWith('grpc');
  let metricsUrl = metricsUrlFor(opts.url, opts.metricsUrl, rest);
  if (metricsUrl && !(await scrape(metricsUrl))) {
    if (opts.metricsUrl) io.err(`jetserve perf: cannot read metrics at ${metricsUrl}: no server-side split\n`);
    metricsUrl = undefined;
  }
  const result = newResult(opts, info, metricsUrl);
  const describeInputs = Object.entries(info.inputs)
    .map(([k, v]) => `${k} ${v.dtype}[${requests[0]![k]!.shape.join(',')}]`)
    .join(', ');
  io.err(
    `jetserve perf: ${opts.protocol} ${result.target.url} model ${info.name} (${info.signature}: ${describeInputs}); ` +
      `${requests.length} distinct request(s)${opts.inputData ? ` from ${opts.inputData}` : ' of random data'}` +
      `${metricsUrl ? `; server metrics from ${metricsUrl}` : ''}\n`,
  );

  const generator = await LoadGenerator.start(plan, opts.timeoutMs, opts.workers);
  const progress = new ProgressLine(io, opts.quiet);
  try {
    const values = opts.levels.values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      const level: Level =
        opts.levels.kind === 'concurrency'
          ? { kind: 'concurrency', value }
          : { kind: 'request-rate', value, distribution: opts.distribution, maxInflight: opts.maxInflight };
      const label = opts.levels.kind === 'concurrency' ? `concurrency ${value}` : `${value} req/s`;
      let before = metricsUrl ? await scrape(metricsUrl) : undefined;
      const onProgress: Progress = (e) => {
        // the server's counters are read from the end of the warm-up on
        if (e.window === 0 && !e.warmup && metricsUrl) void scrape(metricsUrl).then((s) => (before = s ?? before));
        progress.update(
          `[${i + 1}/${values.length}] ${label}: ${e.warmup ? 'warm-up' : `window ${e.window}/${opts.maxWindows}`}` +
            (e.last ? `, ${e.last.throughput.toFixed(0)} req/s, mean ${(e.last.meanLatency / 1000).toFixed(2)} ms` : '') +
            `${e.stable ? ', stable' : ''} (${e.workers} worker${e.workers > 1 ? 's' : ''})`,
        );
      };
      const run = await generator.runLevel(level, { warmupS: opts.warmup, windowS: opts.duration, stabilityPercent: opts.stabilityPercent, maxWindows: opts.maxWindows }, onProgress);
      const after = metricsUrl ? await scrape(metricsUrl) : undefined;
      const server = before && after ? serverSplit(before, after, info.name, info.signature) : null;
      const entry = levelResult(value, opts, run, server);
      result.levels.push(entry);
      progress.clear();
      if (!opts.quiet) {
        io.err(
          `  ${levelLabel(entry)}: ${entry.throughput_rps} req/s, p50 ${(entry.latency_us.p50 / 1000).toFixed(2)} ms, p99 ${(entry.latency_us.p99 / 1000).toFixed(2)} ms` +
            `${entry.error_count ? `, ${entry.error_count} errors` : ''}${entry.stable ? '' : ' (not stable)'}\n`,
        );
      }
      if (run.saturated) {
        const why =
          opts.levels.kind === 'request-rate'
            ? `${((entry.generator.late_send_share ?? 0) * 100).toFixed(0)} % of sends left more than 5 ms late`
            : `a worker thread was ${(entry.generator.max_event_loop_utilization * 100).toFixed(0)} % busy`;
        result.warnings.push(
          `${label}: the load generator itself was saturated (${why}, ${run.workers} worker(s)): these numbers may show the client's limit, not the server's. ` +
            'Give --workers more threads or run perf on another machine.',
        );
      }
      if (opts.latencyThresholdMs > 0 && entry.latency_us.p99 > opts.latencyThresholdMs * 1000) {
        if (i < values.length - 1) result.warnings.push(`stopped after ${label}: p99 ${(entry.latency_us.p99 / 1000).toFixed(1)} ms is above --latency-threshold-ms ${opts.latencyThresholdMs}`);
        break;
      }
    }
  } finally {
    progress.clear();
    await generator.close();
  }
  for (const l of result.levels) {
    for (const [code, message] of Object.entries(l.error_messages)) {
      const w = `${levelLabel(l)}: ${l.errors[code]} × ${code}${message ? `: ${message}` : ''}`;
      if (!result.warnings.includes(w)) result.warnings.push(w);
    }
  }
  io.out(`${formatTable(result)}\n`);
  for (const w of result.warnings) io.err(`warning: ${w}\n`);
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
  if (opts.csv) writeFileSync(opts.csv, formatCsv(result));
  if (opts.html) writeFileSync(opts.html, renderHtml(result));
  for (const [flag, file] of [['json', opts.json], ['csv', opts.csv], ['html', opts.html]] as const) if (file) io.err(`jetserve perf: wrote ${flag.toUpperCase()} to ${file}\n`);
  return result;
}

class ProgressLine {
  private shown = false;

  constructor(
    private readonly io: PerfIo,
    private readonly quiet: boolean,
  ) {}

  update(text: string): void {
    if (this.quiet) return;
    if (this.io.tty) {
      this.io.err(`\r\x1b[2K${text}`);
      this.shown = true;
    } else if (/window [1-9]/.test(text)) {
      // not a terminal (a log file, CI): one line per finished window
      this.io.err(`${text}\n`);
    }
  }

  clear(): void {
    if (this.shown) this.io.err('\r\x1b[2K');
    this.shown = false;
  }
}

/** `jetserve perf …`: returns the exit status (0 ran, 1 target unusable, 2 usage). */
export async function perfMain(argv: readonly string[], io: PerfIo = defaultIo): Promise<number> {
  let opts: PerfOptions;
  try {
    opts = parsePerfArgs(argv);
  } catch (err) {
    if (err instanceof PerfUsageError) {
      io.err(`jetserve perf: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    io.out(`${perfHelpText()}\n`);
    return 0;
  }
  try {
    await runPerf(opts, io);
    return 0;
  } catch (err) {
    if (err instanceof TargetError || err instanceof InputError) {
      io.err(`jetserve perf: ${err.message}\n`);
      return err instanceof InputError ? 2 : 1;
    }
    throw err;
  }
}
