import { Agent, request } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { ProbeObservation } from '@flotilla/domain';
import { ParseLimitError, parseJsonBounded } from '@flotilla/parsing';
import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { listNodeMetadata, type NodeMetadata } from '../member/node-list';
import { MemberAddressPolicy, REFUSED_ADDRESS_CODE, defaultMemberPolicy, refusalSentence } from '../net/address-policy';
import { DEFAULT_MAX_MEMBER_BODY_BYTES, MemberAnswerError, readBoundedBody } from '../net/bounded-body';
import { cleanText } from '../net/member-text';
import type { HandshakeGate, Release } from '../net/handshake-gate';

export interface ProberOptions {
  /** The whole probe (all its requests) must finish within this; each request is aborted after it. */
  timeoutMs: number;
  /** Largest body read from any answer (default 4 MiB; node lists are read in pages, metadata only). */
  maxBodyBytes?: number;
  /** The member address policy; by default the one this process's environment gives (defaultMemberPolicy). */
  policy?: MemberAddressPolicy;
  /**
   * The inventory (version, nodes, kube-system UID) is read at most this often from a member that
   * stays ready on one connection; the probes between ask only its readiness (ADR 0038). 0 or
   * unset: every probe reads everything.
   */
  inventoryIntervalMs?: number;
  /**
   * Bounds the TLS handshakes in progress across the process (shared by every prober of a
   * replica): a probe that needs a new connection waits for a permit first, and its timeout starts
   * once it holds one. Unset: no bound.
   */
  handshakes?: HandshakeGate;
}

interface HttpAnswer {
  status: number;
  body: string;
  /** Sent on a connection an earlier request had opened (Node's keep-alive agent reused it). */
  reused?: boolean;
}

/** A probe that got no usable answer: `code` is the observation's errorCode, `detail` says why. */
class ProbeTransportError extends Error {
  constructor(
    readonly code: string,
    readonly detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code);
  }
}

/** Idle keep-alive connections are closed after this (kube-apiserver closes them after 90 s). */
const IDLE_SOCKET_MS = 60_000;

const TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';
const TOPOLOGY_REGION = 'topology.kubernetes.io/region';
const LEGACY_ZONE = 'failure-domain.beta.kubernetes.io/zone';
const LEGACY_REGION = 'failure-domain.beta.kubernetes.io/region';

/**
 * A lean prober for one member cluster: raw HTTPS with one keep-alive socket, so that a probe
 * every few seconds reuses its TLS session instead of handshaking again. Every connection is
 * under the member address policy, no redirect is followed, every answer is size-bounded.
 * Credentials stay in the agent and headers; nothing here logs, and errors carry codes (and,
 * for refusals and bounds, a sentence naming the host or path and the rule).
 */
export class ClusterProber {
  private readonly agent: Agent | HttpAgent;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly maxBody: number;
  private readonly policy: MemberAddressPolicy;
  /** When (performance.now()) the last probe that read everything found the member ready; unset after any other outcome. */
  private inventoriedAt?: number;
  /** preflight's answer (null: none), decided on the first request. */
  private preflightAnswer?: ProbeTransportError | null;
  /** notAfter of the client certificate, when the kubeconfig authenticates with one. */
  readonly clientCertificateNotAfter?: Date;
  /** Aborted by close(): a probe waiting for a handshake permit gives up. */
  private readonly closing = new AbortController();

