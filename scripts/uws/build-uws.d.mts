// Types for scripts/uws/build-uws.mjs (used by tests).
export const UWS_SOURCES: {
  binding: { spec: string; file: string; sha256: string; sourceCommit: string };
  core: { crate: string; version: string; file: string; sha256: string };
};
export const UWS_BUILD_LABEL: string;
export class UwsBuildError extends Error {}
export function uwsBinaryName(abi?: string, platform?: string, arch?: string): string;
export function prepareSources(): { dir: string; key: string };
export function currentNodeInclude(): string | undefined;
export function buildUws(target: { nodeInclude: string; abi: string; outDir: string; nodeBin?: string }): string;
export function smokeTest(nodeBin: string, file: string): void;
