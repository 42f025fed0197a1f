/**
 * The controllers a real cluster runs that clients notice, emulated after each write: the
 * namespace controller (default ServiceAccount, kube-root-ca.crt, emptying Terminating namespaces),
 * CRD establishment, the service-account token controller and the garbage collector's finalizers.
 */
import { type JsonObject, type JsonValue, obj, str } from '@flotilla/apply';
import type { ApiServer } from '../api/apiserver';
import type { ResourceDef } from '../api/resources';
import type { ServiceAccountTokens } from './service-account-tokens';

/** What the controllers need from their cluster. */
export interface ControllerHost {
  /** The API state, undefined until the cluster is first used (never creates it). */
  existingApi(): ApiServer | undefined;
  /** A built-in resource. */
  def(group: string, resource: string): ResourceDef;
  /** Built-in resources and those of the cluster's CRDs. */
  allResources(): ResourceDef[];
  readonly caPem: string;
  readonly namespaceDeletionDelayMs: number;
  readonly serviceAccountTokens: ServiceAccountTokens;
}

export class ClusterControllers {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Owner UIDs some object names in its ownerReferences (the garbage collector looks only at those). */
  private readonly owners = new Set<string>();
  /** UIDs of deleted owners. */
  private readonly gone = new Set<string>();

  constructor(private readonly host: ControllerHost) {}

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  afterWrite(def: ResourceDef, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: JsonObject): void {
    const m = obj(o.metadata) ?? {};
    const name = str(m.name) ?? '';
    const ns = str(m.namespace);
    if (def.group === '' && def.resource === 'namespaces') {
      if (type === 'ADDED' && this.host.existingApi()) this.later(() => this.namespaceCreated(name), 0);
      if (type === 'MODIFIED' && m.deletionTimestamp) this.later(() => this.finishNamespace(name), this.host.namespaceDeletionDelayMs);
    } else if (def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions') {
      if (type === 'ADDED') this.later(() => this.establishCrd(name), 5);
    } else if (def.group === '' && def.resource === 'secrets' && type === 'ADDED' && o.type === 'kubernetes.io/service-account-token') {
      this.later(() => this.fillTokenSecret(ns ?? '', name), 5);
    }
    if (Array.isArray(m.ownerReferences) && type !== 'DELETED') for (const r of m.ownerReferences) if (str(obj(r)?.uid)) this.owners.add(str(obj(r)?.uid) ?? '');
    const uid = str(m.uid);
    if (type === 'DELETED' && uid && this.owners.has(uid)) {
      this.owners.delete(uid);
      this.gone.add(uid);
      this.later(() => this.collectDependents(uid), 20);
    }
    if (type === 'MODIFIED' && m.deletionTimestamp && Array.isArray(m.finalizers)) {
      const gcOwned = m.finalizers.filter((f) => f === 'foregroundDeletion' || f === 'orphan');
      for (const f of gcOwned) this.later(() => this.host.existingApi()?.finalize(def, ns, name, String(f)), 20);
    }
  }

  /**
   * The garbage collector's background deletion: objects whose ownerReferences name only deleted
   * owners are deleted (namespaces go through Terminating); references to the deleted owner are
   * dropped from objects that still have a live owner.
   */
  private collectDependents(ownerUid: string): void {
    const api = this.host.existingApi();
    if (!api) return;
    for (const def of this.host.allResources()) {
      for (const [, o] of api.store.list(`${def.group}/${def.resource}`)) {
        const m = obj(o.metadata) ?? {};
        const refs = Array.isArray(m.ownerReferences) ? m.ownerReferences.map((r) => str(obj(r)?.uid) ?? '') : [];
        if (!refs.includes(ownerUid) || m.deletionTimestamp) continue;
        const name = str(m.name) ?? '';
        const ns = def.namespaced ? str(m.namespace) : undefined;
        try {
          if (refs.every((r) => this.gone.has(r))) api.delete(def, ns, name, { propagationPolicy: 'Background' }, false);
          else api.systemWrite(def, ns, { ...o, metadata: { ...m, ownerReferences: (m.ownerReferences as JsonValue[]).filter((r) => str(obj(r)?.uid) !== ownerUid) } }, 'kube-controller-manager');
        } catch {
          // gone meanwhile
        }
      }
    }
  }

  private namespaceCreated(ns: string): void {
    const api = this.host.existingApi();
    if (!api || !api.find(this.host.def('', 'namespaces'), undefined, ns)) return;
    const sa = this.host.def('', 'serviceaccounts');
    if (!api.find(sa, ns, 'default')) api.systemWrite(sa, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }, 'kube-controller-manager');
    const cm = this.host.def('', 'configmaps');
    if (!api.find(cm, ns, 'kube-root-ca.crt'))
      api.systemWrite(cm, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': this.host.caPem } }, 'kube-root-ca-cert-publisher');
  }

  private finishNamespace(ns: string): void {
    const api = this.host.existingApi();
    if (!api) return;
    for (const def of this.host.allResources()) {
      if (!def.namespaced) continue;
      for (const [, o] of api.store.list(`${def.group}/${def.resource}`, ns)) {
        api.finalize(def, ns, str(obj(o.metadata)?.name) ?? '');
      }
    }
    const nsDef = this.host.def('', 'namespaces');
    const cur = api.find(nsDef, undefined, ns);
    if (cur && obj(cur.metadata)?.deletionTimestamp) api.finalize(nsDef, undefined, ns);
  }

  private establishCrd(name: string): void {
    const api = this.host.existingApi();
    const def = this.host.def('apiextensions.k8s.io', 'customresourcedefinitions');
    const crd = api?.find(def, undefined, name);
    if (!api || !crd) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const names = obj(obj(crd.spec)?.names) ?? {};
    const next: JsonObject = {
      ...crd,
      status: {
        ...(obj(crd.status) ?? {}),
        conditions: [
          { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
          { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
        ],
        acceptedNames: names,
      },
    };
    api.systemWrite(def, undefined, next, 'kube-apiserver', 'status');
  }

  private fillTokenSecret(ns: string, name: string): void {
    const api = this.host.existingApi();
    const secretDef = this.host.def('', 'secrets');
    const secret = api?.find(secretDef, ns, name);
    if (!api || !secret) return;
    const annotations = obj(obj(secret.metadata)?.annotations) ?? {};
    const saName = str(annotations['kubernetes.io/service-account.name']) ?? '';
    const sa = api.find(this.host.def('', 'serviceaccounts'), ns, saName);
    if (!sa) {
      this.later(() => this.fillTokenSecret(ns, name), 200);
      return;
    }
    const saUid = str(obj(sa.metadata)?.uid) ?? '';
    const token = this.host.serviceAccountTokens.legacy(ns, saName, saUid, name, str(obj(secret.metadata)?.uid) ?? '');
    const next: JsonObject = {
      ...secret,
      metadata: { ...(obj(secret.metadata) ?? {}), annotations: { ...annotations, 'kubernetes.io/service-account.uid': saUid } },
      data: {
        ...(obj(secret.data) ?? {}),
        'ca.crt': Buffer.from(this.host.caPem).toString('base64'),
        namespace: Buffer.from(ns).toString('base64'),
        token: Buffer.from(token).toString('base64'),
      },
    };
    api.systemWrite(secretDef, ns, next, 'kube-controller-manager');
  }
}
