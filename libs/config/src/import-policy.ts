import { z } from 'zod';

const bool = z.enum(['true', 'false'], { error: 'must be true or false' });

/**
 * The import policy: shared by the gateway (which refuses hostile kubeconfigs and runs the
 * validation endpoint) and provider-import (which runs the import), so both apply the same rules.
 */
export const importPolicyConfigShape = {
  /** How long a member may take to answer each step of an import (check 3's bound). */
  IMPORT_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100, 'must be at least 100').max(120_000, 'must be at most 120000').default(10_000),
  /** Accept kubeconfigs with proxy-url. Off by default. */
  FLOTILLA_ALLOW_PROXY_URL: bool.default('false').transform((v) => v === 'true'),
  /** Comma-separated hosts or addresses exempt from the link-local/metadata refusal. */
  FLOTILLA_SERVER_ALLOW_LIST: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.every((h) => /^[A-Za-z0-9.:_-]+$/.test(h)), 'must be a comma-separated list of host names or IP addresses'),
  /** This host's identity, written into the marker of every member it imports. */
  FLOTILLA_HOST_ID: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 subdomain of at most 63 characters, e.g. flotilla-prod')
    .default('flotilla'),
};
