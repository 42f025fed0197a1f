/**
 * The wire format: reading request bodies (JSON, YAML, protobuf, size-capped), content negotiation
 * of reads (`;as=Table` and friends), and writing JSON, text and Status answers with the headers
 * kube-apiserver sends.
 */
import { type JsonValue } from '@flotilla/apply';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from '../api/errors';
import { decodeKubernetesProtobuf } from '../api/protobuf';
import type { IncludeObject } from '../api/tables';

const MAX_BODY = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<string> {
  return readBuffer(req).then((b) => b.toString('utf8'));
}

function readBuffer(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The body as a JSON value, decoded by its Content-Type (JSON by default, YAML, or Kubernetes protobuf). */
export async function jsonBody(req: IncomingMessage): Promise<JsonValue> {
  const buf = await readBuffer(req);
  const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
  if (ct === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeKubernetesProtobuf(buf);
    } catch (e) {
      throw new ApiError(415, 'UnsupportedMediaType', `the emulator cannot decode this protobuf body (${(e as Error).message}); send application/json`, {});
    }
  }
  const raw = buf.toString('utf8');
  try {
    if (ct === 'application/yaml') return parseYaml(raw) as JsonValue;
    return JSON.parse(raw) as JsonValue;
  } catch {
    throw badRequest(`Object 'Kind' is missing in '${raw.slice(0, 200)}'`);
  }
}

/** Like jsonBody, but a request without a body (DELETE usually has none) reads as `{}`. */
export async function jsonBodyOrEmpty(req: IncomingMessage): Promise<JsonValue> {
  if (req.headers['content-length'] === '0' || (!req.headers['content-length'] && !req.headers['transfer-encoding'])) {
    await readBuffer(req);
    return {};
  }
  return jsonBody(req);
}

/** The alternative representations a read can be asked for with `;as=` (the server's content negotiation). */
export type AsKind = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

/**
 * Picks the first media type of Accept that this read can serve, as kube-apiserver does: `as=Table`,
 * `as=PartialObjectMetadata` (get, watch) or `as=PartialObjectMetadataList` (list) in group meta.k8s.io,
 * or a plain type (''). None servable: 406 NotAcceptable, like the real server.
 */
export function negotiateAs(accept: string | undefined, allowed: AsKind[]): AsKind | '' {
  if (!accept) return '';
  for (const clause of accept.split(',')) {
    const [type = '', ...params] = clause.split(';').map((x) => x.trim());
    const param = (k: string) => params.find((x) => x.startsWith(`${k}=`))?.slice(k.length + 1);
    const as = param('as');
    if (!as) {
      if (type === '*/*' || type === 'application/*' || type === 'application/json' || type === 'application/yaml' || type === 'application/vnd.kubernetes.protobuf') return '';
      continue;
    }
    if (param('g') !== 'meta.k8s.io' || !allowed.includes(as as AsKind)) continue;
    const v = param('v');
    if (as === 'Table' ? v === 'v1' || v === 'v1beta1' : v === 'v1') return as as AsKind;
  }
  throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
}

/** `?includeObject=` of a Table read. */
export function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

export function send(res: ServerResponse, code: number, body: JsonValue, warnings: string[] = [], extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Audit-Id': randomUUID(),
    'Cache-Control': 'no-cache, private',
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

export function sendText(res: ServerResponse, code: number, text: string, contentType = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private', 'Content-Type': contentType, 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(Buffer.byteLength(text)), ...extra });
  res.end(text);
}

/** The plain-text 404 of a path the server does not route (not a Status object, as on the real server). */
export function sendPageNotFound(res: ServerResponse): void {
  sendText(res, 404, '404 page not found\n');
}

export function sendError(res: ServerResponse, err: ApiError): void {
  send(res, err.code, err.toStatus(), [], err.headers ?? {});
}

/** Starts a chunked JSON stream (watch). */
export function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private', 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
}
