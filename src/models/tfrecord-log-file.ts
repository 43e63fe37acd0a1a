// An append-only TFRecord log on disk (request logging) that never makes a request wait and never
// holds more than a fixed amount of memory or disk. append() frames a record and queues it; one
// asynchronous write (writev of everything queued) runs at a time. When the queued bytes would pass
// the buffer limit the record is dropped and counted. Files rotate at a size limit and only the
// newest `maxFiles` are kept, so disk use stays below maxFiles × maxFileBytes.
//
// Files: <prefix>-<pid>-<sequence>.tfrecord (the pid keeps two servers sharing a prefix apart).

import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { frameTfRecord } from '../wire/tfrecord.js';

export interface TfRecordLogLimits {
  /** Bytes queued and not yet written; past it records are dropped. */
  maxBufferBytes: number;
  /** A file is closed and the next started at this size. */
  maxFileBytes: number;
  /** Files kept; the oldest is deleted when a new one starts. */
  maxFiles: number;
}

export interface TfRecordLogStats {
  /** Records written to disk. */
  written: number;
  /** Records dropped: the buffer was full, or the file could not be written. */
  dropped: number;
  /** Files started. */
  files: number;
}

export class TfRecordLogFile {
  readonly stats: TfRecordLogStats = { written: 0, dropped: 0, files: 0 };
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private file: FileHandle | undefined;
  private fileBytes = 0;
  private sequence = 0;
  private readonly paths: string[] = [];
  private failure: string | undefined;
  private closed = false;

  constructor(
    readonly prefix: string,
    private readonly limits: TfRecordLogLimits,
    /** Told once when the log cannot be written (records are dropped from then on). */
    private readonly onError: (message: string) => void,
  ) {}

  /** Files written so far (the newest maxFiles of them still exist). */
  get files(): readonly string[] {
    return this.paths;
  }

  /** Queues one record; false when it was dropped (buffer full, log failed or closed). */
  append(record: Uint8Array): boolean {
    const size = 16 + record.length;
    if (this.closed || this.failure !== undefined || this.queuedBytes + size > this.limits.maxBufferBytes) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push(frameTfRecord(record));
    this.queuedBytes += size;
    this.writing ??= this.drain();
    return true;
  }

  /** Resolves once every queued record is on disk (or dropped). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Flushes and closes the file; later appends are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.file?.close().catch(() => {});
    this.file = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const batch = this.queue;
        let bytes = 0;
        for (const b of batch) bytes += b.length;
        this.queue = [];
        try {
          const file = await this.fileFor(bytes);
          await file.writev(batch);
          this.fileBytes += bytes;
          this.stats.written += batch.length;
        } catch (err) {
          this.failure = `request log ${this.prefix}: ${(err as Error).message}; records are dropped from now on`;
          this.stats.dropped += batch.length + this.queue.length;
          this.queue = [];
          this.queuedBytes = 0;
          this.onError(this.failure);
        } finally {
          this.queuedBytes = Math.max(0, this.queuedBytes - bytes);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** The file to append `bytes` to: the current one, or the next when it would pass the size limit. */
  private async fileFor(bytes: number): Promise<FileHandle> {
    if (this.file && this.fileBytes > 0 && this.fileBytes + bytes > this.limits.maxFileBytes) {
      await this.file.close();
      this.file = undefined;
    }
    if (this.file) return this.file;
    const path = `${this.prefix}-${process.pid}-${String(this.sequence++).padStart(5, '0')}.tfrecord`;
    if (this.paths.length === 0) await mkdir(dirname(path), { recursive: true });
    this.file = await open(path, 'a');
    this.fileBytes = 0;
    this.paths.push(path);
    this.stats.files++;
    while (this.paths.length > this.limits.maxFiles) {
      const oldest = this.paths.shift()!;
      await rm(oldest, { force: true });
    }
    return this.file;
  }
}
