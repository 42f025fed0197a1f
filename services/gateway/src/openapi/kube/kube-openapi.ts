import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import { apiCatalog, groupVersionOf } from '../../discovery/api-catalog';
import type { ResourceKind } from '../../resources/resource-kind';
import { groupVersionDocument } from './documents';
import type { Schema } from './meta-schemas';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_RESPONSE, encodeSwaggerProto } from './openapi-v2-proto';
import { swaggerV2 } from './swagger-v2';

interface Served {
  body: Buffer;
  hash: string;
}

const hashOf = (body: Buffer | string) => createHash('sha512').update(body).digest('hex').toUpperCase();
const served = (body: Buffer): Served => ({ body, hash: hashOf(body) });
/** kube-apiserver sends its OpenAPI JSON as text/plain (see the golden recordings). */
const TEXT = 'text/plain; charset=utf-8';

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((t) => /^\s*(application\/json|application\/\*|\*\/\*)\s*(;|$)/i.test(t));
}
const acceptsProtobuf = (accept: string | undefined) => (accept ?? '').split(',').some((t) => t.trim().toLowerCase().startsWith(OPENAPI_V2_PROTOBUF.toLowerCase()));

/** Sends a document with its ETag; 304 when the client holds it already. */
function sendDocument(req: Request, res: Response, doc: Served, contentType: string, immutable: boolean): void {
  const etag = `"${doc.hash}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', immutable ? 'public, immutable' : 'no-cache, private');
  res.setHeader('Vary', 'Accept');
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.status(200).setHeader('Content-Type', contentType);
  res.end(doc.body);
}

const NOT_FOUND = '404 page not found\n';

/**
 * kube-apiserver's OpenAPI endpoints for Flotilla's own API: /openapi/v2 (JSON, or protobuf as
 * kubectl asks for it), the /openapi/v3 index and one document per group version, all built once
 * from the discovery catalog. kubectl explain reads v3; kubectl's client-side validation reads v2.
 */
export function installKubeOpenApi(http: Pick<Express, 'get'>, kinds: readonly ResourceKind[], serverVersion: string): void {
  const catalog = apiCatalog(kinds);
  const v3docs: Schema[] = [];
  const byPath = new Map<string, Served>();
  for (const g of catalog) {
    const doc = groupVersionDocument(g, serverVersion);
    v3docs.push(doc);
    byPath.set(g.group ? `apis/${groupVersionOf(g)}` : `api/${g.version}`, served(Buffer.from(JSON.stringify(doc))));
  }
  const index = Buffer.from(JSON.stringify({ paths: Object.fromEntries([...byPath].map(([p, d]) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${d.hash}` }])) }));
  const v2 = swaggerV2(v3docs, serverVersion);
  const v2json = served(Buffer.from(JSON.stringify(v2)));
  const v2proto = served(encodeSwaggerProto(v2));

  http.get('/openapi/v2', (req: Request, res: Response) => {
    // kubectl asks for protobuf first (application/com.github.proto-openapi.spec.v2@v1.0+protobuf), then nothing else.
    if (acceptsProtobuf(req.headers.accept) && !/^\s*application\/json/i.test(req.headers.accept ?? '')) return sendDocument(req, res, v2proto, OPENAPI_V2_PROTOBUF_RESPONSE, false);
    if (acceptsJson(req.headers.accept)) return sendDocument(req, res, v2json, TEXT, false);
    res.status(406).type('application/json').send(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `only the following media types are accepted: application/json, ${OPENAPI_V2_PROTOBUF}`, reason: 'NotAcceptable', code: 406 }));
  });
  http.get('/openapi/v3', (_req: Request, res: Response) => {
    res.status(200).setHeader('Content-Type', TEXT);
    res.end(index);
  });
  http.get(/^\/openapi\/v3\/(apis?\/.+)$/, (req: Request, res: Response) => {
    const path = String((req.params as Record<string, string>)[0] ?? '').replace(/\/$/, '');
    const doc = byPath.get(path);
    if (!doc) {
      res.status(404).setHeader('Content-Type', TEXT);
      res.end(NOT_FOUND);
      return;
    }
    const hash = typeof req.query.hash === 'string' ? req.query.hash : undefined;
    // As kube-openapi: a stale ?hash= is redirected to the current document; a matching one may be cached for ever.
    if (hash !== undefined && hash !== doc.hash) {
      res.redirect(301, `/openapi/v3/${path}?hash=${doc.hash}`);
      return;
    }
    sendDocument(req, res, doc, 'application/json', hash !== undefined);
  });
}
