import 'reflect-metadata';
import express, { Express } from 'express';
import { ServiceRuntime, runMain, startService } from '@flotilla/service-kit';
import { AppModule } from './app.module';
import { AUDIT_RECORDER, AuditRecorder } from './audit/audit-recorder';
import { AUTHENTICATOR, AUTHORIZER } from './auth/auth.providers';
import type { Authenticator } from './auth/authenticator';
import { authorizeMiddleware } from './authz/authorize-middleware';
import type { Authorizer } from './authz/authorizer';
import { SSAR_PATH, selfSubjectAccessReviewHandler } from './authz/ssar';
import { loadGatewayConfig } from './config';
import { installDiscovery } from './discovery/discovery';
import { FEDERATION_KINDS, FEDERATION_READS, FEDERATION_ROUTES } from './federation/federation.providers';
import type { FederationReads } from './federation/federation-reads';
import { loadGatewayHttps } from './kubeconfigs/tls-config';
import { installKubeOpenApi } from './openapi/kube/kube-openapi';
import { installOpenApi } from './openapi/schemas';
import { installProxy } from './proxy/proxy.module';
import { RESOURCE_KINDS, type ResourceKind } from './resources/resource-kind';
import { ResourceRoutes } from './resources/resource-routes';

const VERSION = '0.1.0';

export async function startGateway(env: NodeJS.ProcessEnv = process.env) {
  const config = loadGatewayConfig(env);
  // The admin token reaches only the authenticator (which keeps a hash): drop the plain value
  // from the shown config and from the environment.
  const adminToken = config.FLOTILLA_ADMIN_TOKEN;
  const shown = { ...config, FLOTILLA_ADMIN_TOKEN: '(hashed)' };
  delete env.FLOTILLA_ADMIN_TOKEN;
  const runtime = new ServiceRuntime('gateway', config.LOG_LEVEL);
  const running = await startService({
    runtime,
    module: AppModule.create(runtime, shown, adminToken),
    config: shown,
    http: { host: config.HTTP_HOST, port: config.PORT },
    https: loadGatewayHttps(config),
    grpc: { host: config.GRPC_HOST, port: config.GRPC_PORT, packages: [] },
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    configureHttp(app) {
      const http = app.getHttpAdapter().getInstance() as Express;
      const authenticator = app.get<Authenticator>(AUTHENTICATOR);
      const authorizer = app.get<Authorizer>(AUTHORIZER);
      const audit = app.get<AuditRecorder>(AUDIT_RECORDER);
      // Order matters: the audit record sees every outcome (401 and 403 included); the principal
      // is set before authorisation. The proxy takes its paths from the server's request listener
      // ahead of express (it authenticates, authorises and audits them itself), so bodies stream.
      http.use(audit.middleware());
      http.use(authenticator.middleware());
      http.use(authorizeMiddleware(authorizer));
      installProxy(app, { authenticator, authorizer, audit });
      http.use('/apis', express.raw({ type: () => true, limit: config.MAX_BODY_BYTES }));
      http.use('/api', express.raw({ type: () => true, limit: config.MAX_BODY_BYTES }));
      http.post(SSAR_PATH, selfSubjectAccessReviewHandler(authorizer));
      const kinds = [...app.get<ResourceKind[]>(RESOURCE_KINDS), ...app.get<ResourceKind[]>(FEDERATION_KINDS)];
      installDiscovery(http, kinds);
      installKubeOpenApi(http, kinds, `v${VERSION}`);
      http.use(app.get(ResourceRoutes).router());
      http.use(app.get<ResourceRoutes>(FEDERATION_ROUTES).router());
      http.use(app.get<FederationReads>(FEDERATION_READS).router());
      installOpenApi(app, VERSION);
    },
  });
  return { running, runtime, timeoutMs: config.SHUTDOWN_TIMEOUT_MS };
}

if (require.main === module) void runMain('gateway', () => startGateway());
