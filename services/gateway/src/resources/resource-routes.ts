import { Inject, Injectable, Optional } from '@nestjs/common';
import express, { NextFunction, Request, Response, Router } from 'express';
import { OBJECT_STORE, ObjectStore } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { RUNTIME, ServiceRuntime, toKubeStatus } from '@flotilla/service-kit';
import { principalOf } from '../auth/principal';
import { decodeObjectBody, patchBodyText } from '../http/body';
import { CHANGE_FEED, ChangeFeed } from './change-feed';
import { ListQuery, isTrue, parseDryRun, single } from './query';
import { ResourceApiService, WriteOptions } from './resource-api.service';
import { isApplyPatch, parsePatchOptions } from './server-side-apply';
import { RESOURCE_KINDS, ResourceKind, apiVersionOf, basePathOf, groupVersionPathOf, namespacedPathOf } from './resource-kind';
import { ResourceWatch } from './resource-watch';
import { columnsForKind } from '../tables/kind-columns';
import { NotAcceptableError, listAsTable, notAcceptableStatus, objectAsTable, tableFormatOf, tableWatchEvents } from '../tables/table-http';

/** What a request asks, in Kubernetes authorization terms. */
export interface ResourceAttributes {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  group: string;
  resource: string;
  name?: string;
  namespace?: string;
}

/**
 * Decides whether the caller may make a request (the gateway wires H3b's Authorizer here); throws a
 * FlotillaError Forbidden naming the verb and resource. Without one, the layer authorizes nothing
 * itself (authentication still happens first, in the gateway's middleware).
 */
export interface ResourceAuthorizer {
  authorize(req: Request, attributes: ResourceAttributes): void | Promise<void>;
}
export const RESOURCE_AUTHORIZER = Symbol('gateway.resource-authorizer');

type Handler = (req: Request, res: Response) => Promise<void>;

const rawBody = (req: Request) => (Buffer.isBuffer(req.body) ? req.body : undefined);
const query = (req: Request) => req.query as Record<string, unknown>;
/** The namespace of the request ('' on cluster-scoped and all-namespace paths). */
const namespaceOf = (req: Request) => (typeof req.params.namespace === 'string' ? req.params.namespace : '');

function listQuery(req: Request): ListQuery {
  const q = query(req);
  const keys = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch', 'resourceVersion', 'allowWatchBookmarks', 'timeoutSeconds'] as const;
  const out: ListQuery = {};
  for (const key of keys) out[key] = single(q[key], key);
  return out;
}

/**
 * The generic REST layer's routes: one express Router serving every registered kind at
 * /apis/<group>/<version>/<plural>[/<name>] (cluster-scoped), or at
 * /apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>] with every namespace's list and watch
 * at /apis/<group>/<version>/<plural> (namespaced; the core group under /api/<version>), plus the
 * group-version's discovery document. It is a
 * Router rather than Nest controllers because the paths come from the kind descriptors at run time;
 * it is mounted by main.ts after authentication and the raw-body parser, and answers every error as
 * a Kubernetes Status itself (Nest's error filter does not see plain express routes).
 */
@Injectable()
export class ResourceRoutes {
  private readonly watches = new Set<ResourceWatch>();

  constructor(
    private readonly api: ResourceApiService,
    @Inject(RESOURCE_KINDS) private readonly kinds: readonly ResourceKind[],
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Optional() @Inject(RESOURCE_AUTHORIZER) private readonly authorizer?: ResourceAuthorizer,
  ) {
    // Open watches end first on shutdown, so the HTTP server can close.
    runtime.shutdown.onDrain('resource-watches', async () => {
      const open = [...this.watches];
      for (const w of open) w.end({ closeConnection: true });
      await Promise.all(open.map((w) => w.done));
    });
  }

  router(): Router {
    const router = express.Router({ caseSensitive: true, strict: false });
    const groupVersions = new Map<string, ResourceKind[]>();
    for (const kind of this.kinds) {
      const all = basePathOf(kind);
      // Namespaced kinds: one namespace's collection; every namespace's is read-only (list and watch).
      const base = kind.namespaced ? namespacedPathOf(kind) : all;
      const one = `${base}/:name`;
      if (kind.namespaced) router.get(all, this.handle(kind, (req, res) => this.listOrWatch(kind, req, res)));
      router.get(base, this.handle(kind, (req, res) => this.listOrWatch(kind, req, res)));
      router.post(base, this.handle(kind, (req, res) => this.create(kind, req, res)));
      router.get(one, this.handle(kind, (req, res) => this.get(kind, req, res)));
      router.put(one, this.handle(kind, (req, res) => this.replace(kind, req, res)));
      router.patch(one, this.handle(kind, (req, res) => this.patch(kind, req, res)));
      router.delete(one, this.handle(kind, (req, res) => this.delete(kind, req, res)));
      router.all([all, base, one], this.handle(kind, async (req) => {
        throw new FlotillaError(ErrorReason.MethodNotAllowed, `${req.method} is not supported on ${req.path}`);
      }));
      const gv = groupVersionPathOf(kind);
      groupVersions.set(gv, [...(groupVersions.get(gv) ?? []), kind]);
    }
    for (const [path, kinds] of groupVersions) router.get(path, (_req, res) => void res.json(resourceList(kinds)));
    return router;
  }

  private handle(kind: ResourceKind, handler: Handler) {
    return (req: Request, res: Response, _next: NextFunction): void => {
      handler(req, res).catch((error: unknown) => {
        const status = error instanceof NotAcceptableError ? notAcceptableStatus(error.message) : toKubeStatus(error);
        if (status.code >= 500 && !(error instanceof FlotillaError)) {
          this.runtime.logger.error({ err: error instanceof Error ? error.message : String(error), resource: kind.storeKey }, 'resource request failed');
        }
        if (res.headersSent) {
          res.end();
          return;
        }
        res.status(status.code).type('application/json').send(JSON.stringify(status));
      });
    };
  }

