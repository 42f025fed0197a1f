import { CLUSTER_API_VERSION, IMPORT_JOB_KIND, ImportJob, ImportJobState, ImportJobStep, ImportJobType } from '@flotilla/domain';
import type * as pb from './generated/flotilla/registry/v1/imports';

export function importJobToProto(job: ImportJob): pb.ImportJob {
  const s = job.status;
  return {
    name: job.metadata.name,
    type: job.spec.type,
    clusterName: job.spec.clusterName,
    clusterUid: job.spec.clusterUid,
    state: s.state,
    step: s.step,
    percent: s.percent,
    message: s.message ?? '',
    steps: s.steps.map((st) => ({ name: st.name, state: st.state, message: st.message ?? '', time: st.time })),
    orphans: (s.orphans ?? []).map((o) => ({ kind: o.kind, namespace: o.namespace ?? '', name: o.name, reason: o.reason })),
    warnings: s.warnings ?? [],
    startTime: s.startTime ?? '',
    completionTime: s.completionTime ?? '',
    resourceVersion: job.metadata.resourceVersion ?? '',
    creationTimestamp: job.metadata.creationTimestamp ?? '',
  };
}

export function importJobFromProto(p: pb.ImportJob): ImportJob {
  const job: ImportJob = {
    apiVersion: CLUSTER_API_VERSION,
    kind: IMPORT_JOB_KIND,
    metadata: { name: p.name ?? '', labels: { 'cluster.kubesphere.io/name': p.clusterName ?? '' } },
    spec: { type: (p.type ?? 'import') as ImportJobType, clusterName: p.clusterName ?? '', clusterUid: p.clusterUid ?? '' },
    status: {
      state: (p.state || 'Pending') as ImportJobState,
      step: p.step ?? '',
      percent: p.percent ?? 0,
      steps: (p.steps ?? []).map((st) => ({ name: st.name ?? '', state: (st.state ?? 'Running') as ImportJobStep['state'], ...(st.message ? { message: st.message } : {}), time: st.time ?? '' })),
    },
  };
  if (p.resourceVersion) job.metadata.resourceVersion = p.resourceVersion;
  if (p.creationTimestamp) job.metadata.creationTimestamp = p.creationTimestamp;
  if (p.message) job.status.message = p.message;
  if (p.orphans && p.orphans.length > 0) job.status.orphans = p.orphans.map((o) => ({ kind: o.kind ?? '', ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name ?? '', reason: o.reason ?? '' }));
  if (p.warnings && p.warnings.length > 0) job.status.warnings = p.warnings;
  if (p.startTime) job.status.startTime = p.startTime;
  if (p.completionTime) job.status.completionTime = p.completionTime;
  return job;
}
