import { z } from 'zod';

const bool = z.enum(['true', 'false'], { error: 'must be true or false' });

/**
 * What the gateway needs to refuse hostile kubeconfigs synchronously and to run the validation
 * endpoint. Must match provider-import's values (docs/import.md).
 */
export const importEdgeConfigShape = {
  IMPORT_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100, 'must be at least 100').max(120_000, 'must be at most 120000').default(10_000),
  FLOTILLA_ALLOW_PROXY_URL: bool.default('false').transform((v) => v === 'true'),
  FLOTILLA_SERVER_ALLOW_LIST: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.every((h) => /^[A-Za-z0-9.:_-]+$/.test(h)), 'must be a comma-separated list of host names or IP addresses'),
  FLOTILLA_HOST_ID: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 subdomain of at most 63 characters, e.g. flotilla-prod')
    .default('flotilla'),
  /** Base URL clients use to reach this gateway, written into the kubeconfigs it hands out. */
  FLOTILLA_EXTERNAL_URL: z.url('must be a URL, e.g. https://flotilla.example.com').optional(),
};

export type ImportEdgeConfig = z.infer<z.ZodObject<typeof importEdgeConfigShape>>;