  constructor(
    kubeconfig: ResolvedKubeconfig,
    private readonly options: ProberOptions,
  ) {
    this.url = new URL(kubeconfig.server);
    this.url.username = '';
    this.url.password = '';
    this.maxBody = options.maxBodyBytes ?? DEFAULT_MAX_MEMBER_BODY_BYTES;
    this.policy = options.policy ?? defaultMemberPolicy();
    this.headers = { accept: 'application/json', 'user-agent': 'flotilla-health-probe' };
    const auth = kubeconfig.auth;
    if (auth.type === 'token') this.headers.authorization = `Bearer ${auth.token}`;
    if (auth.type === 'basic') this.headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const keepAlive = {
      keepAlive: true,
      maxSockets: 1,
      maxFreeSockets: 1,
      // An idle connection is closed after IDLE_SOCKET_MS: long enough that any interval up to
      // a minute reuses it, and shorter than kube-apiserver's own 90 s idle timeout, so the
      // server never closes a connection under a request the probe is sending.
      timeout: Math.max(IDLE_SOCKET_MS, options.timeoutMs * 2),
      // Names are resolved through the policy on every new connection (DNS rebinding).
      lookup: this.policy.lookup as never,
    };
    // Plain http is refused in get() unless the policy allows it; it has no TLS context to build.
    this.agent =
      this.url.protocol === 'http:'
        ? new HttpAgent(keepAlive)
        : new Agent({
            ...keepAlive,
            // One TLS context per cluster, built once: without it every new connection parses the
            // CA, certificate and key again (a fifth of the replica's CPU when connections churn).
            secureContext: createSecureContext({
              ca: kubeconfig.caData,
              ...(auth.type === 'clientCertificate' ? { cert: auth.certData, key: auth.keyData } : {}),
            }),
            rejectUnauthorized: !kubeconfig.insecureSkipTlsVerify,
            servername: kubeconfig.tlsServerName,
          });
    if (auth.type === 'clientCertificate') {
      try {
        this.clientCertificateNotAfter = new Date(new X509Certificate(auth.certData).validTo);
      } catch {
        this.clientCertificateNotAfter = undefined;
      }
    }
  }

  /** The connect-time checks no lookup sees: plain http without the opt-in, refused IP literals and metadata names. */
  private preflight(): ProbeTransportError | undefined {
    // The URL and the policy never change: decided once per prober, not on each of a probe's requests.
    if (this.preflightAnswer === undefined) this.preflightAnswer = this.decidePreflight() ?? null;
    return this.preflightAnswer ?? undefined;
  }

  private decidePreflight(): ProbeTransportError | undefined {
    if (this.url.protocol === 'http:' && !this.policy.allowPlainHttp) {
      return new ProbeTransportError('EPLAINHTTP', `the server ${this.url.host} is plain http://, which would send the credentials in clear text; an operator can set FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS=true`);
    }
    const refused = this.policy.refusalForHost(this.url.hostname);
    if (refused) return new ProbeTransportError(REFUSED_ADDRESS_CODE, refusalSentence(`the server ${this.url.host}`, refused));
    return undefined;
  }

