import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';

/** An answer to httpsCall: the body as text, as bytes, and parsed when it is JSON ({} otherwise). */
export interface HttpsAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers loosely
  json: any;
  text: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
}

export interface HttpsTarget {
  /** https://host:port */
  base: string;
  /** The PEM of the CA the server's certificate chains to. */
  ca: string;
  /** A bearer token (omitted: no Authorization header). */
  token?: string;
}

export interface HttpsCallInit {
  /** A string goes as is; anything else as JSON. */
  body?: unknown;
  /** Content-Type of the body (default application/json). */
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One request to a test's HTTPS gateway, trusting its CA, bounded in time. */
export function httpsCall(target: HttpsTarget, method: string, path: string, init: HttpsCallInit = {}): Promise<HttpsAnswer> {
  const timeoutMs = init.timeoutMs ?? 20_000;
  const headers: Record<string, string> = {
    ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
    ...(init.accept ? { accept: init.accept } : {}),
    ...(init.body !== undefined ? { 'content-type': init.contentType ?? 'application/json' } : {}),
    ...init.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(`${target.base}${path}`, { method, ca: target.ca, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString();
        let json: unknown = {};
        try {
          json = JSON.parse(text);
        } catch {
          // YAML, a stream of events, or empty
        }
        resolve({ status: res.statusCode!, json, text, body, headers: res.headers });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body));
  });
}
