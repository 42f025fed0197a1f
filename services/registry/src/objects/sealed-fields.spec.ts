import { FlotillaError } from '@flotilla/domain';
import { LAST_APPLIED, SEALED_KEY, samePlaintext, secretFromPlaintext, secretPlaintext, splitSealed, withSecret, withoutSealed } from './sealed-fields';

const R = 'federatedsecrets.types.kubefed.io';
const fed = (template: Record<string, unknown>, metadata: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'types.kubefed.io/v1beta1',
  kind: 'FederatedSecret',
  metadata: { name: 's', namespace: 'ns', ...metadata },
  spec: { template, placement: { clusters: [{ name: 'm1' }] }, ...spec },
});
const causesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof FlotillaError) return (error.details.causes ?? []).map((c) => c.field);
    throw error;
  }
  throw new Error('expected an error');
};

describe('sealed fields (pure rules)', () => {
  it('splits data and stringData out of the template; neither given is undefined (keep the stored ones)', () => {
    const { object, secret } = splitSealed(R, 's', fed({ type: 'Opaque', data: { a: 'YQ==' }, stringData: { b: 'x' } }));
    expect(object.spec).toEqual({ template: { type: 'Opaque' }, placement: { clusters: [{ name: 'm1' }] } });
    expect(secret).toEqual({ data: { a: 'YQ==' }, stringData: { b: 'x' } });
    expect(splitSealed(R, 's', fed({ type: 'Opaque' })).secret).toBeUndefined();
    expect(splitSealed(R, 's', { metadata: { name: 's' } }).secret).toBeUndefined();
    expect(splitSealed(R, 's', fed({ data: {} })).secret).toEqual({ data: {} });
  });

  it('ignores a sealed part sent by a client', () => {
    const { object } = splitSealed(R, 's', { ...fed({}), [SEALED_KEY]: { keyId: 'k1', ciphertext: 'forged' } });
    expect(object).not.toHaveProperty(SEALED_KEY);
  });

  it('refuses malformed data and overrides of data, naming the field and never the value', () => {
    expect(causesOf(() => splitSealed(R, 's', fed({ data: { a: 'not base64!' }, stringData: { b: 1 } })))).toEqual(['spec.template.data[a]', 'spec.template.stringData[b]']);
    expect(causesOf(() => splitSealed(R, 's', fed({ data: ['x'] })))).toEqual(['spec.template.data']);
    const overrides = [{ clusterName: 'm1', clusterOverrides: [{ path: '/data' }, { path: '/stringData/x', value: 'hunter2' }, { path: '/metadata/labels/data' }, { path: '/database' }] }];
    let message = '';
    try {
      splitSealed(R, 's', fed({}, {}, { overrides }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain('hunter2');
    expect(causesOf(() => splitSealed(R, 's', fed({}, {}, { overrides })))).toEqual(['spec.overrides[0].clusterOverrides[0].path', 'spec.overrides[0].clusterOverrides[1].path']);
  });

  it('cleans last-applied-configuration (the object and the template), and drops it when it is not a JSON object', () => {
    const applied = JSON.stringify(fed({ type: 'Opaque', data: { a: 'c2VjcmV0' }, stringData: { b: 'secret' } }));
    const inner = JSON.stringify({ kind: 'Secret', data: { a: 'c2VjcmV0' }, type: 'Opaque' });
    const { object } = splitSealed(R, 's', fed({ metadata: { annotations: { [LAST_APPLIED]: inner, x: 'y' } } }, { annotations: { [LAST_APPLIED]: applied, keep: '1' } }));
    const annotations = (object.metadata as Record<string, Record<string, string>>).annotations!;
    expect(annotations.keep).toBe('1');
    expect(annotations[LAST_APPLIED]).not.toContain('secret');
    expect(annotations[LAST_APPLIED]).not.toContain('c2VjcmV0');
    expect(JSON.parse(annotations[LAST_APPLIED]!).spec.template).toEqual({ type: 'Opaque' });
    const template = (object.spec as Record<string, Record<string, Record<string, Record<string, string>>>>).template!;
    expect(JSON.parse(template.metadata!.annotations![LAST_APPLIED]!)).toEqual({ kind: 'Secret', type: 'Opaque' });
    expect(template.metadata!.annotations!.x).toBe('y');
    for (const bad of ['{"spec": {"template": {"data": "secret"', '"just a string"', 'x'.repeat(10)]) {
      const out = splitSealed(R, 's', fed({}, { annotations: { [LAST_APPLIED]: bad, keep: '1' } })).object;
      expect((out.metadata as Record<string, unknown>).annotations).toEqual({ keep: '1' });
    }
  });

  it('compares plaintexts with empty maps as nothing, and puts the secret back for unseal', () => {
    expect(samePlaintext(undefined, { data: {} })).toBe(true);
    expect(samePlaintext({ data: { a: 'YQ==' } }, { data: { a: 'YQ==' }, stringData: {} })).toBe(true);
    expect(samePlaintext({ data: { a: 'YQ==' } }, { stringData: { a: 'a' } })).toBe(false);
    expect(secretFromPlaintext(secretPlaintext({ stringData: { a: 'b' } }))).toEqual({ stringData: { a: 'b' } });
    const stored = { ...fed({ type: 'Opaque' }), [SEALED_KEY]: { keyId: 'k1', ciphertext: 'x' } };
    expect(withoutSealed(stored)).not.toHaveProperty(SEALED_KEY);
    expect(withSecret(stored, { data: { a: 'YQ==' } }).spec).toMatchObject({ template: { type: 'Opaque', data: { a: 'YQ==' } } });
    expect(withSecret(stored, undefined)).toEqual(withoutSealed(stored));
  });
});
