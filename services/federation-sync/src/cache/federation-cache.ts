import {
  type ClusterAccessBinding,
  FEDERATED_KINDS,
  type FederatedKindInfo,
  type GlobalRoleBinding,
  IamResource,
  NAMESPACE_RESOURCE,
  ORPHAN_RESOURCE,
  REPLICA_SCHEDULING_PREFERENCE,
  federatedKindByKind,
  federatedObjectKey,
} from '@flotilla/domain';
import type { ObjectChange, ObjectListing, StoredObject } from '@flotilla/clients';

const RSP_RESOURCE = REPLICA_SCHEDULING_PREFERENCE.storeKey;
const FEDERATED_NAMESPACE_RESOURCE = federatedKindByKind('FederatedNamespace')!.storeKey;

/** `<resource>/<namespace>/<name>`: the queue key, and the member objects' federated-object annotation. */
const objectKey = federatedObjectKey;

/** What changed, so the controller knows what to reconcile again. */
export interface CacheChanges {
  /** Federated objects (keys) that changed or vanished. */
  objects: Set<string>;
  /** Namespaces whose FederatedNamespace or host namespace changed: every object in them. */
  namespaces: Set<string>;
  /** The IAM bindings changed: every object (the last writer's rights). */
  iam: boolean;
  /** Orphans (names) that appeared. */
  orphans: Set<string>;
}

const emptyChanges = (): CacheChanges => ({ objects: new Set(), namespaces: new Set(), iam: false, orphans: new Set() });

/**
 * The stored federated objects, their ReplicaSchedulingPreferences, host namespaces, orphans and
 * the IAM bindings, in this process's memory, as the ObjectFollowers deliver them. Secrets'
 * data is never here (the store strips it from every read).
 */
export class FederationCache {
  readonly kinds: ReadonlyMap<string, FederatedKindInfo> = new Map(FEDERATED_KINDS.map((k) => [k.storeKey, k]));
  private readonly objects = new Map<string, StoredObject>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private readonly rsps = new Map<string, StoredObject>();
  private readonly namespaces = new Map<string, StoredObject>();
  private readonly orphanMap = new Map<string, StoredObject>();
  private readonly globalBindings = new Map<string, GlobalRoleBinding>();
  private readonly accessBindings = new Map<string, ClusterAccessBinding>();

  /** The resources of the main follower (federated kinds, RSPs, namespaces, orphans). */
  objectResources(): string[] {
    return [...this.kinds.keys(), RSP_RESOURCE, NAMESPACE_RESOURCE, ORPHAN_RESOURCE];
  }

