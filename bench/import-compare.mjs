#!/usr/bin/env node
// Before/after comparison of the import benchmark on the same machine in the same session:
// `node bench/import-compare.mjs --base <rev> [--rounds 2] [--quick]`.
// It checks <rev> out into a temporary git worktree (sharing this tree's node_modules), then runs
// bench/import.bench.ts there and here in turn, `--rounds` times each (each invocation does its
// own runs), and prints the medians of every run's p50, p99 and imports/s, and the ratio
// after/before. The baseline's own RESULTS.md (in the worktree) is discarded with it; this tree's
// bench/RESULTS.md gets the import section of the last "after" invocation, as any bench run does.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const base = opt('--base');
const rounds = Number(opt('--rounds', '2'));
const quick = args.includes('--quick');
if (!base) {
  console.error('usage: node bench/import-compare.mjs --base <git rev> [--rounds N] [--quick]');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-base-'));
const worktree = join(dir, 'tree');
const git = (...a) => {
  const r = spawnSync('git', a, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

function runBench(cwd, label) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'bench/import.bench.ts', ...(quick ? ['--quick'] : [])], {
      cwd,
      env: { ...process.env, SWC_NODE_PROJECT: join(cwd, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const runs = [];
    let buffer = '';
    child.stdout.on('data', (d) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^run \d+: p50 (\d+) ms, p99 (\d+) ms, ([\d.]+) imports\/s/.exec(line);
        if (m) {
          runs.push({ p50: Number(m[1]), p99: Number(m[2]), rate: Number(m[3]) });
          process.stdout.write(`${label}: ${line}\n`);
        }
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve(runs) : reject(new Error(`${label} bench exited with ${code}`))));
  });
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const baseSha = git('rev-parse', base);
  const headSha = git('rev-parse', 'HEAD');
  git('worktree', 'add', '--detach', worktree, baseSha);
  symlinkSync(join(root, 'node_modules'), join(worktree, 'node_modules'));
  const before = [];
  const after = [];
  try {
    for (let i = 0; i < rounds; i++) {
      before.push(...(await runBench(worktree, `before ${baseSha.slice(0, 7)}`)));
      after.push(...(await runBench(root, `after ${headSha.slice(0, 7)}${git('status', '--porcelain') ? '+changes' : ''}`)));
    }
  } finally {
    git('worktree', 'remove', '--force', worktree);
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (name, key, unit) => {
    const b = before.map((r) => r[key]);
    const a = after.map((r) => r[key]);
    const mb = median(b);
    const ma = median(a);
    return `| ${name} | ${unit} | ${mb} (${Math.min(...b)}-${Math.max(...b)}) | ${ma} (${Math.min(...a)}-${Math.max(...a)}) | ${(ma / mb).toFixed(2)} |`;
  };
  process.stdout.write(
    [
      '',
      `before: ${baseSha} (${before.length} runs), after: ${headSha}${git('status', '--porcelain') ? ' with uncommitted changes' : ''} (${after.length} runs)`,
      '| measure | unit | before: median (min-max) | after: median (min-max) | after / before |',
      '|---|---|---|---|---|',
      row('POST-to-Ready p50', 'p50', 'ms'),
      row('POST-to-Ready p99', 'p99', 'ms'),
      row('imports per second (batch)', 'rate', 'imports/s'),
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
