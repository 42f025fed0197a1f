import type { Cluster, MemberRole, Principal } from '@flotilla/domain';
import { FlotillaError } from '@flotilla/domain';
import { MEMBER_ROLE_ANNOTATION } from '@flotilla/kube';
import { IMPERSONATION_ANNOTATION, ProxyAdmission } from './proxy-admission';
import { impersonationRequested } from './proxy-headers';
import { parseProxyTarget } from './proxy-path';
import type { ProxyAuthorizer } from './proxy-ports';

const alice: Principal = { user: 'alice', groups: [], via: 'token' };
const root: Principal = { user: 'admin', groups: [], via: 'admin-token' };

function cluster(name: string, ready: boolean, annotations: Record<string, string> = {}): Cluster {
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, annotations },
    spec: { connection: { type: 'direct' } },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'ClusterReady' : 'ClusterNotReachable', message: ready ? 'ok' : 'cannot connect: ECONNREFUSED' }] },
  };
}

const clusters = new Map<string, Cluster>([
  ['prod', cluster('prod', true)],
  ['down', cluster('down', false)],
  ['noimp', cluster('noimp', true, { [IMPERSONATION_ANNOTATION]: 'off', [MEMBER_ROLE_ANNOTATION]: 'cluster-admin' })],
  ['noimp-minimal', cluster('noimp-minimal', true, { [IMPERSONATION_ANNOTATION]: 'off' })],
]);
const mirror = {
  isSynced: true,
  get: (n: string) => clusters.get(n),
  readiness: (n: string) => {
    const c = clusters.get(n)?.status?.conditions?.[0];
    return c ? { ready: c.status === 'True', reason: c.reason ?? '', message: c.message ?? '' } : undefined;
  },
};
const roles: Record<string, MemberRole> = { alice: 'cluster-viewer', bob: 'cluster-editor', admin: 'cluster-admin' };
const authorizer: ProxyAuthorizer = {
  fleet: (p) => ({ allowed: p.via === 'admin-token', reason: '' }),
  memberRole: (p) => roles[p.user],
  memberAllows: (role, a) => role !== 'cluster-viewer' || ['get', 'list', 'watch'].includes(a.verb),
};
const admission = new ProxyAdmission(mirror, authorizer);
const P = '/apis/cluster.kubesphere.io/v1alpha1/clusters';

/** The caller's Impersonate-* headers as rawHeaders pairs. */
const imp = (...raw: string[]) => impersonationRequested(raw);

function refusal(p: Principal, url: string, method = 'GET', headers: string[] = []): FlotillaError {
  try {
    admission.admit(p, parseProxyTarget(url)!, method, imp(...headers), false);
  } catch (error) {
    return error as FlotillaError;
  }
  throw new Error('admitted');
}

describe('proxy admission', () => {
  it('admits a role holder, impersonating them with their role', () => {
    const a = admission.admit(alice, parseProxyTarget(`${P}/prod/proxy/api/v1/pods`)!, 'GET', undefined, false);
    expect(a.identity).toEqual({ impersonate: true, user: 'alice', role: 'cluster-viewer' });
    expect(a.auditVerb).toBe('list');
  });

  it('answers 404 for an unknown cluster, 403 without a role, 503 with the Ready reason', () => {
    expect(refusal(alice, `${P}/nope/proxy/api`).reason).toBe('NotFound');
    const denied = refusal({ user: 'carol', groups: [], via: 'token' }, `${P}/prod/proxy/api/v1/namespaces/x/pods/p`, 'DELETE');
    expect(denied.reason).toBe('Forbidden');
    expect(denied.message).toMatch(/^user "carol" cannot delete clusters\/proxy "prod"/);
    const down = refusal(alice, `${P}/down/proxy/api`);
    expect(down.reason).toBe('ServiceUnavailable');
    expect(down.message).toMatch(/ClusterNotReachable.*ECONNREFUSED/);
  });

  it('refuses caller Impersonate-* headers unless the caller is a fleet-admin, and system: names always', () => {
    expect(refusal(alice, `${P}/prod/proxy/api`, 'GET', ['Impersonate-User', 'bob']).message).toMatch(/only from a fleet-admin/);
    expect(refusal(root, `${P}/prod/proxy/api`, 'GET', ['Impersonate-User', 'system:admin']).message).toMatch(/refused/);
    expect(refusal(root, `${P}/prod/proxy/api`, 'GET', ['Impersonate-User', 'bob', 'Impersonate-Group', 'system:masters']).message).toMatch(/system:masters/);
    const asBob = admission.admit(root, parseProxyTarget(`${P}/prod/proxy/api`)!, 'GET', imp('impersonate-user', 'bob'), false);
    expect(asBob.identity).toEqual({ impersonate: true, user: 'bob', role: 'cluster-editor' });
  });

  it('with impersonation off, decides by the role, and only where Flotilla holds cluster-admin by choice', () => {
    expect(admission.admit(alice, parseProxyTarget(`${P}/noimp/proxy/api/v1/pods`)!, 'GET', undefined, false).identity).toEqual({ impersonate: false });
    expect(refusal(alice, `${P}/noimp/proxy/api/v1/namespaces/x/pods/p`, 'DELETE').message).toMatch(/cluster-viewer\) cannot delete pods in cluster "noimp"/);
    expect(admission.admit(alice, parseProxyTarget(`${P}/noimp/proxy/version`)!, 'GET', undefined, false).identity.impersonate).toBe(false);
    expect(refusal(alice, `${P}/noimp-minimal/proxy/api/v1/pods`).message).toMatch(/import.flotilla.io\/member-role: cluster-admin/);
  });

  it('refuses the services/pods/nodes proxy subresource and the old /proxy/ prefix (no chained proxies)', () => {
    expect(refusal(alice, `${P}/prod/proxy/api/v1/namespaces/x/services/s/proxy/admin`).message).toMatch(/chain proxies/);
    expect(refusal(alice, `${P}/prod/proxy/api/v1/proxy/namespaces/x/services/s/admin`).message).toMatch(/chain proxies/);
  });

  it('answers 503 until the fleet is loaded', () => {
    const early = new ProxyAdmission({ ...mirror, isSynced: false }, authorizer);
    expect(() => early.admit(alice, parseProxyTarget(`${P}/prod/proxy/api`)!, 'GET', undefined, false)).toThrow(/still loading the fleet/);
  });
});
