// Types for scripts/node-matrix.mjs (used by tests).
export interface NodeMatrixEntry {
  major: number;
  version: string;
  /** process.versions.modules of that Node. */
  abi: string;
  status: string;
  sha256: string;
}
export const NODE_MATRIX: readonly NodeMatrixEntry[];
export class NodeFetchError extends Error {}
export function nodeCacheRoot(): string;
export function matrixEntry(major: number | string): NodeMatrixEntry;
export function ensureNode(major: number | string): { version: string; abi: string; dir: string; bin: string; include: string };
