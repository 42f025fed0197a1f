import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import { type SecureContext, createSecureContext } from 'node:tls';
import { kubeconfigError, type ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { type MemberAddressPolicy, REFUSED_ADDRESS_CODE, refusalSentence } from '../net/address-policy';
import { MemberUnavailableError, TLS_CODES } from './member-client';

export interface MemberTransportOptions {
  /** The member address policy: every connection resolves and is checked through it. */
  policy: MemberAddressPolicy;
  /** Pooled connections per member for ordinary requests (default 64). */
  maxSockets?: number;
  /**
   * Idle pooled connections kept per member (default 32). Below the callers' concurrency the agent
   * closes a connection after nearly every burst and handshakes TLS again (bench/RESULTS.md, proxy).
   */
  maxFreeSockets?: number;
  /** An idle pooled connection is closed after this long (default 30 s; kube-apiserver closes at 90 s). */
  idleTimeoutMs?: number;
  /** TCP connect plus TLS handshake must finish within this (default 10 s). */
  connectTimeoutMs?: number;
}

/** The answer to an upgrade request: the member switched protocols, or answered like any request. */
export type MemberUpgrade =
  | { upgraded: true; response: IncomingMessage; socket: Socket; head: Buffer }
  | { upgraded: false; response: IncomingMessage };

/**
 * The streaming door to one member for the API proxy: requests and upgrades whose bodies the
 * caller pipes, with the credentials of a ResolvedKubeconfig (client certificate, bearer token or
 * basic auth; never files or plugins) and every connection under the member address policy
 * (IP literals refused before connecting, names resolved and checked by its lookup on every
 * connection, so DNS rebinding cannot re-point a pooled name). Redirects are the caller's to
 * refuse: a transport never follows one.
 *
 * Two agents: a bounded keep-alive pool for ordinary requests, and unpooled connections for
 * long-lived streams (watch, follow, upgrades), which would otherwise hold pooled sockets for
 * hours and starve every other request to the member.
 */
export class MemberTransport {
  private readonly pooled: HttpsAgent;
  private readonly streams: HttpsAgent;
  private readonly secureContext: SecureContext;
  private readonly url: URL;
  private readonly connectTimeoutMs: number;
  private closed = false;
  // Computed once: the request path builds no regexes, URLs or header objects for them.
  private readonly hostname: string;
  private readonly port: number;
  private readonly basePath: string;
  /** Flotilla's credential for the member as rawHeaders pairs (empty for a client certificate). */
  private readonly credentialPairs: string[];

  constructor(
    readonly config: ResolvedKubeconfig,
    private readonly options: MemberTransportOptions,
  ) {
    this.url = new URL(config.server);
    this.url.username = '';
    this.url.password = '';
    if (this.url.protocol !== 'https:') {
      throw new MemberUnavailableError('refused', `the member server ${this.url.host} is not https://: the API proxy sends credentials only over TLS`);
    }
    if (config.proxyUrl) {
      // MemberClient tunnels through a proxy-url for imports and probes; streaming through a CONNECT
      // tunnel per watch is not built yet, so say so instead of going direct behind the operator's back.
      throw new MemberUnavailableError('refused', 'the stored kubeconfig uses proxy-url, which the API proxy does not support yet: use a kubeconfig that reaches the member directly');
    }
    const refused = options.policy.refusalForHost(this.url.hostname);
    if (refused) throw new MemberUnavailableError('refused', refusalSentence(`the member server ${this.url.host}`, refused));
    try {
      this.secureContext = createSecureContext({
        ...(config.caData ? { ca: config.caData } : {}),
        ...(config.auth.type === 'clientCertificate' ? { cert: config.auth.certData, key: config.auth.keyData } : {}),
      });
    } catch {
      throw kubeconfigError('certificate-authority-data, client-certificate-data or client-key-data does not load as PEM (or the key does not match the certificate)');
    }
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.hostname = this.url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(this.url.port || 443);
    this.basePath = this.url.pathname.replace(/\/+$/, '');
    const auth = config.auth;
    this.credentialPairs =
      auth.type === 'token' ? ['Authorization', `Bearer ${auth.token}`] : auth.type === 'basic' ? ['Authorization', `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`] : [];
    const idle = options.idleTimeoutMs ?? 30_000;
    this.pooled = new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, maxFreeSockets: options.maxFreeSockets ?? 32, timeout: idle, scheduling: 'lifo' });
    // Long-lived streams: no pool limit (each holds its connection for its life), no keep-alive
    // (a stream ends its connection), shared TLS session cache (resumed handshakes are cheap).
    this.streams = new HttpsAgent({ keepAlive: false, maxSockets: Infinity });
  }

  /** scheme://host:port of the member, without credentials. */
  get origin(): string {
    return this.url.origin;
  }

  /** The member's path prefix (kubeconfig servers may carry one, e.g. Rancher's /k8s/clusters/x). */
  private target(path: string): string {
    return `${this.basePath}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /**
   * The headers sent: the caller's (an object, or rawHeaders pairs, which Node writes as they are,
   * repeated lines included, with no header object built), then the member's Host and Flotilla's
   * credential. The transport's credential wins over anything the caller put in the headers.
   */
  private headers(headers: OutgoingHttpHeaders | string[]): OutgoingHttpHeaders | string[] {
    if (!Array.isArray(headers)) {
      const out: OutgoingHttpHeaders = { ...headers, host: this.url.host };
      if (this.credentialPairs.length > 0) out.authorization = this.credentialPairs[1];
      return out;
    }
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (name !== 'host' && name !== 'authorization') out.push(headers[i]!, headers[i + 1]!);
    }
    out.push('Host', this.url.host, ...this.credentialPairs);
    return out;
  }

  private make(method: string, path: string, headers: OutgoingHttpHeaders | string[], agent: HttpsAgent, timeoutMs?: number): ClientRequest {
    if (this.closed) throw new MemberUnavailableError('unreachable', `the connections to ${this.url.host} were closed (credentials rotated or cluster removed)`);
    const c = this.config;
    const options: RequestOptions & { secureContext: SecureContext; ALPNProtocols: string[] } = {
      protocol: 'https:',
      hostname: this.hostname,
      port: this.port,
      method,
      path: this.target(path),
      headers: this.headers(headers) as OutgoingHttpHeaders,
      agent,
      // The CA (and client certificate) are in the secure context. Not passing `ca` as well keeps
      // the PEM out of the agent's pool key, which Node would otherwise build for every request.
      secureContext: this.secureContext,
      rejectUnauthorized: !c.insecureSkipTlsVerify,
      lookup: this.options.policy.lookup as never,
      // HTTP/1.1 only: streams and upgrades are piped as HTTP/1.1 connections.
      ALPNProtocols: ['http/1.1'],
    };
    if (c.tlsServerName) options.servername = c.tlsServerName;
    // An idle bound on the socket while this request holds it: the caller listens for 'timeout'.
    if (timeoutMs !== undefined) options.timeout = timeoutMs;
    const req = httpsRequest(options);
    req.once('socket', (socket: Socket) => {
      // A pooled socket is already connected; a new one must finish TCP and TLS within the bound,
      // after which the stream's own rules apply (a watch idles for hours).
      if (req.reusedSocket || !socket.connecting) return;
      const timer = setTimeout(() => req.destroy(new MemberUnavailableError('timeout', `no connection to ${this.url.host} within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      socket.once('secureConnect', clear);
      req.once('close', clear);
    });
    return req;
  }

  /**
   * A request whose body the caller writes (or pipes) and whose response it reads from the
   * 'response' event, streaming both ways. `longLived` (watch, follow) takes its own connection.
   * Throws a MemberUnavailableError when the transport is closed.
   */
  request(method: string, path: string, headers: OutgoingHttpHeaders | string[], options: { longLived?: boolean; idleTimeoutMs?: number } = {}): ClientRequest {
    return this.make(method, path, headers, options.longLived ? this.streams : this.pooled, options.idleTimeoutMs);
  }

  /**
   * An upgrade (exec, attach, port-forward over WebSocket or SPDY): resolves with the member's
   * socket and the bytes it sent after its 101, or with its ordinary answer when it did not switch.
   * Rejects with a MemberUnavailableError when it cannot be reached.
   */
  upgrade(method: string, path: string, headers: OutgoingHttpHeaders | string[]): Promise<MemberUpgrade> {
    return new Promise((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = this.make(method, path, headers, this.streams);
      } catch (error) {
        return reject(error);
      }
      req.once('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => resolve({ upgraded: true, response, socket, head }));
      req.once('response', (response: IncomingMessage) => resolve({ upgraded: false, response }));
      req.once('error', (error) => reject(memberError(error, this.url.host)));
      req.end();
    });
  }

  /** Ends every connection (pooled and streaming) and refuses new requests: rotation or removal. */
  close(): void {
    this.closed = true;
    this.pooled.destroy();
    this.streams.destroy();
  }
}

/** Any error of a member request as a MemberUnavailableError naming the host and the cause, never a credential. */
export function memberError(error: unknown, host: string): MemberUnavailableError {
  if (error instanceof MemberUnavailableError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e.code === REFUSED_ADDRESS_CODE) return new MemberUnavailableError('refused', `cannot connect to ${host}: ${e.message}`);
  if (e.code && TLS_CODES.has(e.code)) return new MemberUnavailableError('tls', `TLS verification of ${host} failed: ${e.code}`);
  return new MemberUnavailableError('unreachable', `cannot connect to ${host}: ${e.code ?? 'connection failed'}`);
}
