/** Rule coverage and the escalation message, as pkg/registry/rbac/validation computes them. */
import { type JsonObject } from '@flotilla/apply';
import { ObjectStore } from './store';
import { bootstrapRbacObjects } from './rbac';
import { checkEscalation, escalationMessage, uncoveredRules } from './rbac-escalation';

const RBAC = 'rbac.authorization.k8s.io';

function storeWith(objects: Array<{ resource: string; key: string; object: JsonObject }>): ObjectStore {
  const store = new ObjectStore(1, 100);
  for (const { resource, object } of bootstrapRbacObjects()) {
    const name = String((object.metadata as JsonObject).name);
    store.put(`${RBAC}/${resource}`, name, '', object, store.nextRevision(), 'ADDED');
  }
  for (const o of objects) store.put(`${RBAC}/${o.resource}`, o.key, '', o.object, store.nextRevision(), 'ADDED');
  return store;
}

const bob = { username: 'bob', groups: ['system:authenticated'] };
const grant = (name: string, rules: JsonObject[]): Array<{ resource: string; key: string; object: JsonObject }> => [
  { resource: 'clusterroles', key: name, object: { metadata: { name }, rules } },
  { resource: 'clusterrolebindings', key: name, object: { metadata: { name }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name }, subjects: [{ kind: 'User', name: 'bob' }] } },
];

describe('RBAC escalation check', () => {
  it('covers by verb, group, resource, subresource wildcard, names and URLs', () => {
    const owner: JsonObject[] = [
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', '*/status'] },
      { verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] },
      { verbs: ['get'], nonResourceURLs: ['/healthz/*'] },
    ];
    expect(uncoveredRules(owner, [{ verbs: ['get'], apiGroups: [''], resources: ['pods', 'nodes/status'] }])).toEqual([]);
    expect(uncoveredRules(owner, [{ verbs: ['update'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] }])).toEqual([]);
    expect(uncoveredRules(owner, [{ verbs: ['get'], nonResourceURLs: ['/healthz/etcd'] }])).toEqual([]);
    // a rule without names needs an owner rule without names
    expect(uncoveredRules(owner, [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'] }])).toHaveLength(1);
    expect(uncoveredRules(owner, [{ verbs: ['delete', 'get'], apiGroups: [''], resources: ['pods'] }]).map((r) => r.verbs)).toEqual([['delete']]);
  });

  it('words the refusal like kube-apiserver, verbs of one resource compacted', () => {
    const store = storeWith(grant('reader', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]));
    const msg = escalationMessage(store, bob, undefined, [
      { verbs: ['delete', 'get', 'list'], apiGroups: [''], resources: ['pods'] },
      { verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['a'] },
    ]);
    expect(msg).toBe(
      'user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "list"]}\n' +
        '{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["a"], Verbs:["get"]}',
    );
  });

  it('lets escalate (roles) and bind (bindings) through, and system:masters always', () => {
    const big = { metadata: { name: 'big' }, rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] };
    const req = { resource: 'clusterroles', namespace: undefined, requestName: undefined };
    expect(() => checkEscalation(storeWith([]), bob, req, big, undefined)).toThrow(/clusterroles.rbac.authorization.k8s.io "big" is forbidden: user "bob"/);
    expect(() => checkEscalation(storeWith([]), { username: 'root', groups: ['system:masters'] }, req, big, undefined)).not.toThrow();
    const escalator = storeWith(grant('esc', [{ verbs: ['escalate'], apiGroups: [RBAC], resources: ['clusterroles'] }]));
    expect(() => checkEscalation(escalator, bob, req, big, undefined)).not.toThrow();

    const binding = { metadata: { name: 'b' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'carol' }] };
    const breq = { resource: 'clusterrolebindings', namespace: undefined, requestName: undefined };
    expect(() => checkEscalation(storeWith([]), bob, breq, binding, undefined)).toThrow(/attempting to grant RBAC permissions not currently held/);
    const binderOfOther = storeWith(grant('bind', [{ verbs: ['bind'], apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: ['view'] }]));
    expect(() => checkEscalation(binderOfOther, bob, breq, binding, undefined)).toThrow(/forbidden/);
    const binder = storeWith(grant('bind', [{ verbs: ['bind'], apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: ['cluster-admin'] }]));
    expect(() => checkEscalation(binder, bob, breq, binding, undefined)).not.toThrow();
    const missingRole = { ...binding, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'nope' } };
    expect(() => checkEscalation(storeWith([]), bob, breq, missingRole, undefined)).toThrow(/clusterroles.rbac.authorization.k8s.io "nope" not found/);
    // an update of GC fields only is not checked
    expect(() => checkEscalation(storeWith([]), bob, breq, { ...binding, metadata: { name: 'b', finalizers: ['x'] } }, binding)).not.toThrow();
  });
});
