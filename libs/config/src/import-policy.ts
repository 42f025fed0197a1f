import { z } from 'zod';

const bool = z.enum(['true', 'false'], { error: 'must be true or false' });

/**
 * The member address policy (libs/kube's MemberAddressPolicy): which addresses and schemes a
 * connection to a member cluster may use. Every process that connects to members (provider-import,
 * health-probe, and later the proxy, federation and the agent) reads the same variables, so the
 * import, rotation and the probes apply one rule. The gateway never connects to a member and
 * reads none of them (ADR 0027).
 */
export const memberAddressConfigShape = {
  /** Comma-separated hosts or addresses exempt from the address refusals (metadata, link-local, loopback, ...). */
  FLOTILLA_SERVER_ALLOW_LIST: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.every((h) => /^[A-Za-z0-9.:_-]+$/.test(h)), 'must be a comma-separated list of host names or IP addresses'),
  /**
   * Accept members on loopback addresses (127.0.0.0/8, ::1) and on this host's own addresses
   * (where Flotilla's own listeners are). Off by default; development (npm start, tests) turns it
   * on because emulated members listen on 127.0.0.1.
   */
  FLOTILLA_ALLOW_LOOPBACK_MEMBERS: bool.default('false').transform((v) => v === 'true'),
  /** Accept http:// member servers, whose credentials then travel in clear text. Off by default. */
  FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: bool.default('false').transform((v) => v === 'true'),
  /** Accept kubeconfigs with proxy-url. Off by default. */
  FLOTILLA_ALLOW_PROXY_URL: bool.default('false').transform((v) => v === 'true'),
};

export type MemberAddressConfig = z.infer<z.ZodObject<typeof memberAddressConfigShape>>;

/**
 * What an operator should know about a member address policy, logged as warnings when a service
 * starts: each relaxation of the defaults. Empty for the strict defaults, and for a config that
 * holds no member address settings.
 */
export function memberAddressWarnings(config: {
  readonly FLOTILLA_ALLOW_LOOPBACK_MEMBERS?: boolean;
  readonly FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS?: boolean;
  readonly FLOTILLA_SERVER_ALLOW_LIST?: readonly string[];
}): string[] {
  const out: string[] = [];
  if (config.FLOTILLA_ALLOW_LOOPBACK_MEMBERS) out.push("members on loopback and on this host's own addresses are allowed (FLOTILLA_ALLOW_LOOPBACK_MEMBERS=true): for development and tests only");
  if (config.FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS) out.push('plain http:// members are allowed (FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS=true): their credentials travel in clear text');
  if (config.FLOTILLA_SERVER_ALLOW_LIST?.length) out.push(`these hosts are exempt from the member address refusals (FLOTILLA_SERVER_ALLOW_LIST): ${config.FLOTILLA_SERVER_ALLOW_LIST.join(', ')}`);
  return out;
}

/**
 * The import policy, read by provider-import alone (ADR 0027): it runs the import jobs and serves
 * the kubeconfig guard, validation and rotation to the gateway, which reads no copy of it.
 */
export const importPolicyConfigShape = {
  /** How long a member may take to answer each step of an import (check 3's bound). */
  IMPORT_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100, 'must be at least 100').max(120_000, 'must be at most 120000').default(10_000),
  ...memberAddressConfigShape,
  /** This host's identity, written into the marker of every member it imports. */
  FLOTILLA_HOST_ID: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 subdomain of at most 63 characters, e.g. flotilla-prod')
    .default('flotilla'),
};
