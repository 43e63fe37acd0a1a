// BatchingParameters: TF Serving's batching knobs (session_bundle_config.proto), their defaults,
// validation, and a parser for the protobuf text format TF Serving reads from
// --batching_parameters_file, e.g.
//
//   max_batch_size { value: 128 }
//   batch_timeout_micros { value: 0 }
//   max_enqueued_batches { value: 1000000 }
//   num_batch_threads { value: 8 }
//   allowed_batch_sizes: 32
//   allowed_batch_sizes: 128
//   target_p99_ms { value: 50 }        # jetserve: adaptive batching (adaptive.ts)
//
// Errors name the file, line and column of the offending token or field.

import { readFileSync } from 'node:fs';
import { invalidArgument, JetserveError } from '../errors.js';

export interface BatchingParameters {
  /** Largest merged batch in rows (a larger single request runs as a batch of its own). */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for a fuller batch once a thread is free. 0 = never wait. */
  batchTimeoutMicros: number;
  /**
   * Queue capacity in batches: at most maxEnqueuedBatches × maxBatchSize rows wait per model version
   * and signature. Applies when given (batcher.ts queueBounded); jetserve's default batching has none.
   */
  maxEnqueuedBatches: number;
  /** Batches running at once, shared by every model. 0 = the native executor's thread count (= cores). */
  numBatchThreads: number;
  /** Accepted for compatibility; jetserve has a single batching pool. */
  threadPoolName: string;
  /** Increasing; the last equals maxBatchSize. Merged batches are padded up to the next allowed size. */
  allowedBatchSizes: number[];
  /** Pad non-batch dimensions so requests of different lengths share a batch (TF Serving semantics). */
  padVariableLengthInputs: boolean;
  /** Accepted for compatibility: jetserve runs an oversized request as a batch of its own instead of splitting it. */
  enableLargeBatchSplitting: boolean;
  /** Accepted with enableLargeBatchSplitting; equals maxBatchSize when unset. */
  maxExecutionBatchSize: number;
  /**
   * jetserve: p99 latency target in ms (0 = off). When set, each signature's batch cap and timeout
   * adapt online to hold it (adaptive.ts), bounded by maxBatchSize and batchTimeoutMicros.
   */
  targetP99Ms: number;
  /**
   * jetserve's default batching (busy-hold.ts): with batchTimeoutMicros 0, while another batch of a
   * queue runs, a forming batch of a slow model waits briefly for its fair share of the queue. Not
   * a file field: a --batching_parameters_file turns it off (TF Serving's semantics, exactly).
   */
  holdWhileBusy: boolean;
}

/**
 * TF's SharedBatchScheduler defaults (what TF Serving uses for a field the file leaves unset),
 * except numBatchThreads 0 = "the executor's threads", resolved when batching starts.
 */
export const DEFAULT_BATCHING_PARAMETERS: Readonly<BatchingParameters> = Object.freeze({
  maxBatchSize: 1000,
  batchTimeoutMicros: 0,
  maxEnqueuedBatches: 10,
  numBatchThreads: 0,
  threadPoolName: 'batch_threads',
  allowedBatchSizes: [],
  padVariableLengthInputs: false,
  enableLargeBatchSplitting: false,
  maxExecutionBatchSize: 0,
  targetP99Ms: 0,
  holdWhileBusy: true,
});

/** Fills defaults and validates (INVALID_ARGUMENT naming the field on a bad value). */
export function resolveBatchingParameters(partial: Partial<BatchingParameters> = {}): BatchingParameters {
  const merged: BatchingParameters = { ...DEFAULT_BATCHING_PARAMETERS, allowedBatchSizes: [], ...partial };
  merged.allowedBatchSizes = [...merged.allowedBatchSizes];
  if (partial.maxExecutionBatchSize === undefined) merged.maxExecutionBatchSize = merged.maxBatchSize;
  validate(merged, (field, message) => invalidArgument(`batching parameters: ${fieldName(field)} ${message}`));
  return merged;
}

type Field = keyof BatchingParameters;

const PROTO_NAME: Record<Field, string> = {
  maxBatchSize: 'max_batch_size',
  batchTimeoutMicros: 'batch_timeout_micros',
  maxEnqueuedBatches: 'max_enqueued_batches',
  numBatchThreads: 'num_batch_threads',
  threadPoolName: 'thread_pool_name',
  allowedBatchSizes: 'allowed_batch_sizes',
  padVariableLengthInputs: 'pad_variable_length_inputs',
  enableLargeBatchSplitting: 'enable_large_batch_splitting',
  maxExecutionBatchSize: 'max_execution_batch_size',
  targetP99Ms: 'target_p99_ms',
  holdWhileBusy: 'hold_while_busy',
};

