import { FEDERATED_OBJECT_ANNOTATION, HASH_ANNOTATION, MANAGED_BY_LABEL } from '@flotilla/domain';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { MemberResponse } from '../member/member-client';
import { readBoundedBody } from '../net/bounded-body';
import { cleanText } from '../net/member-text';
import type { ServedKind } from './member-discovery';
import { WatchFailure, metaOf, stringAt } from './watch-wire';
import { type ManagedEvent, type MemberObjectRef } from './types';

export const PARTIAL_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const PARTIAL_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const PAGE = 500;
const FIRST_BACKOFF_MS = 500;

export interface WatchDeps {
  cluster: string;
  resolve(apiVersion: string, kind: string): Promise<ServedKind | undefined>;
  forget(apiVersion: string): void;
  /** A gated GET (list pages) with the partial-list Accept. */
  list(path: string): Promise<MemberResponse>;
  /** A long-lived GET on its own connection, idle-bounded; throws when the member cannot be streamed from. */
  stream(path: string, headers: Record<string, string>, idleTimeoutMs: number): ClientRequest;
  backoffMaxMs: number;
  idleTimeoutMs: number;
  maxLineBytes: number;
  discoveryRefreshMs: number;
}

interface Entry {
  hash?: string;
  federatedObject?: string;
  rv?: string;
}

type WatchEnd = 'gone' | 'closed' | 'notFound';

/**
 * One resource of one member, metadata only: list (paged), then watch from the list's
 * resourceVersion (kept as the member's string), bookmarks on; on 410 Gone a relist that reports
 * what vanished meanwhile; on errors or a closed stream a new watch after a backoff. Only objects
 * carrying the managed-by label are seen, so memory follows what Flotilla placed.
 */
export class KindWatch {
  private readonly state = new Map<string, Entry>();
  private rv?: string;
  private stopped = false;
  private attempt = 0;
  private wake?: () => void;
  private req?: ClientRequest;
  synced = false;
  lastError?: string;

