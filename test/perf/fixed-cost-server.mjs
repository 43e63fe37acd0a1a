// A TF Serving REST stand-in whose every predict costs the same CPU time, whatever the arrival
// pattern: one thread, no batching, a busy wait of COST_MICROS per request. test/perf/wrk.test.ts
// loads it with `jetserve perf` and with wrk to compare the two generators; a real jetserve's
// throughput depends on how quickly a client turns answers into new requests (batch sizes), so
// it would compare the clients' reaction times, not their counts.
// Usage: node fixed-cost-server.mjs PORT COST_MICROS METADATA_FILE PREDICT_FILE
// (the files hold a real jetserve's answers to GET …/metadata and POST …:predict).

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, costMicros, metadataFile, predictFile] = process.argv.slice(2);
const metadata = readFileSync(metadataFile);
const predict = readFileSync(predictFile);
const costNs = BigInt(Math.round(Number(costMicros) * 1000));

function answer(res, body) {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}

const server = createServer((req, res) => {
  if (req.method === 'GET') return answer(res, metadata);
  req.resume();
  req.on('end', () => {
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() - start < costNs) {
      // the request's fixed cost
    }
    answer(res, predict);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
