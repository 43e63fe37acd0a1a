// The access log (--access_log_sample_rate): a sampled share of answered REST and gRPC requests,
// one info line each with the request id, protocol, method, path, status, duration and sizes.
// Sampling is decided when the request completes (one Math.random() per request, only when the
// rate is above 0), so an unsampled request costs nothing else.

import type { LogFn } from './levels.js';

export interface AccessRecord {
  request_id: string;
  protocol: 'http' | 'grpc';
  method: string;
  path: string;
  /** HTTP status, or the gRPC status code. */
  status: number;
  duration_ms: number;
  bytes_in?: number;
  bytes_out?: number;
  remote?: string;
}

export class AccessLog {
  constructor(
    /** 0 (off) to 1 (every request). */
    readonly rate: number,
    private readonly log: LogFn,
  ) {}

  /** Whether this request's line is written (false for every request when the rate is 0). */
  sampled(): boolean {
    const rate = this.rate;
    return rate > 0 && (rate >= 1 || Math.random() < rate);
  }

  write(record: AccessRecord): void {
    this.log(`${record.method} ${record.path} ${record.status}`, 'info', { access: true, ...record });
  }
}
