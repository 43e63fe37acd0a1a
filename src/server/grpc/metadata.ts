// Request metadata as handlers see it, the same on every transport: the headers a gRPC client sent
// (authorization, x-request-id, traceparent, custom ones), read from the call's grpc.Metadata —
// which grpc-js fills, and jetserve's transports fill from the request header list.

import * as grpc from '@grpc/grpc-js';

export interface RequestMetadata {
  /** `authorization` (e.g. "Bearer …"). */
  readonly authorization: string | undefined;
  /** `x-request-id`. */
  readonly requestId: string | undefined;
  /** W3C trace context `traceparent` / `tracestate`. */
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
  /**
   * Every metadata entry by lower-case name (repeated entries joined with ", "; binary "-bin"
   * entries base64-encoded). A Map: names from the wire never reach object prototypes.
   */
  readonly headers: ReadonlyMap<string, string>;
}

const EMPTY: RequestMetadata = {
  authorization: undefined,
  requestId: undefined,
  traceparent: undefined,
  tracestate: undefined,
  headers: new Map(),
};

/** The typed request metadata of a grpc-js-shaped server call. */
export function requestMetadataOf(call: { readonly metadata?: grpc.Metadata }): RequestMetadata {
  const md = call.metadata;
  if (!md) return EMPTY;
  const headers = new Map<string, string>();
  // getMap() keeps one value per name: read them all with get()
  for (const name of Object.keys(md.getMap())) {
    const all = md.get(name).map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64')));
    headers.set(name, all.join(', '));
  }
  return {
    authorization: headers.get('authorization'),
    requestId: headers.get('x-request-id'),
    traceparent: headers.get('traceparent'),
    tracestate: headers.get('tracestate'),
    headers,
  };
}

/**
 * grpc.Metadata from request header fields (pseudo-headers and transport control headers already
 * left out): "-bin" values are base64 (RFC 4648, padding optional) and decoded; a field grpc-js
 * refuses as a metadata key is skipped.
 */
export function metadataFromFields(fields: readonly (readonly [string, string])[]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [name, value] of fields) {
    try {
      if (name.endsWith('-bin')) {
        for (const part of value.split(',')) md.add(name, Buffer.from(part.trim(), 'base64'));
      } else {
        md.add(name, value);
      }
    } catch {
      // not a valid metadata key or value for grpc-js: not metadata
    }
  }
  return md;
}
