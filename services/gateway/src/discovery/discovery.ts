import type { Express, Request, Response } from 'express';
import type { ResourceKind } from '../resources/resource-kind';
import { aggregatedContentType, discoveryEtag, groupDiscoveryList, negotiateDiscovery } from './aggregated';
import { FIXED_GROUP_VERSIONS, GroupVersionResources, apiCatalog, groupVersionOf } from './api-catalog';

/**
 * Discovery of Flotilla's own API, as kube-apiserver 1.33 answers it: `/api` and `/apis` (legacy
 * APIVersions / APIGroupList, or aggregated discovery, `application/json;g=apidiscovery.k8s.io;v=v2`
 * and v2beta1, with an ETag), `/apis/<group>` and `/apis/<group>/<version>`, so a real kubectl
 * (`get clusters`, `auth can-i`, `api-resources`, `get federateddeployments -n x`) finds Flotilla's
 * resources in one request. Every answer comes from apiCatalog(), as do the OpenAPI documents. The
 * generic layer's resource lists are served by ResourceRoutes; the fixed ones here.
 */

const NOT_ACCEPTABLE = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message:
    'only the following media types are accepted: application/json, application/yaml, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
  reason: 'NotAcceptable',
  code: 406,
};

const apiGroup = (name: string, gvs: readonly GroupVersionResources[]) => {
  const versions = gvs.map((g) => ({ groupVersion: groupVersionOf(g), version: g.version }));
  return { name, versions, preferredVersion: versions[0] };
};

const send = (res: Response, body: unknown) => res.type('application/json').send(JSON.stringify(body));

/** Precomputed answers of /api or /apis: the legacy body and both aggregated documents with their ETags. */
function discoveryRoute(legacy: unknown, gvs: readonly GroupVersionResources[]) {
  const aggregated = {
    v2: JSON.stringify(groupDiscoveryList(gvs, 'v2')),
    v2beta1: JSON.stringify(groupDiscoveryList(gvs, 'v2beta1')),
  };
  const etags = { v2: discoveryEtag(aggregated.v2), v2beta1: discoveryEtag(aggregated.v2beta1) };
  const legacyText = JSON.stringify(legacy);
  return (req: Request, res: Response): void => {
    res.vary('Accept');
    const answer = negotiateDiscovery(req.headers.accept);
    if ('notAcceptable' in answer) {
      res.status(406).type('application/json').send(JSON.stringify(NOT_ACCEPTABLE));
      return;
    }
    if ('legacy' in answer) {
      res.type('application/json').send(legacyText);
      return;
    }
    const v = answer.aggregated;
    res.setHeader('ETag', etags[v]);
    res.setHeader('Content-Type', aggregatedContentType(v));
    if (req.headers['if-none-match'] === etags[v]) {
      res.status(304).end();
      return;
    }
    res.status(200).end(aggregated[v]);
  };
}

/** Mounts the discovery routes (GET only; authorised as non-resource paths every authenticated caller may read). */
export function installDiscovery(http: Pick<Express, 'get'>, kinds: readonly ResourceKind[]): void {
  const catalog = apiCatalog(kinds);
  const core = catalog.filter((g) => g.group === '');
  const named = catalog.filter((g) => g.group !== '');
  const groups = new Map<string, GroupVersionResources[]>();
  for (const g of named) groups.set(g.group, [...(groups.get(g.group) ?? []), g]);
  // The core group: the versions of core kinds served (host namespaces: v1); none, and kubectl skips /api/v1.
  const apiVersions = { kind: 'APIVersions', versions: core.map((g) => g.version), serverAddressByClientCIDRs: [] };
  const groupList = { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups.entries()].map(([name, gvs]) => apiGroup(name, gvs)) };
  http.get('/api', discoveryRoute(apiVersions, core));
  http.get('/apis', discoveryRoute(groupList, named));
  for (const [name, gvs] of groups) {
    const body = { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(name, gvs) };
    http.get(`/apis/${name}`, (_req: Request, res: Response) => send(res, body));
  }
  // The core group's resource lists (host namespaces and events), ahead of the generic layer's routes.
  for (const g of core) {
    const body = { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: g.version, resources: g.resources };
    http.get(`/api/${g.version}`, (_req: Request, res: Response) => send(res, body));
  }
  for (const g of FIXED_GROUP_VERSIONS) {
    const body = { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersionOf(g), resources: g.resources };
    http.get(`/apis/${g.group}/${g.version}`, (_req: Request, res: Response) => send(res, body));
  }
}