  /**
   * `connected`: called once this request's connection is up (or failed): the handshake permit
   * a probe holds for its first request.
   */
  private get(path: string, signal: AbortSignal, accept?: string, connected?: Release): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ProbeTransportError('ETIMEDOUT'));
      const refused = this.preflight();
      if (refused) return reject(refused);
      const pathname = path.replace(/\?.*$/, '');
      const make = this.url.protocol === 'http:' ? httpRequest : request;
      const req = make(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || (this.url.protocol === 'http:' ? 80 : 443),
          path: `${this.url.pathname.replace(/\/$/, '')}${path}`,
          method: 'GET',
          headers: accept ? { ...this.headers, accept } : this.headers,
          agent: this.agent as Agent,
          lookup: this.policy.lookup as never,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            // Never followed: a redirect could point anywhere, past every address check.
            res.destroy();
            reject(new ProbeTransportError('EREDIRECT', `GET ${pathname} answered ${status}, a redirect, which Flotilla never follows`));
            return;
          }
          readBoundedBody(res, this.maxBody, `the answer to GET ${pathname}`).then(
            (body) => resolve({ status, body, reused: req.reusedSocket }),
            (e: NodeJS.ErrnoException) =>
              reject(e instanceof MemberAnswerError ? new ProbeTransportError('EBODYTOOLARGE', e.message) : e instanceof ProbeTransportError ? e : new ProbeTransportError(e.code ?? 'ERESPONSE')),
          );
        },
      );
      if (connected) {
        req.once('socket', (socket) => {
          socket.once('secureConnect', () => connected('connected'));
          socket.once('close', () => connected());
        });
        req.once('close', () => connected());
      }
      const onAbort = () => req.destroy(new ProbeTransportError('ETIMEDOUT'));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', onAbort));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof ProbeTransportError) return reject(e);
        if (e.code === REFUSED_ADDRESS_CODE) return reject(new ProbeTransportError(REFUSED_ADDRESS_CODE, e.message));
        reject(new ProbeTransportError(e.code ?? 'ECONNECTION'));
      });
      req.end();
    });
  }

  /**
   * One probe: readiness (/readyz → /livez → /healthz on 404), then the inventory: /version, nodes,
   * kube-system UID. The inventory is skipped (`readinessOnly`) when the member is ready, answered
   * the last probe in full and ready, within inventoryIntervalMs, and answers on the connection that
   * probe used: a new connection may reach another server (an address moved), so it is checked in
   * full. Any other outcome makes the next probe a full one, and so does a kube-system UID other
   * than `expectedUid` (the recorded identity), so a mismatch is seen on every probe.
   */
  async probe(expectedUid?: string): Promise<ProbeObservation> {
    // The wait for a handshake permit is the replica's own queue, not the member's time.
    let permit: Release | undefined;
    if (this.options.handshakes && this.needsHandshake()) {
      try {
        permit = await this.options.handshakes.acquire(this.closing.signal);
      } catch {
        return { reachable: false, errorCode: 'ECLOSED', durationMs: 0 };
      }
    }
    const started = performance.now();
    const inventoried = this.inventoriedAt;
    this.inventoriedAt = undefined;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    const done = (o: Omit<ProbeObservation, 'durationMs'>): ProbeObservation => ({ ...o, durationMs: performance.now() - started });
    try {
      let readiness: HttpAnswer | undefined;
      let endpoint = '';
      // Not ?verbose: a healthy answer is then "ok", and a failing one lists its checks all the same.
      for (const p of ['/readyz', '/livez', '/healthz']) {
        endpoint = p;
        readiness = await this.get(p, controller.signal, undefined, permit);
        if (readiness.status !== 404) break;
      }
      permit?.();
      const r = readiness!;
      if (r.status === 401 || r.status === 403) return done({ reachable: true, readinessStatus: r.status, readinessEndpoint: endpoint });
      const every = this.options.inventoryIntervalMs ?? 0;
      if (r.status === 200 && r.reused && every > 0 && inventoried !== undefined && started - inventoried < every) {
        this.inventoriedAt = inventoried;
        return done({ reachable: true, readinessStatus: 200, readinessEndpoint: endpoint, readinessOnly: true });
      }
      const [version, nodes, ns] = await Promise.all([
        this.get('/version', controller.signal),
        this.listNodes(controller.signal),
        this.get('/api/v1/namespaces/kube-system', controller.signal),
      ]);
      const observation: Omit<ProbeObservation, 'durationMs'> = {
        reachable: true,
        readinessStatus: r.status,
        readinessEndpoint: endpoint,
      };
      if (r.status !== 200) observation.readinessDetail = failedChecks(r.body);
      const failed = [
        ['/version', version],
        ['/api/v1/nodes', nodes],
        ['/api/v1/namespaces/kube-system', ns],
      ].find(([, a]) => (a as HttpAnswer).status !== 200) as [string, HttpAnswer] | undefined;
      if (failed) {
        observation.httpStatus = failed[1].status;
        observation.httpPath = failed[0];
      }
      if (version.status === 200) observation.kubernetesVersion = parse<{ gitVersion?: string }>(version.body)?.gitVersion;
      if (nodes.summary) Object.assign(observation, nodes.summary.result());
      if (ns.status === 200) observation.kubeSystemUid = parse<{ metadata?: { uid?: string } }>(ns.body)?.metadata?.uid;
      const sameCluster = observation.kubeSystemUid !== undefined && (!expectedUid || observation.kubeSystemUid === expectedUid);
      if (r.status === 200 && !failed && sameCluster) this.inventoriedAt = started;
      return done(observation);
    } catch (error) {
      // The code, and for refusals and bounds the sentence that says why (no secrets: hosts and paths only).
      const code = error instanceof ProbeTransportError ? error.message : 'EPROBE';
      return done({ reachable: false, errorCode: controller.signal.aborted ? 'ETIMEDOUT' : code });
    } finally {
      clearTimeout(timer);
      permit?.();
    }
  }

  /** Whether the next request opens a connection: no idle one is kept (a TLS handshake is then due). */
  private needsHandshake(): boolean {
    if (this.url.protocol !== 'https:') return false;
    for (const sockets of Object.values(this.agent.freeSockets)) if (sockets && sockets.length > 0) return false;
    return true;
  }

  /** Every node's labels, page by page (metadata only); the first page that is not a 200 is the answer. */
  private async listNodes(signal: AbortSignal): Promise<HttpAnswer & { summary?: NodeSummary }> {
    const summary = new NodeSummary();
    const listing = await listNodeMetadata(
      async (path, accept) => {
        const answer = await this.get(path, signal, accept);
        return { status: answer.status, body: answer.status === 200 ? parse<unknown>(answer.body, this.maxBody) : undefined };
      },
      (nodes) => summary.add(nodes),
    );
    if (!listing.listed) return { status: listing.status, body: '' };
    return { status: 200, body: '', summary: listing.complete ? summary : summary.truncated() };
  }

  close(): void {
    this.closing.abort(new Error('prober closed'));
    this.agent.destroy();
  }
}

