import { READ_VERBS, type RequestInfo, requestInfo } from '../http/request-info';

/**
 * What a request acts on, for its audit record: the one request-info parser
 * (http/request-info.ts) shaped as audit.k8s.io's verb and objectRef.
 */
export interface ObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

export interface RequestAttributes {
  verb: string;
  objectRef?: ObjectRef;
}

/** Verbs that change nothing. Everything else is a write: kept always, and waited for when the buffer is full. */
export const isWriteVerb = (verb: string): boolean => !READ_VERBS.has(verb);

/** The objectRef of a resource request (none for non-resource requests), absent fields left out. */
export function objectRefOf(info: RequestInfo): ObjectRef | undefined {
  if (!info.resourceRequest) return undefined;
  const ref: ObjectRef = { resource: info.resource, apiGroup: info.group, apiVersion: info.version };
  if (info.namespace) ref.namespace = info.namespace;
  if (info.name) ref.name = info.name;
  if (info.subresource) ref.subresource = info.subresource;
  return ref;
}

/** The verb and objectRef of a request target (path and query), as kube-apiserver's audit records them. */
export function requestAttributes(method: string, url: string): RequestAttributes {
  const info = requestInfo(method, url);
  const objectRef = objectRefOf(info);
  return objectRef ? { verb: info.verb, objectRef } : { verb: info.verb };
}
