import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { ErrorReason, FlotillaError, type Principal } from '@flotilla/domain';
import { MemberUnavailableError, type MemberTransport } from '@flotilla/kube';
import { requestIdFrom } from '@flotilla/observability';
import type { Admitted } from './proxy-admission';
import { type ProxyContext, auditProxied } from './proxy-context';
import { type ScannedRequest, callerResponseHeaders, memberRequestHeaders, scanRequestHeaders } from './proxy-headers';
import { type ProxyTarget, parseProxyTarget } from './proxy-path';
import { memberCredentialRejected, memberRedirected, memberUnreachable, requestBodyStalled, sendStatus } from './proxy-status';

/** Counts body bytes on their way to the member; past the limit it stops passing them and reports once. */
class BodyLimit extends Transform {
  private seen = 0;
  private over = false;
  constructor(
    private readonly limit: number,
    private readonly onOver: () => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.over) return done();
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.over = true;
      this.onOver();
      return done();
    }
    done(null, chunk);
  }
}

const tooLarge = (limit: number) => new FlotillaError(ErrorReason.RequestEntityTooLarge, `the request body is larger than ${limit} bytes, the most the proxy forwards (FLOTILLA_PROXY_MAX_BODY_BYTES)`);

/**
 * Serves one request on a proxy path, from the HTTP server's 'request' listener (proxy-server.ts),
 * ahead of express: everything the gateway's middleware does for other paths is done here, once
 * and for this path only: the request id (X-Request-Id, the caller's when it is sane), the access
 * log line, authentication, authorization (ProxyAdmission), the audit record and the metrics.
 * Bodies stream both ways with backpressure, never held whole.
 */
export function serveProxied(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  new ProxiedRequest(ctx, req, res).serve();
}

