import { z } from 'zod';
import { ConfigError, configParts } from '@flotilla/config';

/**
 * OIDC settings of the gateway (docs/access.md). Without FLOTILLA_OIDC_ISSUER_URL, OIDC is off and
 * only Flotilla tokens and the admin token are accepted.
 */
export const authConfigShape = {
  /** The issuer, exactly as in its tokens' `iss` (its discovery document is read from <issuer>/.well-known/openid-configuration). */
  FLOTILLA_OIDC_ISSUER_URL: z.url('must be the issuer URL, e.g. https://login.example.com/realms/main').optional(),
  /** The audience Flotilla's tokens carry (`aud`): the client id, or the resource indicator for access tokens. */
  FLOTILLA_OIDC_AUDIENCE: z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters').optional(),
  /** The claim naming the user; the user becomes `oidc:<value>`. */
  FLOTILLA_OIDC_USERNAME_CLAIM: z.string().regex(/^[A-Za-z0-9_:.\-/]{1,128}$/, 'must be a claim name such as sub, email or preferred_username').default('sub'),
  /** The claim holding the user's groups (an array of strings); each becomes `oidc:<group>`. */
  FLOTILLA_OIDC_GROUPS_CLAIM: z.string().regex(/^[A-Za-z0-9_:.\-/]{1,128}$/, 'must be a claim name such as groups or roles').default('groups'),
  /** Accept an http:// issuer (tests and local development only: tokens and keys travel in the clear). */
  FLOTILLA_OIDC_ALLOW_HTTP_ISSUER: configParts.flag,
};

export type AuthConfig = z.infer<z.ZodObject<typeof authConfigShape>>;

export interface OidcSettings {
  issuer: string;
  audience: string;
  usernameClaim: string;
  groupsClaim: string;
}

/**
 * The OIDC settings, or undefined when OIDC is off. The rules between variables (which a shape
 * cannot state) are checked here, at start, naming the variable and the fix.
 */
export function oidcSettings(config: AuthConfig): OidcSettings | undefined {
  const issuer = config.FLOTILLA_OIDC_ISSUER_URL;
  if (!issuer) {
    if (config.FLOTILLA_OIDC_AUDIENCE) {
      throw new ConfigError('gateway', [{ variable: 'FLOTILLA_OIDC_ISSUER_URL', problem: 'is required when FLOTILLA_OIDC_AUDIENCE is set: set both, or neither to turn OIDC off' }]);
    }
    return undefined;
  }
  const problems: { variable: string; problem: string }[] = [];
  const protocol = new URL(issuer).protocol;
  if (protocol !== 'https:' && !(protocol === 'http:' && config.FLOTILLA_OIDC_ALLOW_HTTP_ISSUER === 'true')) {
    problems.push({ variable: 'FLOTILLA_OIDC_ISSUER_URL', problem: 'must be an https:// URL (set FLOTILLA_OIDC_ALLOW_HTTP_ISSUER=true only for local tests)' });
  }
  if (!config.FLOTILLA_OIDC_AUDIENCE) {
    problems.push({ variable: 'FLOTILLA_OIDC_AUDIENCE', problem: 'is required with FLOTILLA_OIDC_ISSUER_URL: the client id (or resource) Flotilla tokens are issued for' });
  }
  if (problems.length > 0) throw new ConfigError('gateway', problems);
  return { issuer, audience: config.FLOTILLA_OIDC_AUDIENCE!, usernameClaim: config.FLOTILLA_OIDC_USERNAME_CLAIM, groupsClaim: config.FLOTILLA_OIDC_GROUPS_CLAIM };
}
