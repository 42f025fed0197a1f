import { Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { decodeObjectBody } from '../http/body';
import { streamWatch } from '../http/responses';
import { REF } from '../openapi/schemas';
import { ImportsApiService } from './imports-api.service';
import { streamSse } from './sse';

const rawBody = (req: Request) => (Buffer.isBuffer(req.body) ? req.body : undefined);

function timeoutSeconds(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) {
    throw new FlotillaError(ErrorReason.BadRequest, 'timeoutSeconds: must be a non-negative whole number', {
      causes: [{ reason: 'FieldValueInvalid', field: 'timeoutSeconds', message: 'must be a non-negative whole number' }],
    });
  }
  return Number(value);
}

/** Import routes under /apis/cluster.kubesphere.io/v1alpha1/clusters: each maps a request to ImportsApiService. */
@ApiTags('imports')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller('apis/cluster.kubesphere.io/v1alpha1/clusters')
export class ImportsController {
  constructor(private readonly api: ImportsApiService) {}

  @Post('validation')
  @HttpCode(200)
  @ApiOperation({ summary: 'Dry-run an import: run every validation check against the member and write nothing' })
  @ApiBody({ schema: REF.Cluster })
  @ApiResponse({ status: 200, description: 'Every check passed', schema: REF.Status })
  @ApiResponse({ status: 409, description: 'The member or the name is already imported', schema: REF.Status })
  @ApiResponse({ status: 422, description: 'A check failed: the message and details.causes name the field and the fix', schema: REF.Status })
  validate(@Req() req: Request) {
    return this.api.validate(decodeObjectBody(rawBody(req), req.headers['content-type']));
  }

  @Get(':name/jobs')
  @ApiOperation({
    summary: 'Import and removal jobs of a cluster (steps, percent, state); ?watch=true streams changes, Accept: text/event-stream as server-sent events',
    description: 'Streams follow the registry\'s job-change notifications and count against FLOTILLA_MAX_WATCHES_PER_CALLER per user (429 past it); they end after FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS without an event.',
  })
  @ApiParam({ name: 'name' })
  @ApiQuery({ name: 'watch', required: false, type: Boolean })
  @ApiQuery({ name: 'timeoutSeconds', required: false, type: Number })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiResponse({ status: 200, schema: REF.ImportJobList })
  @ApiResponse({ status: 429, description: 'TooManyRequests: the caller has FLOTILLA_MAX_WATCHES_PER_CALLER streams open', schema: REF.Status })
  async jobs(@Param('name') name: string, @Query() q: { watch?: string; timeoutSeconds?: string }, @Req() req: Request, @Res() res: Response): Promise<void> {
    const sse = (req.headers.accept ?? '').includes('text/event-stream');
    if (sse || q.watch === 'true' || q.watch === '1') {
      const bounds = this.api.streams.boundsFor(req);
      const events = this.api.watchJobs(name, timeoutSeconds(q.timeoutSeconds), bounds.caller);
      return sse ? streamSse(res, events, bounds) : streamWatch(res, events, undefined, bounds);
    }
    res.json(await this.api.listJobs(name));
  }

  @Put(':name/kubeconfig')
  @ApiOperation({ summary: 'Rotate credentials: the new kubeconfig must pass the checks and reach the same member (same kube-system UID)' })
  @ApiParam({ name: 'name' })
  @ApiBody({ schema: { type: 'object', required: ['kubeconfig'], properties: { kubeconfig: { type: 'string', description: 'kubeconfig YAML or base64 (write-only)' } } } })
  @ApiResponse({ status: 200, schema: REF.Cluster })
  @ApiResponse({ status: 422, description: 'The new kubeconfig is refused, fails a check, or reaches another cluster', schema: REF.Status })
  rotate(@Param('name') name: string, @Req() req: Request) {
    return this.api.rotate(name, decodeObjectBody(rawBody(req), req.headers['content-type']));
  }

  @Get(':name/kubeconfig')
  @ApiOperation({
    summary: 'A kubeconfig without a secret: its user runs `flotilla token` (after `flotilla login`, with a token or OIDC); POST mints one with a token',
    description: 'Contexts `<name>` (the member through the proxy) and `flotilla` (Flotilla\'s own API), as POST returns them; never the member credentials.',
  })
  @ApiParam({ name: 'name' })
  @ApiProduces('application/yaml')
  @ApiResponse({ status: 200, description: 'kubeconfig YAML' })
  async kubeconfig(@Param('name') name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const yaml = await this.api.memberKubeconfig(name, `${req.protocol}://${req.headers.host ?? '127.0.0.1'}`);
    res.status(200).type('application/yaml').send(yaml);
  }
}
