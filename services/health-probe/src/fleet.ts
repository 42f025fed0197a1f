import { Subscription } from 'rxjs';
import { Cluster } from '@flotilla/domain';
import type { RegistryPort } from './registry-port';

export interface FleetListener {
  upsert(cluster: Cluster): void;
  remove(name: string): void;
  /** After a (re-)list: every name not in `names` is gone. */
  resync(names: ReadonlySet<string>): void;
}

/**
 * The fleet as the registry knows it: ListClusters (paged), then WatchClusters from the list's
 * resourceVersion. The watch does not restart by itself: on any error or end (410 Expired
 * included) it re-lists and re-watches after a short backoff.
 */
export class FleetWatcher {
  private sub?: Subscription;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  synced = false;

  constructor(
    private readonly registry: Pick<RegistryPort, 'listClusters' | 'watchClusters'>,
    private readonly listener: FleetListener,
    private readonly onError: (error: unknown) => void = () => undefined,
    private readonly pageSize = 500,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.listAndWatch();
  }

  private async listAndWatch(): Promise<void> {
    if (this.stopped) return;
    try {
      const names = new Set<string>();
      let next = '';
      let resourceVersion = '';
      do {
        const page = await this.registry.listClusters({ limit: this.pageSize, continue: next });
        for (const c of page.items) {
          names.add(c.metadata.name);
          this.listener.upsert(c);
        }
        next = page.continue;
        if (!resourceVersion) resourceVersion = page.resourceVersion;
      } while (next);
      this.listener.resync(names);
      this.synced = true;
      this.failures = 0;
      this.watch(resourceVersion);
    } catch (error) {
      this.retry(error);
    }
  }

  private watch(resourceVersion: string): void {
    if (this.stopped) return;
    this.sub = this.registry.watchClusters(resourceVersion).subscribe({
      next: (e) => {
        if (!e.cluster || e.type === 'BOOKMARK') return;
        if (e.type === 'DELETED') this.listener.remove(e.cluster.metadata.name);
        else this.listener.upsert(e.cluster);
      },
      error: (error: unknown) => this.retry(error),
      complete: () => this.retry(new Error('watch ended')),
    });
  }

  private retry(error: unknown): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.stopped) return;
    this.onError(error);
    this.failures++;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    this.retryTimer = setTimeout(() => void this.listAndWatch(), delay);
    this.retryTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
