import { Inject, Injectable, Optional } from '@nestjs/common';
import { OBJECT_STORE, REGISTRY_CLIENT, RegistryClient, type ObjectStore } from '@flotilla/clients';
import { ErrorReason, FlotillaError, type Principal } from '@flotilla/domain';
import { CONFIG } from '@flotilla/service-kit';
import { CHANGE_FEED, type ChangeFeed } from '../resources/change-feed';
import { buildKubeconfig } from './kubeconfig-document';
import {
  DEFAULT_EXPIRATION_SECONDS,
  MAX_KUBECONFIG_CLUSTERS,
  clusterKubeconfigBody,
  fleetKubeconfigBody,
  parseKubeconfigBody,
  selectorString,
} from './kubeconfig-request';
import { kubeconfigOwner, mintKubeconfigToken } from './kubeconfig-token';

/** The gateway's CA for handed-out kubeconfigs (FLOTILLA_GATEWAY_TLS_CA, read once at start). */
export const GATEWAY_CA = Symbol('gateway.tls-ca');
export interface GatewayCa {
  pem?: string;
}

export interface Issued {
  yaml: string;
  /** The minted Token's name (not its secret): for the response header and the audit trail. */
  tokenName: string;
}

/**
 * Kubeconfigs with a freshly minted token of the caller: one context per member (through the
 * proxy) and one for Flotilla's own API. The token is an ordinary Token (listed, revocable); its
 * secret appears only in the returned document.
 */
@Injectable()
export class KubeconfigsService {
  constructor(
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: { FLOTILLA_EXTERNAL_URL?: string; FLOTILLA_TOKEN_MAX_TTL_DAYS?: number },
    @Inject(GATEWAY_CA) private readonly ca: GatewayCa,
    /** The IAM mirror's feed: the answer waits until this replica knows the minted token (absent in narrow tests). */
    @Optional() @Inject(CHANGE_FEED) private readonly feed?: ChangeFeed,
  ) {}

  /** POST .../clusters/{name}/kubeconfig */
  async forCluster(principal: Principal | undefined, name: string, body: unknown, requestBase: string): Promise<Issued> {
    const owner = kubeconfigOwner(principal);
    const request = parseKubeconfigBody(clusterKubeconfigBody, body, 'KubeconfigRequest');
    const cluster = await this.registry.getCluster(name); // NotFound (404) names the cluster
    return this.issue(owner, [cluster.metadata.name], request.expirationSeconds, request.description ?? `kubeconfig for cluster ${cluster.metadata.name}`, requestBase);
  }

  /** POST /apis/iam.flotilla.io/v1alpha1/kubeconfigs */
  async forClusters(principal: Principal | undefined, body: unknown, requestBase: string): Promise<Issued> {
    const owner = kubeconfigOwner(principal);
    const request = parseKubeconfigBody(fleetKubeconfigBody, body, 'KubeconfigRequest');
    if (request.clusters === undefined && request.clusterSelector === undefined) {
      throw new FlotillaError(ErrorReason.Invalid, 'KubeconfigRequest is invalid: name clusters, give a clusterSelector, or both', {
        kind: 'KubeconfigRequest',
        causes: [{ reason: 'FieldValueRequired', field: 'clusters', message: 'Required value: clusters and/or clusterSelector' }],
      });
    }
    const names = new Set<string>();
    for (const name of request.clusters ?? []) names.add((await this.registry.getCluster(name)).metadata.name);
    if (request.clusterSelector) {
      for (const name of await this.selected(selectorString(request.clusterSelector), MAX_KUBECONFIG_CLUSTERS + 1 - names.size)) names.add(name);
    }
    if (names.size > MAX_KUBECONFIG_CLUSTERS) throw tooMany();
    if (names.size === 0) {
      throw new FlotillaError(ErrorReason.Invalid, 'KubeconfigRequest is invalid: clusterSelector matches no cluster', {
        kind: 'KubeconfigRequest',
        causes: [{ reason: 'FieldValueInvalid', field: 'clusterSelector', message: 'matches no cluster: check the labels with GET /apis/cluster.kubesphere.io/v1alpha1/clusters?labelSelector=...' }],
      });
    }
    // Named clusters first, in the order given; then the selected ones by name.
    const ordered = [...new Set([...(request.clusters ?? []), ...[...names].sort()])];
    const description = request.description ?? `kubeconfig for ${ordered.length === 1 ? `cluster ${ordered[0]}` : `${ordered.length} clusters`}`;
    return this.issue(owner, ordered, request.expirationSeconds, description, requestBase);
  }

  /** Names of the clusters matching a selector, reading no more pages than needed to know there are too many. */
  private async selected(labelSelector: string, room: number): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.registry.listClusters({ labelSelector, limit: 500, continue: token });
      names.push(...page.items.map((c) => c.metadata.name));
      if (names.length > room) throw tooMany();
      token = page.metadata.continue;
    } while (token);
    return names;
  }

  private async issue(owner: Principal, clusters: string[], expirationSeconds: number | undefined, description: string, requestBase: string): Promise<Issued> {
    // The same ceiling as tokens created through the Token API (FLOTILLA_TOKEN_MAX_TTL_DAYS).
    const maxSeconds = (this.config.FLOTILLA_TOKEN_MAX_TTL_DAYS ?? 365) * 86_400;
    if (expirationSeconds !== undefined && expirationSeconds > maxSeconds) {
      const message = `must be at most ${maxSeconds} (FLOTILLA_TOKEN_MAX_TTL_DAYS sets the limit)`;
      throw new FlotillaError(ErrorReason.Invalid, `KubeconfigRequest is invalid: expirationSeconds: ${message}`, {
        kind: 'KubeconfigRequest',
        causes: [{ reason: 'FieldValueInvalid', field: 'expirationSeconds', message }],
      });
    }
    const seconds = expirationSeconds ?? Math.min(DEFAULT_EXPIRATION_SECONDS, maxSeconds);
    const minted = await mintKubeconfigToken(this.store, owner, { expirationSeconds: seconds, description });
    // The kubeconfig must work at once: kubectl's first request may reach this replica before its
    // IAM mirror has read the new Token from the registry's change log (then 401).
    await this.feed?.caughtUp(minted.resourceVersion);
    const baseUrl = (this.config.FLOTILLA_EXTERNAL_URL ?? requestBase).replace(/\/+$/, '');
    const yaml = buildKubeconfig({ baseUrl, clusters, userName: owner.user, token: minted.secret, caPem: this.ca.pem });
    return { yaml, tokenName: minted.name };
  }
}

function tooMany(): FlotillaError {
  return new FlotillaError(ErrorReason.Invalid, `KubeconfigRequest is invalid: more than ${MAX_KUBECONFIG_CLUSTERS} clusters; narrow clusterSelector`, {
    kind: 'KubeconfigRequest',
    causes: [{ reason: 'FieldValueTooMany', field: 'clusterSelector', message: `selects more than ${MAX_KUBECONFIG_CLUSTERS} clusters` }],
  });
}
