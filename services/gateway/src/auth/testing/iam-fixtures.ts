import type { StoredObject } from '@flotilla/clients';
import { IamResource, LabelSelector, MemberRole, Subject, TOKEN_HASH_ANNOTATION, newTokenSecret } from '@flotilla/domain';
import type { ClusterLabelSource } from '../../authz/authorizer';
import type { ChangeFeed, FeedEvent } from '../../resources/change-feed';

/** Test and benchmark builders of IAM objects as the object store holds them. */
let revision = 100n;
const nextRevision = () => (++revision).toString();

export function stored(resource: string, object: Record<string, unknown>): StoredObject {
  const name = (object.metadata as { name: string }).name;
  const rv = nextRevision();
  return { resource, namespace: '', name, resourceVersion: rv, object: { ...object, metadata: { ...(object.metadata as object), resourceVersion: rv } } };
}

export const userObject = (name: string, groups: string[] = [], state?: 'Active' | 'Disabled') =>
  stored(IamResource.users, { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name }, spec: { groups }, ...(state ? { status: { state } } : {}) });

/** A Token object and its secret (the secret as a client would present it). */
export function tokenObject(user: string, expirationTimestamp?: string): { object: StoredObject; secret: string; name: string } {
  const t = newTokenSecret();
  const object = stored(IamResource.tokens, {
    apiVersion: 'iam.flotilla.io/v1alpha1',
    kind: 'Token',
    metadata: { name: t.name, annotations: { [TOKEN_HASH_ANNOTATION]: t.sha256 } },
    spec: { user, ...(expirationTimestamp ? { expirationTimestamp } : {}) },
  });
  return { object, secret: t.secret, name: t.name };
}

export const fleetBinding = (name: string, role: string, subjects: Subject[]) =>
  stored(IamResource.globalRoleBindings, {
    apiVersion: 'iam.kubesphere.io/v1beta1',
    kind: 'GlobalRoleBinding',
    metadata: { name },
    subjects,
    roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: role },
  });

export const accessBinding = (name: string, role: MemberRole, subjects: Subject[], where: { clusters?: string[]; clusterSelector?: LabelSelector }) =>
  stored(IamResource.clusterAccessBindings, { apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'ClusterAccessBinding', metadata: { name }, subjects, role, ...where });

/** A ChangeFeed driven by the test: sync() and change() deliver to every follower at once. */
export class ManualFeed implements ChangeFeed {
  private readonly followers = new Set<(e: FeedEvent) => void>();
  follow(_resources: readonly string[], onEvent: (event: FeedEvent) => void): () => void {
    this.followers.add(onEvent);
    return () => this.followers.delete(onEvent);
  }
  caughtUp(): Promise<void> {
    return Promise.resolve();
  }
  sync(items: StoredObject[]): void {
    for (const f of this.followers) f({ type: 'SYNC', items, revision: nextRevision() });
  }
  change(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: StoredObject): void {
    const rv = nextRevision();
    for (const f of this.followers) f({ type: 'CHANGE', change: { type, revision: rv, object: { ...object, resourceVersion: rv } } });
  }
}

/** Cluster labels held in a map; set() notifies like the ClusterMirror does. */
export class MapLabels implements ClusterLabelSource {
  readonly labels = new Map<string, Record<string, string>>();
  private readonly listeners = new Set<() => void>();
  labelsOf(cluster: string) {
    return this.labels.get(cluster);
  }
  onLabelsChanged(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(cluster: string, labels: Record<string, string>): void {
    this.labels.set(cluster, labels);
    for (const l of this.listeners) l();
  }
}
