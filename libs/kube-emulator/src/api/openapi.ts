/**
 * OpenAPI v3 documents, generated from the structural schemas, as kubectl downloads them:
 * the `/openapi/v3` index, then one document per group version (used by kubectl for
 * fieldValidation support checks and strategic-merge patch metadata).
 */
import { type JsonObject, type Schema } from '@flotilla/apply';
import { createHash } from 'node:crypto';
import { groupVersion, isVirtualResource, type ResourceDef } from './resources';

function toOpenApi(s: Schema): JsonObject {
  switch (s.t) {
    case 'scalar':
      if (s.type === 'int-or-string') return { 'x-kubernetes-int-or-string': true };
      if (s.type === 'date') return { type: 'string', format: 'date-time' };
      return { type: s.type };
    case 'struct': {
      const props: JsonObject = {};
      for (const [k, v] of Object.entries(s.fields)) props[k] = toOpenApi(v);
      const o: JsonObject = { type: 'object', properties: props };
      if (s.atomic) o['x-kubernetes-map-type'] = 'atomic';
      return o;
    }
    case 'map': {
      const o: JsonObject = { type: 'object', additionalProperties: toOpenApi(s.elem) };
      if (s.atomic) o['x-kubernetes-map-type'] = 'atomic';
      return o;
    }
    case 'list': {
      const o: JsonObject = { type: 'array', items: toOpenApi(s.elem), 'x-kubernetes-list-type': s.listType };
      if (s.keys) o['x-kubernetes-list-map-keys'] = s.keys;
      if (s.smpKey) {
        o['x-kubernetes-patch-merge-key'] = s.smpKey;
        o['x-kubernetes-patch-strategy'] = 'merge';
      } else if (s.smpMerge) o['x-kubernetes-patch-strategy'] = 'merge';
      return o;
    }
    default:
      // An opaque part ('any'). Never `{}`: kubectl explain's templates treat an empty schema as
      // missing and fail ("expected schema argument to subtemplate 'typeguess'"); real documents
      // never hold one. Preserving unknown fields is what an untyped part means.
      return { 'x-kubernetes-preserve-unknown-fields': true };
  }
}

function schemaName(def: ResourceDef): string {
  if (def.custom) return `${def.group.split('.').reverse().join('.')}.${def.version}.${def.kind}`;
  const g = def.group === '' ? 'core' : def.group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '').split('.')[0];
  return `io.k8s.api.${g}.${def.version}.${def.kind}`;
}

const PARAM = (name: string): JsonObject => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });

export function groupVersionDoc(gitVersion: string, group: string, version: string, defs: readonly ResourceDef[]): JsonObject {
  const paths: JsonObject = {};
  const schemas: JsonObject = {};
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  for (const def of defs) {
    const gvk = { group: def.group, version: def.version, kind: def.kind };
    const schema: JsonObject = def.schema ? toOpenApi(def.schema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    schema['x-kubernetes-group-version-kind'] = [gvk];
    const name = schemaName(def);
    schemas[name] = schema;
    const ref = { $ref: `#/components/schemas/${name}` };
    const body = { content: { '*/*': { schema: ref } }, required: true };
    const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
    const base = def.namespaced ? `${prefix}/namespaces/{namespace}/${def.resource}` : `${prefix}/${def.resource}`;
    if (isVirtualResource(def)) {
      paths[base] = { post: { 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, parameters: [PARAM('dryRun'), PARAM('fieldManager'), PARAM('fieldValidation')], requestBody: body, responses: ok } };
      continue;
    }
    paths[base] = {
      get: { 'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk, responses: ok },
      post: { 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, parameters: [PARAM('dryRun'), PARAM('fieldManager'), PARAM('fieldValidation')], requestBody: body, responses: ok },
    };
    paths[`${base}/{name}`] = {
      get: { 'x-kubernetes-action': 'get', 'x-kubernetes-group-version-kind': gvk, responses: ok },
      put: { 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: [PARAM('dryRun'), PARAM('fieldManager'), PARAM('fieldValidation')], requestBody: body, responses: ok },
      patch: {
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [PARAM('dryRun'), PARAM('fieldManager'), PARAM('fieldValidation'), PARAM('force')],
        requestBody: { content: { 'application/json-patch+json': { schema: {} }, 'application/merge-patch+json': { schema: {} }, 'application/strategic-merge-patch+json': { schema: {} }, 'application/apply-patch+yaml': { schema: {} } }, required: true },
        responses: ok,
      },
      delete: { 'x-kubernetes-action': 'delete', 'x-kubernetes-group-version-kind': gvk, responses: ok },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: gitVersion }, paths, components: { schemas } };
}

export function docHash(body: string): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

export function openApiIndex(entries: Array<{ path: string; hash: string }>): JsonObject {
  const paths: JsonObject = {};
  for (const e of entries) paths[e.path] = { serverRelativeURL: `/openapi/v3/${e.path}?hash=${e.hash}` };
  return { paths };
}

export function gvPath(group: string, version: string): string {
  return group ? `apis/${groupVersion(group, version)}` : `api/${version}`;
}
