import { isDeepStrictEqual } from 'node:util';
import { ClusterCondition, ClusterErrors, ClusterStatus, ConditionStatus, ErrorCause, setCondition } from '@flotilla/domain';

const CONDITION_STATUSES: ConditionStatus[] = ['True', 'False', 'Unknown'];

/** Refuses a status write with Invalid, naming each bad field. */
export function validateStatus(name: string, status: ClusterStatus): void {
  const causes: ErrorCause[] = [];
  const seen = new Set<string>();
  (status.conditions ?? []).forEach((c, i) => {
    if (!c.type) causes.push({ reason: 'FieldValueRequired', field: `status.conditions[${i}].type`, message: 'Required value' });
    else if (seen.has(c.type)) causes.push({ reason: 'FieldValueDuplicate', field: `status.conditions[${i}].type`, message: `Duplicate value: "${c.type}"` });
    seen.add(c.type);
    if (!CONDITION_STATUSES.includes(c.status)) {
      causes.push({ reason: 'FieldValueNotSupported', field: `status.conditions[${i}].status`, message: 'supported values: "True", "False", "Unknown"' });
    }
  });
  if (status.nodeCount !== undefined && (!Number.isInteger(status.nodeCount) || status.nodeCount < 0)) {
    causes.push({ reason: 'FieldValueInvalid', field: 'status.nodeCount', message: 'must be a non-negative whole number' });
  }
  if (causes.length > 0) throw ClusterErrors.invalid(name, causes);
}

/**
 * The status to store after a write of `incoming` over `current`. Condition times follow
 * Kubernetes: a condition whose status, reason and message are unchanged keeps its times, and
 * lastTransitionTime moves only when its status changes. Returns undefined when nothing changes.
 */
export function nextStatus(current: ClusterStatus, incoming: ClusterStatus, now: Date): ClusterStatus | undefined {
  let conditions: ClusterCondition[] | undefined = current.conditions;
  const same = (a: ClusterCondition, b: ClusterCondition | undefined) =>
    b !== undefined && a.status === b.status && (a.reason ?? '') === (b.reason ?? '') && (a.message ?? '') === (b.message ?? '');
  const changed = (incoming.conditions ?? []).filter((c) => !same(c, current.conditions?.find((p) => p.type === c.type)));
  for (const c of changed) conditions = setCondition(conditions, c, now);
  const next: ClusterStatus = { ...incoming };
  if (conditions && conditions.length > 0) next.conditions = conditions;
  else delete next.conditions;
  return isDeepStrictEqual(next, current) ? undefined : next;
}
