import { parse } from 'yaml';
import type { ClusterList, ObjectStore, RegistryClient, StoredObject } from '@flotilla/clients';
import { Cluster, ClusterErrors, ErrorReason, FlotillaError, IamResource, TOKEN_HASH_ANNOTATION, matchesLabels, parseLabelSelector, tokenHash, tokenNameOf, type Principal } from '@flotilla/domain';
import { reasonOf } from '@flotilla/testing';
import { KubeconfigsService } from './kubeconfigs.service';

/**
 * Stand-ins for the registry's two doors (clusters, objects): this spec is about the document and
 * the Token written; kubeconfigs.int-spec.ts runs the same against the real registry.
 */
function fakeRegistry(clusters: Cluster[]): RegistryClient {
  return {
    async getCluster(name: string) {
      const found = clusters.find((c) => c.metadata.name === name);
      if (!found) throw ClusterErrors.notFound(name);
      return found;
    },
    async listClusters(options: { labelSelector?: string } = {}): Promise<ClusterList> {
      const requirements = parseLabelSelector(options.labelSelector);
      const items = clusters.filter((c) => matchesLabels(requirements, c.metadata.labels));
      return { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'ClusterList', metadata: { resourceVersion: '1' }, items };
    },
  } as unknown as RegistryClient;
}

class MemoryObjects implements Pick<ObjectStore, 'create' | 'get'> {
  readonly objects = new Map<string, Record<string, unknown>>();
  async create(resource: string, object: Record<string, unknown>): Promise<StoredObject> {
    const name = (object.metadata as { name: string }).name;
    this.objects.set(`${resource}/${name}`, object);
    return { resource, namespace: '', name, resourceVersion: '1', object };
  }
  async get(resource: string, name: string): Promise<StoredObject> {
    const object = this.objects.get(`${resource}/${name}`);
    if (!object) throw new FlotillaError(ErrorReason.NotFound, `${resource} "${name}" not found`);
    return { resource, namespace: '', name, resourceVersion: '1', object };
  }
}

const cluster = (name: string, labels: Record<string, string> = {}): Cluster => ({ apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'Cluster', metadata: { name, labels }, spec: {} as Cluster['spec'] });
const CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const alice: Principal = { user: 'alice', groups: ['dev'], via: 'token' };
const admin: Principal = { user: 'admin', groups: [], via: 'admin-token' };
const BASE = 'https://flotilla.example.com';
const body = (value: unknown) => value;

