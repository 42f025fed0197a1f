import { ClusterCondition, ClusterConditionType, ClusterStatus } from '../cluster/cluster';
import { HealthState, IDENTITY_MISMATCH_CONDITION, ProbeObservation } from './health';

export interface ProbeStatusInput {
  /** The status as the registry holds it. */
  current: ClusterStatus | undefined;
  /** The hysteresis state after this probe. */
  health: HealthState;
  observation: ProbeObservation;
  /** Whether this probe found an identity mismatch (kube-system UID differs from status.uid). */
  identityMismatch: boolean;
  /** Whether the kubeconfig's client certificate expires within seven days; undefined when it has none. */
  certExpiresSoon?: boolean;
  certNotAfter?: Date;
}

/**
 * The status the registry should hold after a probe. Facts (version, nodes, zones, region)
 * are taken from successful probes only, so a failed probe never blanks them; the recorded
 * identity (status.uid) is set from the first UID seen and never overwritten here.
 * Conditions carry no timestamps: the registry sets them, and only when something changed.
 */
export function statusAfterProbe(input: ProbeStatusInput): ClusterStatus {
  const { current, health, observation: o } = input;
  const next: ClusterStatus = { ...(current ?? {}) };
  const conditions: ClusterCondition[] = (current?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }));
  const put = (c: ClusterCondition) => {
    const i = conditions.findIndex((x) => x.type === c.type);
    if (i >= 0) conditions[i] = c;
    else conditions.push(c);
  };
  if (health.ready !== 'Unknown') put({ type: ClusterConditionType.Ready, status: health.ready, reason: health.reason, message: health.message });
  const success = o.reachable && o.readinessStatus === 200 && o.httpStatus === undefined && !input.identityMismatch;
  if (success) {
    if (o.kubernetesVersion) next.kubernetesVersion = o.kubernetesVersion;
    if (o.nodeCount !== undefined) next.nodeCount = o.nodeCount;
    if (o.zones) next.zones = o.zones;
    if (o.region) next.region = o.region;
    if (!next.uid && o.kubeSystemUid) next.uid = o.kubeSystemUid;
  }
  const hadMismatch = current?.conditions?.some((c) => c.type === IDENTITY_MISMATCH_CONDITION && c.status === 'True') ?? false;
  if (input.identityMismatch) {
    put({
      type: IDENTITY_MISMATCH_CONDITION,
      status: 'True',
      reason: 'KubeSystemUIDChanged',
      message: `The endpoint answers with kube-system UID ${o.kubeSystemUid ?? '?'} but this cluster was imported as ${current?.uid ?? '?'}; syncs to it are stopped.`,
    });
  } else if (hadMismatch && success && o.kubeSystemUid) {
    put({ type: IDENTITY_MISMATCH_CONDITION, status: 'False', reason: 'KubeSystemUIDMatches', message: 'The endpoint answers for the imported cluster again.' });
  }
  if (input.certExpiresSoon !== undefined) {
    put({
      type: ClusterConditionType.KubeConfigCertExpiresInSevenDays,
      status: input.certExpiresSoon ? 'True' : 'False',
      reason: input.certExpiresSoon ? 'CertificateExpiresSoon' : 'CertificateValid',
      message: input.certExpiresSoon
        ? `The kubeconfig's client certificate expires at ${input.certNotAfter?.toISOString() ?? '?'}; rotate it before then.`
        : 'The kubeconfig\'s client certificate is valid for more than seven days.',
    });
  }
  next.conditions = conditions;
  return next;
}

/** Whether two statuses differ in anything the registry stores (condition timestamps ignored). */
export function statusDiffers(a: ClusterStatus | undefined, b: ClusterStatus | undefined): boolean {
  const norm = (s: ClusterStatus | undefined) => {
    // lastProbeTime is not part of the stored status (ADR 0021): it never makes a write.
    const { conditions, lastProbeTime: _lastProbeTime, ...rest } = s ?? {};
    const c = [...(conditions ?? [])]
      .map((x) => [x.type, x.status, x.reason ?? '', x.message ?? ''])
      // Plain code-unit order (localeCompare cost a replica about 1% of its CPU, once per probe).
      .sort((p, q) => (p[0]! < q[0]! ? -1 : p[0]! > q[0]! ? 1 : 0));
    const r: Record<string, unknown> = {};
    for (const k of Object.keys(rest).sort()) {
      const v = (rest as Record<string, unknown>)[k];
      if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
      r[k] = v;
    }
    return JSON.stringify([c, r]);
  };
  return norm(a) !== norm(b);
}
