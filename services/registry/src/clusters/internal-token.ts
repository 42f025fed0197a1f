import { Metadata } from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorReason, FlotillaError } from '@flotilla/domain';

export const INTERNAL_TOKEN_CHECK = Symbol('registry.internal-token-check');

/** Checks the internal token on calls that return secrets. Holds only the token's hash. */
export class InternalTokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = createHash('sha256').update(token).digest();
  }

  assert(metadata: Metadata | undefined): void {
    const header = metadata?.get('authorization')[0];
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    const digest = createHash('sha256').update(presented).digest();
    if (!presented || !timingSafeEqual(digest, this.expected)) {
      throw new FlotillaError(ErrorReason.Unauthorized, 'this call needs the internal token in the authorization metadata (Bearer <FLOTILLA_INTERNAL_TOKEN>)');
    }
  }
}
