/**
 * Internal trust (issue 11): every RPC of every service, listed from the proto files under proto/
 * and the servers' reflection (so a new method or a new proto is covered without touching this
 * test), is called without an identity, with each identity its caller table does not allow, and
 * with one it allows; first with tokens over plain text, then under internal mTLS, where a client
 * certificate from another CA is refused at the handshake and renewed certificates are taken
 * without a restart.
 */
import { ChannelCredentials, Client, Metadata, ServiceError, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { PROTO_LOADER_OPTIONS, protoRoot } from '@flotilla/contracts';
import { ANY_INTERNAL_CALLER, CallerTable, InternalIdentity, OPEN_GRPC_METHODS, RunningService, STANDARD_CALLERS } from '@flotilla/service-kit';
import { PLATFORM_IDENTITIES, PlatformEnv, PlatformIdentity, eventually, grpcReflectionServices, makeDevPki, preparePlatformEnv } from '@flotilla/testing';
import { REGISTRY_CALLERS } from '../../services/registry/src/auth/callers';
import { startRegistry } from '../../services/registry/src/main';
import { PROVIDER_IMPORT_CALLERS } from '../../services/provider-import/src/callers';
import { startProviderImport } from '../../services/provider-import/src/main';
import { startHealthProbe } from '../../services/health-probe/src/main';
import { startFederationSync } from '../../services/federation-sync/src/main';
import { startGateway } from '../../services/gateway/src/main';

/** Each service, its gRPC port and its caller table as its main() builds it. */
const SERVERS = [
  { name: 'registry', port: 'registryGrpc', table: { ...STANDARD_CALLERS, ...REGISTRY_CALLERS } },
  { name: 'provider-import', port: 'importGrpc', table: { ...STANDARD_CALLERS, ...PROVIDER_IMPORT_CALLERS } },
  { name: 'health-probe', port: 'probeGrpc', table: STANDARD_CALLERS },
  { name: 'federation-sync', port: 'syncGrpc', table: STANDARD_CALLERS },
  { name: 'gateway', port: 'gatewayGrpc', table: STANDARD_CALLERS },
] as const satisfies readonly { name: PlatformIdentity; port: keyof PlatformEnv['ports']; table: CallerTable }[];

interface RpcMethod {
  service: string;
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

function protoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = join(dir, entry);
    return statSync(full).isDirectory() ? protoFiles(full) : entry.endsWith('.proto') ? [full] : [];
  });
}

/** Every service and method of every proto file under proto/, plus server reflection (v1 and v1alpha). */
function methodsFromProtos(): Map<string, RpcMethod[]> {
  const reflectionDir = join(require.resolve('@grpc/reflection'), '..', '..', 'proto');
  const files = [
    ...protoFiles(protoRoot()),
    join(reflectionDir, 'grpc/reflection/v1/reflection.proto'),
    join(reflectionDir, 'grpc/reflection/v1alpha/reflection.proto'),
  ];
  const definition = loadSync(files, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot(), reflectionDir] });
  const out = new Map<string, RpcMethod[]>();
  for (const [name, entry] of Object.entries(definition)) {
    if ('format' in entry) continue;
    out.set(
      name,
      Object.values(entry as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>).map((m) => ({
        service: name,
        path: m.path,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
      })),
    );
  }
  return out;
}

interface CallOutcome {
  code: GrpcStatus;
  details: string;
}

/**
 * Calls any method with an empty request message (valid protobuf for every message type) and
 * reports its status. A stream that is still open after `streamMs` got past the caller check
 * (a refusal ends the call at once): it is cancelled and reported as DEADLINE_EXCEEDED.
 */
function callRaw(target: string, method: RpcMethod, metadata: Metadata, channel: ChannelCredentials, streamMs = 1500): Promise<CallOutcome> {
  const client = new Client(target, channel);
  const id = (b: Buffer) => b;
  const options = { deadline: Date.now() + (method.responseStream || method.requestStream ? streamMs : 5000) };
  return new Promise<CallOutcome>((resolve) => {
    const done = (error: ServiceError | null) => {
      client.close();
      resolve(error ? { code: error.code, details: error.details } : { code: GrpcStatus.OK, details: '' });
    };
    const empty = Buffer.alloc(0);
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(method.path, id, id, empty, metadata, options, (error) => done(error));
    } else if (!method.requestStream) {
      const call = client.makeServerStreamRequest(method.path, id, id, empty, metadata, options);
      call.on('data', () => undefined);
      call.on('error', (e: ServiceError) => done(e));
      call.on('end', () => done(null));
    } else if (!method.responseStream) {
      const call = client.makeClientStreamRequest(method.path, id, id, metadata, options, (error) => done(error));
      call.end();
    } else {
      const call = client.makeBidiStreamRequest(method.path, id, id, metadata, options);
      call.on('data', () => undefined);
      call.on('error', (e: ServiceError) => done(e));
      call.on('end', () => done(null));
      call.write(empty);
      call.end();
    }
  });
}

