import { MemberRole, Principal } from '@flotilla/domain';
import { ADMIN_PRINCIPAL } from '../auth/authenticator';
import { MapLabels, ManualFeed, accessBinding, fleetBinding, tokenObject, userObject } from '../auth/testing/iam-fixtures';
import { IamMirror } from '../iam/iam-mirror';
import { Authorizer } from './authorizer';

const CL = { group: 'cluster.kubesphere.io', resource: 'clusters' };
const user = (name: string, groups: string[] = [], tokenId?: string): Principal => ({ user: name, groups, via: 'token', ...(tokenId ? { tokenId } : {}) });

function setup() {
  const feed = new ManualFeed();
  const mirror = new IamMirror(feed);
  mirror.start();
  const labels = new MapLabels();
  labels.labels.set('prod-eu', { env: 'prod', region: 'eu' });
  labels.labels.set('prod-us', { env: 'prod', region: 'us' });
  labels.labels.set('dev-1', { env: 'dev' });
  const carolToken = tokenObject('carol');
  feed.sync([
    userObject('alice'),
    userObject('vera'),
    carolToken.object,
    fleetBinding('admins', 'fleet-admin', [{ kind: 'User', name: 'alice' }]),
    fleetBinding('viewers', 'fleet-viewer', [{ kind: 'User', name: 'vera' }]),
    accessBinding('prod-viewers', MemberRole.viewer, [{ kind: 'Group', name: 'oidc:sre' }], { clusterSelector: { matchLabels: { env: 'prod' } } }),
    accessBinding('eu-editors', MemberRole.editor, [{ kind: 'User', name: 'bob' }], { clusterSelector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] } }),
    accessBinding('dev-admin', MemberRole.admin, [{ kind: 'User', name: 'bob' }], { clusters: ['dev-1'] }),
    accessBinding('by-token', MemberRole.viewer, [{ kind: 'Token', name: carolToken.name }], { clusters: ['prod-us'] }),
  ]);
  return { feed, mirror, labels, authorizer: new Authorizer(mirror, labels), carolToken };
}

