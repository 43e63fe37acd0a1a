// Runtime facts about the engine: TF version and native object counters (for leak tests, /v2 metadata).
import { native, type NativeStats } from './native.js';

export interface EngineInfo {
  tfVersion: string;
  stats: NativeStats;
}

export function engineInfo(): EngineInfo {
  const binding = native();
  return { tfVersion: binding.tfVersion(), stats: binding.stats() };
}
