import { FlotillaError } from '@flotilla/domain';
import { matchProxyPath, parseProxyTarget } from './proxy-path';

const P = '/apis/cluster.kubesphere.io/v1alpha1/clusters';

function refused(url: string): string {
  try {
    parseProxyTarget(url);
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    expect((error as FlotillaError).reason).toBe('BadRequest');
    return (error as FlotillaError).message;
  }
  throw new Error(`${url} was accepted`);
}

describe('proxy paths', () => {
  it('matches the canonical path and the KubeSphere alias, and nothing else', () => {
    expect(matchProxyPath(`${P}/prod/proxy/api/v1/pods`)).toEqual({ cluster: 'prod', rest: '/api/v1/pods' });
    expect(matchProxyPath(`${P}/prod/proxy`)).toEqual({ cluster: 'prod', rest: '' });
    expect(matchProxyPath(`${P}/prod/proxy?x=1`)).toEqual({ cluster: 'prod', rest: '?x=1' });
    expect(matchProxyPath('/clusters/prod/api/v1/pods')).toEqual({ cluster: 'prod', rest: '/api/v1/pods' });
    expect(matchProxyPath(`${P}/prod`)).toBeUndefined();
    expect(matchProxyPath(`${P}/prod/kubeconfig`)).toBeUndefined();
    expect(matchProxyPath(`${P}/prod/proxyish`)).toBeUndefined();
    expect(matchProxyPath(`${P}`)).toBeUndefined();
    expect(matchProxyPath('/apis/iam.flotilla.io/v1alpha1/tokens')).toBeUndefined();
  });

  it('parses the member path and query as written', () => {
    const t = parseProxyTarget(`${P}/prod/proxy/api/v1/namespaces/default/pods?watch=true&labelSelector=a%3Db`)!;
    expect(t.cluster).toBe('prod');
    expect(t.memberPath).toBe('/api/v1/namespaces/default/pods?watch=true&labelSelector=a%3Db');
    expect(t.pathname).toBe('/api/v1/namespaces/default/pods');
    expect(parseProxyTarget(`${P}/prod/proxy`)!.memberPath).toBe('/');
    expect(parseProxyTarget('/clusters/prod/version')!.memberPath).toBe('/version');
  });

  it.each([
    [`${P}/prod/proxy/api/../../secrets`, /traversal/],
    [`${P}/prod/proxy/api/v1/%2e%2e/x`, /traversal/],
    [`${P}/prod/proxy/api/v1/.%2E/x`, /traversal/],
    [`${P}/prod/proxy/api/./v1`, /traversal/],
    [`${P}/prod/proxy/api%2fv1/pods`, /encoded slash/],
    [`${P}/prod/proxy/api%2Fv1/pods`, /encoded slash/],
    [`${P}/prod/proxy/api%5cv1`, /encoded slash/],
    [`${P}/prod/proxy/api\\v1`, /encoded slash/],
    [`${P}/prod/proxy/api/%252e%252e/x`, /encoded slash/],
    [`${P}/prod/proxy/api/v1/pods%00`, /NUL/],
    [`${P}/prod/proxy/api/v1/pods?x=%00`, /NUL/],
    [`${P}/prod/proxy/api//v1`, /empty segment/],
    [`${P}/prod/proxy/proxy/api/v1`, /another proxy/],
    [`${P}/prod/proxy${P}/other/proxy/api`, /another proxy/],
    [`${P}/Prod/proxy/api`, /not a cluster name/],
    [`${P}/pr%6fd/proxy/api`, /not a cluster name/],
    [`${P}/prod/proxy/api?q=${'a'.repeat(8200)}`, /longer than 8192/],
  ])('refuses %s', (url, why) => {
    expect(refused(url)).toMatch(why);
  });
});
