/**
 * The API semantics of one virtual cluster: create, get, list, update, patch (four kinds),
 * delete, with admission, validation, managedFields and the small controllers a real
 * cluster runs (namespace finalizer, service-account token Secrets, CRD establishment).
 */
import {
  any,
  ApplyConflictError,
  applyConfiguration,
  type ApplyResult,
  clone,
  deepEqual,
  isObject,
  type JsonObject,
  type JsonValue,
  type ManagedEntry,
  nowTimestamp,
  obj,
  readManaged,
  recordUpdate,
  type Schema,
  str,
  toFieldSet,
  writeManaged,
} from '@flotilla/apply';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ApiError, alreadyExists, badRequest, conflict, forbidden, invalid, notFound, successStatus } from './errors';
import { applyDefaults, prepareForCreate, validate } from './kinds';
import { pruneUnknown } from './prune';
import { groupVersion, type ResourceDef } from './resources';
import { objectKey, ObjectStore } from './store';
import { validateCustom, crdVersion } from './crd';
import { applyMergePatch } from '../patch/merge-patch';
import { applyJsonPatch, JsonPatchError } from '../patch/json-patch';
import { applyStrategicMergePatch, StrategicMergeError } from '../patch/strategic-merge';

export interface WriteOptions {
  fieldManager?: string;
  userAgent?: string;
  dryRun: boolean;
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  force?: boolean;
  /**
   * Validating admission: sees the object about to be stored (and the stored one, on updates)
   * and throws to refuse it. It runs for dry runs too, as admission does on the real server.
   */
  admit?: (next: JsonObject, old: JsonObject | undefined) => void;
}

export interface WriteResult {
  code: number;
  body: JsonObject;
  warnings: string[];
}

export interface ApiHooks {
  /** called after every committed write (controllers react to it). */
  afterWrite(def: ResourceDef, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: JsonObject): void;
}

export function defaultManager(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  const slash = userAgent.indexOf('/');
  return (slash >= 0 ? userAgent.slice(0, slash) : userAgent).slice(0, 128);
}

function meta(o: JsonObject): JsonObject {
  const m = o.metadata;
  if (isObject(m)) return m;
  const created: JsonObject = {};
  o.metadata = created;
  return created;
}

