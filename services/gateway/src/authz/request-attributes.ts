import { READ_VERBS, describeResource, methodVerb, strictRequestInfo } from '../http/request-info';

/**
 * What a request on Flotilla's own API asks to do, in the terms of Kubernetes authorization: the
 * one request-info parser (http/request-info.ts, strict variant) shaped for the authorizer. Only
 * Flotilla's routing is added here: the KubeSphere alias /clusters/<name>/... is `clusters/proxy`
 * on that cluster, as the canonical proxy path is; a non-resource HEAD is authorised as a get.
 */
export { READ_VERBS, describeResource };

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceAttributes {
  verb: Verb | string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
  namespace?: string;
}

export type RequestAttributes = ({ kind: 'resource' } & ResourceAttributes) | { kind: 'nonResource'; verb: string; path: string };

/** The attributes of a request, or undefined for a path that cannot be read safely (deny it). */
export function requestAttributes(method: string, url: string): RequestAttributes | undefined {
  const info = strictRequestInfo(method, url);
  if (!info) return undefined;
  if (!info.resourceRequest) {
    const alias = /^\/clusters\/([^/]+)/.exec(info.path);
    if (alias) return { kind: 'resource', verb: methodVerb(method.toUpperCase()), group: 'cluster.kubesphere.io', resource: 'clusters', subresource: 'proxy', name: alias[1]! };
    return { kind: 'nonResource', verb: info.verb === 'head' ? 'get' : info.verb, path: info.path };
  }
  const attrs: RequestAttributes = { kind: 'resource', verb: info.verb, group: info.group, resource: info.resource };
  if (info.name) attrs.name = info.name;
  if (info.namespace) attrs.namespace = info.namespace;
  if (info.subresource) attrs.subresource = info.subresource;
  return attrs;
}
