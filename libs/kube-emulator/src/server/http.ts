/**
 * The HTTP face of a virtual cluster, as a thin router: injected faults (hang, latency, error
 * rates), then authentication and authorization, then the handler of the path: health, discovery
 * and OpenAPI for non-resource paths, resource verbs for the rest. Errors become Status answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VirtualCluster } from '../cluster/cluster';
import { ApiError, statusForCode } from '../api/errors';
import { authenticate, authorizeRequest, impersonate } from './auth';
import { serveDiscovery } from './discovery';
import { serveHealth } from './health';
import { parseRequestInfo } from './request-info';
import { serveResource } from './resource-verbs';
import { sendError, sendPageNotFound } from './wire';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ClusterHttp {
  /** Ends every open watch (used when a cluster goes down or the emulator stops). */
  readonly watchClosers = new Set<() => void>();

  constructor(private readonly cluster: VirtualCluster) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const c = this.cluster;
    if (c.mode === 'hang') return; // never answer
    if (c.latencyMs > 0) await sleep(c.latencyMs);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const path = url.pathname;
    try {
      for (const rule of c.errorRules) {
        const hit = rule.regex ? rule.regex.test(path) : path.startsWith(rule.pathPrefix ?? '/');
        if (hit && Math.random() < rule.rate) throw statusForCode(rule.code, rule.message);
      }
      const user = impersonate(c, req, authenticate(c, req));
      const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
      authorizeRequest(c, user, info, path);
      if (info.resourceRequest) return await serveResource(c, req, res, info, url.searchParams, user, this.watchClosers);
      const p = path.replace(/\/$/, '') || '/';
      if (!serveHealth(c, res, p, url.searchParams) && !serveDiscovery(c, req, res, p)) sendPageNotFound(res);
    } catch (e) {
      sendError(res, e instanceof ApiError ? e : statusForCode(500, `Internal error occurred: ${(e as Error).message}`));
    }
  }
}
