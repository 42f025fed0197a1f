/**
 * Import and removal of clusters (issue 4): the annotations a user sets on a Cluster to steer
 * its import, the finalizer that makes DELETE an unbind, and the job resource the REST API shows.
 */

/** Added to every cluster at create; the removal job takes it off once the member is unbound. */
export const UNBIND_FINALIZER = 'cluster.flotilla.io/unbind';

export const ImportAnnotations = {
  /** Use this kubeconfig context instead of current-context. */
  context: 'import.flotilla.io/context',
  /** "true" allows insecure-skip-tls-verify; kept on the cluster as the record of that choice. */
  allowInsecureSkipTlsVerify: 'import.flotilla.io/allow-insecure-skip-tls-verify',
  /** "service-account": replace the given kubeconfig with a lasting service-account token kubeconfig. */
  credentials: 'import.flotilla.io/credentials',
  /** "true": on DELETE, finish the host-side removal at once when the member does not answer. */
  forceRemoval: 'import.flotilla.io/force-removal',
  /** "true": on DELETE, also remove the federated resources Flotilla propagated to the member. */
  removeFederatedResources: 'import.flotilla.io/remove-federated-resources',
} as const;

export const SERVICE_ACCOUNT_CREDENTIALS = 'service-account';

/** Label holding the member's kube-system UID, so a duplicate import is found with a label selector. */
export const MEMBER_UID_LABEL = 'cluster.flotilla.io/member-uid';

export const IMPORT_JOB_KIND = 'ImportJob';
export const IMPORT_JOB_LIST_KIND = 'ImportJobList';

export type ImportJobType = 'import' | 'remove';
export type ImportJobState = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface ImportJobStep {
  name: string;
  state: 'Running' | 'Succeeded' | 'Failed' | 'Skipped';
  message?: string;
  time: string;
}

/** Something Flotilla left in a member because it could not remove it (never dropped silently). */
export interface ImportJobOrphan {
  kind: string;
  namespace?: string;
  name: string;
  reason: string;
}

/** The job resource: one per cluster uid and type, kept after the cluster is gone. */
export interface ImportJob {
  apiVersion: string;
  kind: typeof IMPORT_JOB_KIND;
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec: { type: ImportJobType; clusterName: string; clusterUid: string };
  status: {
    state: ImportJobState;
    step: string;
    percent: number;
    message?: string;
    steps: ImportJobStep[];
    orphans?: ImportJobOrphan[];
    warnings?: string[];
    startTime?: string;
    completionTime?: string;
  };
}

export const importJobName = (type: ImportJobType, clusterUid: string) => `${type}-${clusterUid}`;