const bearer = (token?: string): Metadata => {
  const m = new Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
};

/** Who the table lets call `path` (every identity for "any", nobody for an undeclared method). */
function allowedIdentities(table: CallerTable, path: string): PlatformIdentity[] {
  const allowed = table[path];
  if (allowed === undefined) return [];
  if (allowed === ANY_INTERNAL_CALLER) return [...PLATFORM_IDENTITIES];
  return PLATFORM_IDENTITIES.filter((id) => allowed.includes(id) || id === InternalIdentity.Operator);
}

interface RunningPlatform {
  platform: PlatformEnv;
  services: RunningService[];
  /** Channel credentials of an identity: its certificate under mTLS, plain text otherwise. */
  channel(identity: PlatformIdentity): ChannelCredentials;
  stop(): Promise<void>;
}

/** The whole platform in this process, with or without internal mTLS. */
async function startPlatform(internalTls: boolean): Promise<RunningPlatform> {
  const platform = await preparePlatformEnv({ internalTls });
  const services: RunningService[] = [];
  const channel = (identity: PlatformIdentity): ChannelCredentials => {
    if (!platform.tls) return credentials.createInsecure();
    const f = platform.tls.files(identity);
    return credentials.createSsl(readFileSync(f.ca), readFileSync(f.key), readFileSync(f.cert));
  };
  try {
    services.push((await startRegistry(platform.env('registry'))).running);
    services.push((await startProviderImport(platform.env('provider-import'))).running);
    services.push((await startHealthProbe(platform.env('health-probe'))).running);
    services.push((await startFederationSync(platform.env('federation-sync'))).running);
    services.push((await startGateway(platform.env('gateway'))).running);
  } catch (error) {
    for (const s of services.reverse()) await s.stop();
    await platform.cleanup();
    throw error;
  }
  return {
    platform,
    services,
    channel,
    async stop() {
      for (const s of [...services].reverse()) await s.stop();
      await platform.cleanup();
    },
  };
}

/** Server reflection itself, which every server serves but does not list. */
const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

/** The services a server lists through reflection (asked as the operator), over mTLS when on. */
function servedServices(running: RunningPlatform, target: string): Promise<string[]> {
  return grpcReflectionServices(target, running.platform.internalToken, running.channel('operator'));
}

/** Every method a server serves: those of the services it lists, and reflection's. */
async function servedMethods(running: RunningPlatform, target: string, protos: Map<string, RpcMethod[]>): Promise<RpcMethod[]> {
  const names = [...(await servedServices(running, target)), ...REFLECTION_SERVICES];
  return names.flatMap((name) => protos.get(name) ?? []);
}


const REFUSED = /^(UNAUTHENTICATED|PERMISSION_DENIED)$/;

/**
 * Internal trust (issue 11), plain text: every RPC of every service, listed from the proto files
 * (so a new method or a new proto is covered without touching this test), is called without
 * credentials, with each identity its table does not allow, and with one it allows.
 */
/**
 * Calls every RPC of every running service (listed from the proto files and reflection) without
 * an identity, with each identity its table does not allow, and with one it allows.
 */
