import { Injectable } from '@nestjs/common';
import { ProviderAdapter, ProviderContext, isPrivateHost, topology } from '../provider';

/** Any conformant cluster: the fallback when nothing more specific is recognised. */
@Injectable()
export class GenericProvider implements ProviderAdapter {
  readonly name = 'generic';

  detect(): boolean {
    return true;
  }

  prefersServiceAccount(): boolean {
    return false;
  }

  describe(ctx: ProviderContext) {
    const warnings: string[] = [];
    if (isPrivateHost(ctx.facts.resolved.server)) warnings.push(`the API server address ${new URL(ctx.facts.resolved.server).host} is private or loopback: it may not be reachable from other networks`);
    return { ...topology(ctx), warnings };
  }
}
