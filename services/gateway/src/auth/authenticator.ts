import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ErrorReason, FlotillaError, Principal, tokenNameOf } from '@flotilla/domain';
import { OPEN_PATHS, toKubeStatus } from '@flotilla/service-kit';
import type { IamMirror } from '../iam/iam-mirror';
import { OidcVerifier, looksLikeJwt } from './oidc-verifier';
import { setPrincipal } from './principal';

/** Paths where a browser may authenticate with HTTP Basic (password = a bearer token), so /docs can be browsed. */
const BROWSABLE = ['/docs', '/openapi.json'];
const isBrowsable = (path: string) => BROWSABLE.some((p) => path === p || path.startsWith(`${p}/`));
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();
/** Longer than any token Flotilla accepts (a JWT with many groups included): refused unread. */
const MAX_TOKEN_LENGTH = 16_384;
/** Compared against when a token name is unknown, so timing does not tell known names from unknown ones. */
const NO_HASH = Buffer.alloc(32);

export const ADMIN_PRINCIPAL: Principal = Object.freeze({ user: 'admin', groups: [], via: 'admin-token' }) as Principal;

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}

/**
 * Who is calling. Tried in order, each a cheap test of the token's form before any work:
 * 1. the bootstrap admin token (from the environment, held only as a hash, compared in constant
 *    time): always `admin`, always fleet-admin;
 * 2. a Flotilla token `flt_<name>_<secret>`: the name finds the Token in the IAM mirror, the
 *    hash is compared in constant time, then expiry and the user (it must exist and not be
 *    disabled; a token naming `admin` is refused: the admin is the bootstrap token only);
 * 3. an OIDC JWT from the configured issuer (oidc-verifier.ts), as `oidc:<name>`.
 * A token is never logged, echoed or put in an error: refusals say what to send instead.
 */
export class Authenticator {
  private readonly adminHash: Buffer;

  constructor(
    adminToken: string,
    private readonly mirror: IamMirror,
    private readonly oidc?: OidcVerifier,
    private readonly now: () => number = Date.now,
  ) {
    this.adminHash = sha256(adminToken);
  }

  /** The principal of the request; throws FlotillaError Unauthorized (or ServiceUnavailable when identity cannot be checked now). */
  async authenticate(req: IncomingMessage): Promise<Principal> {
    return this.authenticateToken(this.presented(req));
  }

  async authenticateToken(token: string | undefined): Promise<Principal> {
    if (!token || token.length > MAX_TOKEN_LENGTH) throw this.unauthorized('no bearer token was sent');
    const presentedHash = sha256(token);
    if (timingSafeEqual(presentedHash, this.adminHash)) return ADMIN_PRINCIPAL;
    const tokenName = tokenNameOf(token);
    if (tokenName !== undefined) return this.flotillaToken(tokenName, presentedHash);
    if (this.oidc && looksLikeJwt(token)) return this.oidc.verify(token);
    throw this.unauthorized('the token is not one Flotilla accepts');
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (OPEN_PATHS.includes(req.path)) return next();
      this.authenticate(req).then(
        (principal) => {
          setPrincipal(req, principal);
          next();
        },
        (error: unknown) => {
          const status = toKubeStatus(error);
          if (status.code === 401) {
            res.setHeader('WWW-Authenticate', isBrowsable(req.path) ? 'Basic realm="flotilla", charset="UTF-8"' : 'Bearer realm="flotilla"');
          }
          if (status.details?.retryAfterSeconds) res.setHeader('Retry-After', String(status.details.retryAfterSeconds));
          res.status(status.code).type('application/json').send(JSON.stringify(status));
        },
      );
    };
  }

  private flotillaToken(name: string, presentedHash: Buffer): Principal {
    this.mirror.assertSynced();
    const record = this.mirror.token(name);
    const ok = timingSafeEqual(presentedHash, record?.hash ?? NO_HASH) && record !== undefined;
    // One message for unknown, revoked, wrong secret and expired: the refusal must not help guessing.
    const refused = () => this.unauthorized('the Flotilla token is unknown, revoked or expired');
    if (!ok || !record) throw refused();
    if (record.expiresAt !== undefined && !(record.expiresAt > this.now())) throw refused();
    if (record.user === 'admin') throw refused();
    const user = this.mirror.user(record.user);
    if (!user || user.status?.state === 'Disabled') throw refused();
    const groups = (user.spec?.groups ?? []).filter((g): g is string => typeof g === 'string' && !g.startsWith('system:'));
    return { user: record.user, groups, tokenId: name, via: 'token' };
  }

  private presented(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    if (header.startsWith('Bearer ')) return header.slice(7).trim();
    if (header.startsWith('Basic ') && isBrowsable(pathOf(req))) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 ? decoded.slice(colon + 1) : undefined;
    }
    return undefined;
  }

  private unauthorized(why: string): FlotillaError {
    const oidc = this.oidc ? `, an OIDC token from ${this.oidc.issuer}` : '';
    return new FlotillaError(
      ErrorReason.Unauthorized,
      `Unauthorized: ${why}: send "Authorization: Bearer <token>" with a Flotilla token (flt_...)${oidc} or the admin token (FLOTILLA_ADMIN_TOKEN)`,
    );
  }
}
