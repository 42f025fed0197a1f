import { Inject, Injectable } from '@nestjs/common';
import { Cluster, ConnectionType, ImportAnnotations, PatchType } from '@flotilla/domain';
import { clusterFromProto } from '@flotilla/contracts';
import { ImportCheckOptions, parseForImport } from '@flotilla/kube';
import { CONFIG, REGISTRY_CLIENT, RegistryClient } from '@flotilla/service-kit';
import type { ImportEdgeConfig } from './import-config';

/** The import options a Cluster's annotations and this Flotilla's configuration give. */
export function importOptions(cluster: Cluster, config: ImportEdgeConfig, kubeconfig: string): ImportCheckOptions {
  const annotations = cluster.metadata.annotations ?? {};
  return {
    name: cluster.metadata.name,
    kubeconfig,
    context: annotations[ImportAnnotations.context] || undefined,
    allowInsecureSkipTlsVerify: annotations[ImportAnnotations.allowInsecureSkipTlsVerify] === 'true',
    allowProxyUrl: config.FLOTILLA_ALLOW_PROXY_URL,
    serverAllowList: config.FLOTILLA_SERVER_ALLOW_LIST,
    connectTimeoutMs: config.IMPORT_CONNECT_TIMEOUT_MS,
    hostId: config.FLOTILLA_HOST_ID,
    needServiceAccount: annotations[ImportAnnotations.credentials] === 'service-account',
  };
}

/** Refuses hostile kubeconfigs at the REST edge, before anything is stored or any connection made. */
@Injectable()
export class KubeconfigGuard {
  constructor(
    @Inject(CONFIG) private readonly config: ImportEdgeConfig,
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
  ) {}

  async check(cluster: Cluster): Promise<void> {
    const kubeconfig = cluster.spec.connection.kubeconfig;
    if (cluster.spec.connection.type !== ConnectionType.Direct || !kubeconfig) return;
    await parseForImport(importOptions(cluster, this.config, kubeconfig));
  }

  /** DELETE ?force=true: tells the removal job not to wait for an unreachable member. */
  async forceRemoval(name: string): Promise<Cluster> {
    const patch = JSON.stringify({ metadata: { annotations: { [ImportAnnotations.forceRemoval]: 'true' } } });
    return clusterFromProto(await this.registry.patchCluster({ name, patchType: PatchType.Merge, patch }));
  }
}
