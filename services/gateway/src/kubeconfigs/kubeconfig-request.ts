import { z } from 'zod';
import { ErrorCause, ErrorReason, FlotillaError, dns1123LabelErrors, labelSelectorString, labelValueErrors, qualifiedNameErrors, type LabelSelector } from '@flotilla/domain';

/** Token lifetimes a kubeconfig may ask for: 10 minutes to 1 year; 90 days when not said. */
export const MIN_EXPIRATION_SECONDS = 600;
export const MAX_EXPIRATION_SECONDS = 365 * 24 * 3600;
export const DEFAULT_EXPIRATION_SECONDS = 90 * 24 * 3600;
/** Most clusters in one kubeconfig (named plus selected). */
export const MAX_KUBECONFIG_CLUSTERS = 500;

const options = {
  expirationSeconds: z
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(MIN_EXPIRATION_SECONDS, `must be at least ${MIN_EXPIRATION_SECONDS} (10 minutes)`)
    .max(MAX_EXPIRATION_SECONDS, `must be at most ${MAX_EXPIRATION_SECONDS} (1 year)`)
    .optional(),
  description: z.string({ error: 'must be a string' }).max(256, 'must be at most 256 characters').optional(),
};

const clusterName = z.string({ error: 'must be a cluster name' }).superRefine((value, ctx) => {
  for (const message of dns1123LabelErrors(value)) ctx.addIssue({ code: 'custom', message });
});

const labelKey = z.string().superRefine((value, ctx) => {
  for (const message of qualifiedNameErrors(value)) ctx.addIssue({ code: 'custom', message });
});
const labelValue = z.string().superRefine((value, ctx) => {
  for (const message of labelValueErrors(value)) ctx.addIssue({ code: 'custom', message });
});

const selectorSchema = z.strictObject({
  matchLabels: z.record(labelKey, labelValue).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: labelKey,
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], { error: 'must be In, NotIn, Exists or DoesNotExist' }),
        values: z.array(labelValue).max(100, 'must have at most 100 values').optional(),
      }),
    )
    .max(20, 'must have at most 20 expressions')
    .optional(),
});

export const clusterKubeconfigBody = z.strictObject(options);
export type ClusterKubeconfigBody = z.infer<typeof clusterKubeconfigBody>;

export const fleetKubeconfigBody = z.strictObject({
  ...options,
  clusters: z.array(clusterName).max(MAX_KUBECONFIG_CLUSTERS, `must name at most ${MAX_KUBECONFIG_CLUSTERS} clusters`).optional(),
  clusterSelector: selectorSchema.optional(),
});
export type FleetKubeconfigBody = z.infer<typeof fleetKubeconfigBody>;

/**
 * Parses a request body against a schema; every problem becomes a cause naming its field, in one
 * 422 Invalid. An absent body is `{}` (every field is optional).
 */
export function parseKubeconfigBody<T>(schema: z.ZodType<T>, body: unknown, kind: string): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const causes: ErrorCause[] = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : 'body';
    const unknownKeys = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : undefined;
    return { reason: unknownKeys ? 'FieldValueNotSupported' : 'FieldValueInvalid', field, message: unknownKeys ?? issue.message };
  });
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  throw new FlotillaError(ErrorReason.Invalid, `${kind} is invalid: ${summary}`, { kind, causes });
}

/** The selector as the label-selector string the registry's list takes (In and NotIn with no values refused here, naming the field). */
export function selectorString(selector: LabelSelector): string {
  for (const e of selector.matchExpressions ?? []) {
    if ((e.operator === 'In' || e.operator === 'NotIn') && (e.values ?? []).length === 0) {
      throw new FlotillaError(ErrorReason.Invalid, `clusterSelector.matchExpressions: ${e.operator} needs values`, {
        causes: [{ reason: 'FieldValueRequired', field: 'clusterSelector.matchExpressions.values', message: `${e.operator} needs at least one value` }],
      });
    }
  }
  return labelSelectorString(selector);
}
