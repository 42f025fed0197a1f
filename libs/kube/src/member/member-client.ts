import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { SecureContext, type TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { kubeconfigError, type ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberAddressPolicy, REFUSED_ADDRESS_CODE, defaultMemberPolicy, refusalSentence } from '../net/address-policy';
import { DEFAULT_MAX_MEMBER_BODY_BYTES, MemberAnswerError, parseMemberJson, readBoundedBody } from '../net/bounded-body';

/**
 * Why a call to a member did not get a usable HTTP answer: no connection (unreachable, timeout,
 * tls), a connection the address policy refused or a redirect (refused), or an answer too large or
 * malformed to read (answer).
 */
export type MemberFailure = 'unreachable' | 'timeout' | 'tls' | 'refused' | 'answer';

export class MemberUnavailableError extends Error {
  constructor(
    readonly failure: MemberFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MemberUnavailableError';
  }
}

export interface MemberResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface TlsProbe {
  /** True when the server's chain verifies against the kubeconfig's CA (or the system roots). */
  authorized: boolean;
  authorizationError?: string;
}

/** Node's error codes for a server certificate that does not verify (the member's TLS, not its reachability). */
export const TLS_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
]);

export interface MemberClientOptions {
  /** The member address policy; by default the one this process's environment gives (defaultMemberPolicy). */
  policy?: MemberAddressPolicy;
  /** Largest answer read (default 4 MiB); a larger one fails with a MemberUnavailableError('answer'). */
  maxBodyBytes?: number;
}

/**
 * A minimal client for a member's API server built from a ResolvedKubeconfig: everything in
 * memory (no files, no plugins), every call bounded in time and size, every connection under the
 * member address policy, no redirect followed. Errors never carry credentials.
 */
export class MemberClient {
  /** Keep-alive connections: an import asks a dozen questions, one TLS handshake serves them. */
  private agent?: HttpsAgent;
  readonly policy: MemberAddressPolicy;
  private readonly maxBodyBytes: number;
  /** Resolves names at connect time through the policy, which refuses them again (DNS rebinding). */
  private readonly lookup: MemberAddressPolicy['lookup'];

  /**
   * @param options the policy and bounds; a bare list is the old form, an allow-list added to the
   *   policy of this process's environment.
   */
  constructor(
    readonly config: ResolvedKubeconfig,
    private readonly timeoutMs = 10_000,
    options: MemberClientOptions | readonly string[] = {},
  ) {
    const o: MemberClientOptions = Array.isArray(options) ? { policy: defaultMemberPolicy(options as readonly string[]) } : (options as MemberClientOptions);
    this.policy = o.policy ?? defaultMemberPolicy();
    this.maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_MEMBER_BODY_BYTES;
    this.lookup = this.policy.lookup;
  }

  /**
   * The connect-time checks no lookup sees: plain http without the opt-in, and a refused IP
   * literal or metadata name (sockets connect to literals without any lookup).
   */
  private preflight(url: URL, what = 'the member server'): void {
    // A proxy-url is http:// by design (HTTP CONNECT; TLS to the member runs inside the tunnel).
    if (url.protocol === 'http:' && !this.policy.allowPlainHttp && what !== 'the proxy') {
      throw new MemberUnavailableError('refused', `${what} ${url.host} is plain http://, which would send the credentials in clear text; an operator can set FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS=true`);
    }
    const refused = this.policy.refusalForHost(url.hostname);
    if (refused) throw new MemberUnavailableError('refused', refusalSentence(`${what} ${url.host}`, refused));
  }

