import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { SecureContext, type TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { blockedAddress, kubeconfigError, type ResolvedKubeconfig } from '../kubeconfig/kubeconfig';

/** Why a call to a member did not get an HTTP answer. */
export type MemberFailure = 'unreachable' | 'timeout' | 'tls';

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

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
]);

/**
 * A minimal client for a member's API server built from a ResolvedKubeconfig: everything in
 * memory (no files, no plugins), every call bounded in time. Errors never carry credentials.
 */
export class MemberClient {
  /** Keep-alive connections: an import asks a dozen questions, one TLS handshake serves them. */
  private agent?: HttpsAgent;

  constructor(
    readonly config: ResolvedKubeconfig,
    private readonly timeoutMs = 10_000,
    private readonly serverAllowList: readonly string[] = [],
  ) {}

  /**
   * Resolves host names at connect time and refuses link-local and metadata addresses again, so a
   * name that passed checkServerAddress cannot be re-pointed there afterwards (DNS rebinding).
   */
  private readonly lookup = (hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => blockedAddress(a.address) && !this.serverAllowList.includes(hostname) && !this.serverAllowList.includes(a.address));
      if (refused) return callback(Object.assign(new Error(`${hostname} resolves to ${refused.address}, a link-local or cloud metadata address`), { code: 'EBLOCKEDADDRESS' }), '', 0);
      if ((options as { all?: boolean }).all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };

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
      req.once('error', (error: NodeJS.ErrnoException) =>
        reject(error instanceof MemberUnavailableError ? error : new MemberUnavailableError('unreachable', `cannot reach the proxy ${proxy.host}: ${error.code ?? error.message}`)),
      );
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
        reject(new MemberUnavailableError('unreachable', `cannot connect to ${url.host}: ${error.code ?? error.message}`));
      });
    });
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<MemberResponse<T>> {
    const url = new URL(this.config.server + path);
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
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = {};
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              parsed = { message: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', (e) => reject(new MemberUnavailableError('unreachable', `reading the answer from ${url.host} failed: ${e.message}`)));
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
        reject(new MemberUnavailableError('unreachable', `cannot reach ${url.host}: ${error.code ?? error.message}`));
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
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
