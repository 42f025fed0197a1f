import { z } from 'zod';

/**
 * provider-import's settings for the tokens Flotilla mints in members (ADR 0029).
 */
export const credentialRenewalConfigShape = {
  /** Lifetime of the tokens Flotilla mints (TokenRequest expirationSeconds); renewed at 80 % of it. */
  FLOTILLA_MEMBER_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(600, "must be at least 600: a kube-apiserver's TokenRequest refuses less than 10 minutes")
    .max(31_536_000, 'must be at most 31536000 (one year)')
    .default(86_400),
  /** How often provider-import looks for tokens due for renewal; 0 turns the sweep off. */
  CREDENTIAL_RENEWAL_SWEEP_MS: z.coerce.number().int().min(0).max(3_600_000, 'must be at most 3600000 (one hour)').default(60_000),
};

export type CredentialRenewalConfig = z.infer<z.ZodObject<typeof credentialRenewalConfigShape>>;