  /** Closes the kept-alive connections (idle ones also close by themselves after a few seconds). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private httpsAgent(): HttpsAgent {
    if (!this.agent) {
      this.agent = new HttpsAgent({ keepAlive: true, maxSockets: 8, timeout: 5_000 });
      if (this.config.proxyUrl) {
        // Through an HTTP proxy (proxy-url, allowed by configuration): CONNECT, then TLS inside the tunnel.
        const agent = this.agent as unknown as { createConnection: (o: Record<string, unknown>, cb: (e: Error | null, s?: TLSSocket) => void) => undefined };
        agent.createConnection = (options, cb) => {
          this.tunnel(String(options.host), Number(options.port)).then(
            (socket) => cb(null, tlsConnect({ ...(options as object), socket } as never)),
            (error: Error) => cb(error),
          );
          return undefined;
        };
      }
    }
    return this.agent;
  }

  /** An HTTP CONNECT tunnel to host:port through the kubeconfig's proxy-url. */
  private tunnel(host: string, port: number): Promise<Socket> {
    const proxy = new URL(this.config.proxyUrl!);
    try {
      this.preflight(proxy, 'the proxy');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Host: `${host}:${port}` };
      if (proxy.username) headers['Proxy-Authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
      const req = httpRequest({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: `${host}:${port}`, headers, agent: false, lookup: this.lookup as never, timeout: this.timeoutMs });
      req.once('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new MemberUnavailableError('unreachable', `the proxy ${proxy.host} refused the tunnel to ${host}:${port} (${res.statusCode})`));
          return;
        }
        resolve(socket);
      });
      req.once('timeout', () => req.destroy(new MemberUnavailableError('timeout', `the proxy ${proxy.host} did not answer within ${this.timeoutMs} ms`)));
      req.once('error', (error: NodeJS.ErrnoException) => reject(error instanceof MemberUnavailableError ? error : connectError(error, `the proxy ${proxy.host}`)));
      req.end();
    });
  }

  private secureContext?: SecureContext;

  /** One TLS context (CA, client certificate and key) per client: parsing keys is the costly part. */
  private tlsOptions() {
    const c = this.config;
    if (!this.secureContext) {
      try {
        this.secureContext = createSecureContext({
          ...(c.caData ? { ca: c.caData } : {}),
          ...(c.auth.type === 'clientCertificate' ? { cert: c.auth.certData, key: c.auth.keyData } : {}),
        });
      } catch {
        throw kubeconfigError(
          'certificate-authority-data, client-certificate-data or client-key-data does not load as PEM (or the key does not match the certificate): give the PEM data base64-encoded',
        );
      }
    }
    const opts: Record<string, unknown> = { rejectUnauthorized: !c.insecureSkipTlsVerify, secureContext: this.secureContext };
    if (c.caData) opts.ca = c.caData;
    if (c.tlsServerName) opts.servername = c.tlsServerName;
    return opts;
  }

  /** Connects (TCP + TLS handshake) without verifying, and reports whether the chain verifies. */
  probeTls(): Promise<TlsProbe> {
    const url = new URL(this.config.server);
    try {
      this.preflight(url);
    } catch (error) {
      return Promise.reject(error);
    }
    if (url.protocol === 'http:') return Promise.resolve({ authorized: false, authorizationError: 'the server URL is plain http://' });
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 443);
    if (this.config.proxyUrl) return this.tunnel(host, port).then((socket) => this.handshake(url, socket));
    return this.handshake(url);
  }

  private handshake(url: URL, through?: Socket): Promise<TlsProbe> {
    return new Promise((resolve, reject) => {
      const opts = this.tlsOptions();
      const socket = tlsConnect({
        ...(through ? { socket: through } : {}),
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: Number(url.port || 443),
        secureContext: opts.secureContext as SecureContext,
        lookup: this.lookup as never,
        servername: (opts.servername as string | undefined) ?? (/^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname),
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new MemberUnavailableError('timeout', `no TLS handshake with ${url.host} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        let authorized = socket.authorized;
        let authorizationError = socket.authorizationError ? String(socket.authorizationError) : undefined;
        if (authorized && !opts.servername && /^[\d.]+$|:/.test(url.hostname)) {
          // Node checks the host name only on verified https requests: check the IP SAN here.
          const peer = socket.getPeerX509Certificate();
          if (peer && peer.checkIP(url.hostname.replace(/^\[|\]$/g, '')) === undefined) {
            authorized = false;
            authorizationError = `ERR_TLS_CERT_ALTNAME_INVALID: the certificate is not valid for ${url.hostname}`;
          }
        }
        socket.end();
        socket.destroy();
        resolve({ authorized, ...(authorizationError ? { authorizationError } : {}) });
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(error, url.host));
      });
    });
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<MemberResponse<T>> {
    const url = new URL(this.config.server + path);
    url.username = '';
    url.password = '';
    this.preflight(url);
    /** Named in errors: the method and path, without the query (continue tokens are the member's text). */
    const what = `the answer of ${url.host} to ${method} ${url.pathname}`;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'flotilla-provider-import', ...extraHeaders };
    if (payload) {
      headers['Content-Type'] = headers['Content-Type'] ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const auth = this.config.auth;
    if (auth.type === 'token') headers.Authorization = `Bearer ${auth.token}`;
    if (auth.type === 'basic') headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = make(
        url,
        { method, headers, ...(url.protocol === 'https:' ? { ...this.tlsOptions(), agent: this.httpsAgent() } : { agent: false }), lookup: this.lookup as never, timeout: this.timeoutMs },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            // A redirect is never followed: it could point anywhere, past every address check.
            clearTimeout(timer);
            res.destroy();
            reject(new MemberUnavailableError('refused', `${url.host} answered ${method} ${url.pathname} with a redirect (${status}), which Flotilla never follows: give the API server's own address`));
            return;
          }
          readBoundedBody(res, this.maxBodyBytes, what).then(
            (text) => {
              clearTimeout(timer);
              try {
                resolve({ status, body: parseMemberJson(text, what, this.maxBodyBytes) as T });
              } catch (error) {
                reject(error instanceof MemberAnswerError ? new MemberUnavailableError('answer', error.message) : error);
              }
            },
            (error: NodeJS.ErrnoException) => {
              clearTimeout(timer);
              if (error instanceof MemberAnswerError) return reject(new MemberUnavailableError('answer', error.message));
              reject(new MemberUnavailableError('unreachable', `reading ${what} failed: ${error.code ?? 'connection lost'}`));
            },
          );
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new MemberUnavailableError('timeout', `${url.host} did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('timeout', () => req.destroy(new MemberUnavailableError('timeout', `${url.host} did not answer within ${this.timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error instanceof MemberUnavailableError) return reject(error);
        if (error.code && TLS_CODES.has(error.code)) return reject(new MemberUnavailableError('tls', `TLS verification of ${url.host} failed: ${error.code}`));
        reject(connectError(error, url.host));
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}

/** A socket error as a MemberUnavailableError: the policy's refusal keeps its sentence, others give their code. */
function connectError(error: NodeJS.ErrnoException, target: string): MemberUnavailableError {
  if (error.code === REFUSED_ADDRESS_CODE) return new MemberUnavailableError('refused', `cannot connect to ${target}: ${error.message}`);
  return new MemberUnavailableError('unreachable', `cannot connect to ${target}: ${error.code ?? 'connection failed'}`);
}

/** The notAfter of the kubeconfig's client certificate, when it authenticates with one. */
export function clientCertificateExpiry(config: ResolvedKubeconfig): Date | undefined {
  if (config.auth.type !== 'clientCertificate') return undefined;
  try {
    return new Date(new X509Certificate(config.auth.certData).validTo);
  } catch {
    return undefined;
  }
}
