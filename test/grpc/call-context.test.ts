// Every transport hands handlers the same CallContext: request metadata (authorization,
// x-request-id, traceparent, custom and binary headers) as one typed object, and a cancellation
// signal that fires when the client resets the call.

import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { rawMethod, unary, type CallContext } from '../../src/server/grpc/common.js';
import { createTransport } from '../../src/server/grpc/server.js';
import { DEFAULT_TRANSPORT_LIMITS, type Transport, type TransportName } from '../../src/server/grpc/transport.js';

const TRANSPORTS: TransportName[] = ['jetserve', 'http2', 'grpc-js'];
const identity = (b: Buffer) => b;

describe.each(TRANSPORTS)('CallContext on the %s transport', (name) => {
  let transport: Transport;
  let target = '';
  let cancelledSignal: Promise<boolean> | undefined;
  const seen: CallContext[] = [];

  const start = async () => {
    transport = createTransport(name, { ...DEFAULT_TRANSPORT_LIMITS, maxReceiveMessageLength: 1 << 20 }, {}, () => {});
    transport.addService(
      { Echo: rawMethod('test.Ctx', 'Echo'), Wait: rawMethod('test.Ctx', 'Wait') },
      {
        Echo: unary((request, context) => {
          seen.push(context);
          return Buffer.from(JSON.stringify({ ...context.metadata, headers: Object.fromEntries(context.metadata.headers) }));
        }),
        Wait: unary((request, context) => {
          cancelledSignal = new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), 5000);
            context.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve(true);
            });
          });
          return new Promise<Buffer>(() => {}); // never answers: only a cancel ends it
        }),
      },
    );
    const port = await transport.listen({ host: '127.0.0.1', port: 0 });
    target = `127.0.0.1:${port}`;
  };

  afterAll(async () => {
    await transport?.close(500);
  });

  it('authorization, x-request-id, traceparent, custom and -bin metadata reach the handler', async () => {
    await start();
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer s3cret');
    md.set('x-request-id', 'req-42');
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    md.set('x-tenant', 'acme');
    md.add('x-multi', 'a');
    md.add('x-multi', 'b');
    md.set('x-blob-bin', Buffer.from([0, 1, 2, 255]));
    const answer = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest('/test.Ctx/Echo', identity, identity, Buffer.from('x'), md, { deadline: Date.now() + 5000 }, (e, r) =>
        e ? reject(e) : resolve(r!),
      ),
    );
    client.close();
    const got = JSON.parse(answer.toString()) as { authorization: string; requestId: string; traceparent: string; headers: Record<string, string> };
    expect(got.authorization).toBe('Bearer s3cret');
    expect(got.requestId).toBe('req-42');
    expect(got.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(got.headers['x-tenant']).toBe('acme');
    expect(got.headers['x-multi']).toBe('a, b');
    expect(got.headers['x-blob-bin']).toBe(Buffer.from([0, 1, 2, 255]).toString('base64'));
    // transport control headers are not metadata
    for (const control of ['grpc-timeout', 'content-type', 'te', ':path']) expect(got.headers[control]).toBeUndefined();
    expect(seen.at(-1)!.deadline).toBeGreaterThan(Date.now());
  });

  it('a client cancel aborts the handler\'s signal', async () => {
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const call = client.makeUnaryRequest('/test.Ctx/Wait', identity, identity, Buffer.from('x'), () => {});
    for (let i = 0; i < 100 && !cancelledSignal; i++) await new Promise((r) => setTimeout(r, 10));
    call.cancel();
    expect(await cancelledSignal).toBe(true);
    client.close();
  });
});