function randomSuffix(): string {
  const chars = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

/** Everything outside metadata and status; a change bumps metadata.generation. */
function specPart(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') out[k] = v;
  return out;
}

export class ApiServer {
  readonly store: ObjectStore;

  constructor(
    historyLimit: number,
    private readonly hooks: ApiHooks,
    private readonly resolveKind: (apiVersion: string, kind: string) => ResourceDef | undefined,
  ) {
    this.store = new ObjectStore(1, historyLimit);
  }

  storeKey(def: ResourceDef): string {
    return `${def.group}/${def.resource}`;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    const o = this.store.get(this.storeKey(def), objectKey(def.namespaced ? namespace : undefined, name));
    if (!o) throw notFound(def.resource, def.group, name);
    return o;
  }

  find(def: ResourceDef, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.store.get(this.storeKey(def), objectKey(def.namespaced ? namespace : undefined, name));
  }

  // ---- writes ---------------------------------------------------------------------------------
  private schemaOf(def: ResourceDef): Schema {
    return def.schema ?? any;
  }

  private checkTypeMeta(def: ResourceDef, body: JsonObject): void {
    const gv = groupVersion(def.group, def.version);
    if (body.apiVersion !== undefined && body.apiVersion !== gv) {
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${gv})`);
    }
    if (body.kind !== undefined && body.kind !== def.kind) {
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${def.kind})`);
    }
  }

  private unknownFields(def: ResourceDef, body: JsonObject, validation: WriteOptions['fieldValidation']): string[] {
    const unknown = pruneUnknown(body, def.schema);
    if (unknown.length === 0 || validation === 'Ignore') return [];
    if (validation === 'Strict') {
      const fields = unknown.map((u) => `unknown field ${JSON.stringify(u)}`).join(', ');
      throw badRequest(`${def.kind} in version ${JSON.stringify(def.version)} cannot be handled as a ${def.kind}: strict decoding error: ${fields}`);
    }
    return unknown.map((u) => `unknown field ${JSON.stringify(u)}`);
  }

  private validateObject(def: ResourceDef, o: JsonObject, old: JsonObject | undefined): void {
    const errs = validate(def, o, old);
    if (def.custom) {
      const crd = this.store.get('apiextensions.k8s.io/customresourcedefinitions', `${def.resource}.${def.group}`);
      const v = crd ? crdVersion(crd, def.version) : undefined;
      errs.push(...validateCustom(obj(obj(v?.schema)?.openAPIV3Schema), o));
    }
    if (errs.length) throw invalid(def.kind, def.group, str(meta(o).name) ?? '', errs);
  }

  private admitNamespace(def: ResourceDef, namespace: string | undefined, name: string): void {
    if (!def.namespaced || !namespace) return;
    const ns = this.store.get('/namespaces', namespace);
    if (!ns) throw notFound('namespaces', '', namespace);
    if (obj(ns.metadata)?.deletionTimestamp) {
      const err = forbidden(def.resource, def.group, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      if (err.details) err.details.causes = [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }];
      throw err;
    }
  }

  private commit(def: ResourceDef, namespace: string | undefined, o: JsonObject, type: 'ADDED' | 'MODIFIED'): JsonObject {
    const rv = this.store.nextRevision();
    meta(o).resourceVersion = String(rv);
    const name = str(meta(o).name) ?? '';
    this.store.put(this.storeKey(def), objectKey(def.namespaced ? namespace : undefined, name), namespace ?? '', o, rv, type);
    this.hooks.afterWrite(def, type, o);
    return o;
  }

  private commitDelete(def: ResourceDef, namespace: string | undefined, o: JsonObject): JsonObject {
    const rv = this.store.nextRevision();
    const final = { ...o, metadata: { ...meta(o), resourceVersion: String(rv) } };
    const name = str(meta(o).name) ?? '';
    this.store.remove(this.storeKey(def), objectKey(def.namespaced ? namespace : undefined, name), namespace ?? '', final, rv);
    this.hooks.afterWrite(def, 'DELETED', final);
    return final;
  }

  create(def: ResourceDef, namespace: string | undefined, raw: JsonValue, opts: WriteOptions): WriteResult {
    if (!isObject(raw)) throw badRequest('Object \'Kind\' is missing in \'null\'');
    const body = clone(raw);
    this.checkTypeMeta(def, body);
    const m = meta(body);
    if (def.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      m.namespace = namespace ?? '';
    } else delete m.namespace;
    if (!str(m.name) && str(m.generateName)) m.name = `${str(m.generateName)}${randomSuffix()}`;
    const warnings = this.unknownFields(def, body, opts.fieldValidation);
    const name = str(m.name) ?? '';
    this.admitNamespace(def, namespace, name);
    const out = this.prepareNew(def, namespace, body, opts, warnings);
    if (this.find(def, namespace, name)) throw alreadyExists(def.resource, def.group, name);
    opts.admit?.(out, undefined);
    if (!opts.dryRun) this.commit(def, namespace, out, 'ADDED');
    return { code: 201, body: out, warnings };
  }

  /** Defaulting, validation, managedFields and system metadata of a new object. */
  private prepareNew(def: ResourceDef, namespace: string | undefined, body: JsonObject, opts: WriteOptions, _w: string[], applyManager?: string): JsonObject {
    body.apiVersion = groupVersion(def.group, def.version);
    body.kind = def.kind;
    const m = meta(body);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink']) delete m[k];
    applyDefaults(def, body);
    this.validateObject(def, body, undefined);
    const manager = opts.fieldManager ?? defaultManager(opts.userAgent);
    const incoming = readManaged(body);
    delete m.managedFields;
    const schema = this.schemaOf(def);
    let managed: ManagedEntry[];
    if (applyManager !== undefined) managed = [{ manager: applyManager, operation: 'Apply', apiVersion: String(body.apiVersion), time: nowTimestamp(), set: toFieldSet(body, schema, 'apply') }];
    else managed = incoming.length ? incoming : recordUpdate(undefined, body, schema, [], manager, String(body.apiVersion));
    const now = nowTimestamp();
    const ordered: JsonObject = { name: m.name ?? '' };
    if (m.generateName !== undefined) ordered.generateName = m.generateName;
    if (def.namespaced) ordered.namespace = namespace ?? '';
    ordered.uid = randomUUID();
    ordered.resourceVersion = '';
    if (def.generation) ordered.generation = 1;
    ordered.creationTimestamp = now;
    for (const [k, v] of Object.entries(m)) if (!(k in ordered)) ordered[k] = v;
    const out: JsonObject = { kind: def.kind, apiVersion: String(body.apiVersion), metadata: ordered };
    for (const [k, v] of Object.entries(body)) if (!(k in out)) out[k] = v;
    writeManaged(out, managed);
    prepareForCreate(def, out);
    return out;
  }

  update(def: ResourceDef, namespace: string | undefined, name: string, raw: JsonValue, opts: WriteOptions, subresource?: string): WriteResult {
    if (!isObject(raw)) throw badRequest("Object 'Kind' is missing in 'null'");
    const body = clone(raw);
    this.checkTypeMeta(def, body);
    const m = meta(body);
    if (m.name !== undefined && m.name !== name) throw badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${name})`);
    const current = this.get(def, namespace, name);
    const rv = str(m.resourceVersion);
    if (rv && rv !== meta(current).resourceVersion) throw conflict(def.resource, def.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
    const warnings = this.unknownFields(def, body, opts.fieldValidation);
    return this.finishUpdate(def, namespace, current, body, opts, warnings, subresource);
  }

  private finishUpdate(
    def: ResourceDef,
    namespace: string | undefined,
    current: JsonObject,
    body: JsonObject,
    opts: WriteOptions,
    warnings: string[],
    subresource?: string,
    apply?: { managed: ManagedEntry[] },
  ): WriteResult {
    const cm = meta(current);
    const m = meta(body);
    body.apiVersion = groupVersion(def.group, def.version);
    body.kind = def.kind;
    // system metadata is not user writable
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'namespace', 'name']) {
      if (cm[k] === undefined) delete m[k];
      else m[k] = cm[k];
    }
    if (subresource === 'status') {
      for (const k of Object.keys(body)) if (k !== 'status' && k !== 'metadata' && k !== 'apiVersion' && k !== 'kind') delete body[k];
      for (const [k, v] of Object.entries(current)) if (k !== 'status' && k !== 'metadata') body[k] = v;
      for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (cm[k] === undefined) delete m[k];
        else m[k] = cm[k];
      }
    } else if (def.subresources.some((s) => s.name === 'status')) {
      if (current.status === undefined) delete body.status;
      else body.status = current.status;
    }
    if (def.kind === 'Namespace' && def.group === '') {
      body.spec = current.spec ?? { finalizers: ['kubernetes'] };
      body.status = current.status ?? { phase: 'Active' };
    }
    applyDefaults(def, body);
    this.validateObject(def, body, current);
    const schema = this.schemaOf(def);
    const manager = opts.fieldManager ?? defaultManager(opts.userAgent);
    let managed: ManagedEntry[];
    if (apply) managed = apply.managed;
    else {
      const incoming = readManaged(body);
      const base = incoming.length && !deepEqual(m.managedFields, cm.managedFields) ? incoming : readManaged(current);
      managed = recordUpdate(current, body, schema, base, manager, String(body.apiVersion), subresource);
    }
    delete m.managedFields;
    writeManaged(body, managed);
    if (def.generation && !deepEqual(specPart(body), specPart(current))) m.generation = (typeof cm.generation === 'number' ? cm.generation : 0) + 1;
    m.resourceVersion = cm.resourceVersion ?? '';
    // no-op writes do not change the resourceVersion
    const ordered = this.reorder(def, body);
    opts.admit?.(ordered, current);
    if (deepEqual(stripTimes(ordered), stripTimes(current))) return { code: 200, body: current, warnings };
    const finalizers = m.finalizers;
    if (cm.deletionTimestamp && (!Array.isArray(finalizers) || finalizers.length === 0) && def.kind !== 'Namespace') {
      if (!opts.dryRun) return { code: 200, body: this.commitDelete(def, namespace, ordered), warnings };
    }
    if (!opts.dryRun) this.commit(def, namespace, ordered, 'MODIFIED');
    return { code: 200, body: ordered, warnings };
  }

  private reorder(def: ResourceDef, body: JsonObject): JsonObject {
    const out: JsonObject = { kind: def.kind, apiVersion: groupVersion(def.group, def.version) };
    const m = meta(body);
    const om: JsonObject = {};
    for (const k of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'])
      if (m[k] !== undefined) om[k] = m[k];
    for (const [k, v] of Object.entries(m)) if (!(k in om)) om[k] = v;
    out.metadata = om;
    for (const [k, v] of Object.entries(body)) if (!(k in out)) out[k] = v;
    return out;
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: string,
    opts: WriteOptions,
    subresource?: string,
  ): WriteResult {
    const type = contentType.split(';')[0].trim().toLowerCase();
    if (type === 'application/apply-patch+yaml') return this.apply(def, namespace, name, rawBody, opts, subresource);
    if (!['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'].includes(type) || (type === 'application/strategic-merge-patch+json' && def.custom)) {
      throw new ApiError(415, 'UnsupportedMediaType', '415: Unsupported Media Type', {});
    }
    let patchBody: JsonValue;
    try {
      patchBody = JSON.parse(rawBody) as JsonValue;
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const current = this.get(def, namespace, name);
    let patched: JsonObject;
    try {
      if (type === 'application/json-patch+json') patched = applyJsonPatch(current, patchBody);
      else if (type === 'application/merge-patch+json') {
        const r = applyMergePatch(current, patchBody);
        if (!isObject(r)) throw new JsonPatchError('not an object');
        patched = r;
      } else patched = applyStrategicMergePatch(current, patchBody, this.schemaOf(def));
    } catch (e) {
      if (e instanceof JsonPatchError || e instanceof StrategicMergeError) throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
      throw e;
    }
    const pm = meta(patched);
    const rv = str(pm.resourceVersion);
    if (rv && rv !== meta(current).resourceVersion) throw conflict(def.resource, def.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
    const warnings = this.unknownFields(def, patched, opts.fieldValidation);
    return this.finishUpdate(def, namespace, current, patched, opts, warnings, subresource);
  }

  private apply(def: ResourceDef, namespace: string | undefined, name: string, rawBody: string, opts: WriteOptions, subresource?: string): WriteResult {
    if (!opts.fieldManager) {
      throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(rawBody);
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!isObject(parsed as JsonValue)) throw badRequest('apply patch must be an object');
    const config = parsed as JsonObject;
    if (config.apiVersion === undefined || config.kind === undefined) throw badRequest('invalid object type: /, Kind=');
    this.checkTypeMeta(def, config);
    const cmeta = meta(config);
    if (cmeta.name !== undefined && cmeta.name !== name) throw badRequest(`the name of the object (${String(cmeta.name)}) does not match the name on the URL (${name})`);
    if (def.namespaced && cmeta.namespace !== undefined && cmeta.namespace !== namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    cmeta.name = name;
    if (def.namespaced) cmeta.namespace = namespace ?? '';
    const warnings = this.unknownFields(def, config, opts.fieldValidation);
    const schema = this.schemaOf(def);
    const manager = opts.fieldManager;
    const current = this.find(def, namespace, name);
    if (!current) {
      this.admitNamespace(def, namespace, name);
      const fresh = clone(config);
      const out = this.prepareNew(def, namespace, fresh, opts, warnings, manager);
      opts.admit?.(out, undefined);
      if (!opts.dryRun) this.commit(def, namespace, out, 'ADDED');
      return { code: 201, body: out, warnings };
    }
    const rv = str(cmeta.resourceVersion);
    if (rv && rv !== meta(current).resourceVersion) throw conflict(def.resource, def.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
    delete cmeta.resourceVersion;
    let applied: ApplyResult;
    try {
      applied = applyConfiguration({ live: current, config, schema, manager, apiVersion: groupVersion(def.group, def.version), subresource, force: opts.force });
    } catch (e) {
      if (e instanceof ApplyConflictError) throw new ApiError(409, 'Conflict', e.message, { causes: e.causes });
      throw e;
    }
    const merged = applied.object;
    const entries = applied.managed;
    meta(merged).managedFields = meta(current).managedFields ?? null;
    return this.finishUpdate(def, namespace, current, merged, opts, warnings, subresource, { managed: entries });
  }

  delete(def: ResourceDef, namespace: string | undefined, name: string, options: JsonObject, dryRun: boolean): WriteResult {
    const current = this.get(def, namespace, name);
    const cm = meta(current);
    const pre = obj(options.preconditions);
    if (pre) {
      const uid = str(pre.uid);
      if (uid && uid !== cm.uid)
        throw conflict(def.kind, '', name, `the UID in the precondition (${uid}) does not match the UID in record (${String(cm.uid)}). The object might have been deleted and then recreated`);
      const rv = str(pre.resourceVersion);
      if (rv && rv !== cm.resourceVersion)
        throw conflict(def.kind, '', name, `the ResourceVersion in the precondition (${rv}) does not match the ResourceVersion in record (${String(cm.resourceVersion)}). The object might have been modified`);
    }
    const policy = str(options.propagationPolicy) ?? (options.orphanDependents === true ? 'Orphan' : undefined);
    const finalizers = Array.isArray(cm.finalizers) ? [...cm.finalizers] : [];
    const isNamespace = def.kind === 'Namespace' && def.group === '';
    if (isNamespace || finalizers.length > 0 || policy === 'Foreground' || policy === 'Orphan') {
      if (cm.deletionTimestamp) return { code: 200, body: current, warnings: [] };
      const next = clone(current);
      const nm = meta(next);
      nm.deletionTimestamp = nowTimestamp();
      if (isNamespace) next.status = { ...(obj(next.status) ?? {}), phase: 'Terminating' };
      else {
        nm.deletionGracePeriodSeconds = 0;
        const extra = policy === 'Foreground' ? 'foregroundDeletion' : policy === 'Orphan' ? 'orphan' : undefined;
        if (extra && !finalizers.includes(extra)) nm.finalizers = [...finalizers, extra];
        if (def.generation) nm.generation = (typeof nm.generation === 'number' ? nm.generation : 0) + 1;
      }
      const ordered = this.reorder(def, next);
      if (!dryRun) this.commit(def, namespace, ordered, 'MODIFIED');
      return { code: def.custom || isNamespace || finalizers.length > 0 || policy ? 200 : 202, body: ordered, warnings: [] };
    }
    if (dryRun) return { code: 200, body: current, warnings: [] };
    const final = this.commitDelete(def, namespace, current);
    if (def.custom || (def.kind === 'Pod' && def.group === '')) return { code: 200, body: final, warnings: [] };
    return { code: 200, body: successStatus({ name, ...(def.group ? { group: def.group } : {}), kind: def.resource, uid: String(cm.uid) }), warnings: [] };
  }

  /** Removes an object whose finalizers are done (garbage collector / namespace controller). */
  finalize(def: ResourceDef, namespace: string | undefined, name: string, finalizer?: string): void {
    const current = this.find(def, namespace, name);
    if (!current) return;
    const cm = meta(current);
    const remaining = (Array.isArray(cm.finalizers) ? cm.finalizers : []).filter((f) => f !== finalizer);
    if (remaining.length === 0 || finalizer === undefined) {
      const last = clone(current);
      if (remaining.length === 0) delete meta(last).finalizers;
      this.commitDelete(def, namespace, last);
      return;
    }
    const next = clone(current);
    meta(next).finalizers = remaining;
    this.commit(def, namespace, next, 'MODIFIED');
  }

  /** Writes by the emulated control plane itself (controllers), bypassing admission. */
  systemWrite(def: ResourceDef, namespace: string | undefined, o: JsonObject, manager: string, subresource?: string): JsonObject {
    const name = str(meta(o).name) ?? '';
    const current = this.find(def, namespace, name);
    if (!current) {
      const out = this.prepareNew(def, namespace, clone(o), { fieldManager: manager, dryRun: false, fieldValidation: 'Ignore' }, []);
      if (o.status !== undefined && def.kind !== 'Namespace') out.status = clone(o.status);
      return this.commit(def, namespace, out, 'ADDED');
    }
    const body = clone(o);
    meta(body).resourceVersion = meta(current).resourceVersion ?? '';
    const r = this.finishUpdate(def, namespace, current, body, { fieldManager: manager, dryRun: false, fieldValidation: 'Ignore' }, [], subresource);
    return r.body;
  }
}

function stripTimes(o: JsonObject): JsonValue {
  const m = obj(o.metadata);
  if (!m || !Array.isArray(m.managedFields)) return o;
  return { ...o, metadata: { ...m, managedFields: m.managedFields.map((e) => (isObject(e) ? { ...e, time: null } : e)) } };
}
