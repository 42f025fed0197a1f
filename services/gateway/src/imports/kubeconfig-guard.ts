import { Inject, Injectable } from '@nestjs/common';
import { Cluster, ConnectionType, ImportAnnotations, PatchType } from '@flotilla/domain';
import { needsPolicyDecision, offlineKubeconfigCheck } from '@flotilla/kube';
import { IMPORT_CLIENT, ImportClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';

/**
 * Refuses hostile kubeconfigs at the REST edge, before anything is stored or any connection made.
 * The gateway applies the rules that need no policy and no network itself (offlineKubeconfigCheck),
 * and asks provider-import, the one owner of the import policy, whenever the policy could change
 * the verdict (a host name, a proxy, http://, a refusable address): ADR 0027.
 */
@Injectable()
export class KubeconfigGuard {
  constructor(
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(IMPORT_CLIENT) private readonly imports: ImportClient,
  ) {}

  /** POST and PUT of a cluster: the offline rules, then the import policy where it matters. */
  async check(cluster: Cluster): Promise<void> {
    const kubeconfig = cluster.spec.connection.kubeconfig;
    if (cluster.spec.connection.type !== ConnectionType.Direct || !kubeconfig) return;
    const resolved = this.offline(cluster, kubeconfig);
    if (needsPolicyDecision(resolved)) await this.imports.checkKubeconfig(cluster);
  }

  /** The rules that need no policy and no network; throws Invalid naming the kubeconfig field. */
  offline(cluster: Cluster, kubeconfig: string) {
    return offlineKubeconfigCheck(cluster, kubeconfig);
  }

  /** DELETE ?force=true: tells the removal job not to wait for an unreachable member. */
  async forceRemoval(name: string): Promise<Cluster> {
    const patch = JSON.stringify({ metadata: { annotations: { [ImportAnnotations.forceRemoval]: 'true' } } });
    return this.registry.patchCluster(name, PatchType.Merge, patch);
  }
}
