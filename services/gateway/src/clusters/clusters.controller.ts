import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { map } from 'rxjs';
import { decodeObjectBody, patchBodyText } from '../http/body';
import { sendWritten, streamList, streamWatch } from '../http/responses';
import { ClustersApiService, ListQuery, WriteQuery } from './clusters-api.service';
import { Writer } from './cluster-managed-fields';
import { APPLY_PATCH_TYPE, isApplyPatch, parsePatchOptions } from '../resources/server-side-apply';
import { REF } from '../openapi/schemas';
import { CLUSTER_COLUMNS } from '../tables/cluster-columns';
import { listAsTable, negotiateOrAnswer, objectAsTable, streamTable, tableWatchEvents } from '../tables/table-http';

const rawBody = (req: Request) => (Buffer.isBuffer(req.body) ? req.body : undefined);
const writerOf = (req: Request, fieldManager?: string): Writer => ({
  ...(fieldManager ? { fieldManager } : {}),
  ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
});

/** /apis/cluster.kubesphere.io/v1alpha1/clusters: each route maps a request to ClustersApiService. */
@ApiTags('clusters')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller('apis/cluster.kubesphere.io/v1alpha1/clusters')
export class ClustersController {
  constructor(private readonly api: ClustersApiService) {}

  @Get()
  @ApiOperation({
    summary: 'List clusters, or watch them with ?watch=true (newline-delimited WatchEvents)',
    description:
      'Without limit, every cluster (streamed as it is read, page by page). With limit, one page of at most 1000 (a larger limit is served as 1000): follow metadata.continue. ' +
      'Watches count against FLOTILLA_MAX_WATCHES_PER_CALLER per user (429 past it), end after FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS without an event or bookmark, and end with an ERROR event when the client stops reading.',
  })
  @ApiQuery({ name: 'labelSelector', required: false, example: 'env=prod,tier in (a,b)' })
  @ApiQuery({ name: 'fieldSelector', required: false, example: 'metadata.name=member-1' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'page size, at most 1000; unset: everything' })
  @ApiQuery({ name: 'continue', required: false })
  @ApiQuery({ name: 'watch', required: false, type: Boolean })
  @ApiQuery({ name: 'resourceVersion', required: false, description: 'with watch: resume after this version (410 Expired if too old)' })
  @ApiQuery({ name: 'allowWatchBookmarks', required: false, type: Boolean })
  @ApiResponse({ status: 200, schema: REF.ClusterList })
  @ApiResponse({ status: 429, description: 'TooManyRequests: the caller has FLOTILLA_MAX_WATCHES_PER_CALLER streams open', schema: REF.Status })
  @ApiQuery({ name: 'timeoutSeconds', required: false, type: Number, description: 'with watch: end the stream after this many seconds' })
  @ApiQuery({ name: 'includeObject', required: false, enum: ['None', 'Metadata', 'Object'], description: 'with Accept: application/json;as=Table;g=meta.k8s.io;v=v1 (kubectl get): what each row carries of its cluster' })
  async list(@Query() q: ListQuery & { watch?: string }, @Req() req: Request, @Res() res: Response): Promise<void> {
    const negotiated = negotiateOrAnswer(req, res);
    if (!negotiated) return;
    const { table } = negotiated;
    if (q.watch === 'true' || q.watch === '1') {
      const timeout = this.api.watchTimeout(q);
      const bounds = this.api.streams.boundsFor(req);
      const events = this.api.watch(q, bounds.caller);
      return streamWatch(res, table ? events.pipe(map(tableWatchEvents(CLUSTER_COLUMNS, table))) : events, timeout, bounds);
    }
    if (this.api.pagedQuery(q)) {
      const list = await this.api.list(q);
      res.json(table ? listAsTable(CLUSTER_COLUMNS, list, table) : list);
    } else if (table) await streamTable(res, this.api.listAll(q), CLUSTER_COLUMNS, table);
    else await streamList(res, this.api.listAll(q));
  }

  @Post()
  @ApiOperation({ summary: 'Create (import) a cluster; an import job is queued' })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody({ schema: REF.Cluster })
  @ApiQuery({ name: 'dryRun', required: false, enum: ['All'] })
  @ApiQuery({ name: 'fieldValidation', required: false, enum: ['Ignore', 'Warn', 'Strict'] })
  @ApiResponse({ status: 201, schema: REF.Cluster })
  @ApiResponse({ status: 409, description: 'AlreadyExists', schema: REF.Status })
  @ApiResponse({ status: 422, description: 'Invalid: details.causes names each bad field', schema: REF.Status })
  async create(@Req() req: Request, @Query() q: WriteQuery, @Res() res: Response): Promise<void> {
    sendWritten(res, 201, await this.api.create(decodeObjectBody(rawBody(req), req.headers['content-type']), q));
  }

