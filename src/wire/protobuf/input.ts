// tensorflow.serving.Input (Classify / Regress / MultiInference) on the wire: the serialized
// tf.Example bytes are taken as they are (views into the request, as TF Serving's lazy fields),
// so a classification signature gets its DT_STRING "inputs" tensor without re-serializing.

import { invalidArgument } from '../../errors.js';
import { malformed } from './predict.js';
import { WireError, WireReader, WT_LEN } from './primitives.js';

/**
 * Reads the Input message in buf[start, end) and returns one serialized tf.Example per example.
 * With ExampleListWithContext, each example is the context's bytes followed by the example's:
 * protobuf merges concatenated messages, so the example's own feature values win over the context's.
 */
export function readSerializedExamples(buf: Buffer, start: number, end: number): Uint8Array[] {
  try {
    const r = new WireReader(buf, start, end);
    let examples: Uint8Array[] = [];
    let context: Uint8Array | undefined;
    while (r.pos < r.end) {
      const tag = r.tag();
      const field = tag >>> 3;
      const wt = tag & 7;
      if ((field === 1 || field === 2) && wt === WT_LEN) {
        // oneof kind: the last one set wins
        const listEnd = r.lenEnd();
        examples = [];
        context = undefined;
        const saved = r.end;
        r.end = listEnd;
        while (r.pos < listEnd) {
          const ltag = r.tag();
          if (ltag === ((1 << 3) | WT_LEN)) examples.push(r.bytes());
          else if (field === 2 && ltag === ((2 << 3) | WT_LEN)) {
            const c = r.bytes();
            context = context ? Buffer.concat([context, c]) : c;
          } else r.skip(ltag & 7, ltag >>> 3);
        }
        r.end = saved;
        r.pos = listEnd;
      } else {
        r.skip(wt, field);
      }
    }
    if (context && context.length > 0) {
      const ctx = context;
      examples = examples.map((e) => Buffer.concat([ctx, e]));
    }
    return examples;
  } catch (err) {
    if (err instanceof WireError) throw malformed('Input', err);
    throw err;
  }
}

/** Locates field `field` (a length-delimited Input) in a request message; throws if absent. */
export function findInputField(buf: Buffer, field: number, what: string): Uint8Array[] {
  const r = new WireReader(buf);
  let found: [number, number] | undefined;
  try {
    while (r.pos < r.end) {
      const tag = r.tag();
      if (tag >>> 3 === field && (tag & 7) === WT_LEN) {
        const end = r.lenEnd();
        found = [r.pos, end];
        r.pos = end;
      } else {
        r.skip(tag & 7, tag >>> 3);
      }
    }
  } catch (err) {
    if (err instanceof WireError) throw malformed(what, err);
    throw err;
  }
  const examples = found ? readSerializedExamples(buf, found[0], found[1]) : [];
  if (examples.length === 0) throw invalidArgument(`${what}: input is empty (no tf.Example given)`);
  return examples;
}
