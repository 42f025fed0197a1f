import { z } from 'zod';

/** Limits on federated objects written through the gateway (issue 15). */
export const federationConfigShape = {
  /** Largest spec.template of a federated object, in bytes of JSON (default 512 KiB). */
  FLOTILLA_FEDERATION_MAX_TEMPLATE_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(512 * 1024),
  /** Most federated objects of one kind in one namespace (cluster-scoped kinds: in all), default 5000. */
  FLOTILLA_FEDERATION_MAX_OBJECTS_PER_NAMESPACE: z.coerce.number().int().min(1).max(1_000_000).default(5000),
};

export interface FederationLimits {
  maxTemplateBytes: number;
  maxObjectsPerNamespace: number;
}

export function federationLimits(config: { FLOTILLA_FEDERATION_MAX_TEMPLATE_BYTES?: number | string; FLOTILLA_FEDERATION_MAX_OBJECTS_PER_NAMESPACE?: number | string }): FederationLimits {
  return {
    maxTemplateBytes: Number(config.FLOTILLA_FEDERATION_MAX_TEMPLATE_BYTES ?? 512 * 1024),
    maxObjectsPerNamespace: Number(config.FLOTILLA_FEDERATION_MAX_OBJECTS_PER_NAMESPACE ?? 5000),
  };
}
