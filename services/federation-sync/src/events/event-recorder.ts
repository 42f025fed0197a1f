import { randomBytes } from 'node:crypto';
import { type Cluster, type ClusterEvent, ErrorReason, FEDERATION_EVENTS_PER_OBJECT, FEDERATION_EVENT_DEDUP_SECONDS, FEDERATION_EVENT_RESOURCE, FlotillaError } from '@flotilla/domain';
import type { SyncStore } from '../registry/registry-port';

/** Same reason and cluster within this window: the existing event's count goes up. */
const DEDUPE_MS = FEDERATION_EVENT_DEDUP_SECONDS * 1000;
const MAX_MESSAGE = 1024;

export interface FederatedRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface FederationEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** The member concerned: the event is recorded on that Cluster too. */
  cluster?: Cluster;
}

interface Held {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastAt: number;
  object: Record<string, unknown>;
  resourceVersion: string;
}

const timestamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Events of federated objects (core/v1 Event shape in events.federation.flotilla.io, served by
 * the gateway at .../federated<kind>s/{name}/events) and the same on the Cluster through
 * RecordClusterEvent. Repeats within 10 minutes bump a count instead of adding events; at most
 * FEDERATION_EVENTS_PER_OBJECT are kept per object. The index of recent events lives in this replica's
 * memory: after a restart, the first repeat of a reason starts a new event.
 */
export class EventRecorder {
  private readonly recent = new Map<string, Held>();
  /** Event names per federated object (uid), oldest first. */
  private readonly perObject = new Map<string, { name: string; namespace: string }[]>();

  constructor(
    private readonly store: Pick<SyncStore, 'create' | 'update' | 'delete'>,
    private readonly recordClusterEvent: (e: ClusterEvent) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  async record(ref: FederatedRef, e: FederationEvent): Promise<void> {
    try {
      const fresh = await this.recordFederated(ref, e);
      if (fresh && e.cluster) await this.recordOnCluster(ref, e, e.cluster);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Forgets a deleted object's index (its events stay in the store, served while listed). */
  forget(uid: string): void {
    this.perObject.delete(uid);
    for (const k of this.recent.keys()) if (k.startsWith(`${uid}|`)) this.recent.delete(k);
  }

  /** True when a new event was created (not a count bump). */
  private async recordFederated(ref: FederatedRef, e: FederationEvent): Promise<boolean> {
    const key = `${ref.uid}|${e.reason}|${e.cluster?.metadata.name ?? ''}`;
    const now = Date.now();
    const message = e.message.slice(0, MAX_MESSAGE);
    const held = this.recent.get(key);
    if (held && now - held.lastAt < DEDUPE_MS) {
      const next = { ...held.object, metadata: { ...(held.object.metadata as object), resourceVersion: held.resourceVersion }, count: held.count + 1, message, lastTimestamp: timestamp(now) };
      try {
        const stored = await this.store.update(FEDERATION_EVENT_RESOURCE, next, held.namespace);
        this.recent.set(key, { ...held, count: held.count + 1, lastAt: now, object: stored.object, resourceVersion: stored.resourceVersion });
        return false;
      } catch (error) {
        if (!(error instanceof FlotillaError) || (error.reason !== ErrorReason.NotFound && error.reason !== ErrorReason.Conflict)) throw error;
        // Deleted or changed meanwhile: start a new one.
      }
    }
    const name = `${ref.name}.${randomBytes(8).toString('hex')}`;
    const event: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ref.namespace },
      involvedObject: { apiVersion: ref.apiVersion, kind: ref.kind, ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name, uid: ref.uid },
      reason: e.reason,
      message,
      type: e.type,
      count: 1,
      firstTimestamp: timestamp(now),
      lastTimestamp: timestamp(now),
      source: { component: 'federation-sync' },
      ...(e.cluster ? { related: { kind: 'Cluster', name: e.cluster.metadata.name } } : {}),
    };
    const stored = await this.store.create(FEDERATION_EVENT_RESOURCE, event, ref.namespace);
    this.recent.set(key, { name, namespace: ref.namespace, count: 1, firstTimestamp: timestamp(now), lastAt: now, object: stored.object, resourceVersion: stored.resourceVersion });
    let names = this.perObject.get(ref.uid);
    if (!names) this.perObject.set(ref.uid, (names = []));
    names.push({ name, namespace: ref.namespace });
    while (names.length > FEDERATION_EVENTS_PER_OBJECT) {
      const oldest = names.shift()!;
      await this.store.delete(FEDERATION_EVENT_RESOURCE, oldest.name, oldest.namespace).catch((error: unknown) => {
        if (!(error instanceof FlotillaError && error.reason === ErrorReason.NotFound)) throw error;
      });
    }
    return true;
  }

  private async recordOnCluster(ref: FederatedRef, e: FederationEvent, cluster: Cluster): Promise<void> {
    const at = new Date();
    const what = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    await this.recordClusterEvent({
      name: `${cluster.metadata.name}.f${at.getTime().toString(16)}${randomBytes(4).toString('hex')}`,
      clusterName: cluster.metadata.name,
      // The Cluster's own uid (metadata.uid), as health-probe records it: kubectl describe matches events by it.
      clusterUid: cluster.metadata.uid ?? '',
      type: e.type,
      reason: e.reason,
      message: `${what}: ${e.message}`.slice(0, MAX_MESSAGE),
      conditionType: 'Federation',
      fromStatus: 'Unknown',
      toStatus: e.type === 'Normal' ? 'True' : 'False',
      eventTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      reportingComponent: 'federation-sync',
    });
  }
}
