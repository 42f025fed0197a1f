import { Controller, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { principalOf } from '../auth/principal';
import { decodeObjectBody } from '../http/body';
import { REF } from '../openapi/schemas';
import { Issued, KubeconfigsService } from './kubeconfigs.service';

/** An absent body means "all defaults"; a present one is decoded under the bounded parser. */
const bodyOf = (req: Request): unknown => {
  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  return raw && raw.toString('utf8').trim() !== '' ? decodeObjectBody(raw, req.headers['content-type']) : undefined;
};

const requestBase = (req: Request) => `${req.protocol}://${req.headers.host ?? '127.0.0.1'}`;

/** The document holds a secret: no cache may keep it. The token's name (not its secret) is a header, for revocation. */
function send(res: Response, issued: Issued): void {
  res.status(201).setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Flotilla-Token-Name', issued.tokenName);
  res.type('application/yaml').send(issued.yaml);
}

const OPTIONS_SCHEMA = {
  expirationSeconds: { type: 'integer', minimum: 600, maximum: 31536000, description: 'lifetime of the minted token (default 90 days)' },
  description: { type: 'string', maxLength: 256 },
};

/** Kubeconfigs with a minted token of the caller: each route maps a request to KubeconfigsService. */
@ApiTags('kubeconfigs')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@ApiResponse({ status: 403, description: 'The bootstrap admin token: create a user and a token', schema: REF.Status })
@Controller()
export class KubeconfigsController {
  constructor(private readonly kubeconfigs: KubeconfigsService) {}

  @Post('apis/cluster.kubesphere.io/v1alpha1/clusters/:name/kubeconfig')
  @ApiOperation({ summary: 'A working kubeconfig for this cluster (through the proxy) and for Flotilla, with a newly minted token of the caller (revocable like any token)' })
  @ApiParam({ name: 'name' })
  @ApiBody({ required: false, schema: { type: 'object', properties: OPTIONS_SCHEMA } })
  @ApiProduces('application/yaml')
  @ApiResponse({ status: 201, description: 'kubeconfig YAML; header X-Flotilla-Token-Name names the minted token' })
  @ApiResponse({ status: 404, description: 'No such cluster', schema: REF.Status })
  async forCluster(@Param('name') name: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.kubeconfigs.forCluster(principalOf(req), name, bodyOf(req), requestBase(req)));
  }

  @Post('apis/iam.flotilla.io/v1alpha1/kubeconfigs')
  @ApiOperation({ summary: 'A working kubeconfig for many clusters (named and/or selected by labels), one context each, with one minted token' })
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        ...OPTIONS_SCHEMA,
        clusters: { type: 'array', items: { type: 'string' }, maxItems: 500 },
        clusterSelector: { type: 'object', description: 'a Kubernetes LabelSelector (matchLabels, matchExpressions) over Clusters' },
      },
    },
  })
  @ApiProduces('application/yaml')
  @ApiResponse({ status: 201, description: 'kubeconfig YAML; header X-Flotilla-Token-Name names the minted token' })
  @ApiResponse({ status: 404, description: 'A named cluster does not exist', schema: REF.Status })
  @ApiResponse({ status: 422, description: 'Neither clusters nor clusterSelector, no cluster matches, or too many', schema: REF.Status })
  async forClusters(@Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.kubeconfigs.forClusters(principalOf(req), bodyOf(req), requestBase(req)));
  }
}