/** A member answer as JSON, under the bounded parser's size and depth limits; undefined when it is not. */
function parse<T>(body: string, maxBytes = DEFAULT_MAX_MEMBER_BODY_BYTES): T | undefined {
  try {
    return parseJsonBounded(body, 'the member answer', { maxBytes }) as T;
  } catch (error) {
    if (error instanceof ParseLimitError) return undefined;
    throw error;
  }
}

/** The failed checks of a verbose health answer, e.g. "[-]etcd failed: reason withheld". */
function failedChecks(body: string): string | undefined {
  const lines = body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('[-]'));
  // The member's own words, shown in the cluster's Ready condition: cleaned and cut short.
  if (lines.length > 0) return cleanText(lines.slice(0, 5).join('; '));
  const message = parse<{ message?: unknown }>(body)?.message;
  return typeof message === 'string' ? cleanText(message) : undefined;
}

/** Node count, zones and the most common region over the pages of a node list. */
class NodeSummary {
  private count = 0;
  private complete = true;
  private readonly zones = new Set<string>();
  private readonly regions = new Map<string, number>();

  add(items: NodeMetadata[]): void {
    for (const n of items) {
      const labels = n.labels;
      const zone = labels[TOPOLOGY_ZONE] ?? labels[LEGACY_ZONE];
      const region = labels[TOPOLOGY_REGION] ?? labels[LEGACY_REGION];
      if (typeof zone === 'string' && zone) this.zones.add(zone);
      if (typeof region === 'string' && region) this.regions.set(region, (this.regions.get(region) ?? 0) + 1);
    }
    this.count += items.length;
  }

  /** More pages than a probe reads: the count is then a lower bound and is not reported. */
  truncated(): this {
    this.complete = false;
    return this;
  }

  result(): { nodeCount?: number; zones?: string[]; region?: string } {
    const region = [...this.regions.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
    return { ...(this.complete ? { nodeCount: this.count } : {}), zones: [...this.zones].sort(), ...(region ? { region } : {}) };
  }
}
