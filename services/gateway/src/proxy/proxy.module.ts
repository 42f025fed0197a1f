import type { Server } from 'node:http';
import { type INestApplication, Module } from '@nestjs/common';
import type { RegistryClient } from '@flotilla/clients';
import { memberPolicyFromConfig } from '@flotilla/kube';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ClusterMirror } from '../fleet/cluster-mirror';
import { FLEET_REGISTRY_CLIENT, FleetModule } from '../fleet/fleet.module';
import { MemberConnections } from './member-connections';
import { ProxyAdmission } from './proxy-admission';
import type { ProxyConfig } from './proxy-config';
import type { ProxyContext, ProxySettings } from './proxy-context';
import { serveProxied } from './proxy-http';
import { ProxyMetrics } from './proxy-metrics';
import type { ProxyIdentity } from './proxy-ports';
import { takeProxyPaths } from './proxy-server';
import { proxyUpgradeListener } from './proxy-upgrade';

/** What the module builds; the identity pieces come at installProxy (they live in auth/, authz/, audit/). */
export class MemberProxy {
  readonly open = new Set<() => void>();

  constructor(
    readonly mirror: ClusterMirror,
    readonly connections: MemberConnections,
    readonly metrics: ProxyMetrics,
    readonly settings: ProxySettings,
    readonly headersTimeoutMs: number,
    readonly runtime?: ServiceRuntime,
  ) {}

  context(identity: ProxyIdentity): ProxyContext {
    return {
      admission: new ProxyAdmission(this.mirror, identity.authorizer),
      connections: this.connections,
      metrics: this.metrics,
      identity,
      settings: this.settings,
      ...(this.runtime ? { logger: this.runtime.logger } : {}),
      open: this.open,
    };
  }

  /** Ends every open watch and exec/port-forward session (drain): clients reconnect to another replica. */
  endStreams(): void {
    for (const close of [...this.open]) close();
  }

  close(): void {
    this.endStreams();
    this.connections.close();
  }
}

/**
 * The multi-cluster API proxy (docs/proxy.md). Import it into the gateway's module, then call
 * installProxy from configureHttp.
 */
@Module({
  imports: [FleetModule],
  providers: [
    {
      provide: MemberProxy,
      inject: [CONFIG, RUNTIME, ClusterMirror, FLEET_REGISTRY_CLIENT],
      useFactory: (config: ProxyConfig, runtime: ServiceRuntime, mirror: ClusterMirror, registry: RegistryClient) => {
        const policy = memberPolicyFromConfig(config);
        const connections = new MemberConnections(registry, mirror, policy, {
          allowProxyUrl: config.FLOTILLA_ALLOW_PROXY_URL,
          transport: { maxSockets: config.FLOTILLA_PROXY_MAX_SOCKETS_PER_MEMBER },
        });
        const proxy = new MemberProxy(
          mirror,
          connections,
          new ProxyMetrics(runtime.metrics.registry),
          { maxBodyBytes: config.FLOTILLA_PROXY_MAX_BODY_BYTES, idleTimeoutMs: config.FLOTILLA_PROXY_IDLE_TIMEOUT_MS },
          config.FLOTILLA_PROXY_HEADERS_TIMEOUT_MS,
          runtime,
        );
        runtime.shutdown.onDrain('proxy-streams', async () => proxy.endStreams());
        runtime.shutdown.onClose('proxy-connections', async () => proxy.close());
        return proxy;
      },
    },
  ],
  exports: [MemberProxy],
})
export class ProxyModule {}

/**
 * Mounts the proxy on the gateway's HTTP server, ahead of express: proxy paths are served from the
 * server's 'request' listener (so no body parser, router or middleware touches them and bodies
 * stream), the `upgrade` listener takes exec, attach and port-forward, and the server's headers
 * timeout is bounded (slow-loris). Every other request goes to express as before. Call it from
 * configureHttp; where in it does not matter, the proxy is ahead of all of it.
 */
export function installProxy(app: INestApplication, identity: ProxyIdentity): MemberProxy {
  return mountProxy(app.get(MemberProxy), app.getHttpServer() as Server, identity);
}

/** installProxy without Nest: any HTTP(S) server whose 'request' listener is already attached (tests, benchmarks). */
export function mountProxy(proxy: MemberProxy, server: Server, identity: ProxyIdentity): MemberProxy {
  const ctx = proxy.context(identity);
  takeProxyPaths(server, (req, res) => serveProxied(ctx, req, res));
  server.on('upgrade', proxyUpgradeListener(ctx, server));
  server.headersTimeout = Math.min(server.headersTimeout || Infinity, proxy.headersTimeoutMs);
  return proxy;
}
