// The ceiling for `npm run bench:rest`: the same uWebSockets.js package jetserve uses, reading the
// whole request body and answering a small fixed JSON body — HTTP parsing and writing, no codec,
// no model. Run as a child process: `node --import tsx bench/servers/uws-echo.ts <port>`; prints
// `listening <port>` on stdout when ready. Refuses to run on the node:http fallback (not a ceiling).

import { httpEngine, uWS } from '../../src/server/http/uws.js';

const port = Number(process.argv[2] ?? 0);
if (!httpEngine.native) {
  process.stderr.write(`uws-echo: native uWebSockets.js unavailable (${httpEngine.reason ?? 'fallback'})\n`);
  process.exit(1);
}

const REPLY = '{"predictions": [[0.0, 0.0, 0.0]]}';

uWS
  .App()
  .any('/*', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    // the body is read (chunks are detached after the callback; nothing is kept, as in a real
    // server that parsed it in place), the answer goes out once the last chunk is in
    res.onData((_chunk, isLast) => {
      if (!isLast || aborted) return;
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(REPLY);
      });
    });
  })
  .listen('127.0.0.1', port, (socket) => {
    if (!socket) {
      process.stderr.write(`uws-echo: cannot listen on 127.0.0.1:${port}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening ${uWS.us_socket_local_port(socket)}\n`);
  });
