import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { REF } from '../openapi/schemas';
import { ClusterEventsApiService } from './cluster-events-api.service';

/** /apis/cluster.kubesphere.io/v1alpha1/clusters/{name}/events */
@ApiTags('clusters')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller('apis/cluster.kubesphere.io/v1alpha1/clusters')
export class ClusterEventsController {
  constructor(private readonly api: ClusterEventsApiService) {}

  @Get(':name/events')
  @ApiOperation({ summary: "A cluster's events (Ready transitions seen by health-probe), newest first, as a core/v1 EventList" })
  @ApiParam({ name: 'name' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'at most this many (max 500)' })
  @ApiResponse({ status: 200, description: 'EventList (core/v1)', schema: { type: 'object' } })
  @ApiResponse({ status: 404, schema: REF.Status })
  list(@Param('name') name: string, @Query('limit') limit?: string) {
    return this.api.list(name, limit);
  }
}
