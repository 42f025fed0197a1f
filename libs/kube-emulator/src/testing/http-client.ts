/** A minimal HTTPS client for tests (no User-Agent, like the client that made the golden recordings). */
import { type JsonValue } from '@flotilla/apply';
import { request } from 'node:https';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json?: JsonValue;
}

export interface RawRequest {
  method: string;
  path: string;
  token?: string;
  body?: JsonValue | string;
  contentType?: string;
  accept?: string;
  /**
   * A stream (watch): read until `until` holds for the text so far or the server ends the stream,
   * and give up after `streamMs` (default 10 s) so that a missing event fails the test's assertion.
   */
  stream?: { until?: (text: string) => boolean; streamMs?: number };
}

export function rawRequest(server: string, caPem: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(r.path, server);
  const payload = r.body === undefined || r.body === null ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Accept: r.accept ?? 'application/json' };
    if (r.token) headers.Authorization = `Bearer ${r.token}`;
    if (payload !== undefined) {
      headers['Content-Type'] = r.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = request(url, { method: r.method, headers, ca: caPem, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const done = (): void => {
        let json: JsonValue | undefined;
        try {
          json = JSON.parse(text) as JsonValue;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      };
      if (r.stream) {
        const { until, streamMs = 10_000 } = r.stream;
        let finished = false;
        const finish = (): void => {
          if (finished) return;
          finished = true;
          clearTimeout(cap);
          req.destroy();
          done();
        };
        const cap = setTimeout(finish, streamMs);
        res.on('data', () => {
          if (until?.(text)) finish();
        });
        res.on('end', finish);
        res.on('error', () => undefined);
      } else res.on('end', done);
    });
    req.on('error', (e) => (r.stream ? undefined : reject(e)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