  @Get(':name')
  @ApiOperation({ summary: 'Read a cluster (credentials are never returned)' })
  @ApiParam({ name: 'name' })
  @ApiResponse({ status: 200, schema: REF.Cluster })
  @ApiResponse({ status: 404, schema: REF.Status })
  async get(@Param('name') name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const negotiated = negotiateOrAnswer(req, res);
    if (!negotiated) return;
    const cluster = await this.api.get(name);
    res.json(negotiated.table ? objectAsTable(CLUSTER_COLUMNS, cluster as unknown as Record<string, unknown>, negotiated.table) : cluster);
  }

  @Put(':name')
  @ApiOperation({ summary: 'Replace metadata and spec (status is written by the platform only); credentials may be left out or resent unchanged' })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody({ schema: REF.Cluster })
  @ApiResponse({ status: 200, schema: REF.Cluster })
  @ApiResponse({ status: 409, description: 'Conflict: stale metadata.resourceVersion', schema: REF.Status })
  @ApiResponse({ status: 422, description: 'Invalid: a changed credential (they change only through PUT .../clusters/{name}/kubeconfig), or a credential as a label or annotation value', schema: REF.Status })
  async replace(@Param('name') name: string, @Req() req: Request, @Query() q: WriteQuery, @Res() res: Response): Promise<void> {
    const { fieldManager } = parsePatchOptions(req.query as Record<string, unknown>, false);
    sendWritten(res, 200, await this.api.replace(name, decodeObjectBody(rawBody(req), req.headers['content-type']), q, writerOf(req, fieldManager)));
  }

  @Patch(':name')
  @ApiOperation({
    summary: 'Patch metadata and spec, or apply them server-side (kubectl apply --server-side)',
    description:
      `With Content-Type ${APPLY_PATCH_TYPE} (YAML or JSON; fieldManager required, force optional): server-side apply. An absent cluster is created (201, an import queued, as POST); ` +
      'a present one gets the configuration merged in, ownership recorded in metadata.managedFields, and a field another manager owns answered 409 Conflict unless force=true. ' +
      'Status is never applied; credentials are write-only and are never owned or shown.',
  })
  @ApiConsumes('application/merge-patch+json', 'application/json-patch+json', APPLY_PATCH_TYPE)
  @ApiBody({ schema: { type: 'object' } })
  @ApiQuery({ name: 'fieldManager', required: false, description: `who writes; required for ${APPLY_PATCH_TYPE}` })
  @ApiQuery({ name: 'force', required: false, type: Boolean, description: `${APPLY_PATCH_TYPE} only: take the fields other managers own` })
  @ApiQuery({ name: 'dryRun', required: false, enum: ['All'] })
  @ApiResponse({ status: 200, schema: REF.Cluster })
  @ApiResponse({ status: 201, description: 'Created by a server-side apply', schema: REF.Cluster })
  @ApiResponse({ status: 409, description: 'Conflict: fields other managers own (server-side apply), or a stale resourceVersion', schema: REF.Status })
  @ApiResponse({ status: 415, description: 'Unsupported patch type', schema: REF.Status })
  @ApiResponse({ status: 422, description: 'Invalid: a changed credential (they change only through PUT .../clusters/{name}/kubeconfig), or a credential as a label or annotation value', schema: REF.Status })
  async patch(@Param('name') name: string, @Req() req: Request, @Query() q: WriteQuery, @Res() res: Response): Promise<void> {
    const contentType = req.headers['content-type'];
    const apply = isApplyPatch(contentType);
    const options = parsePatchOptions(req.query as Record<string, unknown>, apply);
    if (!apply) {
      sendWritten(res, 200, await this.api.patch(name, contentType, patchBodyText(rawBody(req)), q, writerOf(req, options.fieldManager)));
      return;
    }
    // YAML (JSON is YAML) under the same bounds as any body.
    const written = await this.api.apply(name, decodeObjectBody(rawBody(req), 'application/yaml'), q, options);
    sendWritten(res, written.created ? 201 : 200, written);
  }

  @Delete(':name')
  @HttpCode(200)
  @ApiQuery({ name: 'force', required: false, type: Boolean, description: 'finish the host-side removal at once when the member does not answer; what is left in it is reported as orphans in the removal job' })
  @ApiOperation({ summary: 'Delete (unbind) a cluster; returns the object while finalizers remain, else a Success Status' })
  @ApiResponse({ status: 200, schema: { oneOf: [REF.Cluster, REF.Status] } })
  delete(@Param('name') name: string, @Req() req: Request, @Query() q: WriteQuery) {
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? (decodeObjectBody(req.body, req.headers['content-type']) as { preconditions?: { uid?: string; resourceVersion?: string } }) : {};
    return this.api.delete(name, q, body?.preconditions ?? {});
  }
}
