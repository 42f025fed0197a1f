import { ChannelCredentials, credentials, loadPackageDefinition, Metadata, ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { PROTO_LOADER_OPTIONS, protoPath, protoRoot } from '@flotilla/contracts';

type AnyClient = Record<string, (...args: unknown[]) => unknown> & { close(): void };

function client(file: string, includeDirs: string[], service: string[], target: string, channel = credentials.createInsecure()): AnyClient {
  const def = loadSync(file, { ...PROTO_LOADER_OPTIONS, includeDirs });
  let node: unknown = loadPackageDefinition(def);
  for (const part of service) node = (node as Record<string, unknown>)[part];
  const Ctor = node as new (t: string, c: ChannelCredentials) => AnyClient;
  return new Ctor(target, channel);
}

/** Asks a server's grpc.health.v1.Health/Check, as a load balancer or kubelet probe would. */
export function grpcHealthCheck(target: string, service = ''): Promise<string> {
  const c = client(protoPath('grpc/health/v1/health.proto'), [protoRoot()], ['grpc', 'health', 'v1', 'Health'], target);
  return new Promise((resolve, reject) => {
    c.Check!({ service }, { deadline: Date.now() + 5000 }, (error: ServiceError | null, res: { status: string }) => {
      c.close();
      if (error) reject(error);
      else resolve(res.status);
    });
  });
}

/**
 * Lists the services a server offers through gRPC server reflection (what grpcurl does first).
 * Reflection needs an internal identity: pass its token (e.g. the platform's operator token), and
 * its channel credentials under internal mTLS.
 */
export function grpcReflectionServices(target: string, internalToken?: string, channel?: ChannelCredentials): Promise<string[]> {
  const dir = join(require.resolve('@grpc/reflection'), '..', '..', 'proto');
  const c = client(join(dir, 'grpc/reflection/v1/reflection.proto'), [dir], ['grpc', 'reflection', 'v1', 'ServerReflection'], target, channel);
  const metadata = new Metadata();
  if (internalToken) metadata.set('authorization', `Bearer ${internalToken}`);
  return new Promise((resolve, reject) => {
    const call = c.ServerReflectionInfo!(metadata) as NodeJS.EventEmitter & { write(v: unknown): void; end(): void };
    call.on('data', (res: { listServicesResponse?: { service: { name: string }[] } }) => {
      resolve((res.listServicesResponse?.service ?? []).map((s) => s.name).sort());
      call.end();
      c.close();
    });
    call.on('error', reject);
    call.write({ listServices: '' });
  });
}
