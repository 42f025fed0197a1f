/**
 * The HTTP face of a virtual cluster, as a thin router: injected faults (hang, latency, error
 * rates), then authentication and authorization, then the handler of the path: health, discovery
 * and OpenAPI for non-resource paths, the streaming subresources of Pods (log; exec, attach and
 * portforward by upgrade), resource verbs for the rest. Errors become Status answers.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { VirtualCluster } from '../cluster/cluster';
import { ApiError, badRequest, statusForCode } from '../api/errors';
import type { UserInfo } from '../api/rbac';
import { authenticate, authorizeRequest, impersonate } from './auth';
import { serveDiscovery } from './discovery';
import { serveHealth } from './health';
import { parseRequestInfo, type RequestInfo } from './request-info';
import { serveResource } from './resource-verbs';
import { serveLog } from './streams/logs';
import { isPodLog, isPodStream, servePodStreamUpgrade } from './streams/pod-streams';
import { writeUpgradeError } from './streams/upgrade';
import { sendError, sendPageNotFound } from './wire';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Admitted {
  user: UserInfo;
  info: RequestInfo;
  url: URL;
}

export class ClusterHttp {
  /** Ends every open watch (used when a cluster goes down or the emulator stops). */
  readonly watchClosers = new Set<() => void>();

  constructor(private readonly cluster: VirtualCluster) {}

  /** Faults, then who is calling and whether they may: what every request goes through first. */
  private async admit(req: IncomingMessage): Promise<Admitted | undefined> {
    const c = this.cluster;
    if (c.mode === 'hang') return undefined; // never answer
    if (c.latencyMs > 0) await sleep(c.latencyMs);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const path = url.pathname;
    for (const rule of c.errorRules) {
      const hit = rule.regex ? rule.regex.test(path) : path.startsWith(rule.pathPrefix ?? '/');
      if (hit && Math.random() < rule.rate) throw statusForCode(rule.code, rule.message);
    }
    const bearer = /^bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    const record = c.recordRequest({
      method: req.method ?? 'GET',
      path,
      ...(bearer ? { bearerSha256: createHash('sha256').update(bearer).digest('hex') } : {}),
      impersonateUser: req.headersDistinct['impersonate-user'] ?? [],
      impersonateGroup: req.headersDistinct['impersonate-group'] ?? [],
      headerNames: Object.keys(req.headers),
    });
    const authenticated = authenticate(c, req);
    if (record) record.authenticatedAs = authenticated.username;
    const user = impersonate(c, req, authenticated);
    const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
    authorizeRequest(c, user, info, path);
    return { user, info, url };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const c = this.cluster;
    try {
      const a = await this.admit(req);
      if (!a) return;
      const { user, info, url } = a;
      if (isPodLog(info) && info.verb === 'get') return serveLog(c, req, res, info.namespace ?? '', info.name ?? '', url.searchParams);
      if (isPodStream(info)) throw badRequest('Upgrade request required');
      if (info.resourceRequest) return await serveResource(c, req, res, info, url.searchParams, user, this.watchClosers);
      const p = url.pathname.replace(/\/$/, '') || '/';
      if (!serveHealth(c, res, p, url.searchParams) && !serveDiscovery(c, req, res, p)) sendPageNotFound(res);
    } catch (e) {
      sendError(res, e instanceof ApiError ? e : statusForCode(500, `Internal error occurred: ${(e as Error).message}`));
    }
  }

  /** Requests with `Connection: Upgrade`: WebSocket or SPDY/3.1 for exec, attach and port-forward. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    try {
      const a = await this.admit(req);
      if (!a) return;
      if (!isPodStream(a.info)) {
        // Other paths do not upgrade: a plain answer, as the real server gives to a stray Upgrade header.
        throw a.info.resourceRequest ? badRequest(`${a.info.resource}${a.info.subresource ? `/${a.info.subresource}` : ''} does not support upgrades`) : new ApiError(404, 'NotFound', '404 page not found');
      }
      servePodStreamUpgrade(this.cluster, req, socket, head, a.info, a.url.searchParams);
    } catch (e) {
      writeUpgradeError(socket, e instanceof ApiError ? e : statusForCode(500, `Internal error occurred: ${(e as Error).message}`));
    }
  }
}
