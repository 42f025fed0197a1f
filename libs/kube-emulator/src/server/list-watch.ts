/**
 * Collection reads: list (selectors, resourceVersion semantics, limit/continue as the real server
 * encodes them, Table and metadata-only forms) and watch (resume, 410 Expired, bookmarks, timeout).
 */
import { type JsonObject, obj, str } from '@flotilla/apply';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VirtualCluster } from '../cluster/cluster';
import { ApiError, badRequest } from '../api/errors';
import { groupVersion, type ResourceDef } from '../api/resources';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../api/selectors';
import type { StoreEvent } from '../api/store';
import { partialMetadata, toTable } from '../api/tables';
import { includeObject, negotiateAs, send, startStream } from './wire';

/** The objects of a collection that the request's label and field selectors match. */
export function select(c: VirtualCluster, def: ResourceDef, ns: string | undefined, q: URLSearchParams): JsonObject[] {
  const ls = parseLabelSelector(q.get('labelSelector'));
  const fs = parseFieldSelector(q.get('fieldSelector'), def.group, def.resource, !!def.custom);
  return c
    .api()
    .store.list(`${def.group}/${def.resource}`, ns)
    .map(([, o]) => o)
    .filter((o) => matchesLabels(ls, obj(o.metadata)?.labels) && matchesFields(fs, o));
}

export function list(c: VirtualCluster, req: IncomingMessage, res: ServerResponse, def: ResourceDef, ns: string | undefined, q: URLSearchParams): void {
  const api = c.api();
  const store = api.store;
  const rvParam = q.get('resourceVersion');
  const match = q.get('resourceVersionMatch');
  if (rvParam && rvParam !== '0') {
    const rv = Number(rvParam);
    if (!Number.isInteger(rv)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${rvParam}`);
    if (rv > store.revision) {
      throw new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${store.revision}`, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
    if (match === 'Exact' && rv < store.oldestRevision) throw new ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.');
  }
  const ls = parseLabelSelector(q.get('labelSelector'));
  const fs = parseFieldSelector(q.get('fieldSelector'), def.group, def.resource, !!def.custom);
  let entries = store.list(`${def.group}/${def.resource}`, ns);
  const cont = q.get('continue');
  let listRv = store.revision;
  if (cont) {
    let token: { rv?: number; start?: string };
    try {
      token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv?: number; start?: string };
    } catch {
      throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
    }
    const start = (token.start ?? '').replace(/\u0000$/, '');
    if (typeof token.rv === 'number' && token.rv < store.oldestRevision && token.rv !== -1) {
      const inconsistent = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: -1, start: `${start}\u0000` })).toString('base64url');
      throw new ApiError(
        410,
        'Expired',
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        undefined,
        { continue: inconsistent },
      );
    }
    if (typeof token.rv === 'number' && token.rv > 0) listRv = token.rv;
    entries = entries.filter(([k]) => k > start);
  }
  let items = entries.filter(([, o]) => matchesLabels(ls, obj(o.metadata)?.labels) && matchesFields(fs, o));
  const limit = Number(q.get('limit') ?? '0');
  const listMeta: JsonObject = { resourceVersion: String(listRv) };
  if (limit > 0 && items.length > limit) {
    const last = items[limit - 1][0];
    const remaining = items.length - limit;
    items = items.slice(0, limit);
    listMeta.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: listRv, start: `${last}\u0000` })).toString('base64url');
    if (ls.length === 0 && fs.length === 0) listMeta.remainingItemCount = remaining;
  } else if (def.custom) listMeta.continue = '';
  const objects = items.map(([, o]) => o);
  const as = negotiateAs(req.headers.accept, ['Table', 'PartialObjectMetadataList']);
  if (as === 'Table') return send(res, 200, toTable(def, objects, listMeta, includeObject(q)));
  if (as === 'PartialObjectMetadataList') return send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: objects.map(partialMetadata) });
  const body: JsonObject = { kind: def.listKind, apiVersion: groupVersion(def.group, def.version), metadata: listMeta };
  body.items = def.custom ? objects : objects.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
  send(res, 200, body);
}

/**
 * Streams a watch until the client goes, `timeoutSeconds` passes or the cluster drops its
 * connections: `closers` holds the function that ends it while it is open.
 */
