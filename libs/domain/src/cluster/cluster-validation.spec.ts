import { CLUSTER_API_VERSION } from './cluster';
import { decodeKubeconfig, validateClusterInput } from './cluster-validation';
import { FlotillaError } from '../errors/flotilla-error';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\nclusters: []\n';

function cluster(overrides: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name: 'member-1', labels: { env: 'prod' } },
    spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: KUBECONFIG }, ...spec },
    ...overrides,
  };
}

function causesOf(fn: () => unknown): { field: string; reason: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    return (error as FlotillaError).details.causes ?? [];
  }
  throw new Error('expected a validation error');
}

describe('validateClusterInput', () => {
  it('accepts a KubeSphere-shaped cluster and keeps the kubeconfig for the registry', () => {
    const { cluster: c, unknownFields } = validateClusterInput(cluster(), 'create');
    expect(c.metadata).toEqual({ name: 'member-1', labels: { env: 'prod' } });
    expect(c.spec.connection).toEqual({ type: 'direct', kubeconfig: KUBECONFIG });
    expect(unknownFields).toEqual([]);
  });

  it('decodes a base64 kubeconfig, as KubeSphere stores it', () => {
    const b64 = Buffer.from(KUBECONFIG).toString('base64');
    const { cluster: c } = validateClusterInput(cluster({}, { connection: { type: 'direct', kubeconfig: b64 } }), 'create');
    expect(c.spec.connection.kubeconfig).toBe(KUBECONFIG);
    expect(decodeKubeconfig(KUBECONFIG)).toBe(KUBECONFIG);
  });

  it('names every bad field at once', () => {
    const causes = causesOf(() =>
      validateClusterInput(
        cluster({ metadata: { name: 'Bad_Name', labels: { 'bad key!': 'v' } } }, { provider: 'UPPER', joinFederation: 'yes', connection: { type: 'tunnel' } }),
        'create',
      ),
    );
    const fields = causes.map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'metadata.labels', 'spec.provider', 'spec.joinFederation', 'spec.connection.type']));
    expect(causes.find((c) => c.field === 'spec.connection.type')?.reason).toBe('FieldValueNotSupported');
  });

  it('requires a kubeconfig for a direct connection on create, but not for an agent (proxy) connection', () => {
    const causes = causesOf(() => validateClusterInput(cluster({}, { connection: { type: 'direct' } }), 'create'));
    expect(causes).toEqual([expect.objectContaining({ field: 'spec.connection.kubeconfig', reason: 'FieldValueRequired' })]);
    expect(() => validateClusterInput(cluster({}, { connection: { type: 'proxy' } }), 'create')).not.toThrow();
    // On update an omitted kubeconfig keeps the stored one.
    expect(() => validateClusterInput(cluster({}, { connection: { type: 'direct' } }), 'update')).not.toThrow();
  });

  it('never echoes a credential in an error message', () => {
    const causes = causesOf(() => validateClusterInput(cluster({}, { connection: { type: 'direct', kubeconfig: 12345, token: { secret: 'hunter2' } } }), 'create'));
    const text = JSON.stringify(causes);
    expect(text).toContain('spec.connection.kubeconfig');
    expect(text).toContain('spec.connection.token');
    expect(text).not.toContain('12345');
    expect(text).not.toContain('hunter2');
  });

  it('refuses a kubeconfig over 1 MiB', () => {
    const huge = `apiVersion: v1\nkind: Config\n# ${'x'.repeat(1024 * 1024)}`;
    const causes = causesOf(() => validateClusterInput(cluster({}, { connection: { type: 'direct', kubeconfig: huge } }), 'create'));
    expect(causes[0]).toMatchObject({ field: 'spec.connection.kubeconfig', reason: 'FieldValueTooLong' });
  });

  it('refuses the wrong apiVersion or kind with BadRequest naming both fields', () => {
    try {
      validateClusterInput(cluster({ apiVersion: 'v1', kind: 'ConfigMap' }), 'create');
      throw new Error('no error');
    } catch (error) {
      expect((error as FlotillaError).reason).toBe('BadRequest');
      expect((error as FlotillaError).details.causes?.map((c) => c.field)).toEqual(['apiVersion', 'kind']);
    }
  });

  it('forbids a resourceVersion on create and keeps it on update', () => {
    const withRv = cluster({ metadata: { name: 'member-1', resourceVersion: '7' } });
    expect(causesOf(() => validateClusterInput(withRv, 'create'))[0]).toMatchObject({ field: 'metadata.resourceVersion', reason: 'FieldValueForbidden' });
    expect(validateClusterInput(withRv, 'update').cluster.metadata.resourceVersion).toBe('7');
  });

  it('reports unknown fields by path and ignores status (written by the platform only)', () => {
    const { cluster: c, unknownFields } = validateClusterInput(
      cluster({ status: { kubernetesVersion: 'v9' }, extra: 1 }, { foo: true, connection: { type: 'proxy', bar: 1 } }),
      'create',
    );
    expect(unknownFields.sort()).toEqual(['extra', 'spec.connection.bar', 'spec.foo']);
    expect(c.status).toBeUndefined();
  });

  it('refuses a body that is not an object', () => {
    expect(() => validateClusterInput([1, 2], 'create')).toThrow(/must be a JSON \(or YAML\) object/);
    expect(() => validateClusterInput(null, 'create')).toThrow(FlotillaError);
  });
});
