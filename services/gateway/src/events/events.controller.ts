import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { REF } from '../openapi/schemas';
import { listAsTable, negotiateOrAnswer, objectAsTable } from '../tables/table-http';
import type { EventListQuery, EventsApi } from './event-query';
import { EventsApiService } from './events-api.service';
import { EVENT_COLUMNS } from './kube-events';

const CORE = 'api/v1';
const EVENTS_V1 = 'apis/events.k8s.io/v1';

/**
 * Flotilla's events as Kubernetes Events: core/v1 (what `kubectl describe` searches, with
 * fieldSelector involvedObject.*) and events.k8s.io/v1 (regarding.*), in one namespace or all.
 * Cluster events are in namespace "default", as a cluster-scoped object's events are in Kubernetes.
 */
@ApiTags('events')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller()
export class EventsController {
  constructor(private readonly api: EventsApiService) {}

  @Get([`${CORE}/events`, `${CORE}/namespaces/:namespace/events`])
  @ApiOperation({ summary: 'List events (core/v1 EventList): cluster events in "default", federated objects\' events in their namespaces' })
  @ApiQuery({ name: 'fieldSelector', required: false, example: 'involvedObject.kind=Cluster,involvedObject.name=prod' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'page size, at most 500; follow metadata.continue' })
  @ApiQuery({ name: 'continue', required: false })
  @ApiResponse({ status: 200, description: 'EventList (core/v1), or a Table with Accept: application/json;as=Table;g=meta.k8s.io;v=v1', schema: { type: 'object' } })
  listCore(@Param('namespace') namespace: string | undefined, @Query() q: EventListQuery & { watch?: string }, @Req() req: Request, @Res() res: Response) {
    return this.list('core', namespace, q, req, res);
  }

  @Get([`${EVENTS_V1}/events`, `${EVENTS_V1}/namespaces/:namespace/events`])
  @ApiOperation({ summary: 'List events (events.k8s.io/v1 EventList), the same events as core/v1 in the newer shape' })
  @ApiQuery({ name: 'fieldSelector', required: false, example: 'regarding.kind=Cluster,regarding.name=prod' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'continue', required: false })
  @ApiResponse({ status: 200, description: 'EventList (events.k8s.io/v1)', schema: { type: 'object' } })
  listEventsV1(@Param('namespace') namespace: string | undefined, @Query() q: EventListQuery & { watch?: string }, @Req() req: Request, @Res() res: Response) {
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

  private async list(api: EventsApi, namespace: string | undefined, q: EventListQuery & { watch?: string }, req: Request, res: Response): Promise<void> {
    if (q.watch === 'true' || q.watch === '1') {
      throw new FlotillaError(ErrorReason.MethodNotAllowed, 'watch is not supported on events: list them again (kubectl get events), or watch the object itself', {
        group: api === 'core' ? '' : 'events.k8s.io',
        kind: 'events',
      });
    }
    const negotiated = negotiateOrAnswer(req, res);
    if (!negotiated) return;
    const list = await this.api.list(api, namespace ?? '', stringsOf(q as Record<string, unknown>));
    res.json(negotiated.table ? listAsTable(EVENT_COLUMNS, list, negotiated.table) : list);
  }

  private async get(api: EventsApi, namespace: string, name: string, req: Request, res: Response): Promise<void> {
    const negotiated = negotiateOrAnswer(req, res);
    if (!negotiated) return;
    const event = await this.api.get(api, namespace, name);
    res.json(negotiated.table ? objectAsTable(EVENT_COLUMNS, event, negotiated.table) : event);
  }
}

/** The query's parameters, each given once (a repeated one is refused, naming it). */
function stringsOf(q: Record<string, unknown>): EventListQuery {
  const out: EventListQuery = {};
  for (const key of ['fieldSelector', 'labelSelector', 'limit', 'continue'] as const) {
    const v = q[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') {
      throw new FlotillaError(ErrorReason.BadRequest, `${key}: must be given once, as a string`, { causes: [{ reason: 'FieldValueInvalid', field: key, message: 'must be given once, as a string' }] });
    }
    out[key] = v;
  }
  return out;
}
