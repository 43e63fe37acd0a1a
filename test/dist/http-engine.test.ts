// Which HTTP engine runs on each supported Node (src/server/http/uws.ts), checked in a child
// process of that Node (official builds from scripts/node-matrix.mjs): native uWebSockets.js from
// jetserve's build for its ABI; without one, the uWebSockets.js package's own binary where it has
// one (Node 20), else the node:http fallback with a reason naming the ABI; a binary that cannot
// load is named with its error.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNode, NODE_MATRIX } from '../../scripts/node-matrix.mjs';
import { buildUws, uwsBinaryName } from '../../scripts/uws/build-uws.mjs';
import { describeHttpEngine, httpEngine } from '../../src/server/http/uws.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'jetserve-engine-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Engine {
  name: string;
  native: boolean;
  source?: string;
  reason?: string;
  line: string;
}

function engineUnder(nodeBin: string, env: Record<string, string>): Engine {
  const code = `const m = await import(${JSON.stringify(join(root, 'src', 'server', 'http', 'uws.ts'))});
    console.log(JSON.stringify({ ...m.httpEngine, line: m.describeHttpEngine() }));`;
  const r = spawnSync(nodeBin, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Engine;
}

describe('HTTP engine', () => {
  it("this Node runs native uWebSockets.js from jetserve's build (the install step made it), and says so", () => {
    expect(httpEngine.native).toBe(true);
    expect(httpEngine.source).toMatch(/^jetserve source build, (build\/uws|prebuilds\/linux-x64)\/uws_linux_x64_\d+\.node$/);
    expect(describeHttpEngine()).toBe(`HTTP engine: uWebSockets.js native (${httpEngine.source})`);
  });

  describe.each(NODE_MATRIX.map((e) => [e.major, e.abi] as const))('Node %s (ABI %s)', (major, abi) => {
    let nodeBin: string;
    let binary: string;
    beforeAll(() => {
      const node = ensureNode(major);
      nodeBin = node.bin;
      binary = buildUws({ nodeInclude: node.include, abi: node.abi, nodeBin: node.bin, outDir: join(work, abi) });
    }, 600_000);

    it('native with its build', () => {
      const e = engineUnder(nodeBin, { JETSERVE_UWS_BINARY: binary });
      expect(e.native).toBe(true);
      expect(e.source).toBe(`jetserve source build, ${binary}`);
      expect(e.line).toBe(`HTTP engine: uWebSockets.js native (jetserve source build, ${binary})`);
    });

    it('without a build: the package binary (ABI ≤ 115) or the fallback naming the ABI', () => {
      const e = engineUnder(nodeBin, { JETSERVE_UWS_BINARY: join(work, 'none', uwsBinaryName(abi)) });
      if (['93', '108', '115'].includes(abi)) {
        expect(e).toMatchObject({ native: true, source: `uWebSockets.js package binary ${uwsBinaryName(abi)}` });
      } else {
        expect(e.native).toBe(false);
        expect(e.reason).toMatch(new RegExp(`^no uWebSockets.js binary for Node ABI ${abi} \\(v${major}\\.`));
        expect(e.line).toMatch(/^HTTP engine: node:http fallback \(no uWebSockets.js binary .*\); REST throughput is lower/);
      }
    });

    it('a binary that cannot load is named with its error; UWS_USE_FALLBACK forces the fallback', () => {
      const broken = join(work, `broken-${abi}`, uwsBinaryName(abi));
      rmSync(dirname(broken), { recursive: true, force: true });
      spawnSync('mkdir', ['-p', dirname(broken)]);
      writeFileSync(broken, 'not an ELF file');
      const e = engineUnder(nodeBin, { JETSERVE_UWS_BINARY: broken });
      const failed = `${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed to load: .*(invalid ELF|file too short)`;
      if (['93', '108', '115'].includes(abi)) {
        expect(e.native).toBe(true);
        expect(e.source).toMatch(new RegExp(`^uWebSockets.js package binary ${uwsBinaryName(abi)} \\(${failed}`));
      } else {
        expect(e.native).toBe(false);
        expect(e.reason).toMatch(new RegExp(`^${failed}`));
      }
      const forced = engineUnder(nodeBin, { JETSERVE_UWS_BINARY: binary, UWS_USE_FALLBACK: '1' });
      expect(forced).toMatchObject({ native: false, reason: 'UWS_USE_FALLBACK=1 is set' });
    });
  });
});
