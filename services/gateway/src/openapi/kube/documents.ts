import type { ApiResource, GroupVersionResources } from '../../discovery/api-catalog';
import { kindDescription, kindFields, kindRequired } from './kind-schemas';
import { API_VERSION_FIELD, KIND_FIELD, LIST_META, META_SCHEMAS, METADATA_FIELD, Schema, list, opaque, ref, refAs } from './meta-schemas';

/**
 * Flotilla's API as kube-apiserver documents itself: one OpenAPI v3 document per group version
 * (/openapi/v3/apis/<group>/<version>), and the same in Swagger 2.0 (/openapi/v2). Built from the
 * discovery catalog, so every resource discovery lists is documented, with its kind's schema,
 * x-kubernetes-group-version-kind and its paths.
 */

/** Kinds whose writes honour ?fieldValidation= (kubectl then leaves unknown-field checks to the server). */
const FIELD_VALIDATION = new Set(['cluster.kubesphere.io/Cluster']);

/** The definition name kube-apiserver gives a kind: io.k8s.api.<g>.<v>.<Kind> for Kubernetes groups, the reversed group for others. */
export function schemaName(group: string, version: string, kind: string): string {
  if (group === '') return `io.k8s.api.core.${version}.${kind}`;
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.slice(0, -'.k8s.io'.length).split('.')[0]}.${version}.${kind}`;
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

const gvkOf = (g: GroupVersionResources, kind: string) => ({ group: g.group, version: g.version, kind });

function kindSchema(g: GroupVersionResources, r: ApiResource): Schema {
  const fields = kindFields(g.group, r.kind);
  const required = kindRequired(g.group, r.kind);
  return {
    type: 'object',
    description: kindDescription(g.group, r.kind),
    ...(required.length > 0 ? { required } : {}),
    properties: { apiVersion: API_VERSION_FIELD, kind: KIND_FIELD, metadata: METADATA_FIELD, ...(fields ?? {}) },
    // A kind without a schema here keeps whatever it is given (as an untyped CRD would).
    ...(fields ? {} : { 'x-kubernetes-preserve-unknown-fields': true }),
    'x-kubernetes-group-version-kind': [gvkOf(g, r.kind)],
  };
}

function listSchema(g: GroupVersionResources, r: ApiResource, itemName: string): Schema {
  return {
    type: 'object',
    description: `${r.kind}List is a list of ${r.kind}`,
    required: ['items'],
    properties: {
      apiVersion: API_VERSION_FIELD,
      items: list(`List of ${r.name}.`, ref(itemName)),
      kind: KIND_FIELD,
      metadata: refAs(LIST_META, 'Standard list metadata.'),
    },
    'x-kubernetes-group-version-kind': [gvkOf(g, `${r.kind}List`)],
  };
}

const query = (name: string, description: string, type = 'string'): Schema => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });
const PATH_NAME: Schema = { name: 'name', in: 'path', description: 'name of the object', required: true, schema: { type: 'string', uniqueItems: true } };
const PATH_NAMESPACE: Schema = { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', required: true, schema: { type: 'string', uniqueItems: true } };
const LIST_PARAMS = [
  query('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  query('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  query('limit', 'The maximum number of items to return; continue with metadata.continue.', 'integer'),
  query('continue', 'The continue token of the previous page.'),
  query('resourceVersion', 'With watch: the version to watch from.'),
  query('watch', 'Watch for changes to the described resources.', 'boolean'),
  query('allowWatchBookmarks', 'Ask for BOOKMARK events in a watch.', 'boolean'),
  query('timeoutSeconds', 'End a list or watch call after this many seconds.', 'integer'),
];
const DRY_RUN = query('dryRun', 'When present (All), the modification is not persisted.');
const FIELD_VALIDATION_PARAM = query('fieldValidation', 'How the server treats unknown fields: Ignore, Warn (the default) or Strict.');
const FORCE = query('force', 'Force an apply request (re-acquire conflicting fields).', 'boolean');
const JSON_TYPES = ['application/json', 'application/yaml'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

const content = (types: string[], schema: Schema) => Object.fromEntries(types.map((t) => [t, { schema }]));
const ok = (schema: Schema, code = '200') => ({ [code]: { description: 'OK', content: content(JSON_TYPES, schema) }, '401': { description: 'Unauthorized' } });

/** The paths of one resource (its collection and its objects), as kube documents them. */
function resourcePaths(g: GroupVersionResources, r: ApiResource, kindRef: Schema, listRef: Schema | undefined, paths: Record<string, Schema>): void {
  const prefix = g.group ? `/apis/${g.group}/${g.version}` : `/api/${g.version}`;
  const gvk = gvkOf(g, r.kind);
  const op = (action: string, verb: string, extra: Schema) => ({ description: `${verb} ${r.kind}`, operationId: `${action}${r.kind}`, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, ...extra });
  const writeParams = [DRY_RUN, query('fieldManager', 'The name of the actor making the change.'), ...(FIELD_VALIDATION.has(`${g.group}/${r.kind}`) ? [FIELD_VALIDATION_PARAM] : [])];
  const body = { content: content(JSON_TYPES, kindRef), required: true };
  const scope = r.namespaced ? [PATH_NAMESPACE] : [];
  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.name}` : `${prefix}/${r.name}`;
  const verbs = new Set(r.verbs);
  const coll: Schema = { parameters: scope };
  if (verbs.has('list') && listRef) coll.get = op('list', 'list or watch objects of kind', { parameters: LIST_PARAMS, responses: ok(listRef) });
  if (verbs.has('create')) coll.post = op('post', 'create a', { parameters: writeParams, requestBody: body, responses: ok(kindRef, '201') });
  if (coll.get || coll.post) paths[collection] = coll;
  if (r.namespaced && verbs.has('list') && listRef) {
    paths[`${prefix}/${r.name}`] = { get: op('list', 'list or watch objects of kind', { operationId: `list${r.kind}ForAllNamespaces`, parameters: LIST_PARAMS, responses: ok(listRef) }) };
  }
  const item: Schema = { parameters: [PATH_NAME, ...scope] };
  if (verbs.has('get')) item.get = op('get', 'read the specified', { responses: ok(kindRef) });
  if (verbs.has('update')) item.put = op('put', 'replace the specified', { parameters: writeParams, requestBody: body, responses: ok(kindRef) });
  if (verbs.has('patch')) {
    item.patch = op('patch', 'partially update the specified', {
      parameters: [...writeParams, FORCE],
      requestBody: { content: content(PATCH_TYPES, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), required: true },
      responses: ok(kindRef),
    });
  }
  if (verbs.has('delete')) item.delete = op('delete', 'delete a', { parameters: [DRY_RUN], responses: ok(opaque('The deleted object, or a Status.')) });
  if (Object.keys(item).length > 1) paths[`${collection}/{name}`] = item;
}

/** The OpenAPI v3 document of one group version. */
export function groupVersionDocument(g: GroupVersionResources, serverVersion: string): Schema {
  const schemas: Record<string, Schema> = { ...structuredClone(META_SCHEMAS) };
  const paths: Record<string, Schema> = {};
  for (const r of g.resources.filter((x) => !x.name.includes('/'))) {
    const name = schemaName(g.group, g.version, r.kind);
    schemas[name] ??= kindSchema(g, r);
    let listRef: Schema | undefined;
    if (r.verbs.includes('list')) {
      const listName = `${name}List`;
      schemas[listName] ??= listSchema(g, r, name);
      listRef = ref(listName);
    }
    resourcePaths(g, r, ref(name), listRef, paths);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: serverVersion }, paths, components: { schemas } };
}
