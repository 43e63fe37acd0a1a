// Who may call the administrative APIs (the model repository API, config reload, the dashboard),
// shared by the REST and gRPC front ends: a request carries `Authorization: Bearer <token>` equal
// to the token in --admin_token_file, or — with --admin_allow_loopback_without_token — comes from
// a loopback address or the gRPC unix socket. Tokens are compared in constant time (SHA-256 of
// both, then timingSafeEqual: neither the content nor the length of the expected token leaks
// through timing). A refusal is an UNAUTHENTICATED JetserveError whose message names what is
// missing (401 on REST, UNAUTHENTICATED on gRPC).

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { invalidArgument, JetserveError } from '../errors.js';

/** Shortest token --admin_token_file may hold: a guessable token is no protection. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The REST realm in WWW-Authenticate on a 401. */
export const ADMIN_REALM = 'jetserve-admin';

export interface AdminAuthOptions {
  /** The bearer token (undefined: no token accepted). */
  token?: string;
  /** Requests from loopback addresses (and unix sockets) need no token. */
  allowLoopback?: boolean;
}

export class AdminAuth {
  private readonly digest: Buffer | undefined;
  readonly allowLoopback: boolean;

  /** Without options every administrative request is refused (the safe default). */
  constructor(options: AdminAuthOptions = {}) {
    if (options.token !== undefined && options.token.length < MIN_ADMIN_TOKEN_LENGTH) {
      throw invalidArgument(`the admin token must have at least ${MIN_ADMIN_TOKEN_LENGTH} characters (--admin_token_file)`);
    }
    this.digest = options.token === undefined ? undefined : sha256(options.token);
    this.allowLoopback = options.allowLoopback ?? false;
  }

  /** Reads --admin_token_file: its content without surrounding whitespace is the token. */
  static fromTokenFile(file: string, allowLoopback = false): AdminAuth {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw invalidArgument(`cannot read --admin_token_file ${file}: ${(err as Error).message}`);
    }
    const token = text.trim();
    if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
      throw invalidArgument(`--admin_token_file ${file} must hold a token of at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
    }
    return new AdminAuth({ token, allowLoopback });
  }

  /** True when a token is configured. */
  get hasToken(): boolean {
    return this.digest !== undefined;
  }

  /**
   * undefined when the request may proceed, else the UNAUTHENTICATED error to answer with.
   * `authorization`: the header / metadata value ('' or undefined when absent); `peer`: the remote
   * address (an IP, "host:port", "[v6]:port", or "unix…"), read only when loopback is allowed.
   */
  check(authorization: string | undefined, peer: () => string | undefined): JetserveError | undefined {
    if (this.allowLoopback && isLocalPeer(peer())) return undefined;
    if (!this.digest) {
      return unauthenticated(
        this.allowLoopback
          ? 'administrative requests are accepted from loopback addresses only (--admin_allow_loopback_without_token), and the server has no --admin_token_file'
          : 'administrative requests need --admin_token_file or --admin_allow_loopback_without_token on the server',
      );
    }
    if (!authorization) {
      return unauthenticated("this administrative API needs an 'Authorization: Bearer <token>' header (the token in the server's --admin_token_file)");
    }
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return unauthenticated("the Authorization header must be 'Bearer <token>'");
    if (!timingSafeEqual(sha256(match[1]!), this.digest)) {
      return unauthenticated("the bearer token does not match the server's --admin_token_file");
    }
    return undefined;
  }
}

function unauthenticated(message: string): JetserveError {
  return new JetserveError('UNAUTHENTICATED', message);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * A loopback peer: 127.0.0.0/8, ::1, their IPv4-mapped forms, or a unix socket. Accepts a bare
 * address (any IPv6 spelling, uWebSockets.js writes all 8 groups), "host:port", "[v6]:port" and
 * gRPC's "ipv4:" / "ipv6:" / "unix:" prefixes.
 */
export function isLocalPeer(peer: string | undefined): boolean {
  if (!peer) return false;
  if (peer === 'unix' || peer.startsWith('unix:')) return true;
  let address = peer.replace(/^ipv[46]:/, '');
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    address = end === -1 ? address : address.slice(1, end);
  } else if (!isIPv4(address) && !isIPv6(address)) {
    const colon = address.lastIndexOf(':');
    if (colon !== -1 && /^\d+$/.test(address.slice(colon + 1))) address = address.slice(0, colon);
  }
  address = address.replace(/%.*$/, ''); // an IPv6 zone id
  if (isIPv4(address)) return address.startsWith('127.');
  if (!isIPv6(address)) return false;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true;
  // ::ffff:127.x.y.z
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff && groups[6]! >> 8 === 127;
}

/** The eight 16-bit groups of a valid IPv6 address (with "::" and a dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
