import { Injectable } from '@nestjs/common';
import { ProviderAdapter, ProviderContext, isPrivateHost, topology } from '../provider';

/** Alibaba Cloud ACK: "-aliyun" versions, alibabacloud.com node labels, *.aliyuncs.com endpoints. */
@Injectable()
export class AliyunAckProvider implements ProviderAdapter {
  readonly name = 'aliyun-ack';

  detect(ctx: ProviderContext): boolean {
    const { facts } = ctx;
    return (
      /aliyun/i.test(facts.gitVersion) ||
      /\.aliyuncs\.com$/i.test(new URL(facts.resolved.server).hostname) ||
      facts.nodes.some((n) => Object.keys(n.labels).some((k) => k.startsWith('alibabacloud.com/')))
    );
  }

  prefersServiceAccount(): boolean {
    return false;
  }

  describe(ctx: ProviderContext) {
    const warnings: string[] = [];
    const server = ctx.facts.resolved.server;
    if (isPrivateHost(server) || /-internal|vpc/i.test(new URL(server).hostname)) {
      warnings.push(
        `the kubeconfig points to ACK's internal (VPC) endpoint ${new URL(server).host}: unless the Flotilla host is in the same VPC, download the kubeconfig for the public endpoint from the ACK console`,
      );
    }
    return { ...topology(ctx), warnings };
  }
}
