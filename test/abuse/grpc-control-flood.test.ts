// Abuse probe (issue 10): PING and SETTINGS floods from a client that never reads the answers.
// Expected: the server stops at its session-memory bound (--grpc_max_session_memory_mb) — GOAWAY
// ENHANCE_YOUR_CALM and a close — its memory stays bounded and is returned after the attacker
// leaves, and a normal client keeps being served.

import { afterAll, describe, expect, it } from 'vitest';
import { demoPredictClient, describeEnd, flood } from '../grpc/abuse-clients.js';
import { ENHANCE_YOUR_CALM, frame, rawConnect, T } from '../grpc/raw-h2.js';
import { MiB, normalClient, report, rssBytes, sampleRss, scale, startServerProcess, type ServerProcess } from './harness.js';

const TRANSPORTS = ['jetserve', 'grpc-js'] as const;
const FLOODS = {
  PING: (i: number) => {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(i);
    return frame(T.PING, 0, 0, p);
  },
  SETTINGS: () => frame(T.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0xff, 0xff])),
};

describe.each(TRANSPORTS)('gRPC control-frame floods (%s transport)', (transport) => {
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  for (const [kind, make] of Object.entries(FLOODS)) {
    it(`${kind} flood from a client that never reads: closed, memory bounded and returned`, async () => {
      server ??= await startServerProcess([`--grpc_transport=${transport}`, '--grpc_max_session_memory_mb=16']);
      const normal = demoPredictClient(server.grpcPort);
      await normal.call();
      const baseline = rssBytes(server.pid);
      const rss = sampleRss(server.pid);
      const latency = normalClient(normal.call);
      const attacker = await rawConnect(server.grpcPort, '127.0.0.1', { read: false });
      const sent = await flood(attacker, make, scale(2_000_000, 20_000_000), scale(4000, 20_000));
      // read what the server sent last (its GOAWAY sits behind the acks it queued)
      attacker.socket.resume();
      const closedByServer = await Promise.race([attacker.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      const peak = rss.stop();
      const client = await latency.stop();
      attacker.socket.destroy();
      await new Promise((r) => setTimeout(r, 1500));
      const after = rssBytes(server.pid);
      const row = {
        probe: `${kind} flood, client never reads (${sent} frames)`,
        target: `grpc:${transport}`,
        attackerGot: describeEnd(attacker, closedByServer),
        rssGrowthMiB: peak.growthBytes / MiB,
        normalClient: client,
        serverAlive: server.alive(),
        notes: `RSS after the attacker left: ${((after - baseline) / MiB).toFixed(1)} MiB over the start`,
      };
      report(row);
      expect(server.alive()).toBe(true);
      expect(closedByServer, 'the server closes the flooding connection').toBe(true);
      // the GOAWAY may be lost when the socket is reset under the flood; when read, it says why
      if (transport === 'jetserve' && attacker.goawayCode() !== undefined) expect(attacker.goawayCode()).toBe(ENHANCE_YOUR_CALM);
      expect(client.errors).toBe(0);
      expect(peak.growthBytes).toBeLessThan(256 * MiB);
      expect(after - baseline).toBeLessThan(128 * MiB);
      normal.close();
    }, scale(60_000, 300_000));
  }
});
