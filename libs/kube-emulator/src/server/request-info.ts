/** What a request asks for, read from its method, path and query the way kube-apiserver's RequestInfoFactory does. */

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix?: 'api' | 'apis';
  group: string;
  version?: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  const base: RequestInfo = { resourceRequest: false, path, verb: method.toLowerCase(), group: '' };
  if (parts[0] !== 'api' && parts[0] !== 'apis') return { ...base, verb: method === 'HEAD' ? 'get' : method.toLowerCase() };
  let rest: string[];
  let group = '';
  let version: string | undefined;
  if (parts[0] === 'api') {
    version = parts[1];
    rest = parts.slice(2);
  } else {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  }
  if (!version || rest.length === 0) return { ...base, verb: 'get', apiPrefix: parts[0] as 'api' | 'apis', group, version };
  const info: RequestInfo = { resourceRequest: true, path, verb: '', apiPrefix: parts[0] as 'api' | 'apis', group, version };
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      info.namespace = rest[1];
      if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
    }
  }
  info.resource = rest[0];
  info.name = rest[1];
  info.subresource = rest[2];
  if (info.resource === 'namespaces' && info.name) info.namespace = info.name;
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      info.verb = watch ? 'watch' : info.name ? 'get' : 'list';
      break;
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = info.name ? 'delete' : 'deletecollection';
      break;
    default:
      info.verb = method.toLowerCase();
  }
  return info;
}