describe('Authorizer: fleet roles on Flotilla\'s own API', () => {
  const { authorizer, carolToken } = setup();
  const can = (p: Principal, verb: string, a: Partial<{ group: string; resource: string; subresource: string; name: string }> = {}) =>
    authorizer.fleet(p, { verb, ...CL, ...a }).allowed;

  it('the bootstrap admin and fleet-admins may do everything', () => {
    for (const p of [ADMIN_PRINCIPAL, user('alice')]) {
      expect(can(p, 'delete', { name: 'x' })).toBe(true);
      expect(can(p, 'create', { group: 'admin.flotilla.io', resource: 'reencryptions' })).toBe(true);
      expect(can(p, 'update', { name: 'x', subresource: 'kubeconfig' })).toBe(true);
    }
  });

  it('a Flotilla user named admin is not the bootstrap admin', () => {
    expect(can({ user: 'admin', groups: [], via: 'token', tokenId: 't' }, 'list')).toBe(false);
    expect(authorizer.memberRole({ user: 'admin', groups: [], via: 'oidc' }, 'prod-eu')).toBeUndefined();
  });

  it('fleet-viewer reads everything but admin/, and writes nothing', () => {
    const vera = user('vera');
    for (const verb of ['get', 'list', 'watch']) expect(can(vera, verb)).toBe(true);
    expect(can(vera, 'get', { name: 'x', subresource: 'kubeconfig' })).toBe(true);
    expect(can(vera, 'list', { group: 'iam.flotilla.io', resource: 'tokens' })).toBe(true);
    for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection']) expect(can(vera, verb, { name: 'x' })).toBe(false);
    expect(can(vera, 'update', { name: 'x', subresource: 'kubeconfig' })).toBe(false);
    expect(can(vera, 'list', { group: 'admin.flotilla.io', resource: 'reencryptions' })).toBe(false);
    expect(authorizer.memberRole(vera, 'prod-eu')).toBeUndefined();
    expect(authorizer.seesAllTokens(vera)).toBe(true);
  });

  it('without a fleet role: self reviews, own tokens, discovery, and kubeconfigs for reachable clusters only', () => {
    const carol = user('carol', [], carolToken.name);
    expect(can(carol, 'list')).toBe(false);
    expect(can(carol, 'create', { group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' })).toBe(true);
    expect(can(carol, 'list', { group: 'iam.flotilla.io', resource: 'tokens' })).toBe(true);
    expect(authorizer.seesAllTokens(carol)).toBe(false);
    expect(can(carol, 'get', { group: 'iam.flotilla.io', resource: 'tokens', name: carolToken.name })).toBe(true);
    expect(can(user('dave'), 'get', { group: 'iam.flotilla.io', resource: 'tokens', name: carolToken.name })).toBe(false);
    expect(can(carol, 'delete', { group: 'iam.flotilla.io', resource: 'tokens', name: carolToken.name })).toBe(false);
    expect(can(carol, 'create', { name: 'prod-us', subresource: 'kubeconfig' })).toBe(true);
    expect(can(carol, 'create', { name: 'prod-eu', subresource: 'kubeconfig' })).toBe(false);
    expect(can(carol, 'create', { group: 'iam.flotilla.io', resource: 'kubeconfigs' })).toBe(true);
    expect(can(user('dave'), 'create', { group: 'iam.flotilla.io', resource: 'kubeconfigs' })).toBe(false);
    expect(authorizer.fleetPath(carol, 'get', '/apis').allowed).toBe(true);
    expect(authorizer.fleetPath(carol, 'get', '/openapi.json').allowed).toBe(true);
    expect(authorizer.fleetPath(carol, 'post', '/apis').allowed).toBe(false);
    expect(authorizer.fleetPath(carol, 'get', '/').allowed).toBe(false);
  });
});

describe('Authorizer: federation (issue 15)', () => {
  const { authorizer, carolToken } = setup();
  const FD = { group: 'types.kubefed.io', resource: 'federateddeployments' };
  const can = (p: Principal, verb: string, a: Partial<{ group: string; resource: string; subresource: string; name: string }> = {}) =>
    authorizer.fleet(p, { verb, ...FD, ...a }).allowed;

  it('any member role reads federated objects, their events and host namespaces; no role reads nothing', () => {
    const carol = user('carol', [], carolToken.name);
    for (const verb of ['get', 'list', 'watch']) expect(can(carol, verb)).toBe(true);
    expect(can(carol, 'get', { name: 'web', subresource: 'events' })).toBe(true);
    expect(can(carol, 'list', { group: '', resource: 'namespaces' })).toBe(true);
    expect(can(carol, 'get', { group: 'scheduling.kubefed.io', resource: 'replicaschedulingpreferences', name: 'web' })).toBe(true);
    expect(can(user('dave'), 'list')).toBe(false);
    expect(can(user('dave'), 'list', { group: '', resource: 'namespaces' })).toBe(false);
    expect(can(user('vera'), 'list')).toBe(true);
  });

  it('writes need cluster-editor or cluster-admin somewhere (the route then checks every placed cluster)', () => {
    const bob = user('bob');
    for (const verb of ['create', 'update', 'patch', 'delete']) expect(can(bob, verb, { name: 'web' })).toBe(true);
    expect(can(bob, 'create', { group: '', resource: 'namespaces' })).toBe(true);
    expect(can(bob, 'create', { group: 'types.flotilla.io', resource: 'federatedobjects' })).toBe(true);
    expect(can(bob, 'deletecollection')).toBe(false);
    expect(can(bob, 'update', { name: 'web', subresource: 'status' })).toBe(false);
    expect(can(user('carol', [], carolToken.name), 'create')).toBe(false);
    expect(can(user('vera'), 'create')).toBe(false);
    expect(can(user('alice'), 'delete', { group: '', resource: 'namespaces', name: 'x' })).toBe(true);
  });

  it('a member role on a cluster reads its orphans, not another cluster\'s', () => {
    const orphans = (p: Principal, name: string) => authorizer.fleet(p, { verb: 'get', group: 'cluster.kubesphere.io', resource: 'clusters', subresource: 'orphans', name }).allowed;
    expect(orphans(user('carol', [], carolToken.name), 'prod-us')).toBe(true);
    expect(orphans(user('carol', [], carolToken.name), 'prod-eu')).toBe(false);
    expect(orphans(user('vera'), 'prod-eu')).toBe(true);
  });
});

describe('Authorizer: member roles', () => {
  it('takes the strongest role over names, selectors, groups and tokens', () => {
    const { authorizer, carolToken } = setup();
    const bob = user('bob');
    expect(authorizer.memberRole(bob, 'prod-eu')).toBe('cluster-editor');
    expect(authorizer.memberRole(bob, 'dev-1')).toBe('cluster-admin');
    expect(authorizer.memberRole(bob, 'prod-us')).toBeUndefined();
    expect(authorizer.memberRole(user('bob', ['oidc:sre']), 'prod-us')).toBe('cluster-viewer');
    expect(authorizer.memberRole(user('carol', [], carolToken.name), 'prod-us')).toBe('cluster-viewer');
    expect(authorizer.memberRole(user('carol'), 'prod-us')).toBeUndefined();
    expect(authorizer.memberRole(user('alice'), 'anything')).toBe('cluster-admin');
    expect(authorizer.memberRole(ADMIN_PRINCIPAL, 'anything')).toBe('cluster-admin');
    expect(authorizer.memberRole(user('x', ['oidc:sre']), 'unknown-cluster')).toBeUndefined();
  });

  it('forgets cached decisions when bindings or cluster labels change', () => {
    const { authorizer, feed, labels } = setup();
    const sre = user('sam', ['oidc:sre']);
    expect(authorizer.memberRole(sre, 'dev-1')).toBeUndefined();
    labels.set('dev-1', { env: 'prod' });
    expect(authorizer.memberRole(sre, 'dev-1')).toBe('cluster-viewer');
    const b = accessBinding('prod-viewers', MemberRole.viewer, [{ kind: 'Group', name: 'oidc:sre' }], { clusterSelector: { matchLabels: { env: 'prod' } } });
    feed.change('DELETED', b);
    expect(authorizer.memberRole(sre, 'dev-1')).toBeUndefined();
    feed.change('ADDED', accessBinding('sam-admin', MemberRole.admin, [{ kind: 'User', name: 'sam' }], { clusters: ['dev-1'] }));
    expect(authorizer.memberRole(sre, 'dev-1')).toBe('cluster-admin');
  });
});

describe('memberAllows', () => {
  const { authorizer } = setup();
  const allows = (role: MemberRole, verb: string, resource: string, group = '', subresource?: string) => authorizer.memberAllows(role, { verb, group, resource, subresource });

  it('cluster-viewer reads, but not secrets, and opens no channel', () => {
    expect(allows('cluster-viewer', 'list', 'pods')).toBe(true);
    expect(allows('cluster-viewer', 'watch', 'deployments', 'apps')).toBe(true);
    expect(allows('cluster-viewer', 'get', 'pods', '', 'log')).toBe(true);
    expect(allows('cluster-viewer', 'get', 'secrets')).toBe(false);
    expect(allows('cluster-viewer', 'get', 'pods', '', 'exec')).toBe(false);
    expect(allows('cluster-viewer', 'create', 'pods', '', 'portforward')).toBe(false);
    expect(allows('cluster-viewer', 'delete', 'pods')).toBe(false);
    expect(allows('cluster-viewer', 'get', '')).toBe(true);
  });

  it('cluster-editor writes workloads, execs, but grants no rights and changes no infrastructure', () => {
    expect(allows('cluster-editor', 'delete', 'pods')).toBe(true);
    expect(allows('cluster-editor', 'patch', 'deployments', 'apps')).toBe(true);
    expect(allows('cluster-editor', 'get', 'secrets')).toBe(true);
    expect(allows('cluster-editor', 'create', 'pods', '', 'exec')).toBe(true);
    expect(allows('cluster-editor', 'get', 'pods', '', 'exec')).toBe(true);
    expect(allows('cluster-editor', 'list', 'rolebindings', 'rbac.authorization.k8s.io')).toBe(true);
    expect(allows('cluster-editor', 'create', 'rolebindings', 'rbac.authorization.k8s.io')).toBe(false);
    expect(allows('cluster-editor', 'impersonate', 'users')).toBe(false);
    expect(allows('cluster-editor', 'delete', 'namespaces')).toBe(false);
    expect(allows('cluster-editor', 'update', 'nodes', '', 'status')).toBe(false);
    expect(allows('cluster-editor', 'get', 'nodes', '', 'proxy')).toBe(false);
    expect(allows('cluster-editor', 'create', 'customresourcedefinitions', 'apiextensions.k8s.io')).toBe(false);
  });

  it('cluster-admin does everything', () => {
    expect(allows('cluster-admin', 'impersonate', 'users')).toBe(true);
    expect(allows('cluster-admin', 'create', 'clusterrolebindings', 'rbac.authorization.k8s.io')).toBe(true);
  });
});
