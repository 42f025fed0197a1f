import type { Express, NextFunction, Request, Response } from 'express';
import { REQUEST_ID_HEADER, requestIdFrom, runWithRequestContext } from '@flotilla/observability';
import { ServiceRuntime } from './runtime';

/** Paths that never need authentication. */
export const OPEN_PATHS = ['/healthz', '/livez', '/readyz', '/metrics'];

function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: string } }).route?.path;
  if (route) return `${req.baseUrl ?? ''}${route}`;
  if (OPEN_PATHS.includes(req.path)) return req.path;
  return 'unmatched';
}

/**
 * Request ids, access logs and request metrics for every HTTP request, then the
 * health and metrics endpoints. Installed before any Nest route.
 */
export function installHttpObservability(app: Express, runtime: ServiceRuntime): void {
  app.disable('x-powered-by');
  app.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(req);
      runtime.metrics.httpRequests.observe({ method: req.method, route, code: String(res.statusCode) }, seconds);
      if (!OPEN_PATHS.includes(req.path)) {
        runWithRequestContext({ requestId }, () =>
          runtime.logger.info(
            { method: req.method, path: req.path, status: res.statusCode, durationMs: Math.round(seconds * 1000) },
            'http request',
          ),
        );
      }
    });
    runWithRequestContext({ requestId }, () => next());
  });

  const live = (_req: Request, res: Response) => {
    res.type('text/plain').send('ok');
  };
  app.get('/healthz', live);
  app.get('/livez', live);
  app.get('/readyz', async (req: Request, res: Response) => {
    const report = await runtime.health.readiness();
    const verbose = 'verbose' in req.query;
    res.status(report.ready ? 200 : 503);
    if (verbose || !report.ready) res.json(report);
    else res.type('text/plain').send('ok');
  });
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(runtime.metrics.registry.contentType).send(await runtime.metrics.registry.metrics());
  });
}
