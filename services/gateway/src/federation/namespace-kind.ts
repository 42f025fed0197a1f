import { ErrorReason, FEDERATED_KINDS, FEDERATION_EVENT_RESOURCE, FlotillaError, NAMESPACE_RESOURCE, REPLICA_SCHEDULING_PREFERENCE, dns1123LabelErrors } from '@flotilla/domain';
import type { ObjectStore } from '@flotilla/clients';
import type { ResourceKind } from '../resources/resource-kind';
import { Causes, Json, checkTypeMeta, isObject, serverMetadata, validateMetadata } from '../resources/validation';

/** Store keys of everything that lives in a host namespace and keeps it from being deleted. */
const NAMESPACED_KEYS = [...FEDERATED_KINDS.filter((k) => k.namespaced), REPLICA_SCHEDULING_PREFERENCE].map((k) => k.storeKey);
/** Pages of a namespace's federation events deleted with it, at most (the rest go with the next delete). */
const MAX_EVENT_PAGES = 20;

/** core/v1 Namespace as the host holds it: name, labels and annotations; always Active. */
export function validateNamespace(obj: unknown, old?: Json): Json {
  const causes = new Causes();
  const body: Json = isObject(obj) ? obj : {};
  if (!isObject(obj)) causes.invalid('body', typeof obj, 'must be a Namespace object');
  checkTypeMeta(body, 'v1', 'Namespace', causes);
  const metadata = validateMetadata(body.metadata, causes, old ? 'update' : 'create');
  if (old) {
    const stored = isObject(old.metadata) ? old.metadata : {};
    metadata.name = stored.name;
    Object.assign(metadata, { ...serverMetadata(old), resourceVersion: metadata.resourceVersion ?? stored.resourceVersion });
  } else if (typeof metadata.name === 'string') {
    for (const e of dns1123LabelErrors(metadata.name)) causes.invalid('metadata.name', metadata.name, e);
  }
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  causes.throwIfAny('Namespace', name);
  return { apiVersion: 'v1', kind: 'Namespace', metadata, spec: {}, status: { phase: 'Active' } };
}

/** The first federated object (or ReplicaSchedulingPreference) in the namespace, as `<resource> "<name>"`. */
export async function firstFederatedObjectIn(store: ObjectStore, namespace: string): Promise<string | undefined> {
  for (const key of NAMESPACED_KEYS) {
    const page = await store.list(key, { namespace, limit: 1 });
    const first = page.items[0];
    if (first) return `${key} "${first.name}"`;
  }
  return undefined;
}

/** Deletes the namespace's federation events (their objects are gone: the namespace could not be deleted otherwise). */
async function deleteEventsIn(store: ObjectStore, namespace: string): Promise<void> {
  for (let page = 0; page < MAX_EVENT_PAGES; page++) {
    const { items } = await store.list(FEDERATION_EVENT_RESOURCE, { namespace, limit: 500 });
    if (items.length === 0) return;
    for (const e of items) {
      await store.delete(FEDERATION_EVENT_RESOURCE, e.name, namespace).catch((error: unknown) => {
        if (!(error instanceof FlotillaError && error.reason === ErrorReason.NotFound)) throw error;
      });
    }
  }
}

/**
 * The host's namespaces (/api/v1/namespaces), where namespaced federated objects live, as kubefed
 * has them. Deleting one is refused (409) while a federated object is still in it.
 */
export const namespaceKind: ResourceKind = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  storeKey: NAMESPACE_RESOURCE,
  validate: (obj, old) => validateNamespace(obj, old),
  toApi: (obj) => obj,
  async admitDelete(stored, ctx) {
    const name = String((stored.metadata as Json | undefined)?.name ?? '');
    const found = await firstFederatedObjectIn(ctx.store, name);
    if (found) {
      throw new FlotillaError(ErrorReason.Conflict, `namespaces "${name}" cannot be deleted: ${found} is still in it; delete the federated objects in the namespace first`, {
        name,
        group: '',
        kind: 'namespaces',
      });
    }
  },
  cascadeDelete: (name, ctx) => deleteEventsIn(ctx.store, name),
};