function fieldName(field: Field): string {
  return PROTO_NAME[field];
}

function validate(p: BatchingParameters, fail: (field: Field, message: string) => JetserveError): void {
  const int = (field: 'maxBatchSize' | 'batchTimeoutMicros' | 'maxEnqueuedBatches' | 'numBatchThreads' | 'maxExecutionBatchSize', min: number) => {
    const v = p[field];
    if (!Number.isSafeInteger(v) || v < min) throw fail(field, `must be an integer >= ${min}, got ${v}`);
  };
  int('maxBatchSize', 1);
  int('batchTimeoutMicros', 0);
  int('maxEnqueuedBatches', 1);
  int('numBatchThreads', 0);
  int('maxExecutionBatchSize', 1);
  if (!Number.isFinite(p.targetP99Ms) || p.targetP99Ms < 0) throw fail('targetP99Ms', `must be a number >= 0 (ms; 0 = off), got ${p.targetP99Ms}`);
  const sizes = p.allowedBatchSizes;
  for (let i = 0; i < sizes.length; i++) {
    const s = sizes[i]!;
    if (!Number.isSafeInteger(s) || s < 1) throw fail('allowedBatchSizes', `entries must be positive integers, got ${s}`);
    if (i > 0 && s <= sizes[i - 1]!) {
      throw fail('allowedBatchSizes', `entries must be strictly increasing, got ${sizes[i - 1]} then ${s}`);
    }
  }
  const limit = p.enableLargeBatchSplitting ? p.maxExecutionBatchSize : p.maxBatchSize;
  if (sizes.length > 0 && sizes[sizes.length - 1] !== limit) {
    throw fail(
      'allowedBatchSizes',
      `final entry must equal ${p.enableLargeBatchSplitting ? 'max_execution_batch_size' : 'max_batch_size'} (${limit}), got ${sizes[sizes.length - 1]}`,
    );
  }
}

// ------------------------------------------------------------------------------------------------
// text format

type Kind = 'int64Wrapper' | 'doubleWrapper' | 'stringWrapper' | 'boolWrapper' | 'repeatedInt64' | 'bool';

const SCHEMA: Record<string, { field: Field; kind: Kind }> = {
  max_batch_size: { field: 'maxBatchSize', kind: 'int64Wrapper' },
  batch_timeout_micros: { field: 'batchTimeoutMicros', kind: 'int64Wrapper' },
  max_enqueued_batches: { field: 'maxEnqueuedBatches', kind: 'int64Wrapper' },
  num_batch_threads: { field: 'numBatchThreads', kind: 'int64Wrapper' },
  thread_pool_name: { field: 'threadPoolName', kind: 'stringWrapper' },
  allowed_batch_sizes: { field: 'allowedBatchSizes', kind: 'repeatedInt64' },
  pad_variable_length_inputs: { field: 'padVariableLengthInputs', kind: 'bool' },
  enable_large_batch_splitting: { field: 'enableLargeBatchSplitting', kind: 'boolWrapper' },
  max_execution_batch_size: { field: 'maxExecutionBatchSize', kind: 'int64Wrapper' },
  // jetserve's field (not in TF Serving's message): the adaptive batching target
  target_p99_ms: { field: 'targetP99Ms', kind: 'doubleWrapper' },
};

interface Token {
  type: 'ident' | 'number' | 'string' | 'punct' | 'eof';
  text: string;
  /** Decoded value of a string token. */
  value?: string;
  line: number;
  col: number;
}

class TextFormatReader {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private peeked: Token | undefined;

  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  error(at: { line: number; col: number }, message: string): JetserveError {
    return invalidArgument(`${this.source}:${at.line}:${at.col}: ${message}`);
  }

