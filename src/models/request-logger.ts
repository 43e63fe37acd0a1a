// TF Serving's request logging (ModelConfig.logging_config): a sampled share of a model's
// successful requests is written as tensorflow.serving.PredictionLog records (predict_log with the
// request and response tensors, and LogMetadata) to TFRecord files, which TensorFlow's own readers
// parse (tf.data.TFRecordDataset). TF Serving's open-source build registers no log collector;
// jetserve's collector type is "file": filename_prefix names the files (tfrecord-log-file.ts).
//
// Sampling comes first (one Math.random() per request); only a sampled request is encoded, on the
// request's path, and queued for an asynchronous write that never delays it. Models naming the
// same filename_prefix share its file; a model's logger is replaced only when its logging_config
// changes (as TF Serving's ServerRequestLogger keeps loggers across reloads).

import type { Tensor } from '../engine/tensor.js';
import { encodePredictionLog } from '../wire/protobuf/prediction-log.js';
import type { LoggingConfig } from './config.js';
import { TfRecordLogFile, type TfRecordLogLimits, type TfRecordLogStats } from './tfrecord-log-file.js';

export interface RequestLogSettings extends TfRecordLogLimits {
  /** The SavedModel tags loaded (LogMetadata.saved_model_tags). */
  savedModelTags: readonly string[];
}

export const DEFAULT_REQUEST_LOG_SETTINGS: RequestLogSettings = {
  maxBufferBytes: 16 * 1024 * 1024,
  maxFileBytes: 256 * 1024 * 1024,
  maxFiles: 8,
  savedModelTags: ['serve'],
};

/**
 * The open request log files, one per filename_prefix, shared by every model whose logging_config
 * names it (two writers on one file would interleave records); closed when no model uses it.
 */
export class RequestLogFiles {
  private readonly files = new Map<string, { file: TfRecordLogFile; users: number }>();

  constructor(
    readonly settings: RequestLogSettings,
    private readonly onError: (message: string) => void,
  ) {}

  acquire(prefix: string): TfRecordLogFile {
    let entry = this.files.get(prefix);
    if (!entry) {
      entry = { file: new TfRecordLogFile(prefix, this.settings, this.onError), users: 0 };
      this.files.set(prefix, entry);
    }
    entry.users++;
    return entry.file;
  }

  release(file: TfRecordLogFile): Promise<void> {
    const entry = this.files.get(file.prefix);
    if (!entry || entry.file !== file) return Promise.resolve();
    if (--entry.users > 0) return Promise.resolve();
    this.files.delete(file.prefix);
    return file.close();
  }

  /** Flushes and closes every file. */
  async close(): Promise<void> {
    const all = [...this.files.values()].map((e) => e.file.close());
    this.files.clear();
    await Promise.all(all);
  }
}

/** One model's request logging: its sampling rate and the file its records go to. */
export class RequestLogger {
  constructor(
    readonly config: LoggingConfig,
    readonly file: TfRecordLogFile,
    private readonly savedModelTags: readonly string[],
  ) {}

  get stats(): Readonly<TfRecordLogStats> {
    return this.file.stats;
  }

  /** Logs a successful run when sampled. Never throws (a logging bug must not fail the request). */
  log(
    name: string,
    version: number,
    signature: string,
    inputs: Readonly<Record<string, Tensor>>,
    outputs: Readonly<Record<string, Tensor>>,
    outputFilter: readonly string[] | undefined,
  ): void {
    const rate = this.config.samplingRate;
    if (!(rate >= 1 || Math.random() < rate)) return;
    let record: Buffer;
    try {
      record = encodePredictionLog({
        spec: { name, version, signatureName: signature },
        inputs,
        outputs,
        ...(outputFilter ? { outputFilter } : {}),
        samplingRate: rate,
        savedModelTags: this.savedModelTags,
        timestampSecs: Math.floor(Date.now() / 1000),
      });
    } catch {
      this.file.stats.dropped++;
      return;
    }
    this.file.append(record);
  }
}
