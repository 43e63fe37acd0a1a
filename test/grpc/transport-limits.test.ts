// The default (own) transport's limits, each against a raw HTTP/2 client: what the abusive client
// gets back (GOAWAY ENHANCE_YOUR_CALM, RST_STREAM, a gRPC status naming the flag) and that memory
// follows bytes received, not declared lengths.

import { afterEach, describe, expect, it } from 'vitest';
import { rawMethod, unary } from '../../src/server/grpc/common.js';
import { createTransport } from '../../src/server/grpc/server.js';
import { DEFAULT_TRANSPORT_LIMITS, type Transport, type TransportLimits, type TransportName } from '../../src/server/grpc/transport.js';
import { encodeHeaderBlock } from '../../src/server/grpc/transport/hpack.js';
import { grpcStatusOn } from './abuse-clients.js';
import { ENHANCE_YOUR_CALM, frame, grpcData, grpcHeaders, rawConnect, rstStream, T, type RawConnection } from './raw-h2.js';

const ECHO = '/test.Limits/Echo';
let transport: Transport | undefined;

async function start(limits: Partial<TransportLimits> = {}, name: TransportName = 'jetserve'): Promise<number> {
  transport = createTransport(name, { ...DEFAULT_TRANSPORT_LIMITS, ...limits }, {}, () => {});
  transport.addService({ Echo: rawMethod('test.Limits', 'Echo') }, { Echo: unary((request) => request) });
  return transport.listen({ host: '127.0.0.1', port: 0 });
}

afterEach(async () => {
  await transport?.close(200);
  transport = undefined;
});

const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));
const prefixOnly = (streamId: number, declared: number, extra = 0) => {
  const p = Buffer.alloc(5 + extra);
  p.writeUInt32BE(declared, 1);
  return frame(T.DATA, 0, streamId, p);
};

