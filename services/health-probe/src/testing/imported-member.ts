import { CLUSTER_API_VERSION, type Cluster } from '@flotilla/domain';
import type { TestRegistry } from './test-registry';

/** What is used of the Kubernetes API emulator (a test-only library, which this folder may not import). */
interface Members<H extends { kubeSystemUid: string; kubeconfig(user: 'admin'): string }> {
  addCluster(spec: { name: string; flavour: 'kubeadm' | 'eks' | 'ack'; nodes: { name: string; zone: string; region: string }[] }): Promise<H>;
}

export interface ImportedMemberOptions {
  flavour?: 'kubeadm' | 'eks' | 'ack';
  /** Nodes `<name>-n1`, `<name>-n2`, … in zones z-a, z-b (alternating), region r-1 (default 1). */
  nodes?: number;
  /** The kube-system UID recorded at import (default: the member's own). */
  uid?: string;
  annotations?: Record<string, string>;
}

/**
 * An emulated member registered as the import leaves it: the cluster with its kubeconfig, then
 * Initialized=True, Ready=True and the kube-system UID (the import job's part).
 */
export async function importedMember<H extends { kubeSystemUid: string; kubeconfig(user: 'admin'): string }>(emu: Members<H>, registry: TestRegistry, name: string, opts: ImportedMemberOptions = {}): Promise<H> {
  const nodes = Array.from({ length: opts.nodes ?? 1 }, (_, i) => ({ name: `${name}-n${i + 1}`, zone: i % 2 === 0 ? 'z-a' : 'z-b', region: 'r-1' }));
  const h = await emu.addCluster({ name, flavour: opts.flavour ?? 'eks', nodes });
  const c: Cluster = {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, annotations: opts.annotations ?? {} },
    spec: { provider: 'generic', connection: { type: 'direct', kubeconfig: h.kubeconfig('admin') } },
  };
  await registry.create(c);
  await registry.writeStatus(name, {
    uid: opts.uid ?? h.kubeSystemUid,
    conditions: [
      { type: 'Initialized', status: 'True', reason: 'Imported', message: 'imported' },
      { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'imported' },
    ],
  });
  return h;
}
