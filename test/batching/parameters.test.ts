// --batching_parameters_file: TF Serving's text-format BatchingParameters, defaults and errors
// that name the line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCHING_PARAMETERS,
  loadBatchingParametersFile,
  parseBatchingParameters,
  resolveBatchingParameters,
} from '../../src/batching/parameters.js';
import { JetserveError } from '../../src/errors.js';
import { Batching, batchingFromFlags, describeBatching } from '../../src/batching/index.js';

function parseError(text: string): JetserveError {
  try {
    parseBatchingParameters(text, 'params.pbtxt');
  } catch (err) {
    expect(err).toBeInstanceOf(JetserveError);
    expect((err as JetserveError).code).toBe('INVALID_ARGUMENT');
    return err as JetserveError;
  }
  throw new Error('expected a parse error');
}

describe('parseBatchingParameters', () => {
  it('parses the example from TF Serving’s batching guide', () => {
    const p = parseBatchingParameters(
      'max_batch_size { value: 128 } batch_timeout_micros { value: 0 } max_enqueued_batches { value: 1000000 }\nnum_batch_threads { value: 8 }',
    );
    expect(p).toMatchObject({ maxBatchSize: 128, batchTimeoutMicros: 0, maxEnqueuedBatches: 1_000_000, numBatchThreads: 8 });
    expect(p.allowedBatchSizes).toEqual([]);
    expect(p.maxExecutionBatchSize).toBe(128);
  });

  it('accepts every field, comments, colons before messages, <> messages, lists and separators', () => {
    const p = parseBatchingParameters(`
      # a comment
      max_batch_size: { value: 32 }   # trailing comment
      batch_timeout_micros < value: 5000 >;
      max_enqueued_batches { value: 4, }
      num_batch_threads { value: 2 },
      thread_pool_name { value: "my" 'pool' }
      allowed_batch_sizes: 8
      allowed_batch_sizes: [16, 32]
      pad_variable_length_inputs: true
      enable_large_batch_splitting { value: false }
      max_execution_batch_size { value: 32 }
      target_p99_ms { value: 7.5 }
    `);
    expect(p).toEqual({
      maxBatchSize: 32,
      batchTimeoutMicros: 5000,
      maxEnqueuedBatches: 4,
      numBatchThreads: 2,
      threadPoolName: 'mypool',
      allowedBatchSizes: [8, 16, 32],
      padVariableLengthInputs: true,
      enableLargeBatchSplitting: false,
      maxExecutionBatchSize: 32,
      targetP99Ms: 7.5,
      holdWhileBusy: false, // a file is TF Serving's batching: no jetserve hold (busy-hold.ts)
    });
  });

  it('leaves unset fields at TF’s defaults; an empty file is all defaults', () => {
    const p = parseBatchingParameters('');
    expect(p).toEqual({ ...DEFAULT_BATCHING_PARAMETERS, maxExecutionBatchSize: 1000, holdWhileBusy: false });
    expect(p.maxBatchSize).toBe(1000);
    expect(p.maxEnqueuedBatches).toBe(10);
    expect(p.batchTimeoutMicros).toBe(0);
  });

  it('names the line and column of an unknown field', () => {
    const e = parseError('max_batch_size { value: 8 }\n\n  max_batch_sizes { value: 8 }\n');
    expect(e.message).toMatch(/^params\.pbtxt:3:3: unknown field 'max_batch_sizes'/);
  });

  it('names the line of a syntax error', () => {
    expect(parseError('max_batch_size { value: 8 }\nbatch_timeout_micros { value 5 }').message).toMatch(
      /^params\.pbtxt:2:30: expected ':' after 'value', found '5'/,
    );
    expect(parseError('max_batch_size { value: 8').message).toMatch(/^params\.pbtxt:1:16: '\{' after 'max_batch_size' is never closed/);
    expect(parseError('max_batch_size: 8').message).toMatch(/^params\.pbtxt:1:17: expected '\{' after 'max_batch_size'/);
    expect(parseError('num_batch_threads { value: 2.5 }').message).toMatch(/^params\.pbtxt:1:28: expected an integer, found '2\.5'/);
    expect(parseError('pad_variable_length_inputs: yes').message).toMatch(/^params\.pbtxt:1:29: expected true or false/);
    expect(parseError('thread_pool_name { value: "abc }').message).toMatch(/^params\.pbtxt:1:27: unterminated string/);
    expect(parseError('max_batch_size { value: 8 } @').message).toMatch(/^params\.pbtxt:1:29: unexpected character '@'/);
  });

  it('rejects a repeated singular field, naming both lines', () => {
    expect(parseError('max_batch_size { value: 8 }\nmax_batch_size { value: 9 }').message).toMatch(
      /^params\.pbtxt:2:1: field 'max_batch_size' is set more than once \(first on line 1\)/,
    );
  });

  it('validates values, pointing at the offending line', () => {
    expect(parseError('max_batch_size { value: 0 }').message).toMatch(/^params\.pbtxt:1:1: max_batch_size must be an integer >= 1, got 0/);
    expect(parseError('batch_timeout_micros { value: -1 }').message).toMatch(/batch_timeout_micros must be an integer >= 0/);
    expect(
      parseError('max_batch_size { value: 32 }\nallowed_batch_sizes: 8\nallowed_batch_sizes: 4\nallowed_batch_sizes: 32').message,
    ).toMatch(/^params\.pbtxt:3:22: allowed_batch_sizes entries must be strictly increasing, got 8 then 4/);
    expect(parseError('max_batch_size { value: 32 }\nallowed_batch_sizes: [8, 16]').message).toMatch(
      /^params\.pbtxt:2:26: allowed_batch_sizes final entry must equal max_batch_size \(32\), got 16/,
    );
  });
});

