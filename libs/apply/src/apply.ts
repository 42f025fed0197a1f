/**
 * Server-side apply of one configuration to one object, as kube-apiserver does it: the applied
 * fields take the configured values, fields the manager applied before and no longer applies are
 * removed (unless another manager owns them), ownership moves to the applier, and a field another
 * manager owns with a different value is a conflict unless the apply is forced.
 */
import { clone, type JsonObject } from './json';
import { difference, hasDescendant, toFieldSet, type FieldSet } from './fieldset';
import { nowTimestamp, readManaged, type ManagedEntry } from './managed';
import { conflictCauses, conflictMessage, findConflicts, mergeApplied, removeField, type ApplyConflict } from './merge';
import type { Schema } from './schema';

export interface ApplyRequest {
  /** The object as stored now; its metadata.managedFields says who owns what. */
  live: JsonObject;
  /** The applied configuration (the apply patch), with its name (and namespace) filled in. */
  config: JsonObject;
  schema: Schema;
  /** The fieldManager of the request. */
  manager: string;
  /** The API version the configuration is applied at (`group/version`). */
  apiVersion: string;
  subresource?: string;
  /** ?force=true: take the conflicting fields from their owners instead of failing. */
  force?: boolean;
}

export interface ApplyResult {
  /** The merged object; its metadata.managedFields is left as `live` had it: write `managed` with writeManaged. */
  object: JsonObject;
  /** Every manager's fields after the apply. */
  managed: ManagedEntry[];
}

/** An apply that would take fields other managers own, and was not forced: a 409 Conflict with these causes. */
export class ApplyConflictError extends Error {
  readonly causes: JsonObject[];
  constructor(readonly conflicts: ApplyConflict[]) {
    super(conflictMessage(conflicts));
    this.name = 'ApplyConflictError';
    this.causes = conflictCauses(conflicts);
  }
}

const isApplyBy = (e: ManagedEntry, manager: string, subresource: string | undefined) =>
  e.manager === manager && e.operation === 'Apply' && (e.subresource ?? '') === (subresource ?? '');

/** The managedFields of an object created by an apply: the applier owns every field it configured. */
export function managedOnCreate(config: JsonObject, schema: Schema, manager: string, apiVersion: string, subresource?: string): ManagedEntry[] {
  return [{ manager, operation: 'Apply', apiVersion, time: nowTimestamp(), set: toFieldSet(config, schema, 'apply'), ...(subresource ? { subresource } : {}) }];
}

/** Applies `config` to `live`; throws ApplyConflictError on conflicts when not forced. */
export function applyConfiguration(req: ApplyRequest): ApplyResult {
  const { live, config, schema, manager, subresource } = req;
  const configSet = toFieldSet(config, schema, 'apply');
  const managed = readManaged(live);
  const others = managed.filter((e) => !isApplyBy(e, manager, subresource));
  const conflicts = findConflicts(clone(config), live, configSet, others, schema);
  if (conflicts.length && !req.force) throw new ApplyConflictError(conflicts);
  // Forced: the applier takes the conflicting fields from their owners.
  const lost = new Map<ManagedEntry, FieldSet>();
  for (const c of conflicts) {
    const entry = others.find((o) => o.manager === c.manager.manager && o.operation === c.manager.operation && o.apiVersion === c.manager.apiVersion);
    if (entry) lost.set(entry, new Set([...(lost.get(entry) ?? []), c.member]));
  }
  const mine = managed.find((e) => isApplyBy(e, manager, subresource));
  const merged = clone(mergeApplied(live, config, schema) as JsonObject);
  const newOthers = others.map((o) => ({ ...o, set: lost.has(o) ? difference(o.set, lost.get(o) ?? new Set()) : o.set }));
  if (mine) {
    // Fields this manager applied before and no longer applies go, unless someone else owns them.
    const dropped = [...difference(mine.set, configSet)].sort((a, b) => b.length - a.length);
    for (const member of dropped) {
      const ownedElsewhere = newOthers.some((o) => o.set.has(member) || hasDescendant(o.set, member));
      if (!ownedElsewhere && !hasDescendant(configSet, member)) removeField(merged, member, schema);
    }
  }
  const applied = (): ManagedEntry => ({ manager, operation: 'Apply', apiVersion: req.apiVersion, time: nowTimestamp(), set: configSet, subresource });
  const entries: ManagedEntry[] = [];
  let placed = false;
  for (const e of managed) {
    if (e === mine) {
      entries.push(applied());
      placed = true;
    } else entries.push(newOthers.find((o) => o.manager === e.manager && o.operation === e.operation && o.apiVersion === e.apiVersion && o.subresource === e.subresource) ?? e);
  }
  if (!placed) entries.push(applied());
  return { object: merged, managed: entries };
}
