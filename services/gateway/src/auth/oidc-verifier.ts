import { JWTPayload, createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import { ErrorReason, FlotillaError, Principal } from '@flotilla/domain';
import type { OidcSettings } from './auth-config';
import { boundedFetch } from './bounded-fetch';

/** Asymmetric algorithms only: `none` and HMAC (a shared secret an IdP cannot hold for us) never verify. */
export const OIDC_ALGORITHMS = ['RS256', 'ES256', 'PS256'];
/** Clock skew tolerated on exp, nbf and iat, as kube-apiserver's OIDC authenticator does. */
export const OIDC_CLOCK_TOLERANCE_S = 30;
/** A failed discovery is retried after this long, so a broken issuer is not asked on every request. */
const DISCOVERY_RETRY_MS = 10_000;
const MAX_NAME = 256;
const MAX_GROUPS = 256;

/** Looks like a compact JWS: three base64url parts, the header starting with `{"` (eyJ). */
export const looksLikeJwt = (token: string) => token.length < 16_384 && /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

/**
 * A user or group name from an identity provider is refused when it could be mistaken for a
 * Kubernetes system identity, carries control characters (log and header injection), or is
 * longer than 256 characters. The `oidc:` prefix added afterwards keeps an IdP from naming a
 * Flotilla user or `admin`.
 */
export function acceptableIdpName(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME) return false;
  if (value.toLowerCase().startsWith('system:')) return false;
  return !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value);
}

const unauthorized = (why: string) => new FlotillaError(ErrorReason.Unauthorized, `Unauthorized: the OIDC token was refused: ${why}`);

/**
 * Verifies OIDC bearer JWTs with jose against the issuer's JWKS (found through its discovery
 * document): signature, algorithm allow-list, issuer, audience, expiry with 30 s of skew.
 * An unreachable issuer is a 503 (the caller's token may well be fine), not a 401 that would make
 * kubectl ask the user to log in again.
 */
export class OidcVerifier {
  private jwks?: ReturnType<typeof createRemoteJWKSet>;
  private discovering?: Promise<ReturnType<typeof createRemoteJWKSet>>;
  private failedAt = 0;

  constructor(
    private readonly settings: OidcSettings,
    /** The clock (tests check expiry with a clock moved forward rather than by waiting). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  get issuer(): string {
    return this.settings.issuer;
  }

  async verify(token: string): Promise<Principal> {
    const jwks = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: OIDC_ALGORITHMS,
        clockTolerance: OIDC_CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
        currentDate: this.now(),
      }));
    } catch (error) {
      throw this.refusal(error);
    }
    const name = payload[this.settings.usernameClaim];
    if (!acceptableIdpName(name)) {
      throw unauthorized(`its "${this.settings.usernameClaim}" claim is missing, longer than ${MAX_NAME} characters, starts with system: or holds control characters`);
    }
    const claimed = payload[this.settings.groupsClaim];
    // Groups that could not be names are dropped, not trusted: fewer groups can only mean less access.
    const groups = Array.isArray(claimed) ? claimed.filter(acceptableIdpName).slice(0, MAX_GROUPS).map((g) => `oidc:${g}`) : [];
    return { user: `oidc:${name}`, groups: [...new Set(groups)], via: 'oidc' };
  }

  private refusal(error: unknown): FlotillaError {
    if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
      return new FlotillaError(ErrorReason.ServiceUnavailable, `the OIDC issuer ${this.settings.issuer} did not answer for its signing keys: retry shortly`, { retryAfterSeconds: 5 });
    }
    if (error instanceof errors.JWTExpired) return unauthorized('it has expired: get a new one from your identity provider');
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === 'iss') return unauthorized(`it was not issued by ${this.settings.issuer}`);
      if (error.claim === 'aud') return unauthorized(`its audience is not ${this.settings.audience}`);
      return unauthorized(`its "${error.claim}" claim is not acceptable (${error.reason})`);
    }
    if (error instanceof errors.JOSEAlgNotAllowed) return unauthorized(`it is signed with an algorithm other than ${OIDC_ALGORITHMS.join(', ')}`);
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed) {
      return unauthorized(`its signature does not match a key of ${this.settings.issuer}`);
    }
    return unauthorized('it is not a valid signed JWT');
  }

  /** The issuer's key set, found through its discovery document once (retried after a failure). */
  private async keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.jwks) return this.jwks;
    if (!this.discovering) {
      if (Date.now() - this.failedAt < DISCOVERY_RETRY_MS) throw this.unreachable();
      this.discovering = this.discover().then(
        (set) => (this.jwks = set),
        (error: unknown) => {
          this.failedAt = Date.now();
          this.discovering = undefined;
          throw error;
        },
      );
    }
    return this.discovering;
  }

  private unreachable(): FlotillaError {
    return new FlotillaError(ErrorReason.ServiceUnavailable, `the OIDC issuer ${this.settings.issuer} could not be reached for its discovery document: retry shortly`, {
      retryAfterSeconds: 10,
    });
  }

  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await boundedFetch(url);
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch {
      throw this.unreachable();
    }
    // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be the one configured.
    if (document.issuer !== this.settings.issuer || typeof document.jwks_uri !== 'string') {
      throw new FlotillaError(ErrorReason.ServiceUnavailable, `the discovery document of ${this.settings.issuer} names another issuer or no jwks_uri: check FLOTILLA_OIDC_ISSUER_URL`);
    }
    const jwksUri = new URL(document.jwks_uri);
    // The keys are trusted only over the issuer's own transport: an https issuer never hands us http keys.
    if (jwksUri.protocol !== new URL(this.settings.issuer).protocol && jwksUri.protocol !== 'https:') throw this.unreachable();
    return createRemoteJWKSet(jwksUri, {
      timeoutDuration: 5000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
      [customFetch]: (input: string | URL | Request, init?: RequestInit) => boundedFetch(input instanceof Request ? input.url : input, { signal: init?.signal ?? undefined }),
    });
  }
}
