import 'reflect-metadata';
import express, { Express } from 'express';
import { ServiceRuntime, runMain, startService } from '@flotilla/service-kit';
import { AppModule } from './app.module';
import { AdminTokenAuthenticator } from './auth/admin-token';
import { loadGatewayConfig } from './config';
import { installOpenApi } from './openapi/schemas';

const VERSION = '0.1.0';

export async function startGateway(env: NodeJS.ProcessEnv = process.env) {
  const config = loadGatewayConfig(env);
  // The token is kept only as a hash: drop the plain value from the config and the environment.
  const auth = new AdminTokenAuthenticator(config.FLOTILLA_ADMIN_TOKEN);
  const shown = { ...config, FLOTILLA_ADMIN_TOKEN: '(hashed)' };
  delete env.FLOTILLA_ADMIN_TOKEN;
  const runtime = new ServiceRuntime('gateway', config.LOG_LEVEL);
  const running = await startService({
    runtime,
    module: AppModule.create(runtime, shown),
    config: shown,
    http: { host: config.HTTP_HOST, port: config.PORT },
    grpc: { host: config.GRPC_HOST, port: config.GRPC_PORT, packages: [] },
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    configureHttp(app) {
      const http = app.getHttpAdapter().getInstance() as Express;
      http.use(auth.middleware());
      http.use('/apis', express.raw({ type: () => true, limit: config.MAX_BODY_BYTES }));
      installOpenApi(app, VERSION);
    },
  });
  return { running, runtime, timeoutMs: config.SHUTDOWN_TIMEOUT_MS };
}

if (require.main === module) void runMain('gateway', () => startGateway());
