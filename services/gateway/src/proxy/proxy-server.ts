import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ALIAS_PREFIX, PROXY_PREFIX, matchProxyPath } from './proxy-path';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Puts the proxy ahead of everything else on the HTTP server: requests on a proxy path go to
 * `serve` straight from the server's 'request' event; every other request goes to the listeners
 * the server had (the express application, and with it Nest). Measured (bench/RESULTS.md, proxy):
 * express, its router and the gateway's middleware chain cost about as much CPU per proxied
 * request as the proxying itself, so the proxy path does not pass through them; proxy-http.ts does what
 * they did for it (request id, access log, authentication, authorization, audit).
 */
export function takeProxyPaths(server: Server, serve: RequestListener): void {
  const others = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if ((url.startsWith(PROXY_PREFIX) || url.startsWith(ALIAS_PREFIX)) && matchProxyPath(url)) return serve(req, res);
    for (const listener of others) listener.call(server, req, res);
  });
}
