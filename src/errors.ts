// The one error type jetserve throws. Every failure — a TF_Status from the native layer, a bad
// request field, an unknown model — becomes a JetserveError carrying a gRPC-style canonical code,
// which each front end maps to its wire status exactly once (see httpStatusOf / grpcStatusOf).

export const ERROR_CODES = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const CODE_BY_NUMBER: ErrorCode[] = Object.keys(ERROR_CODES) as ErrorCode[];

export class JetserveError extends Error {
  override readonly name = 'JetserveError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** gRPC status number (TF_Code uses the same numbering). */
  get grpcCode(): number {
    return ERROR_CODES[this.code];
  }

  /** HTTP status, as TF Serving's REST layer maps canonical codes (reference/tfserving.md §1.3). */
  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  /** Builds an error from a TF_Code number (as the native addon reports it). */
  static fromTfCode(tfCode: number, message: string): JetserveError {
    return new JetserveError(CODE_BY_NUMBER[tfCode] ?? 'UNKNOWN', message);
  }
}

/**
 * The canonical code of an HTTP error status: the inverse of httpStatusOf (first match) plus the
 * transport-level statuses a server answers before any model code runs (408, 411, 413, 415).
 */
export function codeOfHttpStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 411:
    case 415:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 408:
    case 504:
      return 'DEADLINE_EXCEEDED';
    case 409:
      return 'ABORTED';
    case 413:
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL' : 'UNKNOWN';
  }
}

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'OK':
      return 200;
    case 'CANCELLED':
      return 499;
    case 'INVALID_ARGUMENT':
    case 'FAILED_PRECONDITION':
    case 'OUT_OF_RANGE':
      return 400;
    case 'DEADLINE_EXCEEDED':
      return 504;
    case 'NOT_FOUND':
      return 404;
    case 'ALREADY_EXISTS':
    case 'ABORTED':
      return 409;
    case 'PERMISSION_DENIED':
      return 403;
    case 'UNAUTHENTICATED':
      return 401;
    case 'RESOURCE_EXHAUSTED':
      return 429;
    case 'UNIMPLEMENTED':
      return 501;
    case 'UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

export function invalidArgument(message: string): JetserveError {
  return new JetserveError('INVALID_ARGUMENT', message);
}

export function notFound(message: string): JetserveError {
  return new JetserveError('NOT_FOUND', message);
}

/** Wraps anything thrown into a JetserveError (non-jetserve errors become INTERNAL). */
export function asJetserveError(err: unknown): JetserveError {
  if (err instanceof JetserveError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new JetserveError('INTERNAL', message);
}
