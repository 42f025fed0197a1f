import { type FederatedKindInfo, divideReplicas } from '@flotilla/domain';
import type { MemberObjectRef } from '@flotilla/kube';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** The member object a federated object places (apiVersion/kind from the kind, or from the template for FederatedObject). */
export function memberRef(info: FederatedKindInfo, fed: Json): MemberObjectRef | undefined {
  const meta = obj(fed.metadata);
  const template = obj(obj(fed.spec).template);
  const apiVersion = info.target?.apiVersion ?? (typeof template.apiVersion === 'string' ? template.apiVersion : undefined);
  const kind = info.target?.kind ?? (typeof template.kind === 'string' ? template.kind : undefined);
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  if (!apiVersion || !kind || !name) return undefined;
  // FederatedNamespace places the (cluster-scoped) Namespace; FederatedObject's template is namespaced, ClusterFederatedObject's not.
  const namespaced = info.target ? info.target.namespaced : info.namespaced;
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : undefined;
  return { apiVersion, kind, name, ...(namespaced && namespace ? { namespace } : {}) };
}

/**
 * Replica scheduling: the ReplicaSchedulingPreference's division over the Ready placed clusters,
 * as per-cluster `/spec/replicas` overrides appended to the object's own (so a user override of
 * replicas loses to the preference, as in kubefed). Undefined when no preference applies.
 */
export function replicaOverrides(info: FederatedKindInfo, rsp: Json | undefined, readyPlaced: string[]): Map<string, number> | undefined {
  if (!rsp || !info.replicaScheduling) return undefined;
  const spec = obj(rsp.spec);
  if (spec.targetKind !== info.kind) return undefined;
  return divideReplicas(spec as Parameters<typeof divideReplicas>[0], [...readyPlaced].sort());
}

/** The federated object as memberObjectFor should see it for one cluster: with that cluster's replica count. */
export function withReplicas(fed: Json, cluster: string, replicas: number | undefined): Json {
  if (replicas === undefined) return fed;
  const spec = obj(fed.spec);
  const overrides = Array.isArray(spec.overrides) ? (spec.overrides as Json[]) : [];
  const set = { op: 'add', path: '/spec/replicas', value: replicas };
  let found = false;
  const next = overrides.map((o) => {
    if (o.clusterName !== cluster) return o;
    found = true;
    return { ...o, clusterOverrides: [...(Array.isArray(o.clusterOverrides) ? o.clusterOverrides : []), set] };
  });
  if (!found) next.push({ clusterName: cluster, clusterOverrides: [set] });
  return { ...fed, spec: { ...spec, overrides: next } };
}

/**
 * Whether the member object still holds everything the desired object sets (the member adds
 * defaults and status; metadata other than labels and annotations is the member's). An edit in
 * place (kubectl edit) keeps our hash annotation, so this is how it is found. Lists must keep
 * their length and match element by element.
 */
export function holdsDesired(desired: unknown, member: unknown, top = true): boolean {
  if (top) {
    const d = desired as Json;
    const m = (member ?? {}) as Json;
    const dm = obj(d.metadata);
    const mm = obj(m.metadata);
    for (const [k, v] of Object.entries(d)) {
      if (k === 'metadata' || k === 'status') continue;
      if (!holdsDesired(v, m[k], false)) return false;
    }
    return holdsDesired(dm.labels ?? {}, mm.labels ?? {}, false) && holdsDesired(dm.annotations ?? {}, mm.annotations ?? {}, false);
  }
  if (Array.isArray(desired)) return Array.isArray(member) && member.length === desired.length && desired.every((v, i) => holdsDesired(v, member[i], false));
  if (desired && typeof desired === 'object') {
    if (!member || typeof member !== 'object' || Array.isArray(member)) return false;
    return Object.entries(desired as Json).every(([k, v]) => v === null || holdsDesired(v, (member as Json)[k], false));
  }
  return desired === member;
}
