// Loads uWebSockets.js and says which HTTP engine actually runs. The package
// (@trufflesuite/uws-js-unofficial, aliased as uWebSockets.js) loads its native binary
// `binaries/uws_<platform>_<arch>_<abi>.node`, and silently falls back to a node:http shim
// (`dist/index.js`) when that binary cannot load or when UWS_USE_FALLBACK=1|true. The shim lacks
// tryEnd/onWritable/getWriteOffset/pause/resume and app.close(), and hands onData Buffers, so the
// server needs to know which one it got.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

export interface HttpEngineInfo {
  /** What /v2 metadata reports: "uWebSockets.js native" or "node:http fallback". */
  name: 'uWebSockets.js native' | 'node:http fallback';
  native: boolean;
  /** Why the fallback is in use (absent when native). */
  reason?: string;
}

const require = createRequire(import.meta.url);

// require(), not `import uWS from`: the fallback's dist/index.js is flagged __esModule with a
// partial `default` export, which ESM interop layers (vitest, bundlers) would hand back instead of
// the full module.
const uWS = require('uWebSockets.js') as typeof import('uWebSockets.js');

function detectEngine(): HttpEngineInfo {
  let fallbackExports: unknown;
  let packageDir: string | undefined;
  try {
    const fallbackPath = require.resolve('uWebSockets.js/dist/index.js');
    packageDir = dirname(dirname(fallbackPath));
    fallbackExports = require.cache[fallbackPath]?.exports;
  } catch {
    // layout changed: fall through to the feature test
  }
  const isFallback =
    (fallbackExports !== undefined && (fallbackExports as { App?: unknown }).App === uWS.App) ||
    typeof (uWS as { getParts?: unknown }).getParts !== 'function';
  if (!isFallback) return { name: 'uWebSockets.js native', native: true };

  let reason: string;
  const flag = process.env.UWS_USE_FALLBACK;
  if (flag && ['1', 'true'].includes(flag.toLowerCase())) {
    reason = `UWS_USE_FALLBACK=${flag} is set`;
  } else {
    const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
    reason =
      packageDir && !existsSync(join(packageDir, 'binaries', binary))
        ? `no native binary ${binary} for this platform / Node ABI ${process.versions.modules}`
        : `native binary ${binary} failed to load`;
  }
  return { name: 'node:http fallback', native: false, reason };
}

export const httpEngine: HttpEngineInfo = detectEngine();

export { uWS };
