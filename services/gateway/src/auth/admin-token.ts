import type { NextFunction, Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { OPEN_PATHS, toKubeStatus } from '@flotilla/service-kit';

/** Paths where a browser may authenticate with HTTP Basic (password = the token), so /docs can be browsed. */
const BROWSABLE = ['/docs', '/openapi.json'];

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Authenticates every request but the health and metrics endpoints. The admin token is held
 * only as a hash, and compared in constant time.
 */
export class AdminTokenAuthenticator {
  private readonly hash: Buffer;

  constructor(token: string) {
    this.hash = sha256(token);
  }

  private presented(req: Request): string | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    if (header.startsWith('Bearer ')) return header.slice(7).trim();
    if (header.startsWith('Basic ') && BROWSABLE.some((p) => req.path === p || req.path.startsWith(`${p}/`))) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon >= 0 ? decoded.slice(colon + 1) : undefined;
    }
    return undefined;
  }

  verify(token: string | undefined): boolean {
    return token !== undefined && token.length > 0 && timingSafeEqual(sha256(token), this.hash);
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (OPEN_PATHS.includes(req.path)) return next();
      if (this.verify(this.presented(req))) return next();
      const browsable = BROWSABLE.some((p) => req.path === p || req.path.startsWith(`${p}/`));
      res.setHeader('WWW-Authenticate', browsable ? 'Basic realm="flotilla", charset="UTF-8"' : 'Bearer realm="flotilla"');
      const status = toKubeStatus(
        new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: send the admin token as "Authorization: Bearer <FLOTILLA_ADMIN_TOKEN>"'),
      );
      res.status(401).type('application/json').send(JSON.stringify(status));
    };
  }
}
