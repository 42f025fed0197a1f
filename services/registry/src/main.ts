import 'reflect-metadata';
import { auditV1, credentialsV1, eventsV1, importsV1, objectsV1, registryV1 } from '@flotilla/contracts';
import { ServiceRuntime, runMain, startService } from '@flotilla/service-kit';
import { AppModule } from './app.module';
import { REGISTRY_CALLERS } from './auth/callers';
import { loadRegistryConfig } from './config';
import type { RegistryOptions } from './registry.module';

/** Starts the registry. `options` are for tests (an injected clock); production passes none. */
export async function startRegistry(env: NodeJS.ProcessEnv = process.env, options: RegistryOptions = {}) {
  const config = loadRegistryConfig(env);
  const runtime = new ServiceRuntime('registry', config.LOG_LEVEL);
  const running = await startService({
    runtime,
    module: AppModule.create(runtime, config, options),
    config,
    http: { host: config.HTTP_HOST, port: config.HTTP_PORT },
    grpc: { host: config.GRPC_HOST, port: config.GRPC_PORT, packages: [{ package: registryV1.PROTOBUF_PACKAGE, protoFile: registryV1.PROTO_FILE }, { package: importsV1.PROTOBUF_PACKAGE, protoFile: importsV1.PROTO_FILE }, { package: eventsV1.PROTOBUF_PACKAGE, protoFile: eventsV1.PROTO_FILE }, { package: credentialsV1.PROTOBUF_PACKAGE, protoFile: credentialsV1.PROTO_FILE }, { package: objectsV1.PROTOBUF_PACKAGE, protoFile: objectsV1.PROTO_FILE }, { package: auditV1.PROTOBUF_PACKAGE, protoFile: auditV1.PROTO_FILE }] },
    callers: REGISTRY_CALLERS,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  return { running, runtime, timeoutMs: config.SHUTDOWN_TIMEOUT_MS };
}

if (require.main === module) void runMain('registry', () => startRegistry());
