import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore: a plain ES module shared with `npm start` and the test setup
import { ensurePostgres, ensureRedis } from '../../../tools/local-services.mjs';

interface Kept {
  url: string;
  port: number;
  keeperPid: number;
  stop(): Promise<void>;
}

/**
 * A Postgres and a redis-server of this test file's own (tools/local-services.mjs with `force`: own
 * ports, own data directory), so that killing and restarting them never touches the machine's
 * shared 5432 and 6379 that other tests use.
 */
export interface PrivateDeps {
  /** The database the registry uses. */
  databaseUrl: string;
  redisUrl: string;
  /** SIGKILL of redis-server (no goodbye to its clients); resolves once the port refuses. */
  killRedis(): Promise<void>;
  /** A new redis-server on the same port, with no data (it runs without persistence). */
  startRedis(): Promise<void>;
  /** Stops Postgres (its keeper stops it cleanly); the data directory stays. */
  stopPostgres(): Promise<void>;
  /** Starts Postgres again on the same port and data. */
  startPostgres(): Promise<void>;
  stop(): Promise<void>;
}

const DATABASE = 'flotilla_faults';

/** The pids of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `freePort`: @flotilla/testing's (ports below the ephemeral range), passed in by the spec. */
export async function startPrivateDeps(freePort: () => Promise<number>): Promise<PrivateDeps> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-faults-pg-'));
  const pgPort = await freePort();
  const redisPort = await freePort();
  const startPg = (): Promise<Kept> => ensurePostgres({ dataDir, port: pgPort, database: DATABASE, force: true });
  const startRedisServer = (): Promise<Kept> => ensureRedis({ port: redisPort, force: true });
  let pg: Kept | undefined = await startPg();
  const redisKeepers: Kept[] = [await startRedisServer()];
  let redisUp = true;
  return {
    databaseUrl: `${pg.url}/${DATABASE}`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    async killRedis() {
      const keeper = redisKeepers[redisKeepers.length - 1]!;
      const servers = childrenOf(keeper.keeperPid);
      if (servers.length !== 1) throw new Error(`expected one redis-server under keeper ${keeper.keeperPid}, found ${servers.length}`);
      process.kill(servers[0]!, 'SIGKILL');
      const until = Date.now() + 10_000;
      while (alive(servers[0]!) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      redisUp = false;
    },
    async startRedis() {
      if (redisUp) throw new Error('redis-server is running already');
      redisKeepers.push(await startRedisServer());
      redisUp = true;
    },
    async stopPostgres() {
      await pg?.stop();
      pg = undefined;
    },
    async startPostgres() {
      if (pg) throw new Error('Postgres is running already');
      pg = await startPg();
    },
    async stop() {
      await Promise.all(redisKeepers.map((k) => k.stop().catch(() => undefined)));
      await pg?.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
