import { isObject, type Json } from './causes';

export interface WorkloadSummary {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  /** Deployment, StatefulSet, DaemonSet: rolled out and available; Job: Complete; other kinds: the object exists. */
  ready: boolean;
  /** Set when the workload will not get ready by itself: a Job that Failed, a Deployment past its progress deadline. */
  failed?: boolean;
  /** Why not ready, when known (e.g. "ProgressDeadlineExceeded", "BackoffLimitExceeded"). */
  reason?: string;
  message?: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined);
const obj = (v: unknown): Json => (isObject(v) ? v : {});

function conditions(status: Json): Json[] {
  return Array.isArray(status.conditions) ? status.conditions.filter(isObject) : [];
}

function condition(status: Json, type: string): Json | undefined {
  return conditions(status).find((c) => c.type === type);
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v.slice(0, 1024) : undefined);

/** Whether the controller has seen the current spec (status.observedGeneration ≥ metadata.generation; no generation: yes). */
function observed(o: Json, status: Json): boolean {
  const generation = num(obj(o.metadata).generation);
  if (generation === undefined) return true;
  const seen = num(status.observedGeneration);
  return seen !== undefined && seen >= generation;
}

function deployment(o: Json): WorkloadSummary {
  const status = obj(o.status);
  const replicas = num(obj(o.spec).replicas) ?? 1;
  const readyReplicas = num(status.readyReplicas) ?? 0;
  const availableReplicas = num(status.availableReplicas) ?? 0;
  const updated = num(status.updatedReplicas) ?? 0;
  const total = num(status.replicas) ?? 0;
  const base = { replicas, readyReplicas, availableReplicas };
  const progressing = condition(status, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { ...base, ready: false, failed: true, reason: 'ProgressDeadlineExceeded', message: text(progressing.message) };
  }
  // kubectl rollout status: observed, all updated, no old replicas left, all updated available.
  if (!observed(o, status)) return { ...base, ready: false, reason: 'NotObserved', message: 'the member has not yet seen the current spec' };
  if (updated < replicas) return { ...base, ready: false, reason: 'RollingOut', message: `${updated} of ${replicas} replicas updated` };
  if (total > updated) return { ...base, ready: false, reason: 'RollingOut', message: `${total - updated} old replicas pending termination` };
  if (availableReplicas < replicas) return { ...base, ready: false, reason: 'NotAvailable', message: `${availableReplicas} of ${replicas} replicas available` };
  return { ...base, ready: true };
}

function statefulSet(o: Json): WorkloadSummary {
  const status = obj(o.status);
  const replicas = num(obj(o.spec).replicas) ?? 1;
  const readyReplicas = num(status.readyReplicas) ?? 0;
  const availableReplicas = num(status.availableReplicas) ?? readyReplicas;
  const base = { replicas, readyReplicas, availableReplicas };
  if (!observed(o, status)) return { ...base, ready: false, reason: 'NotObserved', message: 'the member has not yet seen the current spec' };
  const updated = num(status.updatedReplicas);
  if (updated !== undefined && updated < replicas) return { ...base, ready: false, reason: 'RollingOut', message: `${updated} of ${replicas} replicas updated` };
  if (readyReplicas < replicas) return { ...base, ready: false, reason: 'NotReady', message: `${readyReplicas} of ${replicas} replicas ready` };
  if (availableReplicas < replicas) return { ...base, ready: false, reason: 'NotAvailable', message: `${availableReplicas} of ${replicas} replicas available` };
  return { ...base, ready: true };
}

function daemonSet(o: Json): WorkloadSummary {
  const status = obj(o.status);
  const replicas = num(status.desiredNumberScheduled) ?? 0;
  const readyReplicas = num(status.numberReady) ?? 0;
  const availableReplicas = num(status.numberAvailable) ?? 0;
  const base = { replicas, readyReplicas, availableReplicas };
  if (!observed(o, status) || status.desiredNumberScheduled === undefined) {
    return { ...base, ready: false, reason: 'NotObserved', message: 'the member has not yet seen the current spec' };
  }
  const updated = num(status.updatedNumberScheduled);
  if (updated !== undefined && updated < replicas) return { ...base, ready: false, reason: 'RollingOut', message: `${updated} of ${replicas} pods updated` };
  if (availableReplicas < replicas) return { ...base, ready: false, reason: 'NotAvailable', message: `${availableReplicas} of ${replicas} pods available` };
  return { ...base, ready: true };
}

function job(o: Json): WorkloadSummary {
  const status = obj(o.status);
  const failed = condition(status, 'Failed');
  if (failed?.status === 'True') return { ready: false, failed: true, reason: text(failed.reason) ?? 'Failed', message: text(failed.message) };
  const complete = condition(status, 'Complete');
  if (complete?.status === 'True') return { ready: true };
  const succeeded = num(status.succeeded) ?? 0;
  const completions = num(obj(o.spec).completions) ?? 1;
  return { ready: false, reason: 'Running', message: `${succeeded} of ${completions} completions succeeded` };
}

/**
 * A member workload's status, summarised for the federated object's status.clusters[] (replicas,
 * ready and available) and its Ready condition, as `kubectl rollout status` judges it: Deployment
 * (spec.replicas against updated, available and ready replicas, once observedGeneration is
 * current), StatefulSet, DaemonSet (desiredNumberScheduled, numberReady, numberAvailable), Job
 * (its Complete or Failed condition). Any other kind is ready when it exists. `memberObject`
 * undefined: the object is not in the member.
 */
export function summariseWorkload(kind: string, memberObject: Record<string, unknown> | undefined | null): WorkloadSummary {
  if (!isObject(memberObject)) return { ready: false, reason: 'NotFound', message: 'the object is not in the member' };
  switch (kind) {
    case 'Deployment':
      return deployment(memberObject);
    case 'StatefulSet':
      return statefulSet(memberObject);
    case 'DaemonSet':
      return daemonSet(memberObject);
    case 'Job':
      return job(memberObject);
    default:
      return { ready: true };
  }
}