  private async authorize(req: Request, kind: ResourceKind, verb: ResourceAttributes['verb'], name?: string): Promise<void> {
    const namespace = namespaceOf(req);
    await this.authorizer?.authorize(req, { verb, group: kind.group, resource: kind.plural, ...(name !== undefined ? { name } : {}), ...(namespace ? { namespace } : {}) });
  }

  private writeOptions(req: Request, dryRun: boolean): WriteOptions {
    const principal = principalOf(req);
    const fieldManager = single(query(req).fieldManager, 'fieldManager');
    const userAgent = req.headers['user-agent'];
    return { dryRun, namespace: namespaceOf(req), ...(principal ? { principal } : {}), ...(fieldManager ? { fieldManager } : {}), ...(userAgent ? { userAgent } : {}) };
  }

  private async listOrWatch(kind: ResourceKind, req: Request, res: Response): Promise<void> {
    const q = listQuery(req);
    if (isTrue(q.watch)) {
      await this.authorize(req, kind, 'watch');
      // `kubectl get -w` asks for Tables: every event's object is a Table of one row.
      const table = tableFormatOf(req);
      const present = table ? tableWatchEvents(columnsForKind(kind), table) : undefined;
      const watch = new ResourceWatch(kind, q, res, { feed: this.feed, store: this.store }, namespaceOf(req), present);
      this.watches.add(watch);
      void watch.done.then(() => this.watches.delete(watch));
      watch.start();
      return watch.done;
    }
    await this.authorize(req, kind, 'list');
    const table = tableFormatOf(req);
    const list = await this.api.list(kind, q, namespaceOf(req));
    res.json(table ? listAsTable(columnsForKind(kind), list, table) : list);
  }

  private async get(kind: ResourceKind, req: Request, res: Response): Promise<void> {
    const name = String(req.params.name);
    await this.authorize(req, kind, 'get', name);
    const table = tableFormatOf(req);
    const object = await this.api.get(kind, name, namespaceOf(req));
    res.json(table ? objectAsTable(columnsForKind(kind), object, table) : object);
  }

  private async create(kind: ResourceKind, req: Request, res: Response): Promise<void> {
    await this.authorize(req, kind, 'create');
    const dryRun = parseDryRun(query(req).dryRun);
    const body = decodeObjectBody(rawBody(req), req.headers['content-type'], { apiVersion: apiVersionOf(kind), kind: kind.kind });
    res.status(201).json(await this.api.create(kind, body, this.writeOptions(req, dryRun)));
  }

  private async replace(kind: ResourceKind, req: Request, res: Response): Promise<void> {
    const name = String(req.params.name);
    await this.authorize(req, kind, 'update', name);
    const dryRun = parseDryRun(query(req).dryRun);
    const body = decodeObjectBody(rawBody(req), req.headers['content-type'], { apiVersion: apiVersionOf(kind), kind: kind.kind });
    res.json(await this.api.replace(kind, name, body, this.writeOptions(req, dryRun)));
  }

  private async patch(kind: ResourceKind, req: Request, res: Response): Promise<void> {
    const name = String(req.params.name);
    await this.authorize(req, kind, 'patch', name);
    const dryRun = parseDryRun(query(req).dryRun);
    const contentType = req.headers['content-type'];
    const apply = isApplyPatch(contentType);
    const patchOptions = parsePatchOptions(query(req), apply);
    const options = { ...this.writeOptions(req, dryRun), ...(patchOptions.fieldManager ? { fieldManager: patchOptions.fieldManager } : {}) };
    if (!apply) {
      res.json(await this.api.patch(kind, name, contentType, patchBodyText(rawBody(req)), options));
      return;
    }
    // Server-side apply: YAML (or JSON) under the same bounds; creating the object needs create rights too.
    const body = decodeObjectBody(rawBody(req), 'application/yaml');
    const { created, object } = await this.api.apply(kind, name, body, options, patchOptions, () => this.authorize(req, kind, 'create'));
    res.status(created ? 201 : 200).json(object);
  }

  private async delete(kind: ResourceKind, req: Request, res: Response): Promise<void> {
    const name = String(req.params.name);
    await this.authorize(req, kind, 'delete', name);
    const raw = rawBody(req);
    // DeleteOptions may carry preconditions and dryRun (kubectl sends them in the body).
    const options = raw && raw.length > 0 ? (decodeObjectBody(raw, req.headers['content-type'], { apiVersion: apiVersionOf(kind), kind: 'DeleteOptions' }) as { preconditions?: { uid?: unknown; resourceVersion?: unknown }; dryRun?: unknown }) : {};
    const dryRun = parseDryRun(query(req).dryRun ?? (Array.isArray(options?.dryRun) && options.dryRun.length > 0 ? options.dryRun : undefined));
    const p = options?.preconditions;
    const preconditions = {
      ...(typeof p?.uid === 'string' ? { uid: p.uid } : {}),
      ...(typeof p?.resourceVersion === 'string' ? { resourceVersion: p.resourceVersion } : {}),
    };
    res.json(await this.api.delete(kind, name, { ...this.writeOptions(req, dryRun), preconditions }));
  }
}

/** The discovery document of one group-version (what `kubectl api-resources` reads). */
export function resourceList(kinds: readonly ResourceKind[]) {
  const first = kinds[0]!;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: first.group ? `${first.group}/${first.version}` : first.version,
    resources: kinds.map((k) => ({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: k.readOnly ? ['get', 'list', 'watch'] : ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      ...(k.shortNames.length > 0 ? { shortNames: [...k.shortNames] } : {}),
    })),
  };
}
