import { Metadata, status } from '@grpc/grpc-js';
import type { Observable, Subscription } from 'rxjs';
import { CLUSTER_API_VERSION, ErrorReason, FlotillaError } from '@flotilla/domain';
import { GrpcServiceClient, RegistryClient } from '@flotilla/clients';
import { ERROR_TRAILER, registryV1 } from '@flotilla/contracts';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';

const LIMIT = 2;
const KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://203.0.113.10:6443\nusers:\n- name: u\n  user:\n    token: WATCH-LIMIT-TOKEN\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n';

const subs: Subscription[] = [];

/** What a watch ended with, as the wire carried it (code, trailer) and as a client reads it (domain error). */
function firstError<T>(events: Observable<T>): Promise<unknown> {
  return new Promise((resolve) => {
    const sub = events.subscribe({ error: (error: unknown) => resolve(error), complete: () => resolve('completed') });
    subs.push(sub);
  });
}

describe('registry WatchClusters past FLOTILLA_MAX_WATCHES_PER_CALLER (real gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let client: RegistryClient;
  let raw: GrpcServiceClient<registryV1.RegistryServiceClient>;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry({ ...platform.env('registry'), LOG_LEVEL: 'warn', FLOTILLA_MAX_WATCHES_PER_CALLER: String(LIMIT) }));
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    client = new RegistryClient(target, platform.tokens.gateway);
    raw = new GrpcServiceClient(
      target,
      { package: registryV1.PROTOBUF_PACKAGE, protoFile: registryV1.PROTO_FILE, service: registryV1.REGISTRY_SERVICE_NAME },
      { internalToken: platform.tokens.gateway, upstream: 'registry' },
    );
    await client.createCluster({ apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: 'w-1' }, spec: { connection: { type: 'direct', kubeconfig: KUBECONFIG } } });
  });

  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    client?.close();
    raw?.close();
    await running?.stop();
    await platform?.cleanup();
  });

  it('refuses one more with RESOURCE_EXHAUSTED carrying TooManyRequests and a retry hint; closing one frees the slot', async () => {
    // The user's slots, each held once its first event (the cluster, ADDED) has arrived.
    const held: Subscription[] = [];
    for (let i = 0; i < LIMIT; i++) {
      await new Promise<void>((resolve, reject) => {
        held.push(client.watchClusters({ onBehalfOf: 'alice' }).subscribe({ next: () => resolve(), error: reject }));
      });
    }
    subs.push(...held);

    const wire = (await firstError(raw.service.watchClusters({ resourceVersion: '', labelSelector: '', fieldSelector: '', allowBookmarks: false, onBehalfOf: 'alice', importJobChanges: false }, raw.metadata()))) as {
      code?: number;
      metadata?: Metadata;
    };
    expect(wire.code).toBe(status.RESOURCE_EXHAUSTED);
    const trailer = JSON.parse(String(wire.metadata?.get(ERROR_TRAILER)[0])) as { reason: string; details: { retryAfterSeconds?: number } };
    expect(trailer).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });

    const refused = await firstError(client.watchClusters({ onBehalfOf: 'alice' }));
    expect(refused).toBeInstanceOf(FlotillaError);
    expect(refused).toMatchObject({ reason: ErrorReason.TooManyRequests, details: { retryAfterSeconds: 1 } });
    expect((refused as Error).message).toMatch(/^Too many requests, please try again later\. Too many open watches: gateway\/alice has 2.*FLOTILLA_MAX_WATCHES_PER_CALLER=2/);
    expect(FlotillaError.isRetryable(refused)).toBe(true);

    // Another user is counted on its own.
    await new Promise<void>((resolve, reject) => subs.push(client.watchClusters({ onBehalfOf: 'bob' }).subscribe({ next: () => resolve(), error: reject })));

    // Closing a watch gives its slot back: the next one is served.
    held[0]!.unsubscribe();
    await eventually(async () => {
      await new Promise<void>((resolve, reject) => {
        const sub = client.watchClusters({ onBehalfOf: 'alice' }).subscribe({ next: () => resolve(), error: reject });
        subs.push(sub);
      });
    });
  }, 30_000);
});