class ProxiedRequest {
  private readonly started = process.hrtime.bigint();
  private readonly startedAt = new Date();
  private readonly requestId: string;
  private readonly url: string;
  private principal?: Principal;
  private admitted?: Admitted;
  private target?: ProxyTarget;
  private scanned?: ScannedRequest;
  private upstream?: ClientRequest;
  private label = '-';
  private counted = false;
  private watching = false;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.url = req.url ?? '/';
    this.requestId = requestIdFrom(req.headers['x-request-id']);
    res.once('close', () => this.ended());
  }

  serve(): void {
    this.ctx.identity.authenticator.authenticate(this.req).then(
      (principal) => this.authenticated(principal),
      (error: unknown) => this.fail(error),
    );
  }

  private authenticated(principal: Principal): void {
    if (this.res.destroyed) return;
    this.principal = principal;
    const { req, ctx } = this;
    try {
      const target = (this.target = parseProxyTarget(this.url)!);
      this.scanned = scanRequestHeaders(req.rawHeaders);
      this.admitted = ctx.admission.admit(principal, target, req.method ?? 'GET', this.scanned.impersonation, false);
      // Metrics are labelled only by admitted (existing) clusters: a caller cannot mint series.
      this.label = target.cluster;
      if (Number(req.headers['content-length'] ?? 0) > ctx.settings.maxBodyBytes) {
        this.res.setHeader('connection', 'close');
        throw tooLarge(ctx.settings.maxBodyBytes);
      }
    } catch (error) {
      return this.fail(error);
    }
    // Credentials are fetched once per member; after that the transport is taken without waiting.
    const ready = ctx.connections.ready(this.admitted.cluster);
    if (ready) return this.forward(ready);
    ctx.connections.transport(this.admitted.cluster).then(
      (transport) => {
        if (!this.res.destroyed) this.forward(transport);
      },
      (error: unknown) => this.fail(memberUnreachable(this.label, error)),
    );
  }

  /** Metrics at the response headers (the latency the caller waits for); at most once. */
  private count(code: number): void {
    if (this.counted) return;
    this.counted = true;
    this.ctx.metrics.answered(this.label, code, this.started);
  }

  private fail(error: unknown): void {
    const { res } = this;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.setHeader('X-Request-Id', this.requestId);
    if (error instanceof FlotillaError && error.reason === ErrorReason.Unauthorized) res.setHeader('WWW-Authenticate', 'Bearer realm="flotilla"');
    if (!(error instanceof FlotillaError) && !(error as { kind?: string }).kind) {
      this.ctx.logger?.error({ requestId: this.requestId, err: error instanceof Error ? error.message : String(error) }, 'proxy request failed');
    }
    this.count(sendStatus(res, error));
  }

  /** When the response is done or the caller left: the member request ends, then metrics, audit and the access log. */
  private ended(): void {
    const { res, ctx } = this;
    if (this.upstream && !res.writableFinished) this.upstream.destroy();
    if (this.watching) {
      ctx.metrics.openWatches.dec({ cluster: this.label });
      ctx.open.delete(this.endStream);
    }
    const code = res.headersSent ? res.statusCode : 499;
    if (!this.counted) this.count(code);
    auditProxied(ctx, this.req, {
      principal: this.principal,
      ...(this.admitted ? { admitted: this.admitted } : {}),
      // The cluster the path names, refused requests included (audit queries by cluster find them).
      ...(this.admitted ? { cluster: this.admitted.cluster.metadata.name } : this.target ? { cluster: this.target.cluster } : {}),
      verb: this.admitted?.auditVerb ?? (this.req.method ?? 'GET').toLowerCase(),
      code,
      startedAt: this.startedAt,
      requestId: this.requestId,
    });
    // The access line every other request gets from service-kit (the path, never the query).
    const q = this.url.indexOf('?');
    ctx.logger?.info(
      { requestId: this.requestId, method: this.req.method, path: q < 0 ? this.url : this.url.slice(0, q), status: code, cluster: this.label, durationMs: Math.round(Number(process.hrtime.bigint() - this.started) / 1e6) },
      'http request',
    );
  }

  private readonly endStream = () => this.res.destroy();

  private forward(transport: MemberTransport): void {
    const { req, res, ctx } = this;
    const admitted = this.admitted!;
    const longLived = admitted.attrs.longLived;
    const headers = memberRequestHeaders(this.scanned!.forward, admitted.identity, { ...(req.socket.remoteAddress ? { forwardedFor: req.socket.remoteAddress } : {}), requestId: this.requestId });
    let upstream: ClientRequest;
    try {
      // Ordinary requests: a member silent for the idle bound (answer or body) is cut off (socket timeout, no timer per request).
      upstream = transport.request(req.method ?? 'GET', this.target!.memberPath, headers, longLived ? { longLived } : { idleTimeoutMs: ctx.settings.idleTimeoutMs });
    } catch (error) {
      return this.fail(memberUnreachable(this.label, error));
    }
    this.upstream = upstream;
    if (longLived) {
      this.watching = true;
      ctx.metrics.openWatches.inc({ cluster: this.label });
      ctx.open.add(this.endStream);
    } else {
      upstream.once('timeout', () => upstream.destroy(new MemberUnavailableError('timeout', `no data from the member for ${ctx.settings.idleTimeoutMs} ms`)));
      this.bodyIdleTimer(upstream);
    }
    upstream.on('error', (error) => {
      if (!res.headersSent) this.fail(memberUnreachable(this.label, error));
      else res.destroy();
    });
    upstream.once('response', (answer: IncomingMessage) => this.answer(answer, upstream));

    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
      // No body (GET, watch, most DELETEs): nothing to stream, send the request as it is.
      req.resume();
      upstream.end();
      return;
    }
    const limit = new BodyLimit(ctx.settings.maxBodyBytes, () => {
      req.unpipe(limit);
      upstream.destroy();
      res.setHeader('connection', 'close');
      this.fail(tooLarge(ctx.settings.maxBodyBytes));
      req.resume();
    });
    req.on('error', () => upstream.destroy());
    req.pipe(limit).pipe(upstream);
  }

  /** Ends a request whose caller stops sending its body for idleTimeoutMs (408, connection closed). */
  private bodyIdleTimer(upstream: ClientRequest): void {
    const { req, res, ctx } = this;
    if (req.complete) return;
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        upstream.destroy();
        if (!res.headersSent) {
          res.setHeader('connection', 'close');
          this.fail(requestBodyStalled(this.label, ctx.settings.idleTimeoutMs));
        }
        req.destroy();
      }, ctx.settings.idleTimeoutMs);
      timer.unref();
    };
    arm();
    req.on('data', arm);
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
  }

  private answer(answer: IncomingMessage, upstream: ClientRequest): void {
    const { res, ctx } = this;
    const code = answer.statusCode ?? 502;
    if (res.headersSent || res.destroyed) {
      answer.destroy();
      return;
    }
    if (code === 401) {
      // Flotilla's own credential for the member is refused: drop it so a rotation takes effect at once.
      answer.resume();
      ctx.connections.drop(this.label);
      return this.fail(memberCredentialRejected(this.label));
    }
    if (code >= 300 && code < 400 && code !== 304) {
      answer.destroy();
      upstream.destroy();
      return this.fail(memberRedirected(this.label, code));
    }
    // rawHeaders in, rawHeaders out: no header object is built for the answer.
    const headers = callerResponseHeaders(answer.rawHeaders);
    headers.push('X-Request-Id', this.requestId);
    res.writeHead(code, headers);
    this.count(code);
    // A watch's headers go out at once: the caller waits for them before the first event.
    if (this.watching) res.flushHeaders();
    // pipe, not pipeline: the same backpressure, without an AbortController (and its DOMException) per request.
    answer.on('error', () => res.destroy());
    answer.pipe(res);
  }
}
