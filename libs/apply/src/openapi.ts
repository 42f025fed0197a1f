/**
 * The apply schema of a kind from its structural OpenAPI v3 schema, read as kube-apiserver reads a
 * CRD's: `x-kubernetes-list-type` (atomic when absent), `x-kubernetes-list-map-keys`,
 * `x-kubernetes-map-type`, `additionalProperties` (a map), `x-kubernetes-preserve-unknown-fields`
 * or no type (kept as written), `$ref` and `allOf: [{$ref}]` through the given resolver.
 */
import { any, atomicList, bool, int, intOrString, kindSchema, map, mapList, setList, string, struct, time, type Schema, type StructSchema } from './schema';

export type OpenApiNode = Record<string, unknown>;
/** Finds a referenced schema by its `$ref` (e.g. `#/components/schemas/io.k8s...LabelSelector`). */
export type OpenApiResolver = (ref: string) => OpenApiNode | undefined;

const isNode = (v: unknown): v is OpenApiNode => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Bounds the walk through references (a recursive schema is kept as `any` below this depth). */
const MAX_DEPTH = 32;

export function schemaFromOpenApi(node: unknown, resolve: OpenApiResolver = () => undefined, depth = 0): Schema {
  if (!isNode(node) || depth > MAX_DEPTH) return any;
  if (typeof node.$ref === 'string') return schemaFromOpenApi(resolve(node.$ref), resolve, depth + 1);
  if (Array.isArray(node.allOf) && node.allOf.length === 1 && node.type === undefined) return schemaFromOpenApi(node.allOf[0], resolve, depth + 1);
  if (node['x-kubernetes-int-or-string'] === true) return intOrString;
  if (node['x-kubernetes-preserve-unknown-fields'] === true && !isNode(node.properties)) return any;
  switch (node.type) {
    case 'string':
      return node.format === 'date-time' ? time : string;
    case 'integer':
      return int;
    case 'number':
      return { t: 'scalar', type: 'number' };
    case 'boolean':
      return bool;
    case 'array': {
      const elem = schemaFromOpenApi(node.items, resolve, depth + 1);
      const keys = node['x-kubernetes-list-map-keys'];
      if (node['x-kubernetes-list-type'] === 'map' && Array.isArray(keys) && keys.length > 0) return mapList(elem, keys.map(String));
      if (node['x-kubernetes-list-type'] === 'set') return setList(elem);
      return atomicList(elem);
    }
    case 'object': {
      const atomic = node['x-kubernetes-map-type'] === 'atomic';
      if (isNode(node.properties)) {
        const fields: Record<string, Schema> = {};
        for (const [k, v] of Object.entries(node.properties)) fields[k] = schemaFromOpenApi(v, resolve, depth + 1);
        return struct(fields, atomic ? { atomic } : {});
      }
      if (isNode(node.additionalProperties)) return map(schemaFromOpenApi(node.additionalProperties, resolve, depth + 1), atomic ? { atomic } : {});
      return any;
    }
    default:
      return any;
  }
}

/** A whole kind: apiVersion, kind and the standard ObjectMeta, plus its own top-level fields. */
export function kindSchemaFromOpenApi(fields: Record<string, unknown>, resolve?: OpenApiResolver): StructSchema {
  const body: Record<string, Schema> = {};
  for (const [k, v] of Object.entries(fields)) if (k !== 'apiVersion' && k !== 'kind' && k !== 'metadata') body[k] = schemaFromOpenApi(v, resolve);
  return kindSchema(body);
}
