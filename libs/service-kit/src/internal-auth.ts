import { Metadata, ServerInterceptingCall, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerInterceptor } from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter } from 'prom-client';
import { ConfigError } from '@flotilla/config';
import type { ServiceRuntime } from './runtime';

/** The internal identities: one per service, plus the operator (tools and test harnesses). */
export const InternalIdentity = {
  Gateway: 'gateway',
  Registry: 'registry',
  ProviderImport: 'provider-import',
  HealthProbe: 'health-probe',
  FederationSync: 'federation-sync',
  Tunnel: 'tunnel',
  /**
   * Break-glass identity of operator tools and test harnesses: may call every DECLARED method.
   * It exists only where FLOTILLA_INTERNAL_CALLERS names it (production leaves it out).
   */
  Operator: 'operator',
} as const;

/** gRPC metadata key the caller check sets, on every call it lets through, to the identity it authenticated. */
export const CALLER_IDENTITY_METADATA = 'flotilla-caller-identity';

/** The internal identity the caller check authenticated for a call (undefined outside the check). */
export function callerIdentityOf(metadata: Metadata | undefined): string | undefined {
  const value = metadata?.get(CALLER_IDENTITY_METADATA)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Any authenticated internal identity may call the method (reflection, worker status). */
export const ANY_INTERNAL_CALLER = 'any-internal-caller';

/**
 * Who may call each gRPC method of a service, by full path (`/package.Service/Method`).
 * A served method missing from the table is refused to everyone (fail closed).
 */
export type CallerTable = Readonly<Record<string, readonly string[] | typeof ANY_INTERNAL_CALLER>>;

/** The gRPC path of a method, as the table keys it. */
export const grpcPath = (pkg: string, service: string, method: string): string => `/${pkg}.${service}/${method}`;

/** Methods no identity is needed for: the standard health service, for kubelet and load-balancer probes. */
export const OPEN_GRPC_METHODS: readonly string[] = ['/grpc.health.v1.Health/Check', '/grpc.health.v1.Health/Watch'];

/** The standard methods every service serves besides its own (service-kit's packages and reflection). */
export const STANDARD_CALLERS: CallerTable = {
  '/flotilla.worker.v1.WorkerService/GetWorkerStatus': ANY_INTERNAL_CALLER,
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo': ANY_INTERNAL_CALLER,
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': ANY_INTERNAL_CALLER,
};

export type RefusalReason = 'missing_credentials' | 'invalid_token' | 'no_client_certificate' | 'identity_mismatch' | 'not_allowed' | 'undeclared_method';

export type CallerCheck = { ok: true; identity: string } | { ok: false; code: GrpcStatus; reason: RefusalReason; message: string };

/** What a call presents: its metadata and, under mTLS, the subject CN of its client certificate. */
export interface PresentedCredentials {
  metadata: Metadata;
  certificateIdentity?: string;
}

/**
 * Authenticates internal callers and applies a service's caller table. Tokens are held only as
 * SHA-256 digests and compared in constant time against every known digest (no early exit).
 */
export class InternalAuthenticator {
  private readonly digests: { identity: string; digest: Buffer }[];

  constructor(
    callers: string,
    private readonly table: CallerTable,
    private readonly tls: boolean,
  ) {
    this.digests = parseCallers(callers);
  }

  /** The identities FLOTILLA_INTERNAL_CALLERS knows. */
  identities(): string[] {
    return [...new Set(this.digests.map((d) => d.identity))];
  }

  check(path: string, presented: PresentedCredentials): CallerCheck {
    const identity = this.authenticate(presented);
    if (!identity.ok) return identity;
    const allowed = this.table[path];
    if (allowed === undefined) {
      return { ok: false, code: GrpcStatus.PERMISSION_DENIED, reason: 'undeclared_method', message: `${path} declares no callers: every call is refused` };
    }
    const permitted = allowed === ANY_INTERNAL_CALLER || allowed.includes(identity.identity) || identity.identity === InternalIdentity.Operator;
    if (!permitted) {
      return { ok: false, code: GrpcStatus.PERMISSION_DENIED, reason: 'not_allowed', message: `the internal identity "${identity.identity}" may not call ${path}` };
    }
    return identity;
  }

  private authenticate(presented: PresentedCredentials): CallerCheck {
    if (this.tls && !presented.certificateIdentity) {
      return { ok: false, code: GrpcStatus.UNAUTHENTICATED, reason: 'no_client_certificate', message: 'internal mTLS is on: connect with a client certificate signed by the internal CA' };
    }
    const header = presented.metadata.get('authorization')[0];
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!token) {
      return {
        ok: false,
        code: GrpcStatus.UNAUTHENTICATED,
        reason: 'missing_credentials',
        message: 'this call needs an internal identity: send the caller\'s own token as authorization: Bearer <FLOTILLA_INTERNAL_TOKEN>',
      };
    }
    const digest = createHash('sha256').update(token).digest();
    let identity: string | undefined;
    for (const known of this.digests) {
      // Every digest is compared, whatever matched before: the time taken does not depend on the token.
      if (timingSafeEqual(digest, known.digest)) identity = known.identity;
    }
    if (!identity) {
      return { ok: false, code: GrpcStatus.UNAUTHENTICATED, reason: 'invalid_token', message: 'the internal token is not one FLOTILLA_INTERNAL_CALLERS knows' };
    }
    if (presented.certificateIdentity !== undefined && presented.certificateIdentity !== identity) {
      return { ok: false, code: GrpcStatus.UNAUTHENTICATED, reason: 'identity_mismatch', message: 'the internal token and the client certificate name different identities' };
    }
    return { ok: true, identity };
  }
}

