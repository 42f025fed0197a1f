import { z } from 'zod';

/** A configuration problem at start-up: names every bad variable and how to fix it. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: { variable: string; problem: string }[],
  ) {
    super(`invalid configuration for ${service}: ${problems.map((p) => `${p.variable}: ${p.problem}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a TCP port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.join(' or ')} URL such as ${example}` },
  );

export const configParts = {
  port,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  host: z.string().min(1).default('127.0.0.1'),
  databaseUrl: url(['postgres:', 'postgresql:'], 'postgres://user@127.0.0.1:5432/flotilla').default('postgres://postgres@127.0.0.1:5432/flotilla'),
  redisUrl: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379').default('redis://127.0.0.1:6379'),
  grpcTarget: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:50051'),
  queuePrefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'must be lowercase letters, digits and dashes, e.g. flotilla')
    .default('flotilla'),
  internalToken: z.string({ error: 'is required: a shared secret of at least 32 characters for internal gRPC calls' }).min(32, 'must be at least 32 characters'),
  shutdownTimeoutMs: z.coerce.number().int().min(0).max(600000).default(25000),
  /** `identity:sha256hex[,identity:sha256hex...]`: who may call this service, by the SHA-256 of each caller's FLOTILLA_INTERNAL_TOKEN. */
  internalCallers: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,62}:[0-9a-f]{64}(,[a-z][a-z0-9-]{0,62}:[0-9a-f]{64})*$/,
      'must be identity:sha256hex[,identity:sha256hex...], e.g. gateway:$(printf %s "$GATEWAY_TOKEN" | sha256sum | cut -c1-64)',
    ),
  flag: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  file: z.string().min(1, 'must be a file path'),
} as const;

/**
 * Internal trust (docs/security.md): every service's gRPC server checks callers against
 * FLOTILLA_INTERNAL_CALLERS; a service that calls others sends its own FLOTILLA_INTERNAL_TOKEN;
 * FLOTILLA_INTERNAL_TLS=true adds mutual TLS with the certificate files named below. Whether the
 * variables a service needs are set is checked at start (service-kit), naming each missing one.
 */
export const internalSecurityConfigShape = {
  FLOTILLA_INTERNAL_CALLERS: configParts.internalCallers.optional(),
  FLOTILLA_INTERNAL_TLS: configParts.flag,
  /** PEM bundle of the CA(s) that sign internal certificates (trust anchors for servers and clients). */
  FLOTILLA_INTERNAL_TLS_CA: configParts.file.optional(),
  /** This service's certificate (PEM; its subject CN is its identity), used as server and as client. */
  FLOTILLA_INTERNAL_TLS_CERT: configParts.file.optional(),
  FLOTILLA_INTERNAL_TLS_KEY: configParts.file.optional(),
  /** How often the certificate files are re-read; renewed files are used without a restart. */
  FLOTILLA_INTERNAL_TLS_RELOAD_MS: z.coerce.number().int().min(100, 'must be at least 100').max(86_400_000, 'must be at most 86400000').default(60_000),
};

/** The part every service has. */
export const baseConfigShape = {
  LOG_LEVEL: configParts.logLevel,
  HTTP_HOST: configParts.host,
  GRPC_HOST: configParts.host,
  SHUTDOWN_TIMEOUT_MS: configParts.shutdownTimeoutMs,
};

/**
 * Parses the environment against a service's schema. Throws a ConfigError naming
 * each bad variable; values of secret variables are never echoed.
 */
export function loadConfig<S extends z.ZodRawShape>(service: string, shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    input[key] = value === '' ? undefined : value;
  }
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(config)'),
      problem: issue.code === 'invalid_type' && input[String(issue.path[0])] === undefined ? `is required (${issue.message})` : issue.message,
    }));
    throw new ConfigError(service, problems);
  }
  return result.data;
}

const SECRET_KEY = /TOKEN|KEY|SECRET|PASSWORD/i;

/** A printable copy of a config: secrets masked, passwords in URLs removed. */
export function describeConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (SECRET_KEY.test(key)) out[key] = value === undefined ? undefined : '(set, hidden)';
    else if (typeof value === 'string' && /^[a-z]+:\/\//i.test(value)) {
      try {
        const u = new URL(value);
        if (u.password) u.password = '***';
        out[key] = u.toString();
      } catch {
        out[key] = value;
      }
    } else out[key] = value;
  }
  return out;
}
