import { z } from 'zod';
import { baseConfigShape, configParts, internalSecurityConfigShape, loadConfig } from '@flotilla/config';
import { auditConfigShape } from './audit/audit-config';
import { authConfigShape } from './auth/auth-config';
import { iamConfigShape } from './iam/iam-config';
import { federationConfigShape } from './federation/federation-config';
import { importEdgeConfigShape } from './imports/import-config';
import { gatewayTlsConfigShape } from './kubeconfigs/tls-config';
import { proxyConfigShape } from './proxy/proxy-config';

export const gatewayConfigShape = {
  ...baseConfigShape,
  /** The public REST port. */
  PORT: configParts.port(8080),
  GRPC_PORT: configParts.port(50050),
  REGISTRY_GRPC_URL: configParts.grpcTarget.default('127.0.0.1:50051'),
  /** The admin bearer token. Read once at start, kept only as a SHA-256 hash. */
  FLOTILLA_ADMIN_TOKEN: z
    .string({ error: 'is required: the bearer token REST clients present (at least 32 characters, e.g. $(openssl rand -hex 32))' })
    .min(32, 'must be at least 32 characters, e.g. $(openssl rand -hex 32)'),
  /** Largest request body accepted, in bytes (a kubeconfig may be 1 MiB, base64 makes it larger). */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(3 * 1024 * 1024),
  ...importEdgeConfigShape,
  /** Internal trust (docs/security.md): the gateway's own identity when it calls the registry and provider-import. */
  FLOTILLA_INTERNAL_TOKEN: configParts.internalToken,
  ...internalSecurityConfigShape,
  ...authConfigShape,
  ...iamConfigShape,
  ...auditConfigShape,
  ...gatewayTlsConfigShape,
  ...proxyConfigShape,
  ...federationConfigShape,
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig('gateway', gatewayConfigShape, env);
}