  constructor(
    readonly apiVersion: string,
    readonly kind: string,
    private readonly deps: WatchDeps,
    private readonly onEvent: (e: ManagedEvent) => void,
  ) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.req?.destroy();
    this.wake?.();
  }

  private emit(e: ManagedEvent): void {
    try {
      this.onEvent(e);
    } catch {
      // A listener's failure is its own; the watch goes on.
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private backoff(): Promise<void> {
    const base = Math.min(this.deps.backoffMaxMs, FIRST_BACKOFF_MS * 2 ** Math.min(this.attempt, 16));
    this.attempt += 1;
    return this.sleep(base / 2 + Math.random() * (base / 2));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const served = await this.deps.resolve(this.apiVersion, this.kind);
        if (this.stopped) return;
        if (!served) {
          this.vanished();
          await this.sleep(Math.max(this.deps.discoveryRefreshMs, 1000));
          continue;
        }
        const base = this.collectionPath(served);
        if (this.rv === undefined) await this.relist(base);
        if (this.stopped) return;
        if (this.rv === undefined) continue;
        const opened = Date.now();
        const end = await this.watchOnce(base);
        this.lastError = undefined;
        if (end === 'gone') this.rv = undefined;
        else if (end === 'notFound') {
          this.deps.forget(this.apiVersion);
          this.rv = undefined;
        } else if (Date.now() - opened > 5_000) this.attempt = 0;
        else await this.backoff();
      } catch (error) {
        if (this.stopped) return;
        this.lastError = cleanText(error instanceof Error ? error.message : String(error));
        await this.backoff();
      }
    }
  }

  private collectionPath(served: ServedKind): string {
    return `${this.apiVersion.includes('/') ? `/apis/${this.apiVersion}` : `/api/${this.apiVersion}`}/${served.plural}`;
  }

  private ref(namespace: string | undefined, name: string): MemberObjectRef {
    return { apiVersion: this.apiVersion, kind: this.kind, ...(namespace ? { namespace } : {}), name };
  }

  /** The kind is not served (any more): whatever we knew of it is gone, and the (empty) view is complete. */
  private vanished(): void {
    this.rv = undefined;
    for (const [key, e] of this.state) this.emit({ type: 'DELETED', ref: this.refOfKey(key), ...(e.federatedObject ? { federatedObject: e.federatedObject } : {}) });
    this.state.clear();
    if (!this.synced) {
      this.synced = true;
      this.emit({ type: 'RELISTED', ref: this.ref(undefined, '') });
    }
  }

  private refOfKey(key: string): MemberObjectRef {
    const slash = key.indexOf('/');
    return this.ref(key.slice(0, slash) || undefined, key.slice(slash + 1));
  }

  private async relist(base: string): Promise<void> {
    const seen = new Map<string, Entry>();
    let cont = '';
    let listRv: string | undefined;
    do {
      const q = new URLSearchParams({ labelSelector: MANAGED_BY_LABEL, limit: String(PAGE) });
      if (cont) q.set('continue', cont);
      const res = await this.deps.list(`${base}?${q.toString()}`);
      if (this.stopped) return;
      if (res.status === 404) {
        this.deps.forget(this.apiVersion);
        return;
      }
      if (res.status === 410 && cont) {
        // The continue token expired mid-list: start the list again.
        seen.clear();
        cont = '';
        continue;
      }
      if (res.status !== 200) throw new WatchFailure(`listing ${this.kind} in ${this.deps.cluster} answered ${res.status}: ${cleanText(String(res.body.message ?? ''))}`, res.status);
      const items = Array.isArray(res.body.items) ? res.body.items : [];
      for (const item of items) {
        const m = metaOf(item);
        const name = stringAt(m, 'name');
        if (!name) continue;
        seen.set(`${stringAt(m, 'namespace') ?? ''}/${name}`, this.entryOf(m));
      }
      const listMeta = (res.body.metadata ?? {}) as Record<string, unknown>;
      listRv ??= stringAt(listMeta, 'resourceVersion');
      cont = stringAt(listMeta, 'continue') ?? '';
    } while (cont);
    for (const [key, e] of this.state) {
      if (!seen.has(key)) this.emit({ type: 'DELETED', ref: this.refOfKey(key), ...this.marks(e) });
    }
    for (const [key, e] of seen) {
      const old = this.state.get(key);
      if (old && old.rv === e.rv) continue;
      this.emit({ type: old ? 'MODIFIED' : 'ADDED', ref: this.refOfKey(key), ...this.marks(e) });
    }
    this.state.clear();
    for (const [key, e] of seen) this.state.set(key, e);
    this.rv = listRv ?? '';
    this.synced = true;
    this.attempt = 0;
    this.emit({ type: 'RELISTED', ref: this.ref(undefined, ''), ...(this.rv ? { resourceVersion: this.rv } : {}) });
  }

  private entryOf(m: Record<string, unknown>): Entry {
    const annotations = (m.annotations && typeof m.annotations === 'object' ? m.annotations : {}) as Record<string, unknown>;
    const hash = stringAt(annotations, HASH_ANNOTATION);
    const federatedObject = stringAt(annotations, FEDERATED_OBJECT_ANNOTATION);
    const rv = stringAt(m, 'resourceVersion');
    return { ...(hash ? { hash } : {}), ...(federatedObject ? { federatedObject } : {}), ...(rv ? { rv } : {}) };
  }

  private marks(e: Entry): Partial<ManagedEvent> {
    return { ...(e.federatedObject ? { federatedObject: e.federatedObject } : {}), ...(e.hash ? { hash: e.hash } : {}), ...(e.rv ? { resourceVersion: e.rv } : {}) };
  }

  private watchOnce(base: string): Promise<WatchEnd> {
    const q = new URLSearchParams({
      watch: 'true',
      labelSelector: MANAGED_BY_LABEL,
      allowWatchBookmarks: 'true',
      resourceVersion: this.rv ?? '',
      timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
    });
    return new Promise<WatchEnd>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.req = undefined;
        fn();
      };
      let req: ClientRequest;
      try {
        req = this.deps.stream(`${base}?${q.toString()}`, { Accept: PARTIAL_WATCH_ACCEPT, 'User-Agent': 'flotilla-federation' }, this.deps.idleTimeoutMs);
      } catch (error) {
        // No stream to this member (plain http, proxy-url): the view is kept by relisting after every backoff.
        this.rv = undefined;
        return finish(() => reject(error));
      }
      this.req = req;
      req.on('timeout', () => req.destroy(new WatchFailure(`the watch of ${this.kind} in ${this.deps.cluster} sent nothing for ${this.deps.idleTimeoutMs} ms`)));
      req.on('error', (error) => finish(() => (this.stopped ? resolve('closed') : reject(error))));
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          readBoundedBody(res, 64 * 1024, `the watch answer of ${this.deps.cluster}`).then(
            (text) => {
              if (status === 410) return finish(() => resolve('gone'));
              if (status === 404) return finish(() => resolve('notFound'));
              finish(() => reject(new WatchFailure(`the watch of ${this.kind} in ${this.deps.cluster} answered ${status}: ${cleanText(text)}`, status)));
            },
            (error) => finish(() => reject(error)),
          );
          return;
        }
        this.attempt = 0;
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (settled) return;
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            let end: 'gone' | undefined;
            try {
              end = line.trim() ? this.line(line) : undefined;
            } catch (error) {
              res.destroy();
              return finish(() => reject(error));
            }
            if (end === 'gone') {
              res.destroy();
              return finish(() => resolve('gone'));
            }
          }
          if (Buffer.byteLength(pending) > this.deps.maxLineBytes) {
            res.destroy();
            finish(() => reject(new WatchFailure(`a watch event of ${this.kind} in ${this.deps.cluster} is longer than ${this.deps.maxLineBytes} bytes`)));
          }
        });
        res.on('end', () => finish(() => resolve('closed')));
        res.on('error', (error) => finish(() => (this.stopped ? resolve('closed') : reject(error))));
        res.on('close', () => finish(() => (this.stopped || res.complete ? resolve('closed') : reject(new WatchFailure(`the watch of ${this.kind} in ${this.deps.cluster} was cut off`)))));
      });
      req.end();
    });
  }

  /** One watch event; 'gone' when the member says the resourceVersion expired. */
  private line(line: string): 'gone' | undefined {
    let ev: { type?: unknown; object?: unknown };
    try {
      ev = JSON.parse(line) as { type?: unknown; object?: unknown };
    } catch {
      throw new WatchFailure(`a watch event of ${this.kind} in ${this.deps.cluster} is not JSON`);
    }
    const m = metaOf(ev.object);
    if (ev.type === 'ERROR') {
      const code = (ev.object as { code?: unknown } | undefined)?.code;
      if (code === 410) return 'gone';
      throw new WatchFailure(`the watch of ${this.kind} in ${this.deps.cluster} failed: ${cleanText(String((ev.object as { message?: unknown })?.message ?? code))}`);
    }
    const rv = stringAt(m, 'resourceVersion');
    if (ev.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return undefined;
    }
    const name = stringAt(m, 'name');
    if (!name || (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED')) return undefined;
    if (rv) this.rv = rv;
    const key = `${stringAt(m, 'namespace') ?? ''}/${name}`;
    const e = this.entryOf(m);
    if (ev.type === 'DELETED') this.state.delete(key);
    else this.state.set(key, e);
    this.emit({ type: ev.type, ref: this.refOfKey(key), ...this.marks(e) });
    return undefined;
  }
}
