import type { ChannelCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ConfigError } from '@flotilla/config';
import { PROTO_LOADER_OPTIONS, protoPath, protoRoot } from '@flotilla/contracts';
import type { GrpcPackage, GrpcServerSecurity } from './grpc';
import { CallerTable, InternalAuthenticator, OPEN_GRPC_METHODS, STANDARD_CALLERS, internalAuthInterceptor, parseCallers, tokenDigest } from './internal-auth';
import { ReloadingCertificateProvider, internalChannelCredentials, internalServerCredentials, registerCertificateExpiry } from './internal-tls';
import type { ServiceRuntime } from './runtime';

/** The internal-trust variables, as every service's config carries them (libs/config internalSecurityConfigShape). */
export interface InternalSecurityConfig {
  FLOTILLA_INTERNAL_TOKEN?: string;
  FLOTILLA_INTERNAL_CALLERS?: string;
  FLOTILLA_INTERNAL_TLS?: 'true' | 'false';
  FLOTILLA_INTERNAL_TLS_CA?: string;
  FLOTILLA_INTERNAL_TLS_CERT?: string;
  FLOTILLA_INTERNAL_TLS_KEY?: string;
  FLOTILLA_INTERNAL_TLS_RELOAD_MS?: number;
}

export interface InternalSecurity {
  server: GrpcServerSecurity;
  /** For this service's own clients: its token, and its channel credentials under mTLS. */
  client: { internalToken?: string; credentials?: ChannelCredentials };
}

/** The gRPC methods a server with these packages serves, by path. */
export function servedMethods(packages: GrpcPackage[]): string[] {
  const definition = loadSync(
    packages.map((p) => protoPath(p.protoFile)),
    { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
  );
  const paths: string[] = [];
  for (const [name, entry] of Object.entries(definition)) {
    if ('format' in entry) continue; // a message or enum type, not a service
    if (!packages.some((p) => name.startsWith(`${p.package}.`))) continue;
    for (const method of Object.values(entry as Record<string, { path: string }>)) paths.push(method.path);
  }
  return paths.sort();
}

/**
 * Builds the caller check and (when FLOTILLA_INTERNAL_TLS=true) the mTLS credentials of a
 * service from its configuration and its caller table. Missing or contradictory settings are a
 * ConfigError naming each variable; a table naming a method the service does not serve is an error
 * too; a served method the table leaves out is refused to everyone, and said so in the log.
 */
export function internalSecurity(runtime: ServiceRuntime, config: InternalSecurityConfig, packages: GrpcPackage[], callers: CallerTable = {}): InternalSecurity {
  const problems: { variable: string; problem: string }[] = [];
  if (!config.FLOTILLA_INTERNAL_CALLERS) {
    problems.push({
      variable: 'FLOTILLA_INTERNAL_CALLERS',
      problem: 'is required: identity:sha256hex of the FLOTILLA_INTERNAL_TOKEN of each service that may call this one, e.g. gateway:$(printf %s "$GATEWAY_TOKEN" | sha256sum | cut -c1-64) (docs/security.md)',
    });
  }
  const tls = config.FLOTILLA_INTERNAL_TLS === 'true';
  if (tls) {
    for (const variable of ['FLOTILLA_INTERNAL_TLS_CA', 'FLOTILLA_INTERNAL_TLS_CERT', 'FLOTILLA_INTERNAL_TLS_KEY'] as const) {
      if (!config[variable]) problems.push({ variable, problem: 'is required when FLOTILLA_INTERNAL_TLS=true: a PEM file path' });
    }
  }
  if (problems.length) throw new ConfigError(runtime.name, problems);

  const served = servedMethods(packages);
  const stale = Object.keys(callers).filter((path) => !served.includes(path));
  if (stale.length) throw new Error(`the caller table of ${runtime.name} names methods it does not serve: ${stale.join(', ')}`);
  const table: CallerTable = { ...STANDARD_CALLERS, ...callers };
  const undeclared = served.filter((path) => !OPEN_GRPC_METHODS.includes(path) && table[path] === undefined);
  if (undeclared.length) runtime.logger.warn({ methods: undeclared }, 'these gRPC methods declare no callers: every call to them is refused');

  let provider: ReloadingCertificateProvider | undefined;
  if (tls) {
    try {
      provider = new ReloadingCertificateProvider(
        { ca: config.FLOTILLA_INTERNAL_TLS_CA!, cert: config.FLOTILLA_INTERNAL_TLS_CERT!, key: config.FLOTILLA_INTERNAL_TLS_KEY! },
        config.FLOTILLA_INTERNAL_TLS_RELOAD_MS ?? 60_000,
        (subject, notAfter) => runtime.logger.info({ subject, notAfter }, 'internal TLS certificate renewed: new connections use it'),
        (message) => runtime.logger.warn({ problem: message }, 'internal TLS files not reloaded: the previous certificate stays in use'),
      );
    } catch (error) {
      const message = (error as Error).message;
      const variable = /^(FLOTILLA_INTERNAL_TLS_\w+): /.exec(message)?.[1] ?? 'FLOTILLA_INTERNAL_TLS';
      throw new ConfigError(runtime.name, [{ variable, problem: message.replace(/^FLOTILLA_INTERNAL_TLS_\w+: /, '') }]);
    }
    const own = provider;
    runtime.shutdown.onClose('internal-tls', async () => own.close());
    registerCertificateExpiry(provider, runtime);
    // The identity check stays on top of mTLS: the token this service sends must name the certificate's identity.
    const mine = config.FLOTILLA_INTERNAL_TOKEN ? tokenDigest(config.FLOTILLA_INTERNAL_TOKEN) : undefined;
    const named = parseCallers(config.FLOTILLA_INTERNAL_CALLERS!).find((c) => c.digest.toString('hex') === mine)?.identity;
    if (named && named !== provider.identity) {
      throw new ConfigError(runtime.name, [
        { variable: 'FLOTILLA_INTERNAL_TLS_CERT', problem: `names the identity "${provider.identity}" but FLOTILLA_INTERNAL_TOKEN is "${named}"'s: give this service its own certificate and token` },
      ]);
    }
  }

  const authenticator = new InternalAuthenticator(config.FLOTILLA_INTERNAL_CALLERS!, table, tls);
  return {
    server: { interceptors: [internalAuthInterceptor(authenticator, runtime)], credentials: provider && internalServerCredentials(provider) },
    client: { internalToken: config.FLOTILLA_INTERNAL_TOKEN, credentials: provider && internalChannelCredentials(provider) },
  };
}
