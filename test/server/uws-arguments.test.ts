// jetserve's uWebSockets.js build reads string and byte arguments without allocating
// (scripts/uws/patches.mjs, "NativeString"): strings of up to 256 UTF-16 units are written into
// the argument's own memory, longer ones through V8's Utf8Value; bytes are read with Data(). Each
// kind of argument goes out as a response body on a real server over loopback and must arrive as
// exactly the bytes upstream's conversion gives.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpEngine, uWS } from '../../src/server/http/uws.js';

const multibyte = 'aé€😀'; // 1, 2, 3 and 4 UTF-8 bytes (the last one two UTF-16 units)
const repeatTo = (s: string, units: number) => s.repeat(Math.ceil(units / s.length)).slice(0, units);

const strings: Record<string, string> = {
  empty: '',
  ascii: '{"predictions": [[0.5, 1.5]]}',
  multibyte: multibyte.repeat(10),
  // 256 units of 3-byte characters: the inline buffer's exact capacity
  threeByteAt256: '€'.repeat(256),
  threeByteAt257: '€'.repeat(257),
  longMixed: repeatTo(multibyte, 5000),
};

// a lone surrogate has no UTF-8 form: whatever V8 writes for it, the short and the long path
// must write the same
const loneShort = `x\uD800y`;
const loneLong = `x\uD800y${'z'.repeat(1000)}`;

const sab = new SharedArrayBuffer(8);
new Uint8Array(sab).set([1, 2, 3, 4, 5, 6, 7, 8]);
const backing = new Uint8Array(64).map((_, i) => i);

const bytes: Record<string, () => ArrayBuffer | SharedArrayBuffer | Uint8Array> = {
  // a small typed array V8 may keep on its own heap
  onHeap: () => new Uint8Array([104, 105]),
  view: () => backing.subarray(10, 20),
  arrayBuffer: () => backing.slice(3, 9).buffer,
  shared: () => sab,
  emptyView: () => backing.subarray(5, 5),
};

describe.skipIf(!httpEngine.native)('uWebSockets.js arguments (native engine)', () => {
  let base = '';
  let listen: unknown;
  beforeAll(async () => {
    const app = uWS.App();
    for (const [name, text] of Object.entries({ ...strings, loneShort, loneLong })) {
      app.get(`/s/${name}`, (res) => void res.end(text));
    }
    // the binding takes a SharedArrayBuffer too (NativeString), which its typings leave out
    for (const [name, make] of Object.entries(bytes)) app.get(`/b/${name}`, (res) => void res.end(make() as ArrayBuffer));
    await new Promise<void>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (socket) => {
        if (!socket) return reject(new Error('listen failed'));
        listen = socket;
        base = `http://127.0.0.1:${uWS.us_socket_local_port(socket)}`;
        resolve();
      }),
    );
  });
  afterAll(() => {
    if (listen) uWS.us_listen_socket_close(listen as never);
  });

  const body = async (path: string) => new Uint8Array(await (await fetch(base + path)).arrayBuffer());

  it.each(Object.keys(strings))('string %s arrives as its UTF-8 bytes', async (name) => {
    expect(Buffer.from(await body(`/s/${name}`))).toEqual(Buffer.from(strings[name]!, 'utf8'));
  });

  it('a lone surrogate is written the same by the short and the long path', async () => {
    const short = await body('/s/loneShort');
    const long = await body('/s/loneLong');
    expect(Buffer.from(long.subarray(0, short.length))).toEqual(Buffer.from(short));
    expect(long.length - short.length).toBe(1000);
  });

  it.each(Object.keys(bytes))('bytes %s arrive as given', async (name) => {
    const given = bytes[name]!();
    const expected = given instanceof Uint8Array ? given : new Uint8Array(given);
    expect(Buffer.from(await body(`/b/${name}`))).toEqual(Buffer.from(expected));
  });
});
