import { Agent, request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { ProbeObservation } from '@flotilla/domain';
import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';

export interface ProberOptions {
  /** The whole probe (all its requests) must finish within this; each request is aborted after it. */
  timeoutMs: number;
  /** Largest body read from any answer (nodes lists of big clusters are larger; only labels are used). */
  maxBodyBytes?: number;
}

interface HttpAnswer {
  status: number;
  body: string;
}

class ProbeTransportError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Nodes are listed metadata-only (labels are all a probe reads): a real node object carries its
 * status, images and conditions, tens of KiB each. Servers that cannot serve the metadata-only
 * representation fall back to the plain list through the second media type.
 */
const NODES_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
/** Nodes per list page, and the most pages read (10,000 nodes, far above any supported cluster size). */
const NODE_PAGE_SIZE = 500;
const MAX_NODE_PAGES = 20;

/** Idle keep-alive connections are closed after this (kube-apiserver closes them after 90 s). */
const IDLE_SOCKET_MS = 60_000;

const TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';
const TOPOLOGY_REGION = 'topology.kubernetes.io/region';
const LEGACY_ZONE = 'failure-domain.beta.kubernetes.io/zone';
const LEGACY_REGION = 'failure-domain.beta.kubernetes.io/region';

/**
 * A lean prober for one member cluster: raw HTTPS with one keep-alive socket, so that a probe
 * every few seconds reuses its TLS session instead of handshaking again. Credentials stay in
 * the agent and headers; nothing here logs, and errors carry codes only.
 */
export class ClusterProber {
  private readonly agent: Agent;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly maxBody: number;
  /** notAfter of the client certificate, when the kubeconfig authenticates with one. */
  readonly clientCertificateNotAfter?: Date;

  constructor(
    kubeconfig: ResolvedKubeconfig,
    private readonly options: ProberOptions,
  ) {
    this.url = new URL(kubeconfig.server);
    this.maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
    this.headers = { accept: 'application/json', 'user-agent': 'flotilla-health-probe' };
    const auth = kubeconfig.auth;
    if (auth.type === 'token') this.headers.authorization = `Bearer ${auth.token}`;
    if (auth.type === 'basic') this.headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      maxFreeSockets: 1,
      // An idle connection is closed after IDLE_SOCKET_MS: long enough that any interval up to
      // a minute reuses it, and shorter than kube-apiserver's own 90 s idle timeout, so the
      // server never closes a connection under a request the probe is sending.
      timeout: Math.max(IDLE_SOCKET_MS, options.timeoutMs * 2),
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

  private get(path: string, signal: AbortSignal, accept?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ProbeTransportError('ETIMEDOUT'));
      const req = request(
        {
          protocol: 'https:',
          hostname: this.url.hostname,
          port: this.url.port || 443,
          path: `${this.url.pathname.replace(/\/$/, '')}${path}`,
          method: 'GET',
          headers: accept ? { ...this.headers, accept } : this.headers,
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.maxBody) {
              req.destroy(new ProbeTransportError('EBODYTOOLARGE'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e: NodeJS.ErrnoException) => reject(new ProbeTransportError(e instanceof ProbeTransportError ? e.code : (e.code ?? 'ERESPONSE'))));
        },
      );
      const onAbort = () => req.destroy(new ProbeTransportError('ETIMEDOUT'));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', onAbort));
      req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof ProbeTransportError ? e : new ProbeTransportError(e.code ?? 'ECONNECTION')));
      req.end();
    });
  }

  /** One probe: readiness (/readyz → /livez → /healthz on 404), /version, nodes, kube-system UID. */
  async probe(): Promise<ProbeObservation> {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    const done = (o: Omit<ProbeObservation, 'durationMs'>): ProbeObservation => ({ ...o, durationMs: performance.now() - started });
    try {
      let readiness: HttpAnswer | undefined;
      let endpoint = '';
      // Not ?verbose: a healthy answer is then "ok", and a failing one lists its checks all the same.
      for (const p of ['/readyz', '/livez', '/healthz']) {
        endpoint = p;
        readiness = await this.get(p, controller.signal);
        if (readiness.status !== 404) break;
      }
      const r = readiness!;
      if (r.status === 401 || r.status === 403) return done({ reachable: true, readinessStatus: r.status, readinessEndpoint: endpoint });
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
      return done(observation);
    } catch (error) {
      const code = error instanceof ProbeTransportError ? error.code : 'EPROBE';
      return done({ reachable: false, errorCode: controller.signal.aborted ? 'ETIMEDOUT' : code });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every node's labels, page by page; the first page that is not a 200 is the answer. */
  private async listNodes(signal: AbortSignal): Promise<HttpAnswer & { summary?: NodeSummary }> {
    const summary = new NodeSummary();
    let next = '';
    for (let page = 0; page < MAX_NODE_PAGES; page++) {
      const query = `?limit=${NODE_PAGE_SIZE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
      const answer = await this.get(`/api/v1/nodes${query}`, signal, NODES_ACCEPT);
      if (answer.status !== 200) return answer;
      const list = parse<NodeList>(answer.body);
      // A 200 that is not a list: nothing is known about the nodes (not "zero nodes").
      if (!list || !Array.isArray(list.items)) return answer;
      summary.add(list.items);
      next = list.metadata?.continue ?? '';
      if (!next) return { status: 200, body: '', summary };
    }
    return { status: 200, body: '', summary: summary.truncated() };
  }

  close(): void {
    this.agent.destroy();
  }
}

function parse<T>(body: string): T | undefined {
  try {
    return JSON.parse(body) as T;
  } catch {
    return undefined;
  }
}

/** The failed checks of a verbose health answer, e.g. "[-]etcd failed: reason withheld". */
function failedChecks(body: string): string | undefined {
  const lines = body
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('[-]'));
  if (lines.length > 0) return lines.slice(0, 5).join('; ').slice(0, 300);
  const status = parse<{ message?: string }>(body);
  return status?.message?.slice(0, 300);
}

interface NodeList {
  metadata?: { continue?: string };
  items?: { metadata?: { labels?: Record<string, string> } }[];
}

/** Node count, zones and the most common region over the pages of a node list. */
class NodeSummary {
  private count = 0;
  private complete = true;
  private readonly zones = new Set<string>();
  private readonly regions = new Map<string, number>();

  add(items: NonNullable<NodeList['items']>): void {
    for (const n of items) {
      const labels = n?.metadata?.labels ?? {};
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
