// Chooses the HTTP engine and says which one runs and why. uWebSockets.js is a V8-API addon: one
// binary per Node ABI (process.versions.modules). In order:
//   1. JETSERVE_UWS_BINARY=/file.node, when set;
//   2. jetserve's source build for this Node: build/uws/ (scripts/uws/build-uws.mjs, run by the
//      install step), then prebuilds/<platform>-<arch>/ (shipped in the npm package);
//   3. the uWebSockets.js package (@trufflesuite/uws-js-unofficial, aliased): its own binaries for
//      Node ABIs 93/108/115, else its node:http shim (dist/index.js), silently.
// UWS_USE_FALLBACK=1|true skips 1–2 and makes the package take its node:http shim. The shim lacks
// tryEnd/onWritable/getWriteOffset/pause/resume and app.close(), and hands onData Buffers, so the
// server needs to know which engine it got.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

export interface HttpEngineInfo {
  /** What /v2 metadata reports: "uWebSockets.js native" or "node:http fallback". */
  name: 'uWebSockets.js native' | 'node:http fallback';
  native: boolean;
  /** Where the native binary came from (absent on the fallback). */
  source?: string;
  /** Why the fallback is in use (absent when native). */
  reason?: string;
}

type UwsModule = typeof import('uWebSockets.js');

const require = createRequire(import.meta.url);
/** The package root: src/server/http and dist/server/http both sit three levels below it. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BINARY = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
/** ABIs the uWebSockets.js package ships binaries for (@trufflesuite/uws-js-unofficial 20.30). */
const PACKAGE_ABIS = ['93', '108', '115'];

function fallbackForced(): string | undefined {
  const flag = process.env.UWS_USE_FALLBACK;
  return flag && ['1', 'true'].includes(flag.toLowerCase()) ? flag : undefined;
}

/** jetserve's own builds for this Node, most specific first. */
function ownBuildCandidates(): string[] {
  const explicit = process.env.JETSERVE_UWS_BINARY;
  if (explicit) return [explicit];
  return [join(PACKAGE_ROOT, 'build', 'uws', BINARY), join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`, BINARY)];
}

function shortPath(file: string): string {
  const rel = relative(PACKAGE_ROOT, file);
  return rel.startsWith('..') ? file : rel;
}

function loadEngine(): { module: UwsModule; info: HttpEngineInfo } {
  const problems: string[] = [];
  const forced = fallbackForced();
  if (!forced) {
    for (const file of ownBuildCandidates()) {
      if (!existsSync(file)) continue;
      try {
        const module = require(file) as UwsModule;
        return { module, info: { name: 'uWebSockets.js native', native: true, source: `jetserve source build, ${shortPath(file)}` } };
      } catch (err) {
        problems.push(`${shortPath(file)} failed to load: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  // require(), not `import uWS from`: the fallback's dist/index.js is flagged __esModule with a
  // partial `default` export, which ESM interop layers (vitest, bundlers) would hand back instead
  // of the full module.
  const module = require('uWebSockets.js') as UwsModule;
  if (!isPackageFallback(module)) {
    const source = `uWebSockets.js package binary ${BINARY}${problems.length ? ` (${problems.join('; ')})` : ''}`;
    return { module, info: { name: 'uWebSockets.js native', native: true, source } };
  }
  let reason: string;
  if (forced) {
    reason = `UWS_USE_FALLBACK=${forced} is set`;
  } else if (problems.length > 0) {
    reason = problems.join('; ');
  } else if (!PACKAGE_ABIS.includes(process.versions.modules)) {
    reason =
      `no uWebSockets.js binary for Node ABI ${process.versions.modules} (${process.version}): none built in build/uws/ or ` +
      `shipped in prebuilds/, and the uWebSockets.js package has ABIs ${PACKAGE_ABIS.join('/')} only; ` +
      'build one with `node scripts/uws/build-uws.mjs`';
  } else {
    reason = `the uWebSockets.js package binary ${BINARY} failed to load`;
  }
  return { module, info: { name: 'node:http fallback', native: false, reason } };
}

/** True when the package handed back its node:http shim instead of a native binary. */
function isPackageFallback(module: UwsModule): boolean {
  try {
    const fallbackPath = require.resolve('uWebSockets.js/dist/index.js');
    const shim = require.cache[fallbackPath]?.exports as { App?: unknown } | undefined;
    if (shim !== undefined && shim.App === module.App) return true;
  } catch {
    // layout changed: fall through to the feature test
  }
  return typeof (module as { getParts?: unknown }).getParts !== 'function';
}

const loaded = loadEngine();

export const httpEngine: HttpEngineInfo = loaded.info;

/** The startup log line: which engine runs, from where, or why not native. */
export function describeHttpEngine(engine: HttpEngineInfo = httpEngine): string {
  return engine.native
    ? `HTTP engine: ${engine.name} (${engine.source})`
    : `HTTP engine: ${engine.name} (${engine.reason}); REST throughput is lower than on native uWebSockets.js (npm run bench:rest measures both)`;
}

export const uWS: UwsModule = loaded.module;
