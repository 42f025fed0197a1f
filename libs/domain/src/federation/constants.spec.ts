import { createHash } from 'node:crypto';
import { labelValueErrors } from '../cluster/names';
import {
  ADOPT_ANNOTATION,
  DRIFT_ANNOTATION,
  LAST_WRITER_ANNOTATION,
  RETAIN_ANNOTATION,
  federatedObjectKey,
  federationPolicies,
  lastWriterValue,
  managedByValue,
  orphanName,
  parseFederatedObjectKey,
  parseLastWriter,
} from './constants';

describe('managedByValue', () => {
  it('is <namespace>.<name>, or <name> when cluster-scoped', () => {
    expect(managedByValue('shop', 'web')).toBe('shop.web');
    expect(managedByValue(undefined, 'reader')).toBe('reader');
    expect(managedByValue('', 'reader')).toBe('reader');
  });

  it('keeps values of 63 characters and shortens longer ones to 46 characters, "-" and 16 hex of the sha256', () => {
    const ns = 'n'.repeat(30);
    const exact = managedByValue(ns, 'x'.repeat(32));
    expect(exact).toBe(`${ns}.${'x'.repeat(32)}`);
    expect(exact).toHaveLength(63);
    const full = `${ns}.${'y'.repeat(200)}`;
    const short = managedByValue(ns, 'y'.repeat(200));
    expect(short).toBe(`${full.slice(0, 46)}-${createHash('sha256').update(full).digest('hex').slice(0, 16)}`);
    expect(short).toHaveLength(63);
    expect(labelValueErrors(short)).toEqual([]);
    expect(managedByValue(ns, 'y'.repeat(201))).not.toBe(short);
  });
});

describe('federated object key and orphan names', () => {
  it('round-trips <resource>/<namespace>/<name>', () => {
    expect(federatedObjectKey('federateddeployments.types.kubefed.io', 'shop', 'web')).toBe('federateddeployments.types.kubefed.io/shop/web');
    expect(federatedObjectKey('federatedclusterroles.types.kubefed.io', undefined, 'reader')).toBe('federatedclusterroles.types.kubefed.io//reader');
    expect(parseFederatedObjectKey('federatedclusterroles.types.kubefed.io//reader')).toEqual({ resource: 'federatedclusterroles.types.kubefed.io', namespace: '', name: 'reader' });
    expect(parseFederatedObjectKey('a/b')).toBeUndefined();
    expect(parseFederatedObjectKey(undefined)).toBeUndefined();
    expect(parseFederatedObjectKey('/ns/name')).toBeUndefined();
  });

  it('names an orphan <cluster>.<16 hex of sha256(apiVersion/kind/namespace/name)>', () => {
    const digest = createHash('sha256').update('apps/v1/Deployment/shop/web').digest('hex').slice(0, 16);
    expect(orphanName('member-1', { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' })).toBe(`member-1.${digest}`);
    const cluster = createHash('sha256').update('rbac.authorization.k8s.io/v1/ClusterRole//reader').digest('hex').slice(0, 16);
    expect(orphanName('m', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'reader' })).toBe(`m.${cluster}`);
  });
});

describe('federationPolicies', () => {
  it('defaults to no retain, no adopt, drift repair', () => {
    expect(federationPolicies(undefined)).toEqual({ retain: false, adopt: false, drift: 'repair' });
    expect(federationPolicies({})).toEqual({ retain: false, adopt: false, drift: 'repair' });
  });

  it('reads "true" only as true and "report" only as report', () => {
    expect(federationPolicies({ [RETAIN_ANNOTATION]: 'true', [ADOPT_ANNOTATION]: 'true', [DRIFT_ANNOTATION]: 'report' })).toEqual({ retain: true, adopt: true, drift: 'report' });
    expect(federationPolicies({ [RETAIN_ANNOTATION]: 'True', [ADOPT_ANNOTATION]: 'yes', [DRIFT_ANNOTATION]: 'ignore' })).toEqual({ retain: false, adopt: false, drift: 'repair' });
  });
});

describe('last writer', () => {
  it('round-trips user and groups, and nothing else', () => {
    const value = lastWriterValue({ user: 'alice', groups: ['dev'], tokenId: 'tsecret' } as { user: string; groups: string[] });
    expect(value).toBe('{"user":"alice","groups":["dev"]}');
    expect(parseLastWriter({ [LAST_WRITER_ANNOTATION]: value })).toEqual({ user: 'alice', groups: ['dev'] });
  });

  it('reads unreadable values as no writer', () => {
    for (const raw of ['', 'not json', '{"groups":[]}', '{"user":""}', '{"user":3}', 'null']) {
      expect(parseLastWriter({ [LAST_WRITER_ANNOTATION]: raw })).toBeUndefined();
    }
    expect(parseLastWriter(undefined)).toBeUndefined();
    expect(parseLastWriter({ [LAST_WRITER_ANNOTATION]: '{"user":"bob","groups":["a",1,null]}' })).toEqual({ user: 'bob', groups: ['a'] });
  });
});
