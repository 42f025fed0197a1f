import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '../../../..');

/**
 * In a process of its own, because what is tested is that the process stays alive: an audit
 * recorder closed at shutdown while the registry does not answer keeps retrying until its deadline,
 * with nothing else holding the event loop, then reports the events it could not store. Before,
 * its retry wait did not hold the loop and Node exited mid-wait without the report.
 */
const SCRIPT = `
import { Registry } from 'prom-client';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { AuditRecorder } from ${JSON.stringify(join(__dirname, 'audit-recorder'))};
let attempts = 0;
const store = { async append() { attempts++; throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry service is unavailable; retry shortly'); }, async query() { return { items: [] }; } };
const lines: Record<string, unknown>[] = [];
const logger = { warn() {}, info() {}, debug() {}, error(fields: Record<string, unknown>, msg: string) { lines.push({ ...fields, msg }); } } as any;
const r = new AuditRecorder(store as any, { level: 'All', bufferSize: 10, batchSize: 10, flushIntervalMs: 60000, maxBackoffMs: 200, logger, metrics: new Registry() } as any);
void r.record({ principal: { user: 'alice', groups: [], via: 'token', tokenId: 't' }, verb: 'create', requestURI: '/w', code: 201, startedAt: new Date() } as any);
process.on('exit', () => process.stdout.write(JSON.stringify({ attempts, lines }) + '\\n'));
void r.close(1500);
`;

describe('AuditRecorder at shutdown', () => {
  it('keeps the process alive while it retries, until its deadline, and reports what it could not store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-shutdown-'));
    const file = join(dir, 'shutdown.ts');
    writeFileSync(file, SCRIPT);
    const started = Date.now();
    const child = spawnSync(process.execPath, ['-r', '@swc-node/register', file], {
      cwd: root,
      env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json'), NODE_PATH: join(root, 'node_modules') },
      encoding: 'utf8',
      timeout: 30_000,
    });
    rmSync(dir, { recursive: true, force: true });
    expect([child.status, child.stderr.slice(-500)]).toEqual([0, '']);
    const out = JSON.parse(child.stdout.trim().split('\n').pop()!);
    expect(out.lines).toEqual([expect.objectContaining({ lost: 1, msg: 'audit: the registry stayed unavailable; events not stored at shutdown' })]);
    expect(out.attempts).toBeGreaterThan(2);
    expect(Date.now() - started).toBeGreaterThan(1000);
  });
});
