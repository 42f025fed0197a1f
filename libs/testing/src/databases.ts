import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Client } from 'pg';
import { Redis } from 'ioredis';

/** Where tests find the real Postgres and Redis (started by .ci/run, or already on the machine). */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the real Postgres, dropped at the end of the test file. */
export async function createTestDatabase(prefix = 'flotilla_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A queue prefix no other test uses, and a way to remove its keys afterwards. */
export function testQueuePrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `t-${randomBytes(5).toString('hex')}`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(TEST_REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

/** Ports this process has handed out: the kernel may offer a just-closed port again. */
const handedOut = new Set<number>();

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The lowest port of the kernel's ephemeral range (Linux; 32768 elsewhere). Ports below it are
 * never given to outgoing connections nor to listeners on port 0, so a port chosen there stays
 * free between freePort() and the service binding it, however busy the machine is (kubectl runs,
 * other test processes' clients and servers all draw from the ephemeral range).
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}
const BELOW_EPHEMERAL = { low: 10_000, high: ephemeralLow() };

/**
 * Ports the Fetch standard's "bad port" list blocks (those above 1023): Node's fetch refuses them
 * ("bad port"), so a service on one cannot be checked. The federation e2e rig drew 10080 once.
 */
const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080]);

/**
 * A TCP port that was free a moment ago on 127.0.0.1, never one this process handed out before,
 * nor one fetch refuses (FETCH_BAD_PORTS).
 * Chosen at random below the ephemeral range first (see ephemeralLow); only when that range is
 * unusable, one the kernel offers. Rejected ports stay bound while it looks further, so the kernel
 * cannot offer them again (with thousands of ports in use it tends to offer the same free port every time).
 */
export async function freePort(): Promise<number> {
  const { low, high } = BELOW_EPHEMERAL;
  for (let attempt = 0; high - low > 1000 && attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || FETCH_BAD_PORTS.has(port)) continue;
    const server = await listen(port).catch(() => undefined);
    if (!server) continue;
    await new Promise((r) => server.close(r));
    handedOut.add(port);
    return port;
  }
  const held: Server[] = [];
  try {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const server = await listen();
      held.push(server);
      const { port } = server.address() as AddressInfo;
      if (!handedOut.has(port) && !FETCH_BAD_PORTS.has(port)) {
        handedOut.add(port);
        return port;
      }
    }
    throw new Error('no free TCP port found on 127.0.0.1 after 1000 attempts');
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

export function randomEncryptionKeys(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}
