// Request header lists as RFC 9113 §8.2-8.3 allows them: lower-case names, pseudo-headers first and
// only the request ones, each once, no connection-specific fields, TE only "trailers"; and the
// header list size (§6.5.2: name + value + 32 per field) against the limit. A violation is a
// stream error (PROTOCOL_ERROR); an oversized list is answered with a status naming the flag.

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** What the server reads from a request's header block; `fields` are the other (metadata) headers. */
export interface RequestHead {
  method: string;
  path: string;
  scheme: string;
  authority: string;
  contentType: string;
  timeout: string;
  encoding: string;
  /** -1 when absent. */
  contentLength: number;
  /** Header fields other than pseudo-headers, in order. */
  fields: [string, string][];
  /** RFC 9113 header list size. */
  listSize: number;
  /** The first rule broken (undefined: a well-formed request). */
  malformed: string | undefined;
}

export function newRequestHead(): RequestHead {
  return {
    method: '',
    path: '',
    scheme: '',
    authority: '',
    contentType: '',
    timeout: '',
    encoding: '',
    contentLength: -1,
    fields: [],
    listSize: 0,
    malformed: undefined,
  };
}

function hasUpperCase(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/**
 * Collects one header field of a request's HEADERS block. Fields past `maxListSize` are counted
 * but not kept (the request is refused for its size).
 */
export function addRequestField(head: RequestHead, name: string, value: string, maxListSize: number, seenRegular: { v: boolean }): void {
  head.listSize += name.length + value.length + 32;
  if (head.malformed !== undefined || head.listSize > maxListSize) return;
  if (hasUpperCase(name)) {
    head.malformed = `header name "${name}" has upper-case letters`;
    return;
  }
  if (name.charCodeAt(0) === 0x3a /* : */) {
    if (seenRegular.v) {
      head.malformed = `pseudo-header ${name} after a regular header`;
      return;
    }
    const key = name === ':method' ? 'method' : name === ':path' ? 'path' : name === ':scheme' ? 'scheme' : name === ':authority' ? 'authority' : undefined;
    if (key === undefined) {
      head.malformed = `pseudo-header ${name} is not a request pseudo-header`;
      return;
    }
    if (head[key] !== '' || (key === 'path' && value === '')) {
      head.malformed = value === '' ? `empty ${name}` : `duplicate ${name}`;
      return;
    }
    head[key] = value;
    return;
  }
  seenRegular.v = true;
  if (CONNECTION_SPECIFIC.has(name)) {
    head.malformed = `connection-specific header "${name}"`;
    return;
  }
  switch (name) {
    case 'te':
      if (value !== 'trailers') head.malformed = `te: "${value}" (only "trailers" is allowed)`;
      return;
    case 'content-type':
      head.contentType = value;
      return;
    case 'grpc-timeout':
      head.timeout = value;
      return;
    case 'grpc-encoding':
      head.encoding = value;
      return;
    case 'content-length':
      if (!/^\d{1,15}$/.test(value)) head.malformed = `content-length "${value}"`;
      else head.contentLength = Number(value);
      return;
    default:
      head.fields.push([name, value]);
  }
}

/** Checks that every required pseudo-header came (after the whole block was read). */
export function finishRequestHead(head: RequestHead): void {
  if (head.malformed !== undefined) return;
  if (head.method === '') head.malformed = 'no :method';
  else if (head.method !== 'CONNECT' && head.scheme === '') head.malformed = 'no :scheme';
  else if (head.method !== 'CONNECT' && head.path === '') head.malformed = 'no :path';
}

/** Trailers (a second header block) carry no pseudo-headers (RFC 9113 §8.1). */
export function checkTrailerField(name: string): string | undefined {
  if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
  if (hasUpperCase(name)) return `header name "${name}" has upper-case letters`;
  return undefined;
}
