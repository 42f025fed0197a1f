import { Injectable } from '@nestjs/common';
import { ProviderAdapter, ProviderContext, topology } from '../provider';

/**
 * Amazon EKS: "-eks-" versions, eks.amazonaws.com node labels, *.eks.amazonaws.com endpoints.
 * EKS hands out exec-plugin kubeconfigs (aws eks get-token), which Flotilla refuses; the way
 * through is a temporary token kubeconfig plus the service-account path (docs/import.md).
 */
@Injectable()
export class AwsEksProvider implements ProviderAdapter {
  readonly name = 'aws-eks';

  detect(ctx: ProviderContext): boolean {
    const { facts } = ctx;
    return (
      /-eks-/.test(facts.gitVersion) ||
      /\.eks\.amazonaws\.com$/i.test(new URL(facts.resolved.server).hostname) ||
      facts.nodes.some((n) => Object.keys(n.labels).some((k) => k.startsWith('eks.amazonaws.com/')) || (n.providerID ?? '').startsWith('aws://'))
    );
  }

  /** Tokens from aws eks get-token last 15 minutes: never store one. */
  prefersServiceAccount(): boolean {
    return true;
  }

  describe(ctx: ProviderContext) {
    return { ...topology(ctx), warnings: [] };
  }
}
