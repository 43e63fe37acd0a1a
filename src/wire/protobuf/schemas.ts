// Loads jetserve's .proto files (proto/ beside this module) once: a protobufjs Root for the slow-path messages
// (metadata, status, config, classify/regress, KServe metadata) and the proto-loader package
// definition that server reflection serves. Field names stay snake_case (keepCase).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { invalidArgument } from '../../errors.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The .proto tree: proto/ beside this module (tsx, vitest), or the sources' copy from dist/. */
export const PROTO_DIR: string = (() => {
  const candidates = [join(here, 'proto'), join(here, '..', '..', '..', 'src', 'wire', 'protobuf', 'proto')];
  for (const dir of candidates) {
    if (existsSync(join(dir, 'tensorflow_serving', 'apis', 'predict.proto'))) return dir;
  }
  return candidates[0]!;
})();

/** The service files; their imports pull in every other message. */
export const SERVICE_PROTO_FILES = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'grpc_service.proto',
  'grpc/health/v1/health.proto',
] as const;

/** Other files jetserve reads (text-format configs). */
export const EXTRA_PROTO_FILES = ['tensorflow_serving/config/ssl_config.proto'] as const;

let root: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    // google/protobuf/* come from protobufjs's bundled well-known types
    r.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target));
    r.loadSync([...SERVICE_PROTO_FILES, ...EXTRA_PROTO_FILES], { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

const typeCache = new Map<string, protobuf.Type>();

/** A message type by full name, e.g. "tensorflow.serving.GetModelStatusResponse". */
export function messageType(fullName: string): protobuf.Type {
  let type = typeCache.get(fullName);
  if (!type) {
    type = protoRoot().lookupType(fullName);
    typeCache.set(fullName, type);
  }
  return type;
}

/** Decodes a message into a plain object (longs as numbers, enums as numbers, bytes as Buffers). */
export function decodeMessage<T>(fullName: string, buf: Uint8Array): T {
  const type = messageType(fullName);
  let message;
  try {
    message = type.decode(buf);
  } catch (err) {
    // the bytes came from a client: a malformed message is the caller's mistake, not INTERNAL
    const shortName = fullName.slice(fullName.lastIndexOf('.') + 1);
    throw invalidArgument(`could not parse ${shortName}: ${(err as Error).message}`);
  }
  return type.toObject(message, { longs: Number, enums: Number, bytes: Buffer, defaults: true, oneofs: true }) as T;
}

/** Encodes a plain object (snake_case fields) as a message. */
export function encodeMessage(fullName: string, value: object): Buffer {
  const type = messageType(fullName);
  const bytes = type.encode(type.fromObject(value)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
