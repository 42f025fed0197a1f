import { Redis, type RedisOptions } from 'ioredis';

/** How long one Redis command may take before it fails (ms); a dead or hung Redis never blocks a caller longer. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/**
 * The options of every Flotilla Redis connection that is not one of BullMQ's blocking ones.
 * Before issue 13 every connection had `maxRetriesPerRequest: null` (what BullMQ wants for its
 * blocking connections): a command issued while Redis was down waited forever, and with it the
 * health transition or relay pass that issued it. Now a command fails after `commandTimeout`
 * (also while queued offline), or after one failed reconnect, whichever comes first; the
 * connection itself keeps reconnecting in the background.
 */
export function redisCommandOptions(name: string, commandTimeoutMs = REDIS_COMMAND_TIMEOUT_MS): RedisOptions {
  return {
    connectionName: name,
    enableReadyCheck: true,
    lazyConnect: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // Reconnect quickly at first, then every 2 s at most, for ever: the outage ends some day.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  };
}

/**
 * An ioredis connection whose commands time out (see redisCommandOptions). BullMQ's Workers do not
 * use it as is: WorkerHost (libs/queue) duplicates it without the timeout and with
 * `maxRetriesPerRequest: null`, the one place blocking commands run.
 */
export function createRedis(url: string, name: string, commandTimeoutMs = REDIS_COMMAND_TIMEOUT_MS): Redis {
  const redis = new Redis(url, redisCommandOptions(name, commandTimeoutMs));
  // Without a listener ioredis prints "Unhandled error event" with a stack for every failed
  // reconnect while Redis is down. The outage is visible where it matters: commands fail (and
  // their callers log and retry) and /readyz reports the connection.
  redis.on('error', () => undefined);
  return redis;
}
