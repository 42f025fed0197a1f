import { Injectable } from '@nestjs/common';
import { ProviderAdapter, ProviderContext, isPrivateHost, topology } from '../provider';

/** kubeadm: admin.conf with client certificates; kube-system/kubeadm-config is its fingerprint. */
@Injectable()
export class KubeadmProvider implements ProviderAdapter {
  readonly name = 'kubeadm';

  async detect(ctx: ProviderContext): Promise<boolean> {
    const r = await ctx.client.request('GET', '/api/v1/namespaces/kube-system/configmaps/kubeadm-config');
    return r.status === 200;
  }

  prefersServiceAccount(): boolean {
    return false;
  }

  describe(ctx: ProviderContext) {
    const warnings: string[] = [];
    const server = ctx.facts.resolved.server;
    if (isPrivateHost(server)) {
      warnings.push(`the API server address ${new URL(server).host} is private or loopback: it may not be reachable from the Flotilla host in production; use an address the host can reach`);
    }
    if (ctx.facts.resolved.auth.type !== 'clientCertificate') {
      warnings.push('kubeadm clusters usually authenticate admin.conf with client certificates; this kubeconfig does not');
    }
    return { ...topology(ctx), warnings };
  }
}
