/** CustomResourceDefinitions: serving definitions and the structural schema of their resources. */
import { any, isObject, type JsonObject, type JsonValue, kindSchema, obj, type Schema, str, type StructSchema } from '@flotilla/apply';
import type { FieldError } from './errors';
import type { ResourceDef } from './resources';

/** OpenAPI v3 schema of a CRD version → the emulator's structural schema. */
export function fromOpenApi(s: JsonValue | undefined): Schema {
  if (!isObject(s) || s['x-kubernetes-preserve-unknown-fields'] === true) return any;
  if (s['x-kubernetes-int-or-string'] === true) return { t: 'scalar', type: 'int-or-string' };
  switch (s.type) {
    case 'object': {
      const props = obj(s.properties);
      if (props) {
        const fields: Record<string, Schema> = {};
        for (const [k, v] of Object.entries(props)) fields[k] = fromOpenApi(v);
        return { t: 'struct', fields, atomic: s['x-kubernetes-map-type'] === 'atomic' };
      }
      if (isObject(s.additionalProperties)) return { t: 'map', elem: fromOpenApi(s.additionalProperties), atomic: s['x-kubernetes-map-type'] === 'atomic' };
      return any;
    }
    case 'array': {
      const lt = str(s['x-kubernetes-list-type']) ?? 'atomic';
      const keys = Array.isArray(s['x-kubernetes-list-map-keys']) ? s['x-kubernetes-list-map-keys'].map(String) : undefined;
      return { t: 'list', elem: fromOpenApi(s.items), listType: lt === 'map' || lt === 'set' ? lt : 'atomic', keys };
    }
    case 'integer':
      return { t: 'scalar', type: 'integer' };
    case 'number':
      return { t: 'scalar', type: 'number' };
    case 'boolean':
      return { t: 'scalar', type: 'boolean' };
    case 'string':
      return { t: 'scalar', type: 'string' };
    default:
      return any;
  }
}

export function crdVersion(crd: JsonObject, version: string): JsonObject | undefined {
  const versions = obj(crd.spec)?.versions;
  return Array.isArray(versions) ? (versions.find((v) => obj(v)?.name === version) as JsonObject | undefined) : undefined;
}

/** Whether kube-apiserver serves the CRD's resources: NamesAccepted or Established is True. */
export function crdServed(crd: JsonObject): boolean {
  const conditions = obj(crd.status)?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => (obj(c)?.type === 'NamesAccepted' || obj(c)?.type === 'Established') && obj(c)?.status === 'True');
}

export function crdResourceDefs(crd: JsonObject): ResourceDef[] {
  const spec = obj(crd.spec) ?? {};
  const names = obj(spec.names) ?? {};
  const group = str(spec.group) ?? '';
  const versions = Array.isArray(spec.versions) ? spec.versions.filter(isObject) : [];
  return versions
    .filter((v) => v.served !== false)
    .map((v) => {
      const root = obj(obj(v.schema)?.openAPIV3Schema);
      const body = fromOpenApi(root);
      const fields = body.t === 'struct' ? { ...body.fields } : {};
      delete fields.metadata;
      delete fields.apiVersion;
      delete fields.kind;
      const schema: StructSchema = body.t === 'struct' ? kindSchema(fields) : { ...kindSchema({}), fields: { ...kindSchema({}).fields } };
      const open = body.t !== 'struct';
      const subs = obj(v.subresources) ?? {};
      const plural = str(names.plural) ?? '';
      const kind = str(names.kind) ?? '';
      return {
        group,
        version: str(v.name) ?? 'v1',
        resource: plural,
        singular: str(names.singular) ?? kind.toLowerCase(),
        discoverySingular: str(names.singular) ?? kind.toLowerCase(),
        kind,
        listKind: str(names.listKind) ?? `${kind}List`,
        namespaced: spec.scope !== 'Cluster',
        verbs: ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'],
        shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : undefined,
        categories: Array.isArray(names.categories) ? names.categories.map(String) : undefined,
        subresources: [
          ...(subs.status !== undefined ? [{ name: 'status', kind, verbs: ['get', 'patch', 'update'] }] : []),
          ...(subs.scale !== undefined ? [{ name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] }] : []),
        ],
        schema: open ? undefined : schema,
        generation: true,
        custom: true,
      } satisfies ResourceDef;
    });
}

/** Validates a custom resource against its OpenAPI v3 schema (types, required, bounds, enum). */
export function validateCustom(root: JsonValue | undefined, o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const visit = (s: JsonValue | undefined, v: JsonValue | undefined, path: string): void => {
    if (!isObject(s) || v === undefined) return;
    const shown = JSON.stringify(v);
    const type = s.type;
    const typeOk =
      type === undefined ||
      (type === 'object' && isObject(v)) ||
      (type === 'array' && Array.isArray(v)) ||
      (type === 'string' && typeof v === 'string') ||
      (type === 'integer' && typeof v === 'number' && Number.isInteger(v)) ||
      (type === 'number' && typeof v === 'number') ||
      (type === 'boolean' && typeof v === 'boolean') ||
      s['x-kubernetes-int-or-string'] === true;
    if (!typeOk && v !== null) {
      errs.push({ type: 'FieldValueInvalid', field: path, detail: `Invalid value: ${shown}: ${path} in body must be of type ${String(type)}: ${JSON.stringify(typeof v === 'object' ? (Array.isArray(v) ? 'array' : 'object') : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v)}` });
      return;
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) errs.push({ type: 'FieldValueInvalid', field: path, detail: `Invalid value: ${v}: ${path} in body should be greater than or equal to ${s.minimum}` });
      if (typeof s.maximum === 'number' && v > s.maximum) errs.push({ type: 'FieldValueInvalid', field: path, detail: `Invalid value: ${v}: ${path} in body should be less than or equal to ${s.maximum}` });
    }
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && v.length < s.minLength) errs.push({ type: 'FieldValueInvalid', field: path, detail: `Invalid value: ${shown}: ${path} in body should be at least ${s.minLength} chars long` });
      if (typeof s.maxLength === 'number' && v.length > s.maxLength) errs.push({ type: 'FieldValueTooLong', field: path, detail: `Too long: may not be longer than ${s.maxLength}` });
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(v)) errs.push({ type: 'FieldValueInvalid', field: path, detail: `Invalid value: ${shown}: ${path} in body should match '${s.pattern}'` });
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === shown))
      errs.push({ type: 'FieldValueNotSupported', field: path, detail: `Unsupported value: ${shown}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}` });
    if (isObject(v)) {
      const props = obj(s.properties) ?? {};
      for (const r of Array.isArray(s.required) ? s.required : [])
        if (typeof r === 'string' && v[r] === undefined) errs.push({ type: 'FieldValueRequired', field: path ? `${path}.${r}` : r, detail: 'Required value' });
      for (const [k, child] of Object.entries(v)) {
        if (path === '' && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
        visit(props[k] ?? (isObject(s.additionalProperties) ? s.additionalProperties : undefined), child, path ? `${path}.${k}` : k);
      }
    }
    if (Array.isArray(v)) v.forEach((item, i) => visit(s.items, item, `${path}[${i}]`));
  };
  visit(root, o, '');
  return errs;
}
