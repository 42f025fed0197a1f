import { requestAttributes as auditAttributes, isWriteVerb } from '../audit/request-attributes';
import { requestAttributes as authzAttributes } from '../authz/request-attributes';
import { queryParam, requestInfo, strictRequestInfo } from './request-info';

// The specs of the three parsers this module replaced (proxy, authz, audit), with kube-apiserver's
// RequestInfo semantics where they disagreed: a named GET with ?watch is a get (kube reads watch
// only for collections); a non-resource verb is the lower-case method (POST /version is "post").
const C = '/apis/cluster.kubesphere.io/v1alpha1/clusters';

describe('requestInfo (kube-apiserver RequestInfo rules), member paths', () => {
  it.each([
    ['GET', '/api/v1/namespaces/default/pods', { verb: 'list', group: '', resource: 'pods', namespace: 'default', longLived: false }],
    ['GET', '/api/v1/namespaces/default/pods/p1', { verb: 'get', resource: 'pods', name: 'p1' }],
    ['GET', '/api/v1/namespaces/default/pods?watch=true', { verb: 'watch', longLived: true }],
    ['GET', '/api/v1/namespaces/default/pods?watch=1&resourceVersion=5', { verb: 'watch', longLived: true }],
    ['GET', '/api/v1/namespaces/default/pods?watch=false', { verb: 'list', longLived: false }],
    ['GET', '/api/v1/watch/namespaces/default/pods', { verb: 'watch', longLived: true }],
    ['GET', '/api/v1/watch/namespaces/default/pods/p1', { verb: 'watch', name: 'p1', longLived: true }],
    ['GET', '/api/v1/namespaces/default/pods/p1?watch=true', { verb: 'get', name: 'p1', longLived: false }],
    ['GET', '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dp1&watch=true', { verb: 'watch', name: 'p1' }],
    ['GET', '/api/v1/namespaces/default/pods/p1/log?follow=true', { verb: 'get', subresource: 'log', longLived: true }],
    ['GET', '/api/v1/namespaces/default/pods/p1/log', { verb: 'get', subresource: 'log', longLived: false }],
    ['POST', '/apis/apps/v1/namespaces/x/deployments', { verb: 'create', group: 'apps', version: 'v1', resource: 'deployments' }],
    ['PATCH', '/apis/apps/v1/namespaces/x/deployments/d', { verb: 'patch', name: 'd' }],
    ['PUT', '/api/v1/namespaces/x/configmaps/c', { verb: 'update' }],
    ['DELETE', '/api/v1/namespaces/x/configmaps/c', { verb: 'delete' }],
    ['DELETE', '/api/v1/namespaces/x/configmaps', { verb: 'deletecollection' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces', namespace: '' }],
    ['GET', '/api/v1/namespaces/x', { verb: 'get', resource: 'namespaces', name: 'x', namespace: 'x' }],
    ['PUT', '/api/v1/namespaces/x/finalize', { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'finalize' }],
    ['PUT', '/api/v1/namespaces/x/status', { verb: 'update', resource: 'namespaces', name: 'x', subresource: 'status' }],
    ['POST', '/api/v1/namespaces/x/pods/p/exec?command=sh', { verb: 'create', subresource: 'exec' }],
    ['GET', '/api/v1/namespaces/x/services/s/proxy/a/b', { verb: 'get', subresource: 'proxy', name: 's' }],
    ['GET', '/api/v1/proxy/namespaces/x/services/s/a', { verb: 'proxy', resource: 'services', name: 's', subresource: '' }],
    ['GET', '/api/v1/nodes', { verb: 'list', resource: 'nodes' }],
    ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/view', { verb: 'get', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'view' }],
    ['GET', '/api/v1/namespaces/x/configmaps/a%20b', { name: 'a b' }],
    ['OPTIONS', '/api/v1/pods', { verb: 'options', resourceRequest: true }],
  ])('%s %s', (method, url, expected) => {
    expect(requestInfo(method, url)).toMatchObject({ resourceRequest: true, ...expected });
  });

  it.each([
    ['GET', '/version', 'get'],
    ['GET', '/apis', 'get'],
    ['GET', '/apis/apps/v1', 'get'],
    ['GET', '/api/v1', 'get'],
    ['GET', '/api/v1/watch', 'get'],
    ['POST', '/openapi/v3', 'post'],
    ['HEAD', '/healthz', 'head'],
  ])('non-resource %s %s', (method, url, verb) => {
    expect(requestInfo(method, url)).toMatchObject({ resourceRequest: false, verb, longLived: false });
  });

  it('reads query parameters without a URLSearchParams', () => {
    expect(queryParam('a=1&watch=true', 'watch')).toBe('true');
    expect(queryParam('watchx=1', 'watch')).toBeUndefined();
    expect(queryParam('fieldSelector=metadata.name%3Dx+y', 'fieldSelector')).toBe('metadata.name=x y');
    expect(queryParam('bad=%E0%A4%A', 'bad')).toBe('%E0%A4%A');
  });
});

describe('strictRequestInfo and the authorizer\'s attributes', () => {
  it.each([
    ['GET', C, { verb: 'list', resource: 'clusters' }],
    ['GET', `${C}?watch=true&resourceVersion=5`, { verb: 'watch', resource: 'clusters' }],
    ['GET', `${C}?watch=1`, { verb: 'watch' }],
    ['GET', `${C}?watch=false`, { verb: 'list' }],
    ['GET', `${C}/prod`, { verb: 'get', name: 'prod' }],
    ['HEAD', `${C}/prod`, { verb: 'get', name: 'prod' }],
    ['POST', C, { verb: 'create' }],
    ['PUT', `${C}/prod`, { verb: 'update', name: 'prod' }],
    ['PATCH', `${C}/prod`, { verb: 'patch', name: 'prod' }],
    ['DELETE', `${C}/prod`, { verb: 'delete', name: 'prod' }],
    ['DELETE', C, { verb: 'deletecollection' }],
    ['PUT', `${C}/prod/kubeconfig`, { verb: 'update', name: 'prod', subresource: 'kubeconfig' }],
    ['GET', `${C}/prod/proxy/api/v1/namespaces/default/pods`, { verb: 'get', name: 'prod', subresource: 'proxy' }],
    ['GET', '/apis/cluster.kubesphere.io/v1alpha1/watch/clusters', { verb: 'watch', resource: 'clusters' }],
    ['GET', '/apis/cluster.kubesphere.io/v1alpha1/watch/clusters/prod', { verb: 'watch', name: 'prod' }],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }],
    ['GET', '/apis/iam.flotilla.io/v1alpha1/tokens/t1', { group: 'iam.flotilla.io', resource: 'tokens', name: 't1' }],
    ['GET', '/api/v1/namespaces/ns1/configmaps/x', { group: '', resource: 'configmaps', name: 'x', namespace: 'ns1' }],
    ['GET', '/api/v1/namespaces/ns1', { group: '', resource: 'namespaces', name: 'ns1', namespace: 'ns1' }],
    ['PUT', '/api/v1/namespaces/ns1/finalize', { resource: 'namespaces', name: 'ns1', subresource: 'finalize' }],
    ['GET', '/clusters/prod/api/v1/pods', { resource: 'clusters', name: 'prod', subresource: 'proxy', group: 'cluster.kubesphere.io' }],
    ['GET', `${C}/a%20b`, { name: 'a b' }],
  ])('%s %s', (method, url, expected) => {
    expect(authzAttributes(method, url)).toMatchObject({ kind: 'resource', ...expected });
  });

  it.each([
    ['/apis', '/apis'],
    ['/apis/cluster.kubesphere.io', '/apis/cluster.kubesphere.io'],
    ['/apis/cluster.kubesphere.io/v1alpha1', '/apis/cluster.kubesphere.io/v1alpha1'],
    ['/openapi.json?x=1', '/openapi.json'],
    ['/docs/', '/docs'],
    ['/', '/'],
  ])('non-resource GET %s', (url, path) => {
    expect(authzAttributes('GET', url)).toEqual({ kind: 'nonResource', verb: 'get', path });
    expect(authzAttributes('HEAD', url)).toEqual({ kind: 'nonResource', verb: 'get', path });
  });

  it.each([`${C}/../admin`, `${C}/a%2Fb`, `${C}/a%5cb`, `${C}//prod`, `${C}/%2e%2e/x`, `${C}/./x`, `${C}/%E0%A4%A`])('refuses the ambiguous path %s', (url) => {
    expect(strictRequestInfo('GET', url)).toBeUndefined();
    expect(authzAttributes('GET', url)).toBeUndefined();
  });
});