export function watch(c: VirtualCluster, req: IncomingMessage, res: ServerResponse, def: ResourceDef, ns: string | undefined, q: URLSearchParams, name: string, closers: Set<() => void>): void {
  const store = c.api().store;
  const resource = `${def.group}/${def.resource}`;
  const ls = parseLabelSelector(q.get('labelSelector'));
  const fieldSel = q.get('fieldSelector') ?? (name ? `metadata.name=${name}` : null);
  const fs = parseFieldSelector(fieldSel, def.group, def.resource, !!def.custom);
  const as = negotiateAs(req.headers.accept, ['Table', 'PartialObjectMetadata']);
  const table = as === 'Table';
  const include = includeObject(q);
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const timeoutSeconds = q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined;
  const rvParam = q.get('resourceVersion');
  startStream(res);
  let first = true;
  const matches = (o: JsonObject): boolean => matchesLabels(ls, obj(o.metadata)?.labels) && matchesFields(fs, o);
  const write = (type: string, o: JsonObject): void => {
    let object: JsonObject = o;
    if (table && type !== 'ERROR' && type !== 'BOOKMARK') {
      object = toTable(def, [o], { resourceVersion: str(obj(o.metadata)?.resourceVersion) ?? '' }, include, first);
      first = false;
    } else if (as === 'PartialObjectMetadata' && type !== 'ERROR' && type !== 'BOOKMARK') {
      object = partialMetadata(o);
    }
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  let lastRv = store.revision;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    store.watchers.delete(watcher);
    for (const t of timers) clearTimeout(t);
    for (const t of timers) clearInterval(t);
    if (!res.writableEnded) res.end();
  };
  const watcher = {
    resource,
    namespace: ns,
    send: (ev: StoreEvent): void => {
      if (ev.rv <= lastRv && !pending) return;
      if (pending) {
        queue.push(ev);
        return;
      }
      deliver(ev);
    },
  };
  const queue: StoreEvent[] = [];
  let pending = true;
  // the watch cache's rule: an object entering the selection is ADDED, one leaving it DELETED (its previous state at the event's revision)
  const deliver = (ev: StoreEvent): void => {
    lastRv = Math.max(lastRv, ev.rv);
    const now = ev.type !== 'DELETED' && matches(ev.object);
    const before = ev.prev !== undefined && matches(ev.prev);
    if (now) write(before ? 'MODIFIED' : 'ADDED', ev.object);
    else if (before && ev.prev) write('DELETED', ev.type === 'DELETED' ? ev.object : { ...ev.prev, metadata: { ...(obj(ev.prev.metadata) ?? {}), resourceVersion: String(ev.rv) } });
  };
  let startRv: number;
  if (!rvParam || rvParam === '0') {
    for (const [, o] of store.list(resource, ns)) if (matches(o)) write('ADDED', o);
    startRv = store.revision;
    lastRv = startRv;
  } else {
    startRv = Number(rvParam);
    if (!Number.isFinite(startRv)) {
      write('ERROR', new ApiError(400, 'BadRequest', `invalid resource version: ${rvParam}`).toStatus());
      return finish();
    }
    const events = store.eventsSince(startRv, resource, ns);
    if (!events) {
      write('ERROR', new ApiError(410, 'Expired', `too old resource version: ${startRv} (${store.oldestRevision})`).toStatus());
      return finish();
    }
    lastRv = startRv;
    for (const ev of events) deliver(ev);
  }
  pending = false;
  store.watchers.add(watcher);
  for (const ev of queue.splice(0)) if (ev.rv > lastRv) deliver(ev);
  const bookmark = (): void => {
    if (res.writableEnded) return;
    const rv = Math.max(lastRv, startRv);
    const typeMeta = as === 'PartialObjectMetadata' ? { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' } : { kind: def.kind, apiVersion: groupVersion(def.group, def.version) };
    res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { ...typeMeta, metadata: { resourceVersion: String(rv), creationTimestamp: null } } })}\n`);
  };
  if (bookmarks) {
    timers.push(setInterval(bookmark, c.options.bookmarkIntervalMs));
    if (timeoutSeconds !== undefined && timeoutSeconds >= 2) timers.push(setTimeout(bookmark, timeoutSeconds * 1000 - 1000));
  }
  if (timeoutSeconds !== undefined) timers.push(setTimeout(finish, timeoutSeconds * 1000));
  req.on('close', finish);
  res.on('close', finish);
  closers.add(finish);
  res.on('close', () => closers.delete(finish));
}
