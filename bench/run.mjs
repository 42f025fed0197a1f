#!/usr/bin/env node
// `npm run bench [-- --only <name>] [-- --quick]`: runs every bench/*.bench.ts in turn. Each benchmark
// measures on this machine and writes its own section of bench/RESULTS.md (date, machine, command,
// median and spread). Benchmarks are never part of `npm test`.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const passThrough = onlyAt >= 0 ? args.filter((_, i) => i !== onlyAt && i !== onlyAt + 1) : args;

const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !only || f.startsWith(only))
  .sort();
if (benches.length === 0) {
  console.error(`no benchmark matches ${only ?? '*'}; have: ${readdirSync(here).filter((f) => f.endsWith('.bench.ts')).join(', ')}`);
  process.exit(1);
}
let failed = 0;
for (const file of benches) {
  console.log(`\n==> ${file}`);
  const result = spawnSync(process.execPath, ['--expose-gc', '-r', '@swc-node/register', join('bench', file), ...passThrough], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
  });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
