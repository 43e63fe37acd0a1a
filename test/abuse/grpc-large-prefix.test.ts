// Abuse probe (issue 10): gRPC length prefixes declaring 512 MiB, with a few bytes behind them, on
// many streams and connections. Expected: memory follows the bytes received (nothing is reserved
// for a declared length), and with a smaller --grpc_max_message_size the prefix alone is refused
// RESOURCE_EXHAUSTED naming the flag.

import { afterAll, describe, expect, it } from 'vitest';
import { demoPredictClient, grpcStatusOn, PREDICT } from '../grpc/abuse-clients.js';
import { frame, grpcHeaders, rawConnect, T, type RawConnection } from '../grpc/raw-h2.js';
import { MiB, normalClient, report, sampleRss, scale, startServerProcess, type ServerProcess } from './harness.js';

const TRANSPORTS = ['jetserve', 'grpc-js'] as const;
const DECLARED = 512 * MiB;

function prefixFrame(streamId: number, tail: number): Buffer {
  const p = Buffer.alloc(5 + tail);
  p.writeUInt32BE(DECLARED, 1);
  return frame(T.DATA, 0, streamId, p);
}

describe.each(TRANSPORTS)('gRPC 512 MiB length prefixes (%s transport)', (transport) => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('streams declaring 512 MiB reserve nothing; the normal client is served', async () => {
    const server = await startServerProcess([`--grpc_transport=${transport}`]);
    servers.push(server);
    const normal = demoPredictClient(server.grpcPort);
    await normal.call();
    const rss = sampleRss(server.pid);
    const latency = normalClient(normal.call);
    const connections = scale(10, 30);
    const perConnection = 100; // --grpc_max_concurrent_streams
    const conns: RawConnection[] = [];
    for (let c = 0; c < connections; c++) {
      const conn = await rawConnect(server.grpcPort);
      const frames: Buffer[] = [];
      for (let i = 0; i < perConnection; i++) frames.push(grpcHeaders(1 + 2 * i, PREDICT), prefixFrame(1 + 2 * i, 1024));
      conn.socket.write(Buffer.concat(frames));
      conns.push(conn);
    }
    await new Promise((r) => setTimeout(r, scale(1500, 5000)));
    const peak = rss.stop();
    const client = await latency.stop();
    for (const c of conns) c.socket.destroy();
    report({
      probe: `${connections * perConnection} streams each declaring a 512 MiB message (1 KiB sent)`,
      target: `grpc:${transport}`,
      attackerGot: 'streams held open (each declared length within --grpc_max_message_size)',
      rssGrowthMiB: peak.growthBytes / MiB,
      normalClient: client,
      serverAlive: server.alive(),
    });
    expect(server.alive()).toBe(true);
    expect(client.errors).toBe(0);
    expect(peak.growthBytes).toBeLessThan(256 * MiB);
    normal.close();
  }, scale(60_000, 300_000));

  it('with --grpc_max_message_size=4194304 the prefix alone is refused RESOURCE_EXHAUSTED naming the flag', async () => {
    const server = await startServerProcess([`--grpc_transport=${transport}`, '--grpc_max_message_size=4194304']);
    servers.push(server);
    const conn = await rawConnect(server.grpcPort);
    conn.socket.write(Buffer.concat([grpcHeaders(1, PREDICT), prefixFrame(1, 16)]));
    await new Promise((r) => setTimeout(r, 500));
    const got = grpcStatusOn(conn, 1);
    conn.socket.destroy();
    report({
      probe: 'a prefix declaring 512 MiB over --grpc_max_message_size=4 MiB',
      target: `grpc:${transport}`,
      attackerGot: `grpc-status ${got.status ?? '(none)'} "${got.message ?? ''}"`,
      serverAlive: server.alive(),
    });
    expect(got.status).toBe('8');
    if (transport === 'jetserve') expect(got.message).toMatch(/--grpc_max_message_size/);
  });
});
