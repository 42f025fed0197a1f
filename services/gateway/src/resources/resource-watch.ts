import type { Response } from 'express';
import type { ObjectChange, ObjectStore } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { toKubeStatus } from '@flotilla/service-kit';
import type { ChangeFeed, FeedEvent } from './change-feed';
import { ListQuery, Selectors, filterBySelectors, isTrue, parseResourceVersion, parseSelectors, watchTimeoutSeconds } from './query';
import { objectOf } from './resource-api.service';
import { ResourceKind, apiVersionOf } from './resource-kind';
import type { Json } from './validation';

/** A watcher whose client reads slower than this many unsent bytes is ended; it watches again from its last resourceVersion. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** Changes held while a resuming watch catches up from the store. */
const MAX_HELD_CHANGES = 10_000;
const CATCH_UP_PAGE = 1000;
const BOOKMARK_EVERY_MS = 60_000;

export interface WatchDeps {
  feed: ChangeFeed;
  store: ObjectStore;
}

const nameOf = (o: Json) => String((o.metadata as Json | undefined)?.name ?? '');

/**
 * One watch of one kind, streamed as newline-delimited WatchEvents, from the replica's change feed.
 *
 * Without a resourceVersion (or "0") it starts with ADDED for every current object, as the API server
 * does. With one, it resumes after it: the store's change log fills the gap between that version and
 * the feed's SYNC (410 Expired when the log no longer reaches back that far), then the feed's own
 * changes follow; a revision is never sent twice. When the feed itself has to relist (it fell
 * behind), the watch ends with 410 and the client relists, as from an API server.
 *
 * Label selectors match each event's object; an object that stops matching is not sent as DELETED
 * (a simplification: the mirrors that consume these kinds watch without selectors).
 */
export class ResourceWatch {
  private started = false;
  private ended = false;
  private last?: bigint;
  private live = false;
  private held: ObjectChange[] = [];
  private syncs = 0;
  private unsubscribe?: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  private readonly selectors: Selectors;
  private readonly from?: bigint;
  private readonly timeoutSeconds?: number;
  private readonly bookmarks: boolean;

  constructor(
    private readonly kind: ResourceKind,
    q: ListQuery,
    private readonly res: Response,
    private readonly deps: WatchDeps,
    /** Only this namespace's objects ('' : every namespace, and cluster-scoped kinds). */
    private readonly namespace = '',
    /** How each event is shown (as a Table for `kubectl get -w`); unset: the plain WatchEvent. */
    private readonly present: (event: { type: string; object: unknown }) => unknown = (event) => event,
  ) {
    // Parse everything first: a bad query is a plain 400 before any stream starts.
    this.selectors = parseSelectors(q);
    this.from = parseResourceVersion(q.resourceVersion);
    this.timeoutSeconds = watchTimeoutSeconds(q.timeoutSeconds);
    this.bookmarks = isTrue(q.allowWatchBookmarks);
  }

  /** Starts streaming; `done` resolves when the stream has ended for any reason. */
  start(): void {
    this.res.on('close', () => this.end());
    // Headers go out at the first event, or after 250 ms so a client sees the watch is open.
    this.timers.push(setTimeout(() => this.open(), 250));
    if (this.timeoutSeconds !== undefined) this.timers.push(setTimeout(() => this.end(), this.timeoutSeconds * 1000));
    if (this.kind.builtIns) {
      for (const o of this.kind.builtIns) if (filterBySelectors(this.selectors, o)) this.send('ADDED', o);
      return;
    }
    if (this.bookmarks) this.timers.push(setInterval(() => this.bookmark(), BOOKMARK_EVERY_MS));
    try {
      this.unsubscribe = this.deps.feed.follow([this.kind.storeKey], (event) => this.onFeed(event));
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Ends the stream (client gone, timeout, shutdown). On shutdown the connection is closed too:
   * left idle in keep-alive, it would hold the HTTP server's close until the client gives up.
   */
  end(options: { closeConnection?: boolean } = {}): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    if (!this.res.writableEnded) {
      this.open();
      this.res.end();
    }
    if (options.closeConnection) this.res.socket?.end();
    this.resolveDone();
  }

  private onFeed(event: FeedEvent): void {
    if (this.ended) return;
    if (event.type === 'SYNC') {
      this.syncs++;
      if (this.syncs > 1) {
        this.fail(new FlotillaError(ErrorReason.Gone, 'too old resource version: the gateway had to relist; list again and watch from the list\'s resourceVersion'));
        return;
      }
      if (this.from === undefined) {
        const items = event.items
          .filter((o) => this.inNamespace(o.namespace))
          .map(objectOf)
          .sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
        for (const o of items) if (filterBySelectors(this.selectors, o)) this.send('ADDED', o);
        this.last = BigInt(event.revision);
        this.live = true;
      } else {
        void this.catchUp(BigInt(event.revision));
      }
      return;
    }
    if (!this.live) {
      this.held.push(event.change);
      if (this.held.length > MAX_HELD_CHANGES) this.fail(new FlotillaError(ErrorReason.Gone, 'too old resource version: too many changes since it; list again'));
      return;
    }
    this.emit(event.change);
  }

  /** Sends the store's changes after the client's version up to the feed's SYNC, then the held ones. */
  private async catchUp(syncRevision: bigint): Promise<void> {
    this.last = this.from;
    try {
      for (;;) {
        const page = await this.deps.store.changes(this.last!.toString(), { resources: [this.kind.storeKey], limit: CATCH_UP_PAGE });
        if (this.ended) return;
        for (const change of page.changes) this.emit(change);
        if (page.changes.length < CATCH_UP_PAGE && BigInt(page.revision) >= syncRevision) break;
        if (page.changes.length === 0) break;
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    const held = this.held;
    this.held = [];
    for (const change of held) this.emit(change);
    this.live = true;
  }

  private emit(change: ObjectChange): void {
    const revision = BigInt(change.revision);
    if (this.last !== undefined && revision <= this.last) return;
    this.last = revision;
    if (!this.inNamespace(change.object.namespace)) return;
    const object = objectOf(change.object);
    if (filterBySelectors(this.selectors, object)) this.send(change.type, object);
  }

  private inNamespace(namespace: string): boolean {
    return this.namespace === '' || namespace === this.namespace;
  }

  private send(type: string, object: Json): void {
    this.write(this.present({ type, object: this.kind.toApi(object) }));
  }

  private bookmark(): void {
    if (!this.live || this.last === undefined) return;
    this.write(this.present({ type: 'BOOKMARK', object: { apiVersion: apiVersionOf(this.kind), kind: this.kind.kind, metadata: { resourceVersion: this.last.toString() } } }));
  }

  private write(event: unknown): void {
    if (this.ended) return;
    this.open();
    this.res.write(`${JSON.stringify(event)}\n`);
    // A client that does not read is not allowed to grow the gateway's memory without bound.
    if (this.res.writableLength > MAX_UNSENT_BYTES) this.end();
  }

  private open(): void {
    if (this.started || this.res.headersSent) return;
    this.started = true;
    this.res.status(200).setHeader('Content-Type', 'application/json');
    this.res.setHeader('Transfer-Encoding', 'chunked');
    this.res.flushHeaders();
  }

  /** Before the stream starts: a plain Status answer; after: an ERROR event carrying it, then the end. */
  private fail(error: unknown): void {
    if (this.ended) return;
    const status = toKubeStatus(error);
    if (!this.started && !this.res.headersSent) {
      this.started = true;
      this.res.status(status.code).type('application/json').send(JSON.stringify(status));
    } else {
      this.write({ type: 'ERROR', object: status });
    }
    this.end();
  }
}
