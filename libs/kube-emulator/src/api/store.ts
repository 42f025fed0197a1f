/**
 * One virtual cluster's object store: objects by resource, a monotonically increasing revision,
 * a bounded event history (the "watch cache") and the live watchers.
 */
import { type JsonObject } from '@flotilla/apply';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  rv: number;
  /** `group/resource` */
  resource: string;
  namespace: string;
  object: JsonObject;
  /** The object before this event (undefined for ADDED; the final object for DELETED): watches with selectors see transitions. */
  prev?: JsonObject;
}

export interface Watcher {
  resource: string;
  namespace?: string;
  send(ev: StoreEvent): void;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class ObjectStore {
  private rev: number;
  private readonly buckets = new Map<string, Map<string, JsonObject>>();
  private readonly history: StoreEvent[] = [];
  private historyStart = 0;
  /** Watches may resume from any rv >= this (older ones are "too old"). */
  private oldestResumable: number;
  readonly watchers = new Set<Watcher>();

  constructor(
    startRevision: number,
    private readonly historyLimit: number,
  ) {
    this.rev = startRevision;
    this.oldestResumable = startRevision;
  }

  get revision(): number {
    return this.rev;
  }

  /** The first resourceVersion a watch can no longer resume from. */
  get oldestRevision(): number {
    return this.oldestResumable;
  }

  nextRevision(): number {
    this.rev += 1;
    return this.rev;
  }

  bucket(resource: string): Map<string, JsonObject> {
    let b = this.buckets.get(resource);
    if (!b) {
      b = new Map();
      this.buckets.set(resource, b);
    }
    return b;
  }

  get(resource: string, key: string): JsonObject | undefined {
    return this.buckets.get(resource)?.get(key);
  }

  /** All objects of a resource (optionally in one namespace), in key order. */
  list(resource: string, namespace?: string): Array<[string, JsonObject]> {
    const b = this.buckets.get(resource);
    if (!b) return [];
    const prefix = namespace ? `${namespace}/` : undefined;
    const out: Array<[string, JsonObject]> = [];
    for (const e of b) if (!prefix || e[0].startsWith(prefix)) out.push(e);
    out.sort((a, b2) => (a[0] < b2[0] ? -1 : a[0] > b2[0] ? 1 : 0));
    return out;
  }

  resources(): string[] {
    return [...this.buckets.keys()];
  }

  /** Stores `object` (whose metadata.resourceVersion is `rv`) and emits the event. */
  put(resource: string, key: string, namespace: string, object: JsonObject, rv: number, type: EventType): void {
    const b = this.bucket(resource);
    const prev = b.get(key);
    b.set(key, object);
    this.emit({ type, rv, resource, namespace, object, ...(prev ? { prev } : {}) });
  }

  remove(resource: string, key: string, namespace: string, finalObject: JsonObject, rv: number): void {
    this.buckets.get(resource)?.delete(key);
    this.emit({ type: 'DELETED', rv, resource, namespace, object: finalObject, prev: finalObject });
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length - this.historyStart > this.historyLimit) {
      const dropped = this.history[this.historyStart];
      this.historyStart += 1;
      this.oldestResumable = dropped.rv;
      if (this.historyStart > 1024) {
        this.history.splice(0, this.historyStart);
        this.historyStart = 0;
      }
    }
    for (const w of this.watchers) {
      if (w.resource !== ev.resource) continue;
      if (w.namespace && w.namespace !== ev.namespace) continue;
      w.send(ev);
    }
  }

  /** Events after `rv` for a resource, or undefined when `rv` is older than the retained window. */
  eventsSince(rv: number, resource: string, namespace?: string): StoreEvent[] | undefined {
    if (rv < this.oldestResumable) return undefined;
    const out: StoreEvent[] = [];
    for (let i = this.historyStart; i < this.history.length; i++) {
      const ev = this.history[i];
      if (ev.rv <= rv || ev.resource !== resource) continue;
      if (namespace && ev.namespace !== namespace) continue;
      out.push(ev);
    }
    return out;
  }

  /** Forgets the event history: every resourceVersion before now becomes too old. */
  compact(): void {
    this.history.length = 0;
    this.historyStart = 0;
    this.oldestResumable = this.rev;
  }
}
