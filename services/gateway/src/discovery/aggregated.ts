import { createHash } from 'node:crypto';
import type { ApiResource, GroupVersionResources } from './api-catalog';

/** The aggregated discovery versions kube 1.33 answers (v2beta1 is still served, deprecated). */
export type DiscoveryVersion = 'v2' | 'v2beta1';

/** What an Accept header asks of /api or /apis: aggregated discovery, the legacy lists, or nothing served here (406). */
export type DiscoveryAnswer = { aggregated: DiscoveryVersion } | { legacy: true } | { notAcceptable: true };

const MAX_ACCEPT_TYPES = 32;

interface MediaType {
  type: string;
  params: Record<string, string>;
}

function parseAccept(accept: string): MediaType[] {
  return accept
    .split(',')
    .slice(0, MAX_ACCEPT_TYPES)
    .map((clause) => {
      const [type = '', ...rest] = clause.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const i = p.indexOf('=');
        if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((m) => m.type !== '');
}

/**
 * Content negotiation of /api and /apis as kube-apiserver 1.33 does it: the first acceptable media
 * type wins (kubectl sends the v2 type, then v2beta1, then application/json). Protobuf is not
 * served here, so a protobuf-only Accept is 406 like any other type the server cannot produce.
 */
export function negotiateDiscovery(accept: string | undefined): DiscoveryAnswer {
  if (!accept || accept.trim() === '') return { legacy: true };
  for (const m of parseAccept(accept)) {
    if (m.params.q !== undefined && Number(m.params.q) === 0) continue;
    if (m.type === 'application/json' && m.params.g !== undefined) {
      if (m.params.g === 'apidiscovery.k8s.io' && (m.params.v === 'v2' || m.params.v === 'v2beta1') && (m.params.as ?? 'APIGroupDiscoveryList') === 'APIGroupDiscoveryList') {
        return { aggregated: m.params.v };
      }
      continue;
    }
    if (m.type === 'application/json' || m.type === 'application/yaml' || m.type === 'application/*' || m.type === '*/*') return { legacy: true };
  }
  return { notAcceptable: true };
}

export const aggregatedContentType = (v: DiscoveryVersion) => `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;

const responseKind = (g: GroupVersionResources, kind: string) => ({ group: g.group, version: g.version, kind });

/** One version's resources in apidiscovery form: subresources (`clusters/kubeconfig`) nested under their parent. */
function discoveryResources(g: GroupVersionResources): Record<string, unknown>[] {
  const parents = g.resources.filter((r) => !r.name.includes('/'));
  return parents.map((r: ApiResource) => {
    const subresources = g.resources
      .filter((s) => s.name.startsWith(`${r.name}/`))
      .map((s) => ({ subresource: s.name.slice(r.name.length + 1), responseKind: responseKind(g, s.kind), verbs: s.verbs }));
    return {
      resource: r.name,
      responseKind: responseKind(g, r.kind),
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singularName,
      verbs: r.verbs,
      ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories?.length ? { categories: r.categories } : {}),
      ...(subresources.length > 0 ? { subresources } : {}),
    };
  });
}

/**
 * APIGroupDiscoveryList of the given group versions, as kube-apiserver answers /apis (named groups)
 * or /api (the core group, whose item has no name). Every version is local, so `freshness: Current`.
 */
export function groupDiscoveryList(gvs: readonly GroupVersionResources[], v: DiscoveryVersion): Record<string, unknown> {
  const groups = new Map<string, GroupVersionResources[]>();
  for (const g of gvs) groups.set(g.group, [...(groups.get(g.group) ?? []), g]);
  const items = [...groups.entries()].map(([name, versions]) => ({
    metadata: { ...(name ? { name } : {}), creationTimestamp: null },
    versions: versions.map((g) => ({ version: g.version, resources: discoveryResources(g), freshness: 'Current' })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${v}`, metadata: {}, items };
}

/** The ETag kube-apiserver gives an aggregated discovery document: the upper-case hex SHA-512 of its JSON, quoted. */
export const discoveryEtag = (body: string) => `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"`;
