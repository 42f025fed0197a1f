import { z } from 'zod';
import { baseConfigShape, configParts, internalSecurityConfigShape, loadConfig } from '@flotilla/config';
import { watchLimitsConfigShape } from './clusters/watch-limits';

export const registryConfigShape = {
  ...baseConfigShape,
  HTTP_PORT: configParts.port(8081),
  GRPC_PORT: configParts.port(50051),
  ...watchLimitsConfigShape,
  DATABASE_URL: configParts.databaseUrl,
  REDIS_URL: configParts.redisUrl,
  FLOTILLA_QUEUE_PREFIX: configParts.queuePrefix,
  /** Who may call the registry, and internal mTLS (docs/security.md); the registry itself calls no one. */
  ...internalSecurityConfigShape,
  /** "id:base64key[,id:base64key...]"; the first key encrypts, all decrypt. */
  FLOTILLA_ENCRYPTION_KEYS: z
    .string({ error: 'is required: id:base64key of 32 random bytes, e.g. k1:$(openssl rand -base64 32)' })
    .regex(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]+(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]+)*$/, 'must be id:base64key[,id:base64key...], e.g. k1:$(openssl rand -base64 32)'),
  MIGRATIONS_RUN: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  /** How long the change log keeps changes a watch can resume from. */
  WATCH_RETENTION_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(3600),
  /** How long finished import and removal job records are kept. */
  IMPORT_JOB_RETENTION_SECONDS: z.coerce.number().int().min(3600).max(365 * 24 * 3600).default(30 * 24 * 3600),
  /** How long audit events are kept (by stageTimestamp); older ones are deleted on the prune timer. */
  FLOTILLA_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  WATCH_POLL_MS: z.coerce.number().int().min(50).max(60000).default(1000),
  WATCH_BOOKMARK_MS: z.coerce.number().int().min(100).max(600000).default(60000),
};

export type RegistryConfig = ReturnType<typeof loadRegistryConfig>;

export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig('registry', registryConfigShape, env);
}
