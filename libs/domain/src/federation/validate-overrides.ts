import { dns1123LabelErrors } from '../cluster/names';
import { FlotillaError } from '../errors/flotilla-error';
import { Causes, isObject, type Json } from './causes';
import type { FederatedKindInfo } from './kinds';
import { type LocatedOp, OVERRIDE_OPS, type OverrideOpName, applyOverrides, forbiddenOverride, pointerTokens } from './overrides';

export interface OverrideLimits {
  maxOverrides: number;
  maxOverrideOps: number;
  /** Overrides are tried on a copy of the template each: entries × template bytes is bounded by this. */
  maxOverrideWorkBytes: number;
}

/**
 * spec.overrides: `[{clusterName, clusterOverrides: [{op?, path, value?}]}]`, one entry per cluster.
 * Each operation must be well formed, may not touch what overrides never change (identity, status,
 * Flotilla's marks, a FederatedSecret's data), and must apply to the template: each entry's
 * operations are applied, in order, to a copy of it.
 */
export function validateOverrides(info: FederatedKindInfo, overrides: unknown, template: Json | undefined, templateBytes: number, causes: Causes, limits: OverrideLimits): void {
  const field = 'spec.overrides';
  if (overrides === undefined || overrides === null) return;
  if (!Array.isArray(overrides)) {
    causes.invalid(field, overrides, 'must be a list of {clusterName, clusterOverrides: [{op, path, value}]}');
    return;
  }
  if (overrides.length > limits.maxOverrides) {
    causes.tooMany(field, `must have at most ${limits.maxOverrides} entries, got ${overrides.length}`);
    return;
  }
  const tryable = template !== undefined && templateBytes * overrides.length <= limits.maxOverrideWorkBytes;
  if (template !== undefined && !tryable) {
    const most = Math.max(1, Math.floor(limits.maxOverrideWorkBytes / Math.max(templateBytes, 1)));
    causes.tooMany(field, `a template of ${templateBytes} bytes may have at most ${most} override entries, got ${overrides.length}: make the template smaller or override fewer clusters`);
    return;
  }
  const { status: _status, ...base } = template ?? {};
  const seen = new Set<string>();
  overrides.forEach((entry: unknown, i: number) => {
    const at = `${field}[${i}]`;
    if (!isObject(entry)) return causes.invalid(at, entry, 'must be an object {clusterName, clusterOverrides}');
    const before = causes.list.length;
    if (typeof entry.clusterName !== 'string' || entry.clusterName === '') causes.required(`${at}.clusterName`, 'the cluster these overrides are for, e.g. member-1');
    else {
      for (const e of dns1123LabelErrors(entry.clusterName)) causes.invalid(`${at}.clusterName`, entry.clusterName, `${e} (cluster names are DNS-1123 labels)`);
      if (seen.has(entry.clusterName)) causes.duplicate(`${at}.clusterName`, entry.clusterName, `merge its clusterOverrides into the first entry for this cluster`);
      seen.add(entry.clusterName);
    }
    const ops = entry.clusterOverrides;
    if (!Array.isArray(ops)) {
      if (ops === undefined || ops === null) causes.required(`${at}.clusterOverrides`, 'a list of {op, path, value}, e.g. [{path: /spec/replicas, value: 3}]');
      else causes.invalid(`${at}.clusterOverrides`, ops, 'must be a list of {op, path, value}');
      return;
    }
    if (ops.length > limits.maxOverrideOps) return causes.tooMany(`${at}.clusterOverrides`, `must have at most ${limits.maxOverrideOps} operations, got ${ops.length}`);
    const located: LocatedOp[] = [];
    ops.forEach((o: unknown, j: number) => {
      const op = checkOp(info, o, `${at}.clusterOverrides[${j}]`, causes);
      if (op) located.push(op);
    });
    if (!tryable || causes.list.length > before) return;
    try {
      applyOverrides(base, located);
    } catch (error) {
      if (FlotillaError.isFlotillaError(error) && error.details.causes?.length) causes.list.push(...error.details.causes);
      else causes.invalid(`${at}.clusterOverrides`, '(overrides)', 'do not apply to the template');
    }
  });
}

function checkOp(info: FederatedKindInfo, o: unknown, at: string, causes: Causes): LocatedOp | undefined {
  if (!isObject(o)) {
    causes.invalid(at, o, 'must be an object {op: add|remove|replace, path: /a/json/pointer, value}');
    return undefined;
  }
  let ok = true;
  const op = o.op === undefined || o.op === null ? 'replace' : o.op;
  if (!OVERRIDE_OPS.includes(op as OverrideOpName)) {
    causes.notSupported(`${at}.op`, o.op, OVERRIDE_OPS, 'omit op for replace');
    ok = false;
  }
  if (typeof o.path !== 'string' || o.path === '') {
    causes.required(`${at}.path`, 'a JSON pointer into the template, e.g. /spec/replicas');
    ok = false;
  } else {
    const tokens = pointerTokens(o.path);
    if (typeof tokens === 'string') {
      causes.invalid(`${at}.path`, o.path, tokens);
      ok = false;
    } else {
      const why = forbiddenOverride(tokens, info.target?.kind === 'Secret');
      if (why) {
        causes.forbidden(`${at}.path`, why);
        ok = false;
      }
    }
  }
  const hasValue = Object.hasOwn(o, 'value') && o.value !== undefined;
  if (ok && op !== 'remove' && !hasValue) {
    causes.required(`${at}.value`, `op "${op as string}" needs a value; to delete the field use op "remove"`);
    ok = false;
  }
  return ok ? { op: op as OverrideOpName, path: o.path as string, value: o.value, hasValue, field: at } : undefined;
}
