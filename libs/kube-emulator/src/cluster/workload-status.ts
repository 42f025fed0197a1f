/**
 * The status a real workload controller writes (kube-controller-manager v1.26: deployment,
 * statefulset, daemonset and job controllers), computed from the object and an outcome:
 * `progressing` (just observed, pods not ready yet), `ready` or `failed`. Keys come in the
 * order of the Go structs, zero values of omitempty fields are left out, as on the wire.
 */
import { isObject, type JsonObject, type JsonValue, nowTimestamp, obj, str } from '@flotilla/apply';
import { createHash } from 'node:crypto';

export type WorkloadPhase = 'progressing' | 'ready' | 'failed';
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';

const num = (v: JsonValue | undefined, dflt = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : dflt);

/** Drops the omitempty fields whose value is zero (or undefined). */
function omitZero(o: Record<string, JsonValue | undefined>, omitEmpty: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (omitEmpty.includes(k) && (v === 0 || v === '')) continue;
    out[k] = v;
  }
  return out;
}

/** The hash the controllers put in ReplicaSet and ControllerRevision names (SafeEncodeString alphabet). */
export function templateHash(template: JsonValue | undefined): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(JSON.stringify(template ?? null)).digest();
  let s = '';
  for (let i = 0; i < 10; i++) s += alphabet[digest[i] % alphabet.length];
  return s;
}

interface Condition extends JsonObject {
  type: string;
  status: string;
}

/**
 * SetDeploymentCondition's rules: the same status and reason leave the condition (and its place)
 * alone; a new reason with the same status keeps lastTransitionTime; a change goes to the end.
 */
function setCondition(conditions: JsonValue[], next: Condition): JsonValue[] {
  const cur = conditions.find((c) => obj(c)?.type === next.type);
  const curObj = obj(cur);
  if (curObj && curObj.status === next.status && curObj.reason === next.reason) return conditions;
  const c: JsonObject = { ...next };
  if (curObj && curObj.status === next.status && curObj.lastTransitionTime !== undefined) c.lastTransitionTime = curObj.lastTransitionTime;
  return [...conditions.filter((x) => obj(x)?.type !== next.type), c];
}

function deploymentCondition(type: string, status: string, reason: string, message: string, now: string): Condition {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

/** maxUnavailable of a rolling update, resolved against the replica count (percentages round down). */
export function maxUnavailable(spec: JsonObject, replicas: number): number {
  const strategy = obj(spec.strategy);
  if (str(strategy?.type) === 'Recreate' || replicas === 0) return 0;
  const v = obj(strategy?.rollingUpdate)?.maxUnavailable ?? '25%';
  const n = typeof v === 'string' && v.endsWith('%') ? Math.floor((replicas * Number(v.slice(0, -1))) / 100) : num(v, 0);
  return Math.min(Math.max(0, n), replicas);
}

export function deploymentStatus(o: JsonObject, phase: WorkloadPhase): JsonObject {
  const spec = obj(o.spec) ?? {};
  const prev = obj(o.status) ?? {};
  const desired = num(spec.replicas, 1);
  const name = str(obj(o.metadata)?.name) ?? '';
  const rs = `${name}-${templateHash(spec.template)}`;
  const prevReady = Math.min(num(prev.readyReplicas), desired);
  const ready = phase === 'ready' ? desired : phase === 'failed' ? 0 : prevReady;
  const now = nowTimestamp();
  let conditions: JsonValue[] = Array.isArray(prev.conditions) ? prev.conditions : [];
  conditions =
    ready >= desired - maxUnavailable(spec, desired)
      ? setCondition(conditions, deploymentCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now))
      : setCondition(conditions, deploymentCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now));
  if (phase === 'ready') conditions = setCondition(conditions, deploymentCondition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs}" has successfully progressed.`, now));
  else if (phase === 'failed') conditions = setCondition(conditions, deploymentCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rs}" has timed out progressing.`, now));
  else conditions = setCondition(conditions, deploymentCondition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`, now));
  return omitZero(
    {
      observedGeneration: num(obj(o.metadata)?.generation, 1),
      replicas: desired,
      updatedReplicas: desired,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: desired - ready,
      conditions,
    },
    ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'],
  );
}

export function statefulSetStatus(o: JsonObject, phase: WorkloadPhase): JsonObject {
  const spec = obj(o.spec) ?? {};
  const prev = obj(o.status) ?? {};
  const desired = num(spec.replicas, 1);
  const revision = `${str(obj(o.metadata)?.name) ?? ''}-${templateHash(spec.template)}`;
  const prevReady = Math.min(num(prev.readyReplicas), desired);
  const ready = phase === 'ready' ? desired : phase === 'failed' ? 0 : prevReady;
  const done = phase === 'ready';
  const current = done ? revision : (str(prev.currentRevision) ?? revision);
  return omitZero(
    {
      observedGeneration: num(obj(o.metadata)?.generation, 1),
      replicas: desired,
      readyReplicas: ready,
      currentReplicas: desired,
      updatedReplicas: current === revision ? desired : 0,
      currentRevision: current,
      updateRevision: revision,
      collisionCount: 0,
      availableReplicas: ready,
    },
    ['observedGeneration', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'currentRevision', 'updateRevision'],
  );
}

/** Whether a node's labels satisfy a pod template's nodeSelector. */
export function nodeMatches(template: JsonValue | undefined, labels: JsonValue | undefined): boolean {
  const selector = obj(obj(obj(template)?.spec)?.nodeSelector) ?? {};
  const l = isObject(labels) ? labels : {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

export function daemonSetStatus(o: JsonObject, phase: WorkloadPhase, nodes: number): JsonObject {
  const prev = obj(o.status) ?? {};
  const prevReady = Math.min(num(prev.numberReady), nodes);
  const ready = phase === 'ready' ? nodes : phase === 'failed' ? 0 : prevReady;
  return omitZero(
    {
      currentNumberScheduled: nodes,
      numberMisscheduled: 0,
      desiredNumberScheduled: nodes,
      numberReady: ready,
      observedGeneration: num(obj(o.metadata)?.generation, 1),
      updatedNumberScheduled: nodes,
      numberAvailable: ready,
      numberUnavailable: nodes - ready,
    },
    ['observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'],
  );
}

export function jobStatus(o: JsonObject, phase: WorkloadPhase): JsonObject {
  const spec = obj(o.spec) ?? {};
  const prev = obj(o.status) ?? {};
  const now = nowTimestamp();
  const startTime = str(prev.startTime) ?? now;
  if (phase === 'progressing') {
    return { startTime, active: num(spec.parallelism, 1), uncountedTerminatedPods: {}, ready: 0 };
  }
  if (phase === 'failed') {
    return {
      conditions: [{ type: 'Failed', status: 'True', lastProbeTime: now, lastTransitionTime: now, reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }],
      startTime,
      failed: num(spec.backoffLimit, 6) + 1,
      uncountedTerminatedPods: {},
      ready: 0,
    };
  }
  return {
    conditions: [{ type: 'Complete', status: 'True', lastProbeTime: now, lastTransitionTime: now }],
    startTime,
    completionTime: now,
    succeeded: num(spec.completions, 1),
    uncountedTerminatedPods: {},
    ready: 0,
  };
}

/** A Job whose controller is done with it (Complete or Failed). */
export function jobFinished(o: JsonObject): boolean {
  const conditions = obj(o.status)?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => (obj(c)?.type === 'Complete' || obj(c)?.type === 'Failed') && obj(c)?.status === 'True');
}