  iamResources(): string[] {
    return [IamResource.globalRoleBindings, IamResource.clusterAccessBindings];
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  keysInNamespace(namespace: string): Iterable<string> {
    return this.byNamespace.get(namespace) ?? [];
  }

  federatedNamespace(namespace: string): StoredObject | undefined {
    return this.objects.get(objectKey(FEDERATED_NAMESPACE_RESOURCE, namespace, namespace));
  }

  replicaPreference(namespace: string, name: string): StoredObject | undefined {
    return this.rsps.get(`${namespace}/${name}`);
  }

  orphans(): IterableIterator<StoredObject> {
    return this.orphanMap.values();
  }

  orphan(name: string): StoredObject | undefined {
    return this.orphanMap.get(name);
  }

  bindings(): { global: GlobalRoleBinding[]; access: ClusterAccessBinding[] } {
    return { global: [...this.globalBindings.values()], access: [...this.accessBindings.values()] };
  }

  /** A full listing of some resources: replaces what was held of them. */
  sync(listings: ReadonlyMap<string, ObjectListing>): CacheChanges {
    const changes = emptyChanges();
    for (const [resource, listing] of listings) {
      const seen = new Set<string>();
      for (const item of listing.items) {
        seen.add(`${item.namespace}/${item.name}`);
        this.put(item, changes);
      }
      for (const held of this.heldOf(resource)) if (!seen.has(`${held.namespace}/${held.name}`)) this.remove(held, changes);
    }
    return changes;
  }

  /** A page of changes, oldest first. */
  apply(page: readonly ObjectChange[]): CacheChanges {
    const changes = emptyChanges();
    for (const c of page) {
      if (c.type === 'DELETED') this.remove(c.object, changes);
      else this.put(c.object, changes);
    }
    return changes;
  }

  private heldOf(resource: string): StoredObject[] {
    if (this.kinds.has(resource)) return [...this.objects.values()].filter((o) => o.resource === resource);
    if (resource === RSP_RESOURCE) return [...this.rsps.values()];
    if (resource === NAMESPACE_RESOURCE) return [...this.namespaces.values()];
    if (resource === ORPHAN_RESOURCE) return [...this.orphanMap.values()];
    if (resource === IamResource.globalRoleBindings) return [...this.globalBindings.keys()].map((name) => ({ resource, namespace: '', name, resourceVersion: '', object: {} }));
    if (resource === IamResource.clusterAccessBindings) return [...this.accessBindings.keys()].map((name) => ({ resource, namespace: '', name, resourceVersion: '', object: {} }));
    return [];
  }

  private put(o: StoredObject, changes: CacheChanges): void {
    const { resource, namespace, name } = o;
    if (this.kinds.has(resource)) {
      const key = objectKey(resource, namespace, name);
      if (this.objects.get(key)?.resourceVersion === o.resourceVersion) return;
      this.objects.set(key, o);
      let set = this.byNamespace.get(namespace);
      if (!set) this.byNamespace.set(namespace, (set = new Set()));
      set.add(key);
      changes.objects.add(key);
      if (resource === FEDERATED_NAMESPACE_RESOURCE) changes.namespaces.add(namespace);
    } else if (resource === RSP_RESOURCE) {
      this.rsps.set(`${namespace}/${name}`, o);
      this.touchRspTarget(o, changes);
    } else if (resource === NAMESPACE_RESOURCE) {
      this.namespaces.set(name, o);
      changes.namespaces.add(name);
    } else if (resource === ORPHAN_RESOURCE) {
      if (!this.orphanMap.has(name)) changes.orphans.add(name);
      this.orphanMap.set(name, o);
    } else if (resource === IamResource.globalRoleBindings) {
      this.globalBindings.set(name, o.object as unknown as GlobalRoleBinding);
      changes.iam = true;
    } else if (resource === IamResource.clusterAccessBindings) {
      this.accessBindings.set(name, o.object as unknown as ClusterAccessBinding);
      changes.iam = true;
    }
  }

  private remove(o: Pick<StoredObject, 'resource' | 'namespace' | 'name'> & Partial<StoredObject>, changes: CacheChanges): void {
    const { resource, namespace, name } = o;
    if (this.kinds.has(resource)) {
      const key = objectKey(resource, namespace, name);
      if (!this.objects.delete(key)) return;
      this.byNamespace.get(namespace)?.delete(key);
      if (this.byNamespace.get(namespace)?.size === 0) this.byNamespace.delete(namespace);
      changes.objects.add(key);
      if (resource === FEDERATED_NAMESPACE_RESOURCE) changes.namespaces.add(namespace);
    } else if (resource === RSP_RESOURCE) {
      const held = this.rsps.get(`${namespace}/${name}`);
      this.rsps.delete(`${namespace}/${name}`);
      if (held) this.touchRspTarget(held, changes);
    } else if (resource === NAMESPACE_RESOURCE) {
      if (this.namespaces.delete(name)) changes.namespaces.add(name);
    } else if (resource === ORPHAN_RESOURCE) {
      this.orphanMap.delete(name);
    } else if (resource === IamResource.globalRoleBindings) {
      changes.iam = this.globalBindings.delete(name) || changes.iam;
    } else if (resource === IamResource.clusterAccessBindings) {
      changes.iam = this.accessBindings.delete(name) || changes.iam;
    }
  }

  /** An RSP names its target by targetKind and its own name. */
  private touchRspTarget(rsp: StoredObject, changes: CacheChanges): void {
    const targetKind = (rsp.object.spec as { targetKind?: unknown } | undefined)?.targetKind;
    const info = typeof targetKind === 'string' ? federatedKindByKind(targetKind) : undefined;
    if (info) changes.objects.add(objectKey(info.storeKey, rsp.namespace, rsp.name));
  }
}