  peek(): Token {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  expect(text: string, what: string): Token {
    const t = this.next();
    if (t.type !== 'punct' || t.text !== text) throw this.error(t, `expected ${what}, found ${describe(t)}`);
    return t;
  }

  private scan(): Token {
    const s = this.text;
    for (;;) {
      const c = s[this.pos];
      if (c === undefined) break;
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
        this.pos++;
      } else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else {
        break;
      }
    }
    const line = this.line;
    const col = this.pos - this.lineStart + 1;
    const start = this.pos;
    const c = s[this.pos];
    if (c === undefined) return { type: 'eof', text: '', line, col };
    if (/[A-Za-z_]/.test(c)) {
      while (this.pos < s.length && /[A-Za-z0-9_.]/.test(s[this.pos]!)) this.pos++;
      return { type: 'ident', text: s.slice(start, this.pos), line, col };
    }
    if (/[0-9+\-.]/.test(c)) {
      this.pos++;
      while (this.pos < s.length && /[A-Za-z0-9_.+\-]/.test(s[this.pos]!)) {
        // an exponent sign belongs to the number; another sign starts a new token
        if ((s[this.pos] === '+' || s[this.pos] === '-') && !/[eE]/.test(s[this.pos - 1]!)) break;
        this.pos++;
      }
      return { type: 'number', text: s.slice(start, this.pos), line, col };
    }
    if (c === '"' || c === "'") {
      this.pos++;
      let value = '';
      for (;;) {
        const d = s[this.pos];
        if (d === undefined || d === '\n') throw this.error({ line, col }, 'unterminated string');
        this.pos++;
        if (d === c) break;
        if (d === '\\') {
          const e = s[this.pos++];
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
          if (e !== undefined && e in simple) value += simple[e];
          else throw this.error({ line, col }, `unsupported escape \\${e ?? ''} in string`);
        } else {
          value += d;
        }
      }
      return { type: 'string', text: s.slice(start, this.pos), value, line, col };
    }
    if ('{}[]<>:,;'.includes(c)) {
      this.pos++;
      return { type: 'punct', text: c, line, col };
    }
    throw this.error({ line, col }, `unexpected character '${c}'`);
  }
}

function describe(t: Token): string {
  return t.type === 'eof' ? 'end of input' : `'${t.text}'`;
}

interface Located<T> {
  value: T;
  line: number;
  col: number;
}

/**
 * Parses a text-format BatchingParameters message, fills TF's defaults for unset fields and
 * validates. Throws INVALID_ARGUMENT "<source>:<line>:<col>: <problem>".
 */
export function parseBatchingParameters(text: string, source = 'batching parameters'): BatchingParameters {
  const r = new TextFormatReader(text, source);
  const seen = new Map<Field, { line: number; col: number }>();
  const partial: Partial<BatchingParameters> = {};
  const sizes: Located<number>[] = [];

  for (;;) {
    const name = r.next();
    if (name.type === 'eof') break;
    if (name.type !== 'ident') throw r.error(name, `expected a field name, found ${describe(name)}`);
    const entry = Object.hasOwn(SCHEMA, name.text) ? SCHEMA[name.text] : undefined;
    if (!entry) {
      throw r.error(name, `unknown field '${name.text}' in BatchingParameters (known: ${Object.keys(SCHEMA).join(', ')})`);
    }
    const { field, kind } = entry;
    if (kind !== 'repeatedInt64') {
      const previous = seen.get(field);
      if (previous) {
        throw r.error(name, `field '${name.text}' is set more than once (first on line ${previous.line})`);
      }
    }
    seen.set(field, name);
    switch (kind) {
      case 'int64Wrapper':
        (partial as Record<Field, unknown>)[field] = readWrapper(r, name.text, () => readInt(r), 0);
        break;
      case 'doubleWrapper':
        (partial as Record<Field, unknown>)[field] = readWrapper(r, name.text, () => readNumber(r), 0);
        break;
      case 'stringWrapper':
        (partial as Record<Field, unknown>)[field] = readWrapper(r, name.text, () => readString(r), '');
        break;
      case 'boolWrapper':
        (partial as Record<Field, unknown>)[field] = readWrapper(r, name.text, () => readBool(r), false);
        break;
      case 'bool':
        r.expect(':', `':' after '${name.text}'`);
        (partial as Record<Field, unknown>)[field] = readBool(r);
        break;
      case 'repeatedInt64': {
        r.expect(':', `':' after '${name.text}'`);
        if (r.peek().type === 'punct' && r.peek().text === '[') {
          r.next();
          if (r.peek().type === 'punct' && r.peek().text === ']') {
            r.next();
          } else {
            for (;;) {
              const at = r.peek();
              sizes.push({ value: readInt(r), line: at.line, col: at.col });
              const sep = r.next();
              if (sep.type === 'punct' && sep.text === ']') break;
              if (sep.type !== 'punct' || sep.text !== ',') throw r.error(sep, `expected ',' or ']' in list, found ${describe(sep)}`);
            }
          }
        } else {
          const at = r.peek();
          sizes.push({ value: readInt(r), line: at.line, col: at.col });
        }
        break;
      }
    }
    // optional field separator
    const sep = r.peek();
    if (sep.type === 'punct' && (sep.text === ',' || sep.text === ';')) r.next();
  }

  partial.allowedBatchSizes = sizes.map((s) => s.value);
  // a parameters file asks for TF Serving's batching: no jetserve hold (busy-hold.ts)
  const resolved: BatchingParameters = { ...DEFAULT_BATCHING_PARAMETERS, ...partial, allowedBatchSizes: partial.allowedBatchSizes, holdWhileBusy: false };
  if (partial.maxExecutionBatchSize === undefined) resolved.maxExecutionBatchSize = resolved.maxBatchSize;
  validate(resolved, (field, message) => {
    // point at the offending entry when we can tell which one it is
    let at = seen.get(field);
    if (field === 'allowedBatchSizes' && sizes.length > 0) {
      const bad = sizes.findIndex((s, i) => s.value < 1 || (i > 0 && s.value <= sizes[i - 1]!.value));
      const loc = sizes[bad === -1 ? sizes.length - 1 : bad]!;
      at = { line: loc.line, col: loc.col };
    }
    return at
      ? r.error(at, `${fieldName(field)} ${message}`)
      : invalidArgument(`${source}: ${fieldName(field)} ${message}`);
  });
  return resolved;
}

