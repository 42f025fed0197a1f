import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import express from 'express';
import { NEVER } from 'rxjs';
import type { AuditEvent, AuditStore } from '@flotilla/clients';
import { type Cluster, MemberRole } from '@flotilla/domain';
import { MEMBER_ROLE_ANNOTATION, MemberAddressPolicy } from '@flotilla/kube';
import { ServiceRuntime, installHttpObservability } from '@flotilla/service-kit';
import { AuditRecorder } from '../../audit/audit-recorder';
import { Authenticator } from '../../auth/authenticator';
import { MapLabels, ManualFeed, accessBinding, tokenObject, userObject } from '../../auth/testing/iam-fixtures';
import { authorizeMiddleware } from '../../authz/authorize-middleware';
import { Authorizer } from '../../authz/authorizer';
import { ClusterMirror } from '../../fleet/cluster-mirror';
import { IamMirror } from '../../iam/iam-mirror';
import { MemberConnections } from '../member-connections';
import { MemberProxy, mountProxy } from '../proxy.module';
import { ProxyMetrics } from '../proxy-metrics';

/**
 * The gateway's HTTP face as main.ts builds it, for the proxy benchmark (bench/proxy.bench.ts):
 * service-kit's request ids, access logs and metrics; the audit middleware; the authenticator
 * (a real Flotilla token checked against the IAM mirror); authorizeMiddleware; the proxy, mounted
 * as installProxy mounts it; `express.raw` on /apis. What differs from production, and why:
 *  - the IAM and fleet mirrors are fed in memory (no registry process to compete for the cores);
 *  - the audit store encodes each batch as the registry client would send it (JSON of the
 *    events) and discards it: the gateway-side cost of batching, not the registry's insert.
 * Keep the middleware order in step with main.ts's configureHttp.
 */
export interface BenchGateway {
  server: HttpsServer;
  /** The bearer token of user `bench`, who is cluster-admin on every bench cluster. */
  token: string;
  audit: AuditRecorder;
  stored: () => number;
}

function fleetCluster(name: string, annotations: Record<string, string>): Cluster {
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', generation: 1, annotations },
    spec: { connection: { type: 'direct' } },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'ClusterReady' }] },
  };
}

export async function startBenchGateway(o: { kubeconfig: string; cert: string; key: string; maxFreeSockets?: number }): Promise<BenchGateway> {
  // Production logs at info to stdout; the bench child's stdout goes to /dev/null, so each line still costs its write.
  const runtime = new ServiceRuntime('gateway', 'info');
  const policy = new MemberAddressPolicy({ allowLoopback: true });
  // The fleet: one member as two clusters, impersonation on (the default) and off (cluster-admin by choice).
  const items = [fleetCluster('bench', {}), fleetCluster('bench-noimp', { 'proxy.flotilla.io/impersonation': 'off', [MEMBER_ROLE_ANNOTATION]: 'cluster-admin' })];
  const mirror = new ClusterMirror({
    listClusters: async () => ({ apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'ClusterList', metadata: { resourceVersion: '1' }, items }),
    watchClusters: () => NEVER,
  });
  mirror.start();
  await mirror.synced;

  const feed = new ManualFeed();
  const iam = new IamMirror(feed);
  iam.start();
  const token = tokenObject('bench');
  feed.sync([userObject('bench'), token.object, accessBinding('bench-admin', MemberRole.admin, [{ kind: 'User', name: 'bench' }], { clusters: items.map((c) => c.metadata.name) })]);
  const authenticator = new Authenticator('bench-admin-token-not-used-by-the-client', iam);
  const authorizer = new Authorizer(iam, new MapLabels());

  let stored = 0;
  const store: AuditStore = {
    append: async (events: AuditEvent[]) => {
      stored += Buffer.byteLength(JSON.stringify(events)) > 0 ? events.length : 0;
    },
    query: async () => ({ items: [] }),
  };
  const audit = new AuditRecorder(store, { level: 'All', bufferSize: 10_000, logger: runtime.logger, metrics: runtime.metrics.registry });

  const connections = new MemberConnections({ getClusterCredentials: async (name) => ({ uid: `uid-${name}`, kubeconfig: o.kubeconfig }) }, mirror, policy, o.maxFreeSockets ? { transport: { maxFreeSockets: o.maxFreeSockets } } : {});
  const proxy = new MemberProxy(mirror, connections, new ProxyMetrics(runtime.metrics.registry), { maxBodyBytes: 3 * 1024 * 1024, idleTimeoutMs: 60_000 }, 20_000, runtime);

  const app = express();
  const server = createHttpsServer({ cert: o.cert, key: o.key, minVersion: 'TLSv1.2' }, app);
  // As startService, then main.ts's configureHttp.
  installHttpObservability(app, runtime);
  app.use(audit.middleware());
  app.use(authenticator.middleware());
  app.use(authorizeMiddleware(authorizer));
  mountProxy(proxy, server, { authenticator, authorizer, audit });
  app.use('/apis', express.raw({ type: () => true, limit: 3 * 1024 * 1024 }));
  app.use((_req, res) => res.status(404).end());
  return { server, token: token.secret, audit, stored: () => stored };
}