describe('the audit record\'s verb and object', () => {
  it.each([
    ['GET', C, 'list', { resource: 'clusters', apiGroup: 'cluster.kubesphere.io', apiVersion: 'v1alpha1' }],
    ['GET', `${C}?watch=true`, 'watch', { resource: 'clusters' }],
    ['GET', `${C}/m1`, 'get', { resource: 'clusters', name: 'm1' }],
    // kube reads ?watch only for collections: a named subresource with it is a get.
    ['GET', `${C}/m1/jobs?watch=1`, 'get', { resource: 'clusters', name: 'm1', subresource: 'jobs' }],
    ['POST', C, 'create', { resource: 'clusters' }],
    ['POST', `${C}/m1/kubeconfig`, 'create', { name: 'm1', subresource: 'kubeconfig' }],
    ['PUT', `${C}/m1`, 'update', { name: 'm1' }],
    ['PATCH', `${C}/m1`, 'patch', { name: 'm1' }],
    ['DELETE', `${C}/m1`, 'delete', { name: 'm1' }],
    ['DELETE', C, 'deletecollection', { resource: 'clusters' }],
    ['GET', '/api/v1/namespaces/web/pods', 'list', { resource: 'pods', namespace: 'web', apiGroup: '', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/web', 'get', { resource: 'namespaces', name: 'web' }],
    ['PUT', '/api/v1/namespaces/web/status', 'update', { resource: 'namespaces', name: 'web', subresource: 'status' }],
    ['POST', '/api/v1/namespaces/web/pods/p/exec', 'create', { resource: 'pods', namespace: 'web', name: 'p', subresource: 'exec' }],
    ['HEAD', '/apis/iam.flotilla.io/v1alpha1/tokens', 'list', { resource: 'tokens', apiGroup: 'iam.flotilla.io' }],
  ])('%s %s is %s', (method, url, verb, ref) => {
    const attrs = auditAttributes(method, url);
    expect(attrs.verb).toBe(verb);
    expect(attrs.objectRef).toMatchObject(ref);
  });

  it('gives non-resource paths a verb and no object', () => {
    expect(auditAttributes('GET', '/openapi.json')).toEqual({ verb: 'get' });
    expect(auditAttributes('GET', '/apis/cluster.kubesphere.io/v1alpha1')).toEqual({ verb: 'get' });
    expect(auditAttributes('POST', '/version')).toEqual({ verb: 'post' });
  });

  it('treats only get, list and watch as reads', () => {
    expect(['get', 'list', 'watch'].map(isWriteVerb)).toEqual([false, false, false]);
    expect(['create', 'update', 'patch', 'delete', 'deletecollection', 'impersonate', 'post'].every(isWriteVerb)).toBe(true);
  });
});
