import { Inject, Injectable } from '@nestjs/common';
import { PROVIDER_ADAPTERS, ProviderAdapter, ProviderContext } from './provider';

/** Picks the adapter: spec.provider when it names a known one, else the first that detects (generic last). */
@Injectable()
export class ProviderRegistry {
  constructor(@Inject(PROVIDER_ADAPTERS) private readonly adapters: ProviderAdapter[]) {}

  async pick(ctx: ProviderContext, requested: string | undefined): Promise<{ adapter: ProviderAdapter; detected: string }> {
    let detected = 'generic';
    for (const a of this.adapters) {
      if (await a.detect(ctx)) {
        detected = a.name;
        break;
      }
    }
    const chosen = this.adapters.find((a) => a.name === (requested || detected)) ?? this.adapters.find((a) => a.name === 'generic')!;
    return { adapter: chosen, detected };
  }
}