/** Parses `identity:sha256hex,...`; one identity may have several digests (token rotation), a digest one identity. */
export function parseCallers(callers: string): { identity: string; digest: Buffer }[] {
  const out: { identity: string; digest: Buffer }[] = [];
  const owners = new Map<string, string>();
  for (const entry of callers.split(',').filter(Boolean)) {
    const at = entry.lastIndexOf(':');
    const identity = entry.slice(0, at);
    const hex = entry.slice(at + 1).toLowerCase();
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(identity) || !/^[0-9a-f]{64}$/.test(hex)) {
      throw new ConfigError('internal-auth', [{ variable: 'FLOTILLA_INTERNAL_CALLERS', problem: 'must be identity:sha256hex[,identity:sha256hex...]' }]);
    }
    const owner = owners.get(hex);
    if (owner !== undefined && owner !== identity) {
      throw new ConfigError('internal-auth', [{ variable: 'FLOTILLA_INTERNAL_CALLERS', problem: `one token digest is given to both "${owner}" and "${identity}": give each identity its own token` }]);
    }
    owners.set(hex, identity);
    out.push({ identity, digest: Buffer.from(hex, 'hex') });
  }
  return out;
}

/** The SHA-256 hex digest of a token, as FLOTILLA_INTERNAL_CALLERS lists it. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The identity a verified client certificate names (its subject CN), if any. */
function certificateIdentityOf(call: { getAuthContext(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } | null }): string | undefined {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  const value = Array.isArray(cn) ? cn[0] : cn;
  return value ? value : undefined;
}

/**
 * The one server interceptor: every method of the server (the service's own, worker status,
 * reflection, and any method added later) passes here before its handler; health stays open.
 * A refusal is counted and logged with the method name and reason only, never with what was asked.
 */
export function internalAuthInterceptor(authenticator: InternalAuthenticator, runtime: ServiceRuntime): ServerInterceptor {
  const refusals = new Counter({
    name: 'flotilla_grpc_auth_refusals_total',
    help: 'Internal gRPC calls refused by the caller check, by method and reason',
    labelNames: ['method', 'reason'],
    registers: [runtime.metrics.registry],
  });
  return (descriptor, call) => {
    const path = descriptor.path;
    if (OPEN_GRPC_METHODS.includes(path)) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const result = authenticator.check(path, { metadata, certificateIdentity: certificateIdentityOf(call) });
            if (result.ok) {
              // Handlers that decide by caller read the authenticated identity; a caller cannot set it (overwritten).
              metadata.set(CALLER_IDENTITY_METADATA, result.identity);
              return pass(metadata);
            }
            refusals.inc({ method: path, reason: result.reason });
            runtime.logger.warn({ method: path, reason: result.reason }, 'internal gRPC call refused');
            call.sendStatus({ code: result.code, details: result.message });
          },
        });
      },
    });
  };
}
