import { DynamicModule, INestApplication, INestMicroservice, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { ConfigError, describeConfig, memberAddressWarnings, type MemberAddressConfig } from '@flotilla/config';
import { configureInternalCalls } from '@flotilla/clients';
import { EdgeErrorFilter, GrpcObservabilityInterceptor, GrpcPackage, STANDARD_GRPC_PACKAGES, grpcServerOptions } from './grpc';
import type { CallerTable } from './internal-auth';
import { InternalSecurityConfig, internalSecurity } from './internal-security';
import { installHttpObservability } from './http-observability';
import { PinoNestLogger } from './nest-logger';
import { ServiceRuntime } from './runtime';

export interface ServiceOptions {
  runtime: ServiceRuntime;
  module: Type<unknown> | DynamicModule;
  config: Record<string, unknown>;
  http: { host: string; port: number };
  /**
   * Serve the HTTP port over TLS with this certificate chain and key (PEM text, read by the
   * service at start). Health, readiness and metrics are then on HTTPS too.
   */
  https?: { cert: string; key: string };
  grpc: { host: string; port: number; packages: GrpcPackage[] };
  /**
   * Who may call each of the service's own gRPC methods (docs/security.md). Worker status and
   * reflection are declared by service-kit; a method declared nowhere is refused to everyone.
   */
  callers?: CallerTable;
  /** Extra set-up of the HTTP application before it listens (the gateway's REST surface). */
  configureHttp?(app: INestApplication): void | Promise<void>;
  shutdownTimeoutMs: number;
}

export interface RunningService {
  app: INestApplication;
  httpUrl: string;
  grpcTarget: string;
  stop(): Promise<void>;
}

/** TLS 1.2 at least (what kubectl and every supported client speak); Node's defaults otherwise. */
function httpsServerOptions(https: { cert: string; key: string }) {
  const options = { cert: https.cert, key: https.key, minVersion: 'TLSv1.2' } satisfies HttpsServerOptions;
  return options;
}

/**
 * Starts one Flotilla service: HTTP (health, readiness, metrics, and any REST routes) and
 * gRPC (its packages, grpc.health.v1, reflection, worker status), with graceful shutdown.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { runtime } = options;
  runtime.logger.info({ config: describeConfig(options.config) }, `starting ${runtime.name}`);
  for (const warning of memberAddressWarnings(options.config as Partial<MemberAddressConfig>)) runtime.logger.warn(warning);
  // Internal trust first: the clients this service builds (in its modules) take their identity from here.
  const security = internalSecurity(runtime, options.config as InternalSecurityConfig, [...options.grpc.packages, ...STANDARD_GRPC_PACKAGES], options.callers);
  configureInternalCalls(security.client);
  const app = await NestFactory.create(options.module, {
    logger: new PinoNestLogger(runtime.logger),
    bufferLogs: false,
    abortOnError: false,
    bodyParser: false,
    httpsOptions: options.https ? httpsServerOptions(options.https) : undefined,
  });
  installHttpObservability(app.getHttpAdapter().getInstance() as Express, runtime);
  await options.configureHttp?.(app);

  const grpcTarget = `${options.grpc.host}:${options.grpc.port}`;
  app.useGlobalFilters(new EdgeErrorFilter(runtime));
  app.useGlobalInterceptors(new GrpcObservabilityInterceptor(runtime));
  const micro: INestMicroservice = app.connectMicroservice(grpcServerOptions(grpcTarget, options.grpc.packages, security.server), {
    inheritAppConfig: true,
  });

  await app.startAllMicroservices();
  await app.listen(options.http.port, options.http.host);
  const server = app.getHttpServer() as Server;
  const address = server.address() as AddressInfo;
  const httpUrl = `${options.https ? 'https' : 'http'}://${options.http.host}:${address.port}`;
  runtime.logger.info({ http: httpUrl, grpc: grpcTarget, internalTls: security.server.credentials !== undefined }, `${runtime.name} is up`);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      runtime.logger.info('shutting down: draining in-flight work');
      runtime.health.markShuttingDown();
      const closeHttp = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.all([runtime.shutdown.drain(runtime.logger), closeHttp]);
      await micro.close();
      await app.close();
      await runtime.shutdown.close(runtime.logger);
      runtime.logger.info('shut down cleanly');
    })();
    return stopping;
  };
  return { app, httpUrl, grpcTarget, stop };
}

/** Stops the service on SIGTERM or SIGINT, within the timeout. */
export function stopOnSignals(running: RunningService, runtime: ServiceRuntime, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    runtime.logger.info({ signal }, 'signal received');
    const timer = setTimeout(() => {
      runtime.logger.error({ timeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        runtime.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/**
 * The main() of every service: loads config (naming any bad variable), starts, and stops on signals.
 * A configuration error prints one clear line and exits 2, with no stack trace.
 */
export async function runMain(name: string, start: () => Promise<{ running: RunningService; runtime: ServiceRuntime; timeoutMs: number }>): Promise<void> {
  try {
    const { running, runtime, timeoutMs } = await start();
    stopOnSignals(running, runtime, timeoutMs);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', service: name, msg: error.message, problems: error.problems })}\n`);
      process.exit(2);
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: name, msg: `failed to start: ${message}` })}\n`);
    process.exit(1);
  }
}