describe('resolveBatchingParameters', () => {
  it('fills defaults and validates programmatic parameters', () => {
    expect(resolveBatchingParameters({ maxBatchSize: 64 })).toMatchObject({ maxBatchSize: 64, maxExecutionBatchSize: 64, maxEnqueuedBatches: 10 });
    expect(() => resolveBatchingParameters({ allowedBatchSizes: [2, 4] })).toThrow(/allowed_batch_sizes final entry must equal max_batch_size \(1000\)/);
    expect(() => resolveBatchingParameters({ maxEnqueuedBatches: 0 })).toThrow(/max_enqueued_batches must be an integer >= 1/);
  });
});

describe('loadBatchingParametersFile', () => {
  it('reads a file and reports errors with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-batching-'));
    const good = join(dir, 'good.pbtxt');
    writeFileSync(good, 'max_batch_size { value: 16 }\n');
    expect(loadBatchingParametersFile(good).maxBatchSize).toBe(16);
    const bad = join(dir, 'bad.pbtxt');
    writeFileSync(bad, '\n\nfoo: 1\n');
    expect(() => loadBatchingParametersFile(bad)).toThrow(`${bad}:3:1: unknown field 'foo'`);
    expect(() => loadBatchingParametersFile(join(dir, 'missing.pbtxt'))).toThrow(/cannot read batching parameters file/);
  });
});

describe('batchingFromFlags (--enable_batching, --batching_parameters_file)', () => {
  it('is on by default with TF’s defaults, off with --enable_batching=false', () => {
    const on = batchingFromFlags({ enableBatching: true });
    expect(on).toBeInstanceOf(Batching);
    expect((on as Batching).parameters.batchTimeoutMicros).toBe(0);
    expect(describeBatching(on)).toBe(
      "batching: on (max_batch_size 1000, batch_timeout_micros 0, max_enqueued_batches unbounded (jetserve's default; a --batching_parameters_file sets TF Serving's limit), num_batch_threads executor threads; while a slow model's batch runs, its next waits for its share ≤ 5 % of a run, ≤ 25 ms)",
    );
    // jetserve's own default (busy-hold.ts); a parameters file turns it off
    expect((on as Batching).parameters.holdWhileBusy).toBe(true);
    expect(batchingFromFlags({ enableBatching: false })).toBe(false);
    expect(describeBatching(false)).toBe('batching: off');
  });

  it('reads the parameters file; refuses a file with batching off (as TF Serving does)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jetserve-batching-'));
    const file = join(dir, 'batching.pbtxt');
    writeFileSync(file, 'max_batch_size { value: 8 }\nallowed_batch_sizes: [4, 8]\n');
    const b = batchingFromFlags({ enableBatching: true, batchingParametersFile: file }) as Batching;
    expect(b.parameters).toMatchObject({ maxBatchSize: 8, allowedBatchSizes: [4, 8], maxEnqueuedBatches: 10, holdWhileBusy: false });
    // a parameters file is TF Serving's batching: its queue limit applies (TF's default 10 batches)
    expect(b.boundedQueue).toBe(true);
    expect(describeBatching(b)).toMatch(/max_enqueued_batches 10,/);
    expect(() => batchingFromFlags({ enableBatching: false, batchingParametersFile: file })).toThrow(
      /--batching_parameters_file is set but batching is off/,
    );
    writeFileSync(file, 'max_batch_size { value: 8 }\nallowed_batch_sizes: [4, 16]\n');
    expect(() => batchingFromFlags({ enableBatching: true, batchingParametersFile: file })).toThrow(`${file}:2:26:`);
  });
});
