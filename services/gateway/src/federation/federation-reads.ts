import express, { Request, Response, Router } from 'express';
import type { ObjectStore, StoredObject } from '@flotilla/clients';
import {
  ErrorReason,
  FEDERATED_KINDS,
  FEDERATION_EVENT_RESOURCE,
  FederatedKindInfo,
  FlotillaError,
  ORPHAN_API_VERSION,
  ORPHAN_CLUSTER_LABEL,
  ORPHAN_LIST_KIND,
  ORPHAN_RESOURCE,
} from '@flotilla/domain';
import { toKubeStatus } from '@flotilla/service-kit';
import { isNotFound } from '../resources/resource-errors';
import { objectOf } from '../resources/resource-api.service';
import type { Json } from '../resources/validation';

/** Pages read at most to answer one events or orphans request (1000 objects each): every read is bounded. */
const MAX_PAGES = 20;
const PAGE = 1000;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const timeOf = (e: Json) => String(e.lastTimestamp ?? e.firstTimestamp ?? '');

/**
 * The federation's read-only views that are not kinds of their own: a federated object's events
 * (core/v1 EventList, written by federation-sync) and a cluster's orphans (OrphanList).
 */
export class FederationReads {
  constructor(private readonly store: ObjectStore) {}

  /** Every stored object of a resource (in one namespace) that `keep` accepts, within MAX_PAGES pages. */
  private async scan(resource: string, namespace: string, keep: (o: StoredObject) => boolean): Promise<{ items: Json[]; revision: string }> {
    const items: Json[] = [];
    let token: string | undefined;
    let revision = '0';
    for (let page = 0; page < MAX_PAGES; page++) {
      const listed = await this.store.list(resource, { limit: PAGE, ...(namespace ? { namespace } : {}), ...(token ? { continue: token } : {}) });
      if (page === 0) revision = listed.revision;
      for (const o of listed.items) if (keep(o)) items.push(objectOf(o));
      token = listed.continue;
      if (!token) break;
    }
    return { items, revision };
  }

  /** The events of one federated object (by kind and name; by uid too while the object exists), oldest first. */
  async events(info: FederatedKindInfo, namespace: string, name: string): Promise<Json> {
    let uid: string | undefined;
    try {
      const current = await this.store.get(info.storeKey, name, info.namespaced ? namespace : undefined);
      const u = (current.object.metadata as Json | undefined)?.uid;
      uid = typeof u === 'string' ? u : undefined;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const { items, revision } = await this.scan(FEDERATION_EVENT_RESOURCE, info.namespaced ? namespace : '', (o) => {
      const involved = isObject(o.object.involvedObject) ? o.object.involvedObject : {};
      return involved.kind === info.kind && involved.name === name && (uid === undefined || involved.uid === undefined || involved.uid === uid);
    });
    items.sort((a, b) => (timeOf(a) < timeOf(b) ? -1 : timeOf(a) > timeOf(b) ? 1 : 0));
    return { apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: revision }, items };
  }

  /** The member objects left behind in a cluster (federation-sync writes and deletes them). */
  async orphans(cluster: string): Promise<Json> {
    const { items, revision } = await this.scan(ORPHAN_RESOURCE, '', (o) => {
      const labels = isObject(o.object.metadata) && isObject(o.object.metadata.labels) ? o.object.metadata.labels : {};
      const spec = isObject(o.object.spec) ? o.object.spec : {};
      return labels[ORPHAN_CLUSTER_LABEL] === cluster || spec.cluster === cluster;
    });
    return { apiVersion: ORPHAN_API_VERSION, kind: ORPHAN_LIST_KIND, metadata: { resourceVersion: revision }, items };
  }

  /**
   * GET .../federated<kind>s/{name}/events (namespaced path for namespaced kinds) and
   * GET /apis/cluster.kubesphere.io/v1alpha1/clusters/{name}/orphans, answered as the generic layer
   * answers (Status errors). Authorised beforehand by the gateway's middleware (reads).
   */
  router(): Router {
    const router = express.Router({ caseSensitive: true, strict: false });
    for (const info of FEDERATED_KINDS) {
      const gv = `/apis/${info.group}/${info.version}`;
      const path = info.namespaced ? `${gv}/namespaces/:namespace/${info.plural}/:name/events` : `${gv}/${info.plural}/:name/events`;
      router.get(path, handle(async (req) => this.events(info, String(req.params.namespace ?? ''), String(req.params.name))));
      router.all(path, handle(async (req) => notAllowed(req)));
    }
    const orphans = '/apis/cluster.kubesphere.io/v1alpha1/clusters/:name/orphans';
    router.get(orphans, handle(async (req) => this.orphans(String(req.params.name))));
    router.all(orphans, handle(async (req) => notAllowed(req)));
    return router;
  }
}

function notAllowed(req: Request): never {
  throw new FlotillaError(ErrorReason.MethodNotAllowed, `${req.method} is not supported on ${req.path}`);
}

function handle(answer: (req: Request) => Promise<Json>) {
  return (req: Request, res: Response): void => {
    answer(req).then(
      (body) => void res.json(body),
      (error: unknown) => {
        const status = toKubeStatus(error);
        res.status(status.code).type('application/json').send(JSON.stringify(status));
      },
    );
  };
}
