// jetserve perf's gRPC sender (src/cli/perf/load/grpc.ts) against a scripted HTTP/2 gRPC server
// whose answer each test decides: the bytes it sends, and the outcome it makes of every kind of
// answer — OK, a status with a percent-encoded message, a trailers-only answer, a reset stream, an
// HTTP error without gRPC status, no answer within the timeout.

import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { frameGrpcMessage, grpcSender } from '../../src/cli/perf/load/grpc.js';
import type { Sender } from '../../src/cli/perf/load/outcome.js';

type Script = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

async function scriptedServer(script: Script): Promise<{ address: string; close: () => Promise<void> }> {
  const server = http2.createServer();
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const parts: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.on('end', () => script(stream, headers, Buffer.concat(parts)));
    stream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy(); // streams a test left unanswered
      }),
  };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function senderFor(script: Script, timeoutMs = 2000, requests = [Uint8Array.of(1, 2, 3)]): Promise<Sender> {
  const server = await scriptedServer(script);
  const sender = grpcSender({ address: server.address, path: '/pkg.Service/Method', requests }, timeoutMs);
  cleanup.push(server.close, () => sender.close());
  return sender;
}

function ok(stream: http2.ServerHttp2Stream, reply = Buffer.alloc(0)): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(frameGrpcMessage(reply));
}

describe('jetserve perf gRPC sender', () => {
  it('sends the framed request with gRPC headers and counts an OK answer', async () => {
    let seen: { headers: http2.IncomingHttpHeaders; body: Buffer } | undefined;
    const message = Buffer.from('a serialized request');
    const sender = await senderFor(
      (stream, headers, body) => {
        seen = { headers, body };
        ok(stream, Buffer.alloc(4096, 7));
      },
      2000,
      [message],
    );
    expect(await sender.send(0)).toEqual({ ok: true });
    expect(seen!.headers[':method']).toBe('POST');
    expect(seen!.headers[':path']).toBe('/pkg.Service/Method');
    expect(seen!.headers['content-type']).toBe('application/grpc');
    expect(seen!.headers.te).toBe('trailers');
    expect(seen!.headers['grpc-timeout']).toBe('2000m');
    // compressed flag 0, big-endian length, the message
    expect([...seen!.body.subarray(0, 5)]).toEqual([0, 0, 0, 0, message.length]);
    expect(seen!.body.subarray(5).toString()).toBe('a serialized request');
  });

  it('names a failed call by its gRPC status, with the message decoded', async () => {
    const sender = await senderFor((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '3', 'grpc-message': 'input%20x%3A%20wrong%20shape' }));
      stream.end();
    });
    expect(await sender.send(0)).toEqual({ ok: false, code: 'INVALID_ARGUMENT', message: 'input x: wrong shape' });
  });

  it('reads the status of a trailers-only answer from its headers', async () => {
    const sender = await senderFor((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'no model' }, { endStream: true });
    });
    expect(await sender.send(0)).toEqual({ ok: false, code: 'NOT_FOUND', message: 'no model' });
  });

  it('counts a reset stream and an HTTP error without gRPC status as failures', async () => {
    let n = 0;
    const sender = await senderFor((stream) => {
      if (n++ === 0) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else stream.respond({ ':status': 503 }, { endStream: true });
    });
    const reset = await sender.send(0);
    expect(reset.ok).toBe(false);
    expect(reset.ok ? '' : reset.code).toBe('connection');
    expect(await sender.send(0)).toEqual({ ok: false, code: 'UNKNOWN', message: 'HTTP status 503 without a gRPC status' });
  });

  it('gives up on a call with no answer within the timeout, and the next call still works', async () => {
    let n = 0;
    const sender = await senderFor((stream) => {
      if (n++ === 0) return; // never answered
      ok(stream);
    }, 150);
    const started = Date.now();
    expect(await sender.send(0)).toEqual({ ok: false, code: 'timeout', message: 'no answer within 150 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await sender.send(0)).toEqual({ ok: true });
  });

  it('multiplexes 16 calls per connection and opens another for the 17th', async () => {
    const peers = new Set<number>();
    const waiting: http2.ServerHttp2Stream[] = [];
    const sender = await senderFor((stream) => {
      peers.add(stream.session!.socket.remotePort!);
      waiting.push(stream);
      if (waiting.length === 17) for (const s of waiting) ok(s);
    });
    const outcomes = await Promise.all(Array.from({ length: 17 }, () => sender.send(0)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(peers.size).toBe(2);
  });
});
