import { ErrorReason } from '@flotilla/domain';
import { changedCredentialFields, credentialChangeRefused, credentialWriterOf, doorWritesAreLasting } from './credential-door';

describe('the credential door', () => {
  it('lets only provider-import (and the break-glass operator identity) change credentials', () => {
    expect(credentialWriterOf('provider-import')).toBe('door');
    expect(credentialWriterOf('operator')).toBe('door');
    for (const other of ['gateway', 'health-probe', 'federation-sync', 'tunnel', '', undefined]) expect(credentialWriterOf(other)).toBe('resource-api');
  });

  it('counts a credential as changed only when one is given and differs from the stored one', () => {
    const stored = { kubeconfig: 'kc-1', token: 'tok-1' };
    expect(changedCredentialFields(stored, {})).toEqual([]);
    expect(changedCredentialFields(stored, { kubeconfig: '', token: '' })).toEqual([]);
    expect(changedCredentialFields(stored, { kubeconfig: 'kc-1', token: 'tok-1' })).toEqual([]);
    expect(changedCredentialFields(stored, { kubeconfig: 'kc-2' })).toEqual(['kubeconfig']);
    expect(changedCredentialFields(stored, { kubeconfig: 'kc-1', token: 'tok-2' })).toEqual(['token']);
    // A credential the cluster does not hold yet is a change too.
    expect(changedCredentialFields({ kubeconfig: 'kc-1' }, { token: 'tok-1' })).toEqual(['token']);
  });

  it('refuses as Invalid with a FieldValueForbidden cause naming PUT .../kubeconfig, never the value', () => {
    const error = credentialChangeRefused('m1', ['kubeconfig']);
    expect(error.reason).toBe(ErrorReason.Invalid);
    expect(error.details.causes).toEqual([{ reason: 'FieldValueForbidden', field: 'spec.connection.kubeconfig', message: expect.stringContaining('PUT /apis/cluster.kubesphere.io/v1alpha1/clusters/m1/kubeconfig') }]);
  });

  it('sees the door writing lasting (Flotilla-made) credentials only on the service-account path', () => {
    const meta = (annotations?: Record<string, string>) => ({ metadata: { name: 'm1', ...(annotations ? { annotations } : {}) } });
    expect(doorWritesAreLasting(meta({ 'import.flotilla.io/credentials': 'service-account' }))).toBe(true);
    expect(doorWritesAreLasting(meta({ 'import.flotilla.io/credentials': 'kubeconfig' }))).toBe(false);
    expect(doorWritesAreLasting(meta())).toBe(false);
  });
});
