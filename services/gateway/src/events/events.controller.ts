import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { streamWatch } from '../http/responses';
import { REF } from '../openapi/schemas';
import { listAsTable, negotiateOrAnswer, objectAsTable, tableWatchEvents } from '../tables/table-http';
import type { EventsApi } from './event-query';
import { EventsApiService } from './events-api.service';
import { EVENT_COLUMNS } from './kube-events';

const CORE = 'api/v1';
const EVENTS_V1 = 'apis/events.k8s.io/v1';

const WATCH_DOC =
  'With ?watch=true: newline-delimited WatchEvents (ADDED as events are recorded, MODIFIED when a federated object\'s event is counted again, DELETED when one is pruned), ' +
  'from resourceVersion (opaque: pass back one a list or watch returned; unset or "0": the current events as ADDED first); 410 Expired when it is older than what is kept. ' +
  'allowWatchBookmarks and timeoutSeconds as kube-apiserver; Tables with Accept: application/json;as=Table;g=meta.k8s.io;v=v1. ' +
  'Watches count against FLOTILLA_MAX_WATCHES_PER_CALLER per user (429 past it), end after FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS without an event or bookmark, and end with an ERROR event when the client stops reading.';

/**
 * Flotilla's events as Kubernetes Events: core/v1 (what `kubectl describe` searches, with
 * fieldSelector involvedObject.*) and events.k8s.io/v1 (regarding.*), in one namespace or all,
 * listed and watched (`kubectl get events -w`, `kubectl events -w`).
 * Cluster events are in namespace "default", as a cluster-scoped object's events are in Kubernetes.
 */
@ApiTags('events')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller()
export class EventsController {
  constructor(private readonly api: EventsApiService) {}

  @Get([`${CORE}/events`, `${CORE}/namespaces/:namespace/events`])
  @ApiOperation({ summary: 'List or watch events (core/v1 EventList): cluster events in "default", federated objects\' events in their namespaces', description: WATCH_DOC })
  @ApiQuery({ name: 'fieldSelector', required: false, example: 'involvedObject.kind=Cluster,involvedObject.name=prod' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'page size, at most 500; follow metadata.continue' })
  @ApiQuery({ name: 'continue', required: false })
  @ApiQuery({ name: 'watch', required: false, type: Boolean })
  @ApiQuery({ name: 'resourceVersion', required: false, description: 'with watch: resume after this opaque version (410 Expired if too old)' })
  @ApiQuery({ name: 'allowWatchBookmarks', required: false, type: Boolean })
  @ApiQuery({ name: 'timeoutSeconds', required: false, type: Number, description: 'with watch: end the stream after this many seconds' })
  @ApiResponse({ status: 200, description: 'EventList (core/v1), or a Table with Accept: application/json;as=Table;g=meta.k8s.io;v=v1; with watch, WatchEvents', schema: { type: 'object' } })
  @ApiResponse({ status: 410, description: 'Expired: the resourceVersion is older than what is kept; list again', schema: REF.Status })
  @ApiResponse({ status: 429, description: 'TooManyRequests: the caller has FLOTILLA_MAX_WATCHES_PER_CALLER streams open', schema: REF.Status })
  listCore(@Param('namespace') namespace: string | undefined, @Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    return this.list('core', namespace, q, req, res);
  }

  @Get([`${EVENTS_V1}/events`, `${EVENTS_V1}/namespaces/:namespace/events`])
  @ApiOperation({ summary: 'List or watch events (events.k8s.io/v1 EventList), the same events as core/v1 in the newer shape', description: WATCH_DOC })
  @ApiQuery({ name: 'fieldSelector', required: false, example: 'regarding.kind=Cluster,regarding.name=prod' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'continue', required: false })
  @ApiQuery({ name: 'watch', required: false, type: Boolean })
  @ApiQuery({ name: 'resourceVersion', required: false, description: 'with watch: resume after this opaque version (410 Expired if too old)' })
  @ApiQuery({ name: 'allowWatchBookmarks', required: false, type: Boolean })
  @ApiQuery({ name: 'timeoutSeconds', required: false, type: Number })
  @ApiResponse({ status: 200, description: 'EventList (events.k8s.io/v1); with watch, WatchEvents', schema: { type: 'object' } })
  @ApiResponse({ status: 410, description: 'Expired: the resourceVersion is older than what is kept; list again', schema: REF.Status })
  @ApiResponse({ status: 429, schema: REF.Status })
  listEventsV1(@Param('namespace') namespace: string | undefined, @Query() q: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    return this.list('events.k8s.io', namespace, q, req, res);
  }

  @Get(`${CORE}/namespaces/:namespace/events/:name`)
  @ApiOperation({ summary: 'Read one event (core/v1)' })
  @ApiResponse({ status: 404, schema: REF.Status })
  getCore(@Param('namespace') namespace: string, @Param('name') name: string, @Req() req: Request, @Res() res: Response) {
    return this.get('core', namespace, name, req, res);
  }

  @Get(`${EVENTS_V1}/namespaces/:namespace/events/:name`)
  @ApiOperation({ summary: 'Read one event (events.k8s.io/v1)' })
  @ApiResponse({ status: 404, schema: REF.Status })
  getEventsV1(@Param('namespace') namespace: string, @Param('name') name: string, @Req() req: Request, @Res() res: Response) {
    return this.get('events.k8s.io', namespace, name, req, res);
  }

  private async list(api: EventsApi, namespace: string | undefined, q: Record<string, unknown>, req: Request, res: Response): Promise<void> {
    const negotiated = negotiateOrAnswer(req, res);
    if (!negotiated) return;
    const { table } = negotiated;
    const watch = stringsOf(q, ['watch']).watch;
    if (watch === 'true' || watch === '1') {
      const bounds = this.api.streams.boundsFor(req);
      // Checked before the stream starts: a bad query is a plain 400.
      const { plan, timeoutSeconds } = this.api.planWatch(api, namespace ?? '', stringsOf(q, WATCH_KEYS), bounds.caller);
      const events = this.api.watch(plan);
      return streamWatch(res, table ? events.pipe(map(tableWatchEvents(EVENT_COLUMNS, table))) : events, timeoutSeconds, bounds);
    }
    const list = await this.api.list(api, namespace ?? '', stringsOf(q, LIST_KEYS));
    res.json(table ? listAsTable(EVENT_COLUMNS, list, table) : list);
  }

  private async get(api: EventsApi, namespace: string, name: string, req: Request, res: Response): Promise<void> {
    const negotiated = negotiateOrAnswer(req, res);
    if (!negotiated) return;
    const event = await this.api.get(api, namespace, name);
    res.json(negotiated.table ? objectAsTable(EVENT_COLUMNS, event, negotiated.table) : event);
  }
}

const LIST_KEYS = ['fieldSelector', 'labelSelector', 'limit', 'continue'] as const;
const WATCH_KEYS = ['fieldSelector', 'labelSelector', 'resourceVersion', 'allowWatchBookmarks', 'timeoutSeconds'] as const;

/** The query's parameters, each given once (a repeated one is refused, naming it). */
function stringsOf<K extends string>(q: Record<string, unknown>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const v = q[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') {
      throw new FlotillaError(ErrorReason.BadRequest, `${key}: must be given once, as a string`, { causes: [{ reason: 'FieldValueInvalid', field: key, message: 'must be given once, as a string' }] });
    }
    out[key] = v;
  }
  return out;
}
