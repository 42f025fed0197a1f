import type { Request, Response } from 'express';
import { IncludeObject, TableColumn, TableObject, columnDefinitions, negotiateTable, parseIncludeObject, tableRow, toTable } from '@flotilla/domain';

/** How a read asked for a Table: which columns' kind, and what each row carries of its object. */
export interface TableFormat {
  include: IncludeObject;
}

/** No media type of the request's Accept can be served: the edge answers 406 NotAcceptable. */
export class NotAcceptableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotAcceptableError';
  }
}

/** The Status kube-apiserver answers a read it cannot serve in any accepted media type (golden 009). */
export function notAcceptableStatus(message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'NotAcceptable', code: 406 };
}

/**
 * The Table a read asks for (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`, or v1beta1),
 * or undefined for plain JSON. Throws NotAcceptableError when only types this server cannot answer
 * are accepted, and a BadRequest naming includeObject for a bad value of it.
 */
export function tableFormatOf(req: Request): TableFormat | undefined {
  const negotiated = negotiateTable(req.headers.accept);
  if (negotiated.as === 'notAcceptable') throw new NotAcceptableError(negotiated.message);
  if (negotiated.as === 'json') return undefined;
  const q = req.query as Record<string, unknown>;
  return { include: parseIncludeObject(q.includeObject) };
}

/** A list (`{metadata, items}`) as a Table. */
export function listAsTable(columns: readonly TableColumn[], list: { metadata?: unknown; items?: unknown }, format: TableFormat) {
  const meta = (typeof list.metadata === 'object' && list.metadata !== null ? list.metadata : {}) as { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  const items = Array.isArray(list.items) ? (list.items as TableObject[]) : [];
  const listMeta = {
    ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
    ...(meta.continue ? { continue: meta.continue } : {}),
    ...(meta.remainingItemCount !== undefined ? { remainingItemCount: meta.remainingItemCount } : {}),
  };
  return toTable(columns, items, listMeta, { include: format.include });
}

/** One object as a Table of one row (its resourceVersion as the Table's, golden 097). */
export function objectAsTable(columns: readonly TableColumn[], object: TableObject, format: TableFormat) {
  const meta = (typeof object.metadata === 'object' && object.metadata !== null ? object.metadata : {}) as { resourceVersion?: unknown };
  const listMeta = typeof meta.resourceVersion === 'string' ? { resourceVersion: meta.resourceVersion } : {};
  return toTable(columns, [object], listMeta, { include: format.include });
}

/**
 * Watch events as kube-apiserver sends them to `kubectl get -w` (golden 096): each object becomes
 * a Table of one row, the column definitions only in the first; a BOOKMARK becomes a Table with
 * its resourceVersion and no rows; ERROR events pass unchanged.
 */
export function tableWatchEvents(columns: readonly TableColumn[], format: TableFormat): (event: { type: string; object: unknown }) => { type: string; object: unknown } {
  let first = true;
  return (event) => {
    if (event.type === 'ERROR') return event;
    const object = (typeof event.object === 'object' && event.object !== null ? event.object : {}) as TableObject;
    const meta = (typeof object.metadata === 'object' && object.metadata !== null ? object.metadata : {}) as { resourceVersion?: unknown };
    const listMeta = typeof meta.resourceVersion === 'string' ? { resourceVersion: meta.resourceVersion } : {};
    if (event.type === 'BOOKMARK') return { type: event.type, object: toTable(columns, [], listMeta, { withColumns: false }) };
    const table = toTable(columns, [object], listMeta, { include: format.include, withColumns: first });
    first = false;
    return { type: event.type, object: table };
  };
}

/** Waits until the response can take more (false: the client is gone). */
function drained(res: Response): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (!res.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * A whole list (no limit) as a Table, written row by row as the pages are read, with backpressure:
 * the fleet is never held whole. An error before the first page is thrown (a Status answer); after
 * the body began the connection is cut, so the client never takes a short table for a whole one.
 */
export async function streamTable(res: Response, pages: AsyncIterable<{ metadata: { resourceVersion: string; continue?: string }; items: unknown[] }>, columns: readonly TableColumn[], format: TableFormat): Promise<void> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error('a list has at least one page');
  if (!first.value.metadata.continue) {
    res.status(200).json(listAsTable(columns, first.value, format));
    return;
  }
  const now = Date.now();
  res.status(200).setHeader('Content-Type', 'application/json');
  const head = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: first.value.metadata.resourceVersion }, columnDefinitions: columnDefinitions(columns) };
  res.write(`${JSON.stringify(head).slice(0, -1)},"rows":[`);
  let count = 0;
  let page: typeof first.value | undefined = first.value;
  try {
    while (page) {
      for (const item of page.items) {
        const row = tableRow(columns, item as TableObject, format.include, now);
        if (!res.write(`${count++ === 0 ? '' : ','}${JSON.stringify(row)}`) && !(await drained(res))) return;
      }
      if (res.destroyed) return;
      const next: IteratorResult<typeof page> = page.metadata.continue ? await iterator.next() : { done: true, value: undefined };
      page = next.done ? undefined : next.value;
    }
    res.end(']}');
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    await iterator.return?.();
  }
}

/**
 * For Nest routes: the Table format of the read ({table: undefined} for plain JSON), or undefined
 * once a 406 NotAcceptable has been answered.
 */
export function negotiateOrAnswer(req: Request, res: Response): { table?: TableFormat } | undefined {
  try {
    return { table: tableFormatOf(req) };
  } catch (error) {
    if (!(error instanceof NotAcceptableError)) throw error;
    res.status(406).type('application/json').send(JSON.stringify(notAcceptableStatus(error.message)));
    return undefined;
  }
}
