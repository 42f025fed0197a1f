import { Agent, createServer as createHttpsServer, request, type Server as HttpsServer } from 'node:https';
import type { OutgoingHttpHeaders } from 'node:http';

/**
 * The floor of the proxy benchmark: the least a Node.js process can do to proxy HTTPS to HTTPS
 * (no path rules, identity, audit, metrics or header hygiene; one keep-alive agent; pipe both
 * ways). Measured in the same run as the real proxy, it says how much of the gap to the direct
 * figure is Flotilla's and how much is a second TLS hop through one Node process on these cores.
 */
export function startBareProxy(o: { cert: string; key: string; member: string; ca: string; token: string; prefix: string }): HttpsServer {
  const member = new URL(o.member);
  const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 32, scheduling: 'lifo' });
  return createHttpsServer({ cert: o.cert, key: o.key }, (req, res) => {
    const headers: OutgoingHttpHeaders = { ...req.headers, host: member.host, authorization: `Bearer ${o.token}` };
    delete headers.connection;
    const upstream = request({ hostname: member.hostname, port: member.port, method: req.method, path: (req.url ?? '/').slice(o.prefix.length), headers, agent, ca: o.ca }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}
