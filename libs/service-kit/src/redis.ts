import { Redis } from 'ioredis';

/** An ioredis connection as BullMQ wants it (no per-command retry limit), failing fast at start. */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name, lazyConnect: false });
}
