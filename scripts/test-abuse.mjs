// `npm run test:abuse`: runs the abuse suite (test/abuse/) at full scale and prints one table row
// per probe: what the attacker got, the server's peak RSS growth, the p99 of a normal client that
// was served meanwhile, and whether the server stayed up. Rows also land in build/abuse-summary.jsonl.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const summary = join(root, 'build', 'abuse-summary.jsonl');
rmSync(summary, { force: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const child = spawn(process.execPath, [vitest, 'run', 'test/abuse', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, JETSERVE_ABUSE_FULL: '1' },
});
child.on('exit', (code) => {
  const rows = existsSync(summary) ? readFileSync(summary, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  console.log('\n| target | probe | attacker got | peak RSS growth | normal client p99 (ok/errors) | server |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    const c = r.normalClient ? `${r.normalClient.p99Ms.toFixed(1)} ms (${r.normalClient.requests}/${r.normalClient.errors})` : '—';
    const rss = r.rssGrowthMiB !== undefined ? `${r.rssGrowthMiB.toFixed(1)} MiB` : '—';
    console.log(`| ${r.target} | ${r.probe} | ${r.attackerGot} | ${rss} | ${c} | ${r.serverAlive ? 'alive' : 'DOWN'} |`);
  }
  process.exit(code ?? 1);
});
