/**
 * Small builders for structural OpenAPI v3 schemas, and the apimachinery definitions every
 * Flotilla document refers to (ObjectMeta, ListMeta, LabelSelector), named as kube-apiserver names them.
 */
export type Schema = Record<string, unknown>;

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const OBJECT_META = `${META}.ObjectMeta`;
export const LIST_META = `${META}.ListMeta`;
export const LABEL_SELECTOR = `${META}.LabelSelector`;

export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** A reference with its own description, as kube writes one (allOf, so the description is kept). */
export const refAs = (name: string, description: string): Schema => ({ description, allOf: [ref(name)] });

export const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
export const bool = (description: string): Schema => ({ type: 'boolean', description });
export const int = (description: string, extra: Schema = {}): Schema => ({ type: 'integer', format: 'int32', ...extra, description });
export const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
export const strings = (description: string): Schema => ({ type: 'array', description, items: { type: 'string', default: '' } });
export const stringMap = (description: string): Schema => ({ type: 'object', description, additionalProperties: { type: 'string', default: '' } });
export const list = (description: string, items: Schema): Schema => ({ type: 'array', description, items });
export const obj = (description: string, properties: Record<string, Schema>, required?: string[]): Schema => ({
  type: 'object',
  description,
  ...(required && required.length > 0 ? { required } : {}),
  properties,
});
/** Any JSON object kept as written (a federated template, an event's regarding object). */
export const opaque = (description: string): Schema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });

export const API_VERSION_FIELD = str(
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
);
export const KIND_FIELD = str(
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
);
export const METADATA_FIELD = refAs(OBJECT_META, "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata");

export const META_SCHEMAS: Record<string, Schema> = {
  [OBJECT_META]: obj('ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.', {
    name: str('Name must be unique within a namespace (or, for cluster-scoped kinds, the whole API). Cannot be updated.'),
    generateName: str('An optional prefix used by the server to generate a unique name, only if name is not provided.'),
    namespace: str('Namespace defines the space within which each name must be unique. Empty for cluster-scoped kinds.'),
    uid: str('UID is the unique in time and space value for this object, set by the server. Read-only.'),
    resourceVersion: str('An opaque value that represents the internal version of this object; send it back unchanged for optimistic concurrency. Read-only.'),
    generation: { type: 'integer', format: 'int64', description: 'A sequence number representing a specific generation of the desired state. Read-only.' },
    creationTimestamp: time('When this object was created, set by the server. Read-only.'),
    deletionTimestamp: time('When this object will be deleted, set by the server when a graceful deletion is requested. Read-only.'),
    labels: stringMap('Map of string keys and values that can be used to organize and categorize (scope and select) objects.'),
    annotations: stringMap('Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.'),
    finalizers: { ...strings('Must be empty before the object is deleted from the registry.'), 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    managedFields: list('Maps workflow-id and version to the set of fields that are managed by that workflow.', opaque('A field manager and the fields it manages.')),
  }),
  [LIST_META]: obj('ListMeta describes metadata that synthetic resources must have, including lists.', {
    resourceVersion: str('The version of the list; a watch from it sees every later change.'),
    continue: str('Set when more items are available: send it as ?continue= to get the next page.'),
    remainingItemCount: { type: 'integer', format: 'int64', description: 'The number of items left after this page, when the server knows it.' },
  }),
  [LABEL_SELECTOR]: {
    ...obj('A label selector is a label query over a set of resources. An empty label selector matches all objects; a null one matches none.', {
      matchLabels: stringMap('matchLabels is a map of {key,value} pairs; each is the requirement key In [value].'),
      matchExpressions: list(
        'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
        obj(
          'A label selector requirement: a key, an operator and values.',
          {
            key: str('key is the label key that the selector applies to.', { default: '' }),
            operator: str("operator represents a key's relationship to a set of values: In, NotIn, Exists and DoesNotExist.", { default: '' }),
            values: strings('values is an array of string values; empty for Exists and DoesNotExist.'),
          },
          ['key', 'operator'],
        ),
      ),
    }),
    'x-kubernetes-map-type': 'atomic',
  },
};
