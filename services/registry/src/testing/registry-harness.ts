import { Client } from 'pg';
import { CLUSTER_API_VERSION, type Cluster, type ObjectMeta } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';
import type { RunningService } from '@flotilla/service-kit';
import { startRegistry } from '../main';
import type { RegistryOptions } from '../registry.module';

/**
 * Shared set-up of the registry's integration specs: a token kubeconfig, a direct Cluster, and the
 * registry started in-process on a platform env with an internal-token client and a Postgres client.
 *
 * This file is not a spec, so it may not import @flotilla/testing (a test-only library): specs pass
 * `preparePlatformEnv` in, and get its PlatformEnv back with its own type.
 */

/** A kubeconfig of one cluster (`m`) and one user (`admin`) authenticating with a bearer token. */
export function tokenKubeconfig(token: string, server = 'https://203.0.113.10:6443'): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: m
  cluster: {server: "${server}"}
users:
- name: admin
  user: {token: "${token}"}
contexts:
- name: m
  context: {cluster: m, user: admin}
current-context: m
`;
}

/** A kubeadm Cluster with a direct connection through `kubeconfig`; `metadata` adds to its name (labels, managedFields...). */
export function directCluster(name: string, kubeconfig: string, metadata: Omit<ObjectMeta, 'name'> = {}): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, ...metadata },
    spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig } },
  };
}

/** What the harness uses of @flotilla/testing's PlatformEnv. */
export interface RegistryPlatform {
  env(service: 'registry'): NodeJS.ProcessEnv;
  ports: { registryGrpc: number };
  internalToken: string;
  db: { url: string };
  cleanup(): Promise<void>;
}

export interface TestRegistry<P extends RegistryPlatform> {
  platform: P;
  running: RunningService;
  /** A RegistryClient holding the platform's internal (operator) token. */
  client: RegistryClient;
  /** Connected to the platform's database. */
  pg: Client;
  /** Closes the client, stops the registry, ends pg, then cleans the platform up. */
  stop(): Promise<void>;
}

/**
 * Prepares a platform env (`prepare`, i.e. @flotilla/testing's preparePlatformEnv), starts the
 * registry on its registry env, then opens a RegistryClient with the internal token and a
 * connected pg Client. Should a step fail, what was started is stopped before the error is thrown.
 */
export async function startTestRegistry<P extends RegistryPlatform>(prepare: () => Promise<P>, options: RegistryOptions = {}): Promise<TestRegistry<P>> {
  const platform = await prepare();
  let running: RunningService | undefined;
  let client: RegistryClient | undefined;
  let pg: Client | undefined;
  const stop = async () => {
    client?.close();
    await running?.stop();
    await pg?.end();
    await platform.cleanup();
  };
  try {
    ({ running } = await startRegistry(platform.env('registry'), options));
    client = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    const connecting = new Client({ connectionString: platform.db.url });
    await connecting.connect();
    pg = connecting;
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { platform, running, client, pg, stop };
}
