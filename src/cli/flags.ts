// The command line: argv → the server flags of src/serve/options.ts (TF Serving's spelling,
// --flag=value or --flag value), plus the CLI's own --help and --version. Mistakes are
// UsageErrors (the CLI prints them and exits 2) with a "did you mean" for misspelt flags.

import {
  NOT_YET_SUPPORTED,
  REFUSAL_REASONS,
  resolveServerOptions,
  SERVER_FLAGS,
  ServerOptionsError,
  serverOptionsFromFlags,
  type FlagSpec,
  type ServerFlagName,
  type ServerFlagValues,
  type ServerOptions,
} from '../serve/options.js';
import { JETSERVE_VERSION } from '../version.js';

const CLI_FLAGS = {
  help: { kind: 'bool', default: false, help: 'Print this help and exit.' },
  version: { kind: 'bool', default: false, help: 'Print the version and exit.' },
} satisfies Record<string, FlagSpec>;

const ALL_FLAGS: Readonly<Record<string, FlagSpec>> = { ...SERVER_FLAGS, ...CLI_FLAGS };

type FlagName = ServerFlagName | keyof typeof CLI_FLAGS;

export type Flags = ServerFlagValues & { help: boolean; version: boolean } & {
  /** Flags the user actually gave. */
  given: Set<FlagName>;
};

/** A command-line mistake: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {}

export function parseFlags(argv: readonly string[]): Flags {
  const values: Record<string, number | string | boolean> = {};
  const given = new Set<FlagName>();
  for (const [k, spec] of Object.entries(ALL_FLAGS)) values[k] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h') {
      values.help = true;
      given.add('help');
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument '${arg}': flags look like --name=value or --name value`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (NOT_YET_SUPPORTED.has(name)) {
      const reason = REFUSAL_REASONS[name];
      throw new UsageError(`--${name} is a TF Serving flag jetserve does not support${reason ? `: ${reason}` : ' yet'}`);
    }
    if (!Object.hasOwn(ALL_FLAGS, name)) {
      throw new UsageError(`unknown flag --${name}${suggest(name)} (see --help)`);
    }
    const spec = ALL_FLAGS[name]!;
    if (spec.kind === 'bool') {
      if (value === undefined || /^(true|1)$/i.test(value)) {
        values[name] = true;
      } else if (/^(false|0)$/i.test(value)) {
        values[name] = false;
      } else {
        throw new UsageError(`--${name} takes true or false, not '${value}'`);
      }
      given.add(name as FlagName);
      continue;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.kind === 'int') {
      if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} takes an integer, not '${value}'`);
      values[name] = Number(value);
    } else if (spec.kind === 'float') {
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) throw new UsageError(`--${name} takes a number, not '${value}'`);
      values[name] = Number(value);
    } else {
      values[name] = value;
    }
    given.add(name as FlagName);
  }
  const flags = { ...(values as Omit<Flags, 'given'>), given } as Flags;
  // ranges and combinations: the same checks startServer() makes on its options
  if (!flags.help && !flags.version) {
    try {
      resolveServerOptions(serverOptions(flags));
    } catch (err) {
      if (err instanceof ServerOptionsError) throw new UsageError(err.message);
      throw err;
    }
  }
  return flags;
}

/** startServer() options for the flags given on the command line. */
export function serverOptions(flags: Flags): ServerOptions {
  const serverGiven = [...flags.given].filter((f): f is ServerFlagName => Object.hasOwn(SERVER_FLAGS, f));
  return serverOptionsFromFlags(flags, serverGiven);
}

function suggest(name: string): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of Object.keys(ALL_FLAGS)) {
    const d = editDistance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean --${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function helpText(): string {
  const lines = [
    `jetserve ${JETSERVE_VERSION} — TensorFlow model server (drop-in for tensorflow_model_server)`,
    '',
    'Usage: jetserve [--flag=value | --flag value]...',
    '       jetserve perf [flags]   load a model server (or a model in-process) and report latency and throughput (jetserve perf --help)',
    '',
    'With no model flags, serves the bundled demo model half_plus_two (y = 0.5x + 2) and prints curl',
    'lines to try. REST serves the TF Serving API (/v1/models/...) and KServe v2 (/v2/...).',
    '',
    'Flags (TF Serving names and defaults):',
  ];
  for (const [name, spec] of Object.entries(ALL_FLAGS)) {
    const def =
      spec.kind === 'bool' ? '' : spec.default === -2 ? ' (default: unset)' : ` (default: ${JSON.stringify(spec.default)})`;
    lines.push(`  --${name}${spec.kind === 'bool' ? '' : `=<${spec.kind}>`}${def}`);
    lines.push(`      ${spec.help}`);
  }
  lines.push('', 'TF Serving flags jetserve refuses:');
  for (const flag of NOT_YET_SUPPORTED) lines.push(`  --${flag}${REFUSAL_REASONS[flag] ? `: ${REFUSAL_REASONS[flag]}` : ' (not supported yet)'}`);
  lines.push('', 'Environment: UWS_USE_FALLBACK=1 forces the node:http fallback instead of native uWebSockets.js.');
  return lines.join('\n');
}
