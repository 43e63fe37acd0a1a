// Abuse probe (issue 10): 250 KB request header blocks (HEADERS + CONTINUATION), one connection
// after another. Expected: bounded header list size — the connection is ended (jetserve: GOAWAY
// ENHANCE_YOUR_CALM naming --grpc_max_header_list_size) without the block being kept, and a normal
// client keeps being served.

import { afterAll, describe, expect, it } from 'vitest';
import { encodeHeaderBlock } from '../../src/server/grpc/transport/hpack.js';
import { demoPredictClient, describeEnd, PREDICT } from '../grpc/abuse-clients.js';
import { ENHANCE_YOUR_CALM, frame, rawConnect, T } from '../grpc/raw-h2.js';
import { MiB, normalClient, report, sampleRss, scale, startServerProcess, type ServerProcess } from './harness.js';

const TRANSPORTS = ['jetserve', 'grpc-js'] as const;

function hugeHeaderBlock(streamId: number): Buffer {
  const block = encodeHeaderBlock([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', PREDICT],
    ['content-type', 'application/grpc'],
    ...Array.from({ length: 25 }, (_, i): [string, string] => [`x-pad${i}`, 'z'.repeat(10_000)]),
  ]);
  const parts: Buffer[] = [];
  for (let off = 0; off < block.length; off += 16_000) {
    const last = off + 16_000 >= block.length;
    parts.push(frame(off === 0 ? T.HEADERS : T.CONTINUATION, last ? 0x4 : 0, streamId, block.subarray(off, off + 16_000)));
  }
  return Buffer.concat(parts);
}

describe.each(TRANSPORTS)('gRPC 250 KB header blocks (%s transport)', (transport) => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('each connection sending one is ended; memory bounded; the normal client is served', async () => {
    server = await startServerProcess([`--grpc_transport=${transport}`]);
    const normal = demoPredictClient(server.grpcPort);
    await normal.call();
    const rss = sampleRss(server.pid);
    const latency = normalClient(normal.call);
    const rounds = scale(20, 200);
    let first = '';
    let ended = 0;
    const block = hugeHeaderBlock(1);
    for (let i = 0; i < rounds; i++) {
      const conn = await rawConnect(server.grpcPort);
      conn.socket.write(block);
      const closed = await Promise.race([conn.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
      const refusedStream = conn.frames.some((f) => f.type === T.RST_STREAM || (f.type === T.HEADERS && f.streamId === 1));
      if (closed || conn.goawayCode() !== undefined || refusedStream) ended++;
      if (i === 0) {
        first = describeEnd(conn, closed);
        if (transport === 'jetserve') expect(conn.goawayCode()).toBe(ENHANCE_YOUR_CALM);
      }
      conn.socket.destroy();
    }
    const peak = rss.stop();
    const client = await latency.stop();
    report({
      probe: `${rounds} connections each sending a 250 KB header block`,
      target: `grpc:${transport}`,
      attackerGot: first,
      rssGrowthMiB: peak.growthBytes / MiB,
      normalClient: client,
      serverAlive: server.alive(),
      notes: `${ended}/${rounds} refused`,
    });
    expect(server.alive()).toBe(true);
    expect(ended).toBe(rounds);
    expect(client.errors).toBe(0);
    expect(peak.growthBytes).toBeLessThan(128 * MiB);
    normal.close();
  }, scale(60_000, 300_000));
});
