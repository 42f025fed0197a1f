import { ApplyConflictError, applyConfiguration, managedOnCreate } from './apply';
import { readManaged, writeManaged } from './managed';
import { kindSchemaFromOpenApi, schemaFromOpenApi } from './openapi';
import type { JsonObject } from './json';

const schema = kindSchemaFromOpenApi({
  spec: {
    type: 'object',
    properties: {
      replicas: { type: 'integer' },
      selector: { allOf: [{ $ref: '#/components/schemas/Selector' }] },
      ports: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } } },
      args: { type: 'array', items: { type: 'string' } },
      template: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  },
}, (ref) => (ref.endsWith('/Selector') ? { type: 'object', 'x-kubernetes-map-type': 'atomic', properties: { matchLabels: { type: 'object', additionalProperties: { type: 'string' } } } } : undefined));

const obj = (spec: JsonObject, managed?: JsonObject[]): JsonObject => ({ apiVersion: 'x/v1', kind: 'K', metadata: { name: 'a', ...(managed ? { managedFields: managed } : {}) }, spec });

function stored(config: JsonObject, manager: string): JsonObject {
  const o = structuredClone(config);
  writeManaged(o, managedOnCreate(config, schema, manager, 'x/v1'));
  return o;
}

describe('server-side apply (shared by the gateway and the emulator)', () => {
  it('reads OpenAPI list types, map keys, atomic maps, refs and preserved subtrees', () => {
    expect(schemaFromOpenApi({ type: 'array', items: { type: 'string' } })).toMatchObject({ t: 'list', listType: 'atomic' });
    expect(schemaFromOpenApi({ type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } })).toMatchObject({ t: 'list', listType: 'set' });
    expect(schemaFromOpenApi({ type: 'object', additionalProperties: { type: 'string' } })).toMatchObject({ t: 'map' });
    expect(schemaFromOpenApi({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true })).toEqual({ t: 'any' });
    expect(schemaFromOpenApi({ $ref: '#/nowhere' })).toEqual({ t: 'any' });
    const spec = (schema.fields.spec as { fields: Record<string, unknown> }).fields;
    expect(spec.selector).toMatchObject({ t: 'struct', atomic: true });
    expect(spec.ports).toMatchObject({ t: 'list', listType: 'map', keys: ['name'] });
  });

  it('owns keyed list items and preserved subtrees field by field; atomic lists and structs whole', () => {
    const config = obj({ replicas: 1, selector: { matchLabels: { a: 'b' } }, ports: [{ name: 'http', port: 80 }], args: ['x'], template: { spec: { image: 'i' } } });
    const fields = readManaged(stored(config, 'm'))[0]!.set;
    expect([...fields].sort()).toEqual(
      ['f:spec\nf:args', 'f:spec\nf:ports\nk:{"name":"http"}', 'f:spec\nf:ports\nk:{"name":"http"}\nf:name', 'f:spec\nf:ports\nk:{"name":"http"}\nf:port', 'f:spec\nf:replicas', 'f:spec\nf:selector', 'f:spec\nf:template\nf:spec', 'f:spec\nf:template\nf:spec\nf:image'].sort(),
    );
  });

  it('a different value of a field another manager owns conflicts; force takes it; the same value is shared', () => {
    const live = stored(obj({ replicas: 1, ports: [{ name: 'http', port: 80 }] }), 'one');
    const change = obj({ replicas: 3 });
    expect(() => applyConfiguration({ live, config: change, schema, manager: 'two', apiVersion: 'x/v1' })).toThrow(ApplyConflictError);
    try {
      applyConfiguration({ live, config: change, schema, manager: 'two', apiVersion: 'x/v1' });
    } catch (e) {
      expect((e as Error).message).toBe('Apply failed with 1 conflict: conflict with "one": .spec.replicas');
      expect((e as ApplyConflictError).causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "one"', field: '.spec.replicas' }]);
    }
    const forced = applyConfiguration({ live, config: change, schema, manager: 'two', apiVersion: 'x/v1', force: true });
    expect((forced.object.spec as JsonObject).replicas).toBe(3);
    expect(forced.managed.map((m) => [m.manager, [...m.set].sort()])).toEqual([
      ['one', ['f:spec\nf:ports\nk:{"name":"http"}', 'f:spec\nf:ports\nk:{"name":"http"}\nf:name', 'f:spec\nf:ports\nk:{"name":"http"}\nf:port']],
      ['two', ['f:spec\nf:replicas']],
    ]);
    const same = applyConfiguration({ live, config: obj({ replicas: 1, ports: [{ name: 'web', port: 8080 }] }), schema, manager: 'two', apiVersion: 'x/v1' });
    expect((same.object.spec as JsonObject).ports).toEqual([{ name: 'web', port: 8080 }, { name: 'http', port: 80 }]);
  });

  it('removes what the manager applied before and no longer applies, unless another manager owns it', () => {
    const live = stored(obj({ replicas: 1, args: ['x'] }), 'one');
    const next = applyConfiguration({ live, config: obj({ replicas: 1 }), schema, manager: 'one', apiVersion: 'x/v1' });
    expect(next.object.spec).toEqual({ replicas: 1 });
    const withOther = applyConfiguration({ live, config: obj({ args: ['x'] }), schema, manager: 'two', apiVersion: 'x/v1' });
    writeManaged(withOther.object, withOther.managed);
    const kept = applyConfiguration({ live: withOther.object, config: obj({ replicas: 1 }), schema, manager: 'one', apiVersion: 'x/v1' });
    expect(kept.object.spec).toEqual({ replicas: 1, args: ['x'] });
  });
});
