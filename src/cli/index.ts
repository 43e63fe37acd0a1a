// The `jetserve` command: a drop-in for `tensorflow_model_server`. It parses TF Serving's flags,
// calls startServer() (src/serve/start.ts) — which loads the models, blocking until they are
// AVAILABLE as TF Serving does, then opens the REST and gRPC ports — prints a ready banner with
// curl lines, and turns signals into actions: SIGHUP reloads the model config, SIGINT/SIGTERM
// stop without losing a request (server.drain(): lame duck for --drain_grace_seconds, then stop
// accepting, finish what is in flight within --drain_timeout_seconds, unload), and a second
// SIGINT/SIGTERM exits at once.

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServerOptionsError } from '../serve/options.js';
import { startServer, StartupError, type JetserveServer } from '../serve/start.js';
import { JETSERVE_VERSION } from '../version.js';
import { helpText, parseFlags, serverOptions, UsageError, type Flags } from './flags.js';

export { parseFlags, UsageError, helpText } from './flags.js';

/** Ready-to-paste curl lines for a served model (with predict examples for the demo model). */
export function curlLines(port: number, model: string, demo: boolean): string[] {
  const base = `http://localhost:${port}`;
  const lines = [
    `# model status\ncurl ${base}/v1/models/${model}`,
    `# model metadata (signatures)\ncurl ${base}/v1/models/${model}/metadata`,
  ];
  if (demo) {
    lines.push(
      `# predict, row format (instances)\ncurl -d '{"instances": [1.0, 2.0, 5.0]}' -X POST ${base}/v1/models/${model}:predict`,
      `# predict, columnar format (inputs)\ncurl -d '{"inputs": {"x": [1.0, 2.0, 5.0]}}' -X POST ${base}/v1/models/${model}:predict`,
      `# regress with tf.Example features\ncurl -d '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": 5.0}]}' -X POST ${base}/v1/models/${model}:regress`,
      `# KServe v2 infer\ncurl -H 'Content-Type: application/json' -d '{"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1.0, 2.0, 5.0]}]}' ${base}/v2/models/${model}/infer`,
    );
  } else {
    lines.push(`# KServe v2 model metadata\ncurl ${base}/v2/models/${model}`);
  }
  return lines;
}

function fail(message: string, code: number): never {
  process.stderr.write(`jetserve: ${message}\n`);
  process.exit(code);
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  if (argv[0] === 'perf') {
    // `jetserve perf …`: the load harness (src/cli/perf/), loaded only when asked for
    const { perfMain } = await import('./perf/index.js');
    process.exitCode = await perfMain(argv.slice(1));
    return;
  }
  let flags: Flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof UsageError) fail(err.message, 2);
    throw err;
  }
  if (flags.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  if (flags.version) {
    process.stdout.write(`jetserve ${JETSERVE_VERSION}\n`);
    return;
  }
  let server: JetserveServer;
  try {
    server = await startServer(serverOptions(flags));
  } catch (err) {
    if (err instanceof ServerOptionsError) fail(err.message, 2);
    if (err instanceof StartupError) fail(err.message, 1);
    throw err;
  }
  // signals are handled before the banner tells anyone the server is up
  handleSignals(server);
  // start-up log lines first, then the banner (log writes are buffered, stdout is not)
  server.flushLogs();
  printBanner(server);
}

function printBanner(server: JetserveServer): void {
  const { http, manager } = server;
  if (!http) return;
  const served = manager
    .modelNames()
    .map((name) => `${name} version ${manager.model(name)?.latestAvailable()?.version ?? '(none available)'}`)
    .join(', ');
  const first = manager.modelNames()[0];
  process.stdout.write(
    `jetserve ready: model ${served}. Try:\n\n` + (first !== undefined ? curlLines(http.port, first, server.demo).join('\n\n') : '') + '\n\n',
  );
}

function handleSignals(server: JetserveServer): void {
  const log = server.log;
  process.on('SIGHUP', () => void server.reload());
  let stopping = false;
  const exit = (code: number): never => {
    server.flushLogs();
    process.exit(code);
  };
  const shutdown = (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting now`, 'warn');
      exit(1);
    }
    stopping = true;
    log(`${signal}: shutting down (${server.http?.inFlight ?? 0} REST request(s) in flight)`);
    server.drain().then(
      () => {
        log('stopped');
        exit(0);
      },
      (err: unknown) => {
        log(`error during shutdown: ${(err as Error).message}`, 'error');
        exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main().catch((err: unknown) => {
    process.stderr.write(`jetserve: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
