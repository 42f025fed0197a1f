import { z } from 'zod';

/** The gateway's IAM settings (issue 14); spread into gatewayConfigShape. */
export const iamConfigShape = {
  /** How often the change log is read when the registry offers no change stream (ADR 0036); with it, changes are pushed. */
  FLOTILLA_FEED_POLL_MS: z.coerce.number().int().min(50).max(10_000).default(500),
  /** The longest a Token may live, in days (its expirationTimestamp defaults to 90 days, or this when shorter). */
  FLOTILLA_TOKEN_MAX_TTL_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
};

export interface IamConfig {
  FLOTILLA_FEED_POLL_MS?: number;
  FLOTILLA_TOKEN_MAX_TTL_DAYS?: number;
}
