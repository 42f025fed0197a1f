import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { decodeObjectBody } from '../http/body';
import { REF } from '../openapi/schemas';
import { ReencryptionsApiService } from './reencryptions-api.service';

const optionalBody = (req: Request) => (Buffer.isBuffer(req.body) && req.body.toString('utf8').trim() !== '' ? decodeObjectBody(req.body, req.headers['content-type']) : undefined);

/** /apis/admin.flotilla.io/v1alpha1/reencryptions: each route maps a request to ReencryptionsApiService. */
@ApiTags('admin')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller('apis/admin.flotilla.io/v1alpha1/reencryptions')
export class ReencryptionsController {
  constructor(private readonly api: ReencryptionsApiService) {}

  @Post()
  @ApiOperation({ summary: 'Re-encrypt every stored credential under the current key (the first of FLOTILLA_ENCRYPTION_KEYS); empty body. Returns the run in progress if there is one (200).' })
  @ApiResponse({ status: 201, description: 'Reencryption (started)', schema: { type: 'object' } })
  @ApiResponse({ status: 200, description: 'Reencryption (already running)', schema: { type: 'object' } })
  @ApiResponse({ status: 400, schema: REF.Status })
  async start(@Req() req: Request, @Res() res: Response): Promise<void> {
    const { created, body } = await this.api.start(optionalBody(req));
    res.status(created ? 201 : 200).json(body);
  }

  @Get()
  @ApiOperation({ summary: 'Re-encryption runs, newest first, and the ciphertexts under each key now' })
  @ApiResponse({ status: 200, description: 'ReencryptionList', schema: { type: 'object' } })
  list() {
    return this.api.list();
  }

  @Get(':name')
  @ApiOperation({ summary: 'One re-encryption run: phase, rows done / total, rows remaining, ciphertexts per key' })
  @ApiParam({ name: 'name' })
  @ApiResponse({ status: 200, description: 'Reencryption', schema: { type: 'object' } })
  @ApiResponse({ status: 404, schema: REF.Status })
  get(@Param('name') name: string) {
    return this.api.get(name);
  }
}
