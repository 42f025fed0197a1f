import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { ChangeFeed, FeedEvent } from '../resources/change-feed';

const key = (resource: string, namespace: string) => `${resource}\u0000${namespace}`;

/**
 * How many federated objects of each kind each namespace holds, in this replica's memory (names
 * only), kept by the gateway's change feed: the per-namespace limit is checked without listing
 * the store on every create. A write awaits the feed (ChangeFeed.caughtUp), so this replica's
 * counts include every write it answered; creates racing on several replicas may overshoot the
 * limit by the number of replicas at most.
 */
export class FederatedObjectCounts {
  private readonly names = new Map<string, Set<string>>();
  private unfollow?: () => void;
  private syncedOnce = false;
  private readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly resources: readonly string[],
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  start(): void {
    this.unfollow ??= this.feed.follow(this.resources, (event) => this.apply(event));
  }

  stop(): void {
    this.unfollow?.();
    this.unfollow = undefined;
  }

  /** The count; ServiceUnavailable when the first list has not arrived within `waitMs`. */
  async count(resource: string, namespace: string, waitMs = 5000): Promise<number> {
    if (!this.syncedOnce) {
      this.start();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
      await Promise.race([this.synced, timeout]);
      clearTimeout(timer);
      if (!this.syncedOnce) {
        throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the gateway is still loading federated objects from the registry: retry in a few seconds', { retryAfterSeconds: 1 });
      }
    }
    return this.names.get(key(resource, namespace))?.size ?? 0;
  }

  private apply(event: FeedEvent): void {
    if (event.type === 'SYNC') {
      this.names.clear();
      for (const o of event.items) this.add(o.resource, o.namespace, o.name);
      this.syncedOnce = true;
      this.markSynced();
      return;
    }
    const { type, object } = event.change;
    if (type === 'DELETED') {
      const set = this.names.get(key(object.resource, object.namespace));
      set?.delete(object.name);
      if (set?.size === 0) this.names.delete(key(object.resource, object.namespace));
    } else this.add(object.resource, object.namespace, object.name);
  }

  private add(resource: string, namespace: string, name: string): void {
    const k = key(resource, namespace);
    let set = this.names.get(k);
    if (!set) this.names.set(k, (set = new Set()));
    set.add(name);
  }
}