function describeInternalTrust(internalTls: boolean, title: string, more?: (running: () => RunningPlatform) => void): void {
  let running: RunningPlatform;
  describe(title, () => {
  const protos = methodsFromProtos();

  beforeAll(async () => {
    running = await startPlatform(internalTls);
  });

  afterAll(async () => {
    await running?.stop();
  });

  it('every service in proto/ is served by some Flotilla service, and each server serves only known protos', async () => {
    const served = new Set<string>();
    for (const server of SERVERS) {
      for (const name of await servedServices(running, `127.0.0.1:${running.platform.ports[server.port]}`)) {
        expect([server.name, protos.has(name)]).toEqual([server.name, true]);
        served.add(name);
      }
    }
    for (const name of protos.keys()) if (!REFLECTION_SERVICES.includes(name)) expect([name, served.has(name)]).toEqual([name, true]);
  });

  it.each(SERVERS.map((s) => [s.name, s] as const))('%s: refuses calls without an identity (UNAUTHENTICATED), except grpc.health.v1', async (_name, server) => {
    const target = `127.0.0.1:${running.platform.ports[server.port]}`;
    const methods = await servedMethods(running, target, protos);
    // At least health (2), worker status (1), reflection (2).
    expect(methods.length).toBeGreaterThanOrEqual(5);
    for (const method of methods) {
      const { code } = await callRaw(target, method, bearer(), running.channel('operator'));
      if (OPEN_GRPC_METHODS.includes(method.path)) expect([method.path, GrpcStatus[code]]).toEqual([method.path, expect.not.stringMatching(REFUSED)]);
      else expect([method.path, GrpcStatus[code]]).toEqual([method.path, 'UNAUTHENTICATED']);
      // A token nobody issued is refused the same way.
      if (!OPEN_GRPC_METHODS.includes(method.path)) {
        const forged = await callRaw(target, method, bearer('f'.repeat(64)), running.channel('operator'));
        expect([method.path, GrpcStatus[forged.code]]).toEqual([method.path, 'UNAUTHENTICATED']);
      }
    }
  });

  it.each(SERVERS.map((s) => [s.name, s] as const))('%s: refuses identities its table does not allow (PERMISSION_DENIED), lets an allowed one through', async (_name, server) => {
    const target = `127.0.0.1:${running.platform.ports[server.port]}`;
    for (const method of await servedMethods(running, target, protos)) {
      {
        if (OPEN_GRPC_METHODS.includes(method.path)) continue;
        const allowed = allowedIdentities(server.table, method.path);
        for (const identity of PLATFORM_IDENTITIES.filter((id) => !allowed.includes(id))) {
          const { code } = await callRaw(target, method, bearer(running.platform.tokens[identity]), running.channel(identity));
          expect([method.path, identity, GrpcStatus[code]]).toEqual([method.path, identity, 'PERMISSION_DENIED']);
        }
        // With the right identity the call gets past the check (it may still fail for business reasons, e.g. NOT_FOUND).
        const caller = allowed.find((id) => id !== 'operator') ?? allowed[0];
        expect([method.path, caller !== undefined]).toEqual([method.path, true]);
        const { code } = await callRaw(target, method, bearer(running.platform.tokens[caller!]), running.channel(caller!));
        expect([method.path, caller, GrpcStatus[code]]).toEqual([method.path, caller, expect.not.stringMatching(REFUSED)]);
      }
    }
  });

  it('only the services that connect to members may read credentials (the gateway for its API proxy), not the registry itself', async () => {
    const target = `127.0.0.1:${running.platform.ports.registryGrpc}`;
    const method = protos.get('flotilla.registry.v1.RegistryService')!.find((m) => m.path.endsWith('/GetClusterCredentials'))!;
    const as = async (identity: (typeof PLATFORM_IDENTITIES)[number]) => GrpcStatus[(await callRaw(target, method, bearer(running.platform.tokens[identity]), running.channel(identity))).code];
    expect(await as('registry')).toBe('PERMISSION_DENIED');
    // Past the check, the empty name is a business error.
    expect(await as('gateway')).toBe('NOT_FOUND');
    expect(await as('provider-import')).toBe('NOT_FOUND');
    expect(await as('health-probe')).toBe('NOT_FOUND');
  });

  it('counts refusals by method and reason, and logs the method name only, nothing of the request', async () => {
    const target = `127.0.0.1:${running.platform.ports.registryGrpc}`;
    const getCluster = protos.get('flotilla.registry.v1.RegistryService')!.find((m) => m.path.endsWith('/GetCluster'))!;
    let logs = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logs += chunk.toString();
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      const metadata = bearer('MARKER-TOKEN-'.padEnd(64, 'z'));
      metadata.set('x-request-id', 'MARKER-REQUEST');
      // GetClusterRequest { name = "MARKER-NAME" }, sent raw.
      const request = Buffer.concat([Buffer.from([0x0a, 11]), Buffer.from('MARKER-NAME')]);
      const client = new Client(target, running.channel('operator'));
      const code = await new Promise<number>((resolve) =>
        client.makeUnaryRequest(getCluster.path, (b: Buffer) => b, (b: Buffer) => b, request, metadata, { deadline: Date.now() + 5000 }, (error) => resolve(error?.code ?? 0)),
      );
      client.close();
      expect(GrpcStatus[code]).toBe('UNAUTHENTICATED');
      await eventually(() => expect(logs).toContain('"method":"/flotilla.registry.v1.RegistryService/GetCluster","reason":"invalid_token"'));
      expect(logs).not.toMatch(/MARKER/);
    } finally {
      process.stdout.write = write;
    }
    const metrics = await (await fetch(`http://127.0.0.1:${running.platform.ports.registryHttp}/metrics`)).text();
    expect(metrics).toMatch(/flotilla_grpc_auth_refusals_total\{method="\/flotilla.registry.v1.RegistryService\/DeleteCluster",reason="missing_credentials",service="registry"\} [1-9]/);
    expect(metrics).toMatch(/flotilla_grpc_auth_refusals_total\{method="\/flotilla.registry.v1.RegistryService\/GetClusterCredentials",reason="not_allowed",service="registry"\} [1-9]/);
    expect(metrics).toMatch(/flotilla_grpc_auth_refusals_total\{method="\/flotilla.registry.v1.RegistryService\/GetCluster",reason="invalid_token",service="registry"\} [1-9]/);
  });

  more?.(() => running);
  });
}

