import { CLUSTER_API_VERSION, CLUSTER_KIND, Cluster, ConnectionType } from '@flotilla/domain';
import type * as pb from './generated/flotilla/import/v1/import';

/**
 * What provider-import's import checks need of a cluster (flotilla.import.v1.ImportCandidate):
 * its name, its annotations (context, insecure-skip-tls-verify choice, credentials path) and the
 * kubeconfig. Nothing else of the cluster crosses.
 */
export function importCandidateToProto(cluster: Cluster, kubeconfig = cluster.spec.connection.kubeconfig ?? ''): pb.ImportCandidate {
  return { name: cluster.metadata.name, annotations: { ...(cluster.metadata.annotations ?? {}) }, kubeconfig };
}

/** The candidate as a direct-connection Cluster, the form libs/kube's importCheckOptions takes. */
export function importCandidateFromProto(p: pb.ImportCandidate | undefined): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: CLUSTER_KIND,
    metadata: { name: p?.name ?? '', annotations: { ...(p?.annotations ?? {}) } },
    spec: { connection: { type: ConnectionType.Direct, kubeconfig: p?.kubeconfig ?? '' } },
  };
}