/** `name { value: X }`, `name: { value: X }`, `name < value: X >`; an empty message means the default. */
function readWrapper<T>(r: TextFormatReader, name: string, readValue: () => T, empty: T): T {
  let open = r.next();
  if (open.type === 'punct' && open.text === ':') open = r.next();
  if (open.type !== 'punct' || (open.text !== '{' && open.text !== '<')) {
    throw r.error(open, `expected '{' after '${name}' (write ${name} { value: ... }), found ${describe(open)}`);
  }
  const close = open.text === '{' ? '}' : '>';
  let value = empty;
  let seenValue = false;
  for (;;) {
    const t = r.next();
    if (t.type === 'punct' && t.text === close) break;
    if (t.type === 'eof') throw r.error(open, `'${open.text}' after '${name}' is never closed`);
    if (t.type !== 'ident' || t.text !== 'value') {
      throw r.error(t, `expected 'value' or '${close}' inside '${name}', found ${describe(t)}`);
    }
    if (seenValue) throw r.error(t, `'value' is set more than once inside '${name}'`);
    seenValue = true;
    r.expect(':', `':' after 'value'`);
    value = readValue();
    const sep = r.peek();
    if (sep.type === 'punct' && (sep.text === ',' || sep.text === ';')) r.next();
  }
  return value;
}

function readInt(r: TextFormatReader): number {
  const t = r.next();
  if (t.type !== 'number') throw r.error(t, `expected an integer, found ${describe(t)}`);
  let n: number;
  if (/^-?\d+$/.test(t.text)) n = Number(t.text);
  else if (/^-?0[xX][0-9a-fA-F]+$/.test(t.text)) n = t.text.startsWith('-') ? -Number(t.text.slice(1)) : Number(t.text);
  else throw r.error(t, `expected an integer, found '${t.text}'`);
  if (!Number.isSafeInteger(n)) throw r.error(t, `integer ${t.text} is out of range`);
  return n;
}

function readNumber(r: TextFormatReader): number {
  const t = r.next();
  if (t.type !== 'number' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t.text)) throw r.error(t, `expected a number, found ${describe(t)}`);
  return Number(t.text);
}

function readString(r: TextFormatReader): string {
  const t = r.next();
  if (t.type !== 'string') throw r.error(t, `expected a quoted string, found ${describe(t)}`);
  let value = t.value!;
  // adjacent string literals concatenate, as in protobuf text format
  while (r.peek().type === 'string') value += r.next().value!;
  return value;
}

function readBool(r: TextFormatReader): boolean {
  const t = r.next();
  if ((t.type === 'ident' || t.type === 'number') && /^(true|True|t|1)$/.test(t.text)) return true;
  if ((t.type === 'ident' || t.type === 'number') && /^(false|False|f|0)$/.test(t.text)) return false;
  throw r.error(t, `expected true or false, found ${describe(t)}`);
}

/** Reads and parses a --batching_parameters_file. */
export function loadBatchingParametersFile(path: string): BatchingParameters {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new JetserveError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT',
      `cannot read batching parameters file ${path}: ${(err as Error).message}`,
    );
  }
  return parseBatchingParameters(text, path);
}
