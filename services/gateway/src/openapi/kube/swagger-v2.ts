import type { Schema } from './meta-schemas';

/**
 * Swagger 2.0 (/openapi/v2) from the OpenAPI v3 documents of every group version, as kube-apiserver
 * serves both: definitions under #/definitions, a reference's description beside its $ref (v2 has
 * no allOf wrapping there), parameters with their type inline and the body as an `in: body` parameter.
 */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function schemaToV2(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(schemaToV2);
  if (!isObject(s)) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'writeOnly') continue;
    if (k === '$ref' && typeof v === 'string') out.$ref = v.replace('#/components/schemas/', '#/definitions/');
    else if (k === 'allOf' && Array.isArray(v) && v.length === 1 && isObject(v[0]) && typeof v[0].$ref === 'string') out.$ref = (v[0].$ref as string).replace('#/components/schemas/', '#/definitions/');
    else if (k === 'x-kubernetes-group-version-kind' || k === 'enum' || k === 'required') out[k] = v;
    else out[k] = schemaToV2(v);
  }
  return out;
}

function parameterToV2(p: Schema): Schema {
  const { schema, ...rest } = p as Schema & { schema?: Schema };
  return { ...rest, ...(isObject(schema) ? schema : {}) };
}

const firstSchema = (content: unknown): unknown => (isObject(content) ? Object.values(content).map((c) => (isObject(c) ? c.schema : undefined))[0] : undefined);

function operationToV2(op: Schema): Schema {
  const { parameters, requestBody, responses, ...rest } = op as Schema & { parameters?: Schema[]; requestBody?: Schema; responses?: Record<string, Schema> };
  const params = (parameters ?? []).map(parameterToV2);
  if (isObject(requestBody)) params.unshift({ name: 'body', in: 'body', required: true, schema: schemaToV2(firstSchema(requestBody.content)) });
  const v2Responses: Record<string, Schema> = {};
  for (const [code, r] of Object.entries(responses ?? {})) {
    const schema = firstSchema(r.content);
    v2Responses[code] = { description: r.description, ...(schema !== undefined ? { schema: schemaToV2(schema) } : {}) };
  }
  return {
    ...rest,
    consumes: isObject(requestBody) && isObject(requestBody.content) ? Object.keys(requestBody.content) : ['*/*'],
    produces: ['application/json', 'application/yaml'],
    schemes: ['https'],
    ...(params.length > 0 ? { parameters: params } : {}),
    responses: v2Responses,
  };
}

/** One Swagger 2.0 document of the given OpenAPI v3 documents (paths and schemas merged). */
export function swaggerV2(v3docs: readonly Schema[], serverVersion: string): Schema {
  const paths: Record<string, Schema> = {};
  const definitions: Record<string, unknown> = {};
  for (const doc of v3docs) {
    for (const [path, item] of Object.entries(doc.paths as Record<string, Schema>)) {
      const v2item: Schema = {};
      for (const [method, op] of Object.entries(item)) {
        v2item[method] = method === 'parameters' ? (op as Schema[]).map(parameterToV2) : operationToV2(op as Schema);
      }
      paths[path] = v2item;
    }
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    for (const [name, schema] of Object.entries(schemas)) definitions[name] ??= schemaToV2(schema);
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: serverVersion }, paths, definitions };
}
