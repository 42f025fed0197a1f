/** managedFields bookkeeping for Update and Apply operations. */
import { deepEqual, isObject, obj, type JsonObject, type JsonValue } from './json';
import { difference, fromFieldsV1, toFieldSet, toFieldsV1, union, valueAt, type FieldSet } from './fieldset';
import type { Schema } from './schema';

export interface ManagedEntry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
}

export function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function readManaged(o: JsonObject): ManagedEntry[] {
  const mf = obj(o.metadata)?.managedFields;
  if (!Array.isArray(mf)) return [];
  return mf.filter(isObject).map((e) => ({
    manager: String(e.manager ?? ''),
    operation: String(e.operation ?? 'Update'),
    apiVersion: String(e.apiVersion ?? ''),
    time: typeof e.time === 'string' ? e.time : undefined,
    subresource: typeof e.subresource === 'string' ? e.subresource : undefined,
    set: fromFieldsV1(e.fieldsV1),
  }));
}

export function writeManaged(o: JsonObject, entries: ManagedEntry[]): void {
  const meta = obj(o.metadata);
  if (!meta) return;
  const out: JsonValue[] = entries
    .filter((e) => e.set.size > 0)
    .map((e) => {
      const x: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
      if (e.time !== undefined) x.time = e.time;
      x.fieldsType = 'FieldsV1';
      x.fieldsV1 = toFieldsV1(e.set);
      if (e.subresource) x.subresource = e.subresource;
      return x;
    });
  if (out.length) meta.managedFields = out;
  else delete meta.managedFields;
}

function sameEntry(e: ManagedEntry, manager: string, operation: string, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');
}

/**
 * Records an Update by `manager`: it gains the fields it added or changed and loses removed
 * ones; other managers lose ownership of fields whose value changed.
 */
export function recordUpdate(
  oldObj: JsonObject | undefined,
  newObj: JsonObject,
  schema: Schema,
  base: ManagedEntry[],
  manager: string,
  apiVersion: string,
  subresource?: string,
): ManagedEntry[] {
  const withStatus = subresource === 'status';
  const newSet = toFieldSet(newObj, schema, 'update', withStatus);
  const oldSet = oldObj ? toFieldSet(oldObj, schema, 'update', withStatus) : new Set<string>();
  const added = difference(newSet, oldSet);
  const removed = difference(oldSet, newSet);
  const modified = new Set<string>();
  if (oldObj)
    for (const m of newSet) if (oldSet.has(m) && !deepEqual(valueAt(newObj, m, schema), valueAt(oldObj, m, schema))) modified.add(m);
  const changed = union(union(added, modified), removed);
  const entries: ManagedEntry[] = base.map((e) => ({ ...e, set: difference(e.set, changed) }));
  const own = union(added, modified);
  let mine = entries.find((e) => sameEntry(e, manager, 'Update', subresource) && e.apiVersion === apiVersion);
  if (!mine && own.size > 0) {
    mine = { manager, operation: 'Update', apiVersion, set: new Set(), subresource };
    entries.push(mine);
  }
  if (mine) {
    const prev = base.find((e) => sameEntry(e, manager, 'Update', subresource) && e.apiVersion === apiVersion);
    mine.set = difference(union(prev?.set ?? new Set(), own), removed);
    if (own.size > 0 || !prev) mine.time = nowTimestamp();
  }
  return entries.filter((e) => e.set.size > 0);
}