describe('own transport limits', () => {
  it('a PING flood from a client that does not read: GOAWAY ENHANCE_YOUR_CALM naming the flag', async () => {
    const port = await start();
    const conn = await rawConnect(port, '127.0.0.1', { read: false });
    const pings: Buffer[] = [];
    for (let i = 0; i < 200_000; i++) pings.push(frame(T.PING, 0, 0, Buffer.alloc(8)));
    conn.socket.write(Buffer.concat(pings));
    await settle(500);
    conn.socket.resume();
    await Promise.race([conn.closed, settle(3000)]);
    expect(conn.goawayCode()).toBe(ENHANCE_YOUR_CALM);
    expect(conn.goawayText()).toMatch(/PING flood.*--grpc_max_session_memory_mb/);
  });

  it('Rapid Reset past --grpc_max_stream_resets_per_second: GOAWAY ENHANCE_YOUR_CALM', async () => {
    const port = await start({ maxStreamResetsPerSecond: 50 });
    const conn = await rawConnect(port);
    const burst: Buffer[] = [];
    for (let i = 0; i < 100; i++) burst.push(grpcHeaders(1 + 2 * i, ECHO), rstStream(1 + 2 * i));
    conn.socket.write(Buffer.concat(burst));
    await Promise.race([conn.closed, settle(2000)]);
    expect(conn.goawayCode()).toBe(ENHANCE_YOUR_CALM);
    expect(conn.goawayText()).toMatch(/more than 50 stream resets in one second \(--grpc_max_stream_resets_per_second\)/);
  });

  it('a prefix over --grpc_max_message_size is refused at once, naming the flag', async () => {
    const port = await start({ maxReceiveMessageLength: 4 << 20 });
    const conn = await rawConnect(port);
    conn.socket.write(Buffer.concat([grpcHeaders(1, ECHO), prefixOnly(1, 512 << 20)]));
    await settle();
    const got = grpcStatusOn(conn, 1);
    expect(got.status).toBe('8');
    expect(got.message).toMatch(/Received message larger than max \(536870912 vs\. 4194304\).*--grpc_max_message_size/);
    conn.socket.destroy();
  });

  it('prefixes declaring 512 MiB reserve nothing: memory follows the bytes received', async () => {
    const port = await start({ maxReceiveMessageLength: 512 << 20 });
    const conns: RawConnection[] = [];
    global.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    for (let c = 0; c < 4; c++) {
      const conn = await rawConnect(port);
      const frames: Buffer[] = [];
      for (let i = 0; i < 50; i++) frames.push(grpcHeaders(1 + 2 * i, ECHO), prefixOnly(1 + 2 * i, 512 << 20, 1024));
      conn.socket.write(Buffer.concat(frames));
      conns.push(conn);
    }
    await settle(500);
    const grown = process.memoryUsage().arrayBuffers - before;
    // 200 streams x 1 KiB received; a reservation per declared length would be 100 GiB
    expect(grown).toBeLessThan(64 << 20);
    for (const c of conns) c.socket.destroy();
  });

  it('request headers over --grpc_max_header_list_size: RESOURCE_EXHAUSTED naming the flag; a block far beyond it: GOAWAY', async () => {
    const port = await start({ maxHeaderListSize: 4096 });
    const conn = await rawConnect(port);
    conn.socket.write(grpcHeaders(1, ECHO, [['x-big', 'a'.repeat(6000)]], true));
    await settle();
    const got = grpcStatusOn(conn, 1);
    expect(got.status).toBe('8');
    expect(got.message).toMatch(/request headers of \d+ bytes exceed the limit of 4096 \(--grpc_max_header_list_size\)/);
    // 250 KB in HEADERS + CONTINUATION frames
    const block = encodeHeaderBlock([
      [':method', 'POST'],
      [':path', ECHO],
      ...Array.from({ length: 25 }, (_, i): [string, string] => [`x-h${i}`, 'b'.repeat(10_000)]),
    ]);
    const parts: Buffer[] = [];
    for (let off = 0, first = true; off < block.length; off += 16_000, first = false) {
      const piece = block.subarray(off, off + 16_000);
      const last = off + 16_000 >= block.length;
      parts.push(frame(first ? T.HEADERS : T.CONTINUATION, last ? 0x4 : 0, 3, piece));
    }
    conn.socket.write(Buffer.concat(parts));
    await Promise.race([conn.closed, settle(2000)]);
    expect(conn.goawayCode()).toBe(ENHANCE_YOUR_CALM);
    expect(conn.goawayText()).toMatch(/--grpc_max_header_list_size/);
  });

  it('bytes held per connection past --grpc_max_connection_inflight_bytes: RESOURCE_EXHAUSTED naming the flag', async () => {
    const port = await start({ maxConnectionInflightBytes: 64 * 1024 });
    const conn = await rawConnect(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 6; i++) frames.push(grpcHeaders(1 + 2 * i, ECHO), prefixOnly(1 + 2 * i, 1 << 20, 15_000));
    conn.socket.write(Buffer.concat(frames));
    await settle();
    const statuses = [1, 3, 5, 7, 9, 11].map((id) => grpcStatusOn(conn, id));
    const refused = statuses.filter((s) => s.status === '8');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.message).toMatch(/exceed the limit of 65536 \(--grpc_max_connection_inflight_bytes\)/);
    conn.socket.destroy();
  });

  it('streams past --grpc_max_concurrent_streams get REFUSED_STREAM; the open ones still answer', async () => {
    const port = await start({ maxConcurrentStreams: 2 });
    const conn = await rawConnect(port);
    conn.socket.write(Buffer.concat([1, 3, 5].map((id) => grpcHeaders(id, ECHO))));
    await settle();
    const rst = conn.frames.find((f) => f.type === T.RST_STREAM && f.streamId === 5);
    expect(rst?.payload.readUInt32BE(0)).toBe(7); // REFUSED_STREAM
    conn.socket.write(Buffer.concat([grpcData(1, Buffer.from('hi')), grpcData(3, Buffer.from('yo'))]));
    await settle();
    expect(grpcStatusOn(conn, 1).status).toBe('0');
    expect(grpcStatusOn(conn, 3).status).toBe('0');
    conn.socket.destroy();
  });
});

describe.each(['http2', 'grpc-js'] as const)('the %s transport refuses oversized input too', (name) => {
  it('a prefix over --grpc_max_message_size: RESOURCE_EXHAUSTED before the message arrives', async () => {
    const port = await start({ maxReceiveMessageLength: 4 << 20 }, name);
    const conn = await rawConnect(port);
    conn.socket.write(Buffer.concat([grpcHeaders(1, ECHO), prefixOnly(1, 512 << 20)]));
    await settle(300);
    const got = grpcStatusOn(conn, 1);
    expect(got.status).toBe('8');
    expect(got.message).toMatch(/536870912/);
    conn.socket.destroy();
  });
});
