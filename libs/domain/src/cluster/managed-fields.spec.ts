import { FlotillaError } from '../errors/flotilla-error';
import { CLUSTER_API_VERSION } from './cluster';
import { MAX_MANAGED_FIELDS_BYTES, parseManagedFieldsJson, validateClusterInput } from './cluster-validation';

const entry = { manager: 'kubectl', operation: 'Apply', apiVersion: CLUSTER_API_VERSION, time: '2026-11-27T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:env': {} } } } };
const cluster = (managedFields: unknown) => ({
  apiVersion: CLUSTER_API_VERSION,
  kind: 'Cluster',
  metadata: { name: 'm1', managedFields },
  spec: { connection: { type: 'direct', kubernetesAPIEndpoint: 'https://203.0.113.1:6443' } },
});
const causesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    return ((error as FlotillaError).details.causes ?? []).map((c) => [c.field, c.message]);
  }
  throw new Error('expected Invalid');
};

describe('metadata.managedFields of a Cluster', () => {
  it('keeps valid entries; absent stays absent; an empty entry is dropped ([{}] clears)', () => {
    expect(validateClusterInput(cluster([entry]), 'update').cluster.metadata.managedFields).toEqual([entry]);
    expect(validateClusterInput(cluster(undefined), 'update').cluster.metadata.managedFields).toBeUndefined();
    expect(validateClusterInput(cluster([{}]), 'update').cluster.metadata.managedFields).toEqual([]);
    const { time: _t, ...untimed } = entry;
    expect(validateClusterInput(cluster([untimed]), 'update').cluster.metadata.managedFields).toEqual([untimed]);
  });

  it('names the bad field of a bad entry', () => {
    expect(causesOf(() => validateClusterInput(cluster('x'), 'update'))).toEqual([['metadata.managedFields', expect.stringContaining('must be a list')]]);
    expect(causesOf(() => validateClusterInput(cluster([{ ...entry, manager: '' }]), 'update'))[0]![0]).toBe('metadata.managedFields[0].manager');
    expect(causesOf(() => validateClusterInput(cluster([{ ...entry, operation: 'Patch' }]), 'update'))[0]).toEqual([
      'metadata.managedFields[0].operation',
      'Unsupported value: "Patch": supported values: "Apply", "Update"',
    ]);
    expect(causesOf(() => validateClusterInput(cluster([{ ...entry, fieldsV1: { metadata: {} } }]), 'update'))[0]![0]).toBe('metadata.managedFields[0].fieldsV1');
    expect(causesOf(() => validateClusterInput(cluster([{ ...entry, fieldsType: 'FieldsV2' }]), 'update'))[0]![0]).toBe('metadata.managedFields[0].fieldsType');
    expect(causesOf(() => validateClusterInput(cluster([{ ...entry, extra: 1 }]), 'update'))[0]![0]).toBe('metadata.managedFields[0]');
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { [`f:a${i}`]: deep };
    expect(causesOf(() => validateClusterInput(cluster([{ ...entry, fieldsV1: deep }]), 'update'))[0]![1]).toContain('nests deeper than');
  });

  it('is bounded in size', () => {
    const big = { ...entry, fieldsV1: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f:field-${i}`, {}])) };
    expect(causesOf(() => validateClusterInput(cluster([big]), 'update'))[0]).toEqual(['metadata.managedFields', expect.stringContaining(`${MAX_MANAGED_FIELDS_BYTES} bytes`)]);
    expect(causesOf(() => parseManagedFieldsJson(JSON.stringify([big]), 'm1'))[0]![0]).toBe('metadata.managedFields');
  });

  it('travels as JSON: empty is unset, text that is not JSON is refused', () => {
    expect(parseManagedFieldsJson('', 'm1')).toBeUndefined();
    expect(parseManagedFieldsJson(undefined, 'm1')).toBeUndefined();
    expect(parseManagedFieldsJson('[]', 'm1')).toEqual([]);
    expect(parseManagedFieldsJson(JSON.stringify([entry]), 'm1')).toEqual([entry]);
    expect(causesOf(() => parseManagedFieldsJson('[{', 'm1'))[0]![0]).toBe('metadata.managedFields');
  });
});
