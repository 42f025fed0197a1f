/** Server-side apply's pieces: merging an applied configuration, removing dropped fields, conflicts and their wording. */
import { clone, deepEqual, isObject, type JsonObject, type JsonValue } from './json';
import { childSchema, type ListSchema, type Schema } from './schema';
import { listItemElement, SEP, type FieldSet, hasDescendant, valueAt, formatPath } from './fieldset';

/** Merges `config` into `live`: the applied fields take the configured values. */
export function mergeApplied(live: JsonValue | undefined, config: JsonValue, schema: Schema): JsonValue {
  if (config === null || !isObject(config) || !isObject(live)) {
    if (Array.isArray(config) && Array.isArray(live) && schema.t === 'list') return mergeList(live, config, schema);
    return clone(config);
  }
  if ((schema.t === 'struct' || schema.t === 'map') && schema.atomic) return clone(config);
  const out: JsonObject = { ...live };
  for (const [k, v] of Object.entries(config)) {
    out[k] = mergeApplied(out[k], v, childSchema(schema, k) ?? { t: 'any' });
  }
  return out;
}

function mergeList(live: JsonValue[], config: JsonValue[], ls: ListSchema): JsonValue[] {
  if (ls.listType === 'atomic') return clone(config);
  if (ls.listType === 'set') {
    const out = [...config];
    for (const x of live) if (!out.some((c) => deepEqual(c, x))) out.push(x);
    return out;
  }
  const out: JsonValue[] = [];
  const used = new Set<number>();
  config.forEach((c, i) => {
    const el = listItemElement(ls, c, i);
    const j = live.findIndex((l, li) => !used.has(li) && listItemElement(ls, l, li) === el);
    if (j >= 0) {
      used.add(j);
      out.push(mergeApplied(live[j], c, ls.elem));
    } else out.push(clone(c));
  });
  live.forEach((l, li) => {
    if (!used.has(li)) out.push(l);
  });
  return out;
}

/** Removes the field named by `member` from `obj` (in place). */
export function removeField(obj: JsonObject, member: string, schema: Schema): void {
  const els = member.split(SEP);
  let cur: JsonValue | undefined = obj;
  let s: Schema | undefined = schema;
  for (let i = 0; i < els.length; i++) {
    const el = els[i];
    const last = i === els.length - 1;
    if (el.startsWith('f:')) {
      if (!isObject(cur)) return;
      const name = el.slice(2);
      if (last) {
        delete cur[name];
        return;
      }
      cur = cur[name];
      s = childSchema(s, name) ?? { t: 'any' };
    } else {
      if (!Array.isArray(cur)) return;
      const ls: ListSchema | undefined = s?.t === 'list' ? s : undefined;
      const list: JsonValue[] = cur;
      const idx = list.findIndex((item, j) => (ls ? listItemElement(ls, item, j) : `i:${j}`) === el);
      if (idx < 0) return;
      if (last) {
        list.splice(idx, 1);
        return;
      }
      cur = list[idx];
      s = ls?.elem ?? { t: 'any' };
    }
  }
}

export interface ManagerSet {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
  set: FieldSet;
}

export interface ApplyConflict {
  manager: ManagerSet;
  member: string;
}

/** Fields in the applied set whose configured value differs from what another manager owns. */
export function findConflicts(config: JsonObject, live: JsonObject, configSet: FieldSet, others: ManagerSet[], schema: Schema): ApplyConflict[] {
  const out: ApplyConflict[] = [];
  for (const m of others) {
    for (const member of configSet) {
      if (!m.set.has(member) || hasDescendant(configSet, member)) continue;
      if (!deepEqual(valueAt(config, member, schema), valueAt(live, member, schema))) out.push({ manager: m, member });
    }
  }
  return out;
}

/** How kube-apiserver names a manager in conflicts (printManager): subresource, and the API version of an Update. */
function managerLabel(m: ManagerSet): string {
  const name = m.subresource ? `${JSON.stringify(m.manager)} with subresource ${JSON.stringify(m.subresource)}` : JSON.stringify(m.manager);
  return m.operation === 'Update' ? `${name} using ${m.apiVersion}` : name;
}

export function conflictMessage(conflicts: ApplyConflict[]): string {
  const n = conflicts.length;
  let body: string;
  if (n === 1) body = `conflict with ${managerLabel(conflicts[0].manager)}: ${formatPath(conflicts[0].member)}`;
  else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const label = managerLabel(c.manager);
      byManager.set(label, [...(byManager.get(label) ?? []), formatPath(c.member)]);
    }
    const lines: string[] = [];
    for (const label of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${label}:`);
      for (const p of byManager.get(label) ?? []) lines.push(`- ${p}`);
    }
    body = lines.join('\n');
  }
  return `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${body}`;
}

export function conflictCauses(conflicts: ApplyConflict[]): JsonObject[] {
  return conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${managerLabel(c.manager)}`, field: formatPath(c.member) }));
}