// Tokens over plain text (the npm start default).
describeInternalTrust(false, 'internal trust: every RPC of every service checks its caller (tokens)');

// The same suite with FLOTILLA_INTERNAL_TLS=true: every service has a certificate from the
// platform's CA, and the identity check stays on top of mTLS.
describeInternalTrust(true, 'internal trust under mTLS: every RPC of every service checks its caller (certificate and token)', (running) => {
  describe('handshake, identities and renewal', () => {
    moreTests(running);
  });
});

/** The serial number of the certificate a server presents to a new connection. */
function servedSerial(port: number, files: { ca: string; cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'], ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

function moreTests(trust: () => RunningPlatform): void {
  const protos = methodsFromProtos();
  const getCluster = protos.get('flotilla.registry.v1.RegistryService')!.find((m) => m.path.endsWith('/GetCluster'))!;
  const workerStatus = protos.get('flotilla.worker.v1.WorkerService')![0]!;
  let otherCa: string;

  beforeAll(() => {
    otherCa = mkdtempSync(join(tmpdir(), 'flotilla-other-ca-'));
    makeDevPki(otherCa, ['gateway', 'operator']);
  });

  afterAll(() => rmSync(otherCa, { recursive: true, force: true }));

  it('refuses at the handshake a client whose certificate comes from another CA, or that has none', async () => {
    const { platform } = trust();
    const ca = readFileSync(platform.tls!.ca);
    const foreign = credentials.createSsl(ca, readFileSync(join(otherCa, 'gateway.key')), readFileSync(join(otherCa, 'gateway.crt')));
    const anonymous = credentials.createSsl(ca);
    for (const server of SERVERS) {
      const target = `127.0.0.1:${platform.ports[server.port]}`;
      // With a valid token: the refusal is the TLS handshake's, before any identity check.
      const withForeign = await callRaw(target, workerStatus, bearer(platform.tokens.gateway), foreign);
      expect([server.name, GrpcStatus[withForeign.code]]).toEqual([server.name, 'UNAVAILABLE']);
      const withNone = await callRaw(target, workerStatus, bearer(platform.tokens.gateway), anonymous);
      expect([server.name, GrpcStatus[withNone.code]]).toEqual([server.name, 'UNAVAILABLE']);
    }
    // A plain-text client gets nowhere either.
    const plain = await callRaw(`127.0.0.1:${platform.ports.registryGrpc}`, getCluster, bearer(platform.tokens.gateway), credentials.createInsecure());
    expect(GrpcStatus[plain.code]).toBe('UNAVAILABLE');
  });

  it('refuses a token that names another identity than the client certificate', async () => {
    const running = trust();
    const target = `127.0.0.1:${running.platform.ports.registryGrpc}`;
    // The gateway's certificate with health-probe's token: both valid, but not the same caller.
    const mixed = await callRaw(target, getCluster, bearer(running.platform.tokens['health-probe']), running.channel('gateway'));
    expect(GrpcStatus[mixed.code]).toBe('UNAUTHENTICATED');
    const matched = await callRaw(target, getCluster, bearer(running.platform.tokens.gateway), running.channel('gateway'));
    expect(GrpcStatus[matched.code]).toBe('NOT_FOUND');
  });

  it('takes a renewed certificate without a restart, and shows its expiry in a metric', async () => {
    const running = trust();
    const { platform } = running;
    const port = platform.ports.registryGrpc;
    const operator = platform.tls!.files('operator');
    const before = await servedSerial(port, operator);
    const metrics = () => fetch(`http://127.0.0.1:${platform.ports.registryHttp}/metrics`).then((r) => r.text());
    const expiry = async () => Number(/flotilla_internal_tls_expiry_seconds\{certificate="service",service="registry"\} (\d+)/.exec(await metrics())?.[1]);
    expect(await expiry()).toBeGreaterThan(80 * 86_400);

    platform.tls!.renew('registry', 2);
    await eventually(async () => expect(await servedSerial(port, operator)).not.toBe(before), { timeoutMs: 10_000, intervalMs: 100 });
    const left = await expiry();
    expect(left).toBeGreaterThan(86_400);
    expect(left).toBeLessThanOrEqual(2 * 86_400);
    // The other services still reach the registry on new connections, under the renewed certificate.
    const after = await callRaw(`127.0.0.1:${port}`, getCluster, bearer(platform.tokens.gateway), running.channel('gateway'));
    expect(GrpcStatus[after.code]).toBe('NOT_FOUND');
    const ready = await fetch(`http://127.0.0.1:${platform.ports.probeHttp}/readyz`);
    expect(ready.status).toBe(200);
  });
}