interface Kubeconfig {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { name: string; user: { token: string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

describe('kubeconfigs with a minted token', () => {
  let objects: MemoryObjects;
  let service: KubeconfigsService;
  const fleet = [cluster('prod-eu', { env: 'prod' }), cluster('prod-us', { env: 'prod' }), cluster('dev-1', { env: 'dev' }), cluster('flotilla', { env: 'dev' })];

  beforeEach(() => {
    objects = new MemoryObjects();
    service = new KubeconfigsService(fakeRegistry(fleet), objects as unknown as ObjectStore, { FLOTILLA_EXTERNAL_URL: `${BASE}/` }, { pem: CA });
  });

  const storedToken = (name: string) => objects.objects.get(`${IamResource.tokens}/${name}`) as { metadata: { name: string; annotations: Record<string, string> }; spec: Record<string, string> };

  it('gives one context through the proxy, one for Flotilla, the CA, and a token whose hash is stored', async () => {
    const issued = await service.forCluster(alice, 'prod-eu', undefined, 'http://ignored');
    const doc = parse(issued.yaml) as Kubeconfig;
    const proxy = `${BASE}/apis/cluster.kubesphere.io/v1alpha1/clusters/prod-eu/proxy`;
    expect(doc.clusters.map((c) => [c.name, c.cluster.server])).toEqual([
      ['prod-eu', proxy],
      ['flotilla', BASE],
    ]);
    expect(doc.clusters.every((c) => Buffer.from(c.cluster['certificate-authority-data']!, 'base64').toString() === CA)).toBe(true);
    expect(doc.contexts).toEqual([
      { name: 'prod-eu', context: { cluster: 'prod-eu', user: 'alice' } },
      { name: 'flotilla', context: { cluster: 'flotilla', user: 'alice' } },
    ]);
    expect(doc['current-context']).toBe('prod-eu');
    expect(doc.users).toHaveLength(1);

    // The token is usable: its name finds the stored Token, whose hash is the secret's.
    const secret = doc.users[0]!.user.token;
    const name = tokenNameOf(secret)!;
    expect(name).toBe(issued.tokenName);
    const token = storedToken(name);
    expect(token.metadata.annotations[TOKEN_HASH_ANNOTATION]).toBe(tokenHash(secret));
    expect(token).toMatchObject({ apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'Token', spec: { user: 'alice', purpose: 'kubeconfig', description: 'kubeconfig for cluster prod-eu' } });
    // Default lifetime 90 days, seconds precision.
    const expires = Date.parse(token.spec.expirationTimestamp!);
    expect(Math.abs(expires - (Date.now() + 90 * 86400_000))).toBeLessThan(60_000);
    expect(token.spec.expirationTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // The secret is nowhere in what is stored.
    expect(JSON.stringify([...objects.objects.values()])).not.toContain(secret);
  });

  it('never writes the admin token into a kubeconfig', async () => {
    const error = await service.forCluster(admin, 'prod-eu', undefined, BASE).catch((e: unknown) => e as FlotillaError);
    expect(error).toBeInstanceOf(FlotillaError);
    expect((error as FlotillaError).reason).toBe(ErrorReason.Forbidden);
    expect((error as FlotillaError).message).toBe('create a user and a token: the admin token is never written into a kubeconfig');
    expect(await reasonOf(service.forClusters(admin, { clusters: ['prod-eu'] }, BASE))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(service.forCluster(undefined, 'prod-eu', undefined, BASE))).toBe(ErrorReason.Unauthorized);
    expect(objects.objects.size).toBe(0);
  });

  it('refuses OIDC callers (they log in through their identity provider), minting nothing, and answers 404 for an unknown cluster', async () => {
    const refused = service.forCluster({ user: 'oidc:bob@example.com', groups: ['oidc:dev'], via: 'oidc' }, 'dev-1', body({ expirationSeconds: 3600, description: 'laptop' }), BASE);
    await expect(refused).rejects.toThrow(/OIDC user keeps logging in through the identity provider; use GET/);
    expect(await reasonOf(refused)).toBe(ErrorReason.Forbidden);
    expect(objects.objects.size).toBe(0);
    expect(await reasonOf(service.forCluster(alice, 'nope', undefined, BASE))).toBe(ErrorReason.NotFound);
  });

  it('keeps a token minted from a token within the lifetime of the one presented', async () => {
    const first = await service.forCluster(alice, 'dev-1', body({ expirationSeconds: 3600 }), BASE);
    const second = await service.forCluster({ ...alice, tokenId: first.tokenName }, 'dev-1', body({ expirationSeconds: 30 * 86400 }), BASE);
    expect(storedToken(second.tokenName).spec.expirationTimestamp).toBe(storedToken(first.tokenName).spec.expirationTimestamp);
  });

  it('refuses bad options, naming the field', async () => {
    for (const [options, field] of [
      [{ expirationSeconds: 5 }, 'expirationSeconds'],
      [{ expirationSeconds: 'soon' }, 'expirationSeconds'],
      [{ description: 'x'.repeat(300) }, 'description'],
      [{ extra: true }, 'body'],
    ] as const) {
      const error = (await service.forCluster(alice, 'dev-1', options, BASE).catch((e: unknown) => e)) as FlotillaError;
      expect([field, error.reason]).toEqual([field, ErrorReason.Invalid]);
      expect(error.details.causes![0]!.field).toBe(field);
    }
  });

  it('keeps to FLOTILLA_TOKEN_MAX_TTL_DAYS', async () => {
    const short = new KubeconfigsService(fakeRegistry(fleet), objects as unknown as ObjectStore, { FLOTILLA_TOKEN_MAX_TTL_DAYS: 7 }, {});
    const error = (await short.forCluster(alice, 'dev-1', { expirationSeconds: 8 * 86400 }, BASE).catch((e: unknown) => e)) as FlotillaError;
    expect(error.details.causes).toEqual([expect.objectContaining({ field: 'expirationSeconds', message: expect.stringContaining('FLOTILLA_TOKEN_MAX_TTL_DAYS') })]);
    const issued = await short.forCluster(alice, 'dev-1', undefined, BASE);
    expect(Math.abs(Date.parse(storedToken(issued.tokenName).spec.expirationTimestamp!) - (Date.now() + 7 * 86400_000))).toBeLessThan(60_000);
  });

  it('makes one kubeconfig for many clusters: named, selected, one context each, one token', async () => {
    const issued = await service.forClusters(alice, { clusters: ['dev-1'], clusterSelector: { matchLabels: { env: 'prod' } } }, BASE);
    const doc = parse(issued.yaml) as Kubeconfig;
    expect(doc.contexts.map((c) => c.name)).toEqual(['dev-1', 'prod-eu', 'prod-us', 'flotilla']);
    expect(doc['current-context']).toBe('dev-1');
    expect(doc.users).toHaveLength(1);
    expect(objects.objects.size).toBe(1);

    // A member named "flotilla" keeps its own context, apart from Flotilla's API.
    const dev = parse((await service.forClusters(alice, { clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] } }, BASE)).yaml) as Kubeconfig;
    expect(dev.clusters.map((c) => [c.name, c.cluster.server.replace(BASE, '')])).toEqual([
      ['dev-1', '/apis/cluster.kubesphere.io/v1alpha1/clusters/dev-1/proxy'],
      ['flotilla-member-flotilla', '/apis/cluster.kubesphere.io/v1alpha1/clusters/flotilla/proxy'],
      ['flotilla', ''],
    ]);

    expect(await reasonOf(service.forClusters(alice, {}, BASE))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(service.forClusters(alice, { clusterSelector: { matchLabels: { env: 'none' } } }, BASE))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(service.forClusters(alice, { clusters: ['prod-eu', 'gone'] }, BASE))).toBe(ErrorReason.NotFound);
    // A value cannot smuggle another requirement into the selector.
    expect(await reasonOf(service.forClusters(alice, { clusterSelector: { matchLabels: { env: 'dev,env!=dev' } } }, BASE))).toBe(ErrorReason.Invalid);
  });

  it('uses the URL the caller reached when FLOTILLA_EXTERNAL_URL is unset, and no CA when there is none', async () => {
    const plain = new KubeconfigsService(fakeRegistry(fleet), objects as unknown as ObjectStore, {}, {});
    const doc = parse((await plain.forCluster(alice, 'dev-1', undefined, 'http://127.0.0.1:8080')).yaml) as Kubeconfig;
    expect(doc.clusters.map((c) => c.cluster)).toEqual([{ server: 'http://127.0.0.1:8080/apis/cluster.kubesphere.io/v1alpha1/clusters/dev-1/proxy' }, { server: 'http://127.0.0.1:8080' }]);
  });
});
