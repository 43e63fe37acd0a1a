// A client's SETTINGS frame (RFC 9113 §6.5): the values the server must act on, validated.
// Invalid values are connection errors.

import {
  ConnectionError,
  DEFAULT_MAX_FRAME,
  FLOW_CONTROL_ERROR,
  FRAME_SIZE_ERROR,
  MAX_ALLOWED_FRAME,
  PROTOCOL_ERROR,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
} from './frames.js';
import { MAX_WINDOW } from './flow-control.js';

export interface PeerSettings {
  initialWindowSize?: number;
  maxFrameSize?: number;
}

/**
 * The settings in a (non-ACK) SETTINGS payload. HEADER_TABLE_SIZE needs nothing (the server's
 * HPACK encoder never uses the dynamic table); MAX_CONCURRENT_STREAMS and MAX_HEADER_LIST_SIZE
 * concern streams the server would open or headers it sends, which are few and small.
 */
export function parsePeerSettings(payload: Buffer): PeerSettings {
  if (payload.length % 6 !== 0) throw new ConnectionError(FRAME_SIZE_ERROR, 'SETTINGS length is not a multiple of 6');
  const out: PeerSettings = {};
  for (let i = 0; i < payload.length; i += 6) {
    const id = payload.readUInt16BE(i);
    const value = payload.readUInt32BE(i + 2);
    if (id === SETTINGS_ENABLE_PUSH) {
      if (value > 1) throw new ConnectionError(PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH is not 0 or 1');
    } else if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
      if (value > MAX_WINDOW) throw new ConnectionError(FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE too large');
      out.initialWindowSize = value;
    } else if (id === SETTINGS_MAX_FRAME_SIZE) {
      if (value < DEFAULT_MAX_FRAME || value > MAX_ALLOWED_FRAME) throw new ConnectionError(PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
      out.maxFrameSize = value;
    }
  }
  return out;
}
