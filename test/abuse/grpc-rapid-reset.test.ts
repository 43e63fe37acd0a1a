// Abuse probe (issue 10): Rapid Reset — HEADERS + DATA + RST_STREAM as fast as the client can
// write. Expected: a reset-rate limit with GOAWAY (jetserve: --grpc_max_stream_resets_per_second;
// grpc-js: nghttp2's own), reset calls never run (test/grpc/cancellation.test.ts proves that part
// against the batcher), and a normal client keeps its latency.

import { afterAll, describe, expect, it } from 'vitest';
import { predictRequest } from '../helpers/grpc-requests.js';
import { demoPredictClient, describeEnd, flood, PREDICT } from '../grpc/abuse-clients.js';
import { ENHANCE_YOUR_CALM, grpcData, grpcHeaders, rawConnect, rstStream } from '../grpc/raw-h2.js';
import { MiB, normalClient, report, sampleRss, scale, startServerProcess, type ServerProcess } from './harness.js';

const TRANSPORTS = ['jetserve', 'grpc-js'] as const;

describe.each(TRANSPORTS)('gRPC Rapid Reset (%s transport)', (transport) => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('HEADERS + DATA + RST_STREAM floods end in GOAWAY; the normal client is served', async () => {
    server = await startServerProcess([`--grpc_transport=${transport}`]);
    const normal = demoPredictClient(server.grpcPort);
    await normal.call();
    const rss = sampleRss(server.pid);
    const latency = normalClient(normal.call);
    const request = predictRequest('half_plus_two', { x: { dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) } });
    const rows: string[] = [];
    let total = 0;
    const connections = scale(3, 20);
    for (let c = 0; c < connections; c++) {
      const attacker = await rawConnect(server.grpcPort);
      total += await flood(
        attacker,
        (i) => {
          const id = 1 + 2 * (i % 1_000_000_000);
          return Buffer.concat([grpcHeaders(id, PREDICT), grpcData(id, request), rstStream(id)]);
        },
        scale(20_000, 200_000),
        scale(3000, 10_000),
      );
      const closed = await Promise.race([attacker.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
      rows.push(describeEnd(attacker, closed));
      if (transport === 'jetserve') expect(attacker.goawayCode()).toBe(ENHANCE_YOUR_CALM);
      expect(closed || attacker.goawayCode() !== undefined, 'the server ends the connection').toBe(true);
      attacker.socket.destroy();
    }
    const peak = rss.stop();
    const client = await latency.stop();
    report({
      probe: `Rapid Reset, ${connections} connections (${total} requests written)`,
      target: `grpc:${transport}`,
      attackerGot: rows[0]!,
      rssGrowthMiB: peak.growthBytes / MiB,
      normalClient: client,
      serverAlive: server.alive(),
    });
    expect(server.alive()).toBe(true);
    expect(client.errors).toBe(0);
    expect(peak.growthBytes).toBeLessThan(256 * MiB);
    normal.close();
  }, scale(60_000, 900_000));
});
