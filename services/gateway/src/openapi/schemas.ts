import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { CLUSTER_API_VERSION, ClusterConditionType, KNOWN_PROVIDERS } from '@flotilla/domain';
import { IMPORT_SCHEMAS } from '../imports/import-schemas';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const REF = {
  Cluster: ref('Cluster'),
  ClusterList: ref('ClusterList'),
  Status: ref('Status'),
  ImportJobList: ref('ImportJobList'),
};

const objectMeta = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', description: 'DNS-1123 label', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    uid: { type: 'string', readOnly: true },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    resourceVersion: { type: 'string', description: 'Opaque; send it back unchanged for optimistic concurrency' },
    generation: { type: 'integer', readOnly: true },
    creationTimestamp: { type: 'string', format: 'date-time', readOnly: true },
    deletionTimestamp: { type: 'string', format: 'date-time', readOnly: true },
    finalizers: { type: 'array', items: { type: 'string' } },
  },
};

const condition = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string', enum: Object.values(ClusterConditionType) },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastUpdateTime: { type: 'string', format: 'date-time' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
  },
};

export const SCHEMAS: Record<string, object> = {
  Cluster: {
    type: 'object',
    description: 'A member cluster, shaped like KubeSphere\'s cluster.kubesphere.io/v1alpha1 Cluster',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', enum: [CLUSTER_API_VERSION] },
      kind: { type: 'string', enum: ['Cluster'] },
      metadata: objectMeta,
      spec: {
        type: 'object',
        description: 'What the member is and how Flotilla reaches it.',
        required: ['connection'],
        properties: {
          provider: { type: 'string', description: `Who runs the member: one of ${KNOWN_PROVIDERS.join(', ')}, or another DNS-1123 label` },
          description: { type: 'string', description: 'Free text shown with the cluster.' },
          joinFederation: { type: 'boolean', description: 'Whether federated objects may be placed in this cluster.' },
          externalKubeAPIEnabled: { type: 'boolean', description: "Whether the member's API server is exposed to users outside the host (KubeSphere's field; informational)." },
          connection: {
            type: 'object',
            description: "How Flotilla connects to the member's API server. The credentials (kubeconfig, token) are write-only: never returned.",
            required: ['type'],
            properties: {
              type: { type: 'string', enum: ['direct', 'proxy'], description: 'direct: the host reaches the member; proxy: an agent in the member dials out' },
              kubernetesAPIEndpoint: { type: 'string', format: 'uri', description: "The member's API server URL (https://host:port); taken from the kubeconfig when left out." },
              kubeconfig: { type: 'string', writeOnly: true, description: 'Write-only. YAML text, or base64 of it (as KubeSphere). At most 1 MiB.' },
              token: { type: 'string', writeOnly: true, description: 'Write-only. A bearer token for the member, used with kubernetesAPIEndpoint instead of a kubeconfig.' },
            },
          },
        },
      },
      status: {
        type: 'object',
        description: 'What Flotilla observed of the member; written by the platform only.',
        readOnly: true,
        properties: {
          conditions: { type: 'array', description: 'Ready, Imported and the other conditions of the cluster.', items: condition },
          kubernetesVersion: { type: 'string', description: "The member's Kubernetes version (gitVersion)." },
          nodeCount: { type: 'integer', description: 'How many nodes the member has.' },
          zones: { type: 'array', description: "The zones of the member's nodes (topology.kubernetes.io/zone).", items: { type: 'string' } },
          region: { type: 'string', description: "The region of the member's nodes (topology.kubernetes.io/region)." },
          uid: { type: 'string', description: "The member's kube-system namespace UID" },
          configz: { type: 'object', description: 'Which components are enabled in the member (KubeSphere).', additionalProperties: { type: 'boolean' } },
          lastProbeTime: { type: 'string', format: 'date-time', readOnly: true, description: 'When the health probe last probed the cluster (any result); not stored with the status' },
        },
      },
    },
  },
  ClusterList: {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string', enum: ['ClusterList'] },
      metadata: {
        type: 'object',
        properties: { resourceVersion: { type: 'string' }, continue: { type: 'string' }, remainingItemCount: { type: 'integer' } },
      },
      items: { type: 'array', items: ref('Cluster') },
    },
  },
  Status: {
    type: 'object',
    description: 'A Kubernetes Status: every error, and a completed delete',
    properties: {
      kind: { type: 'string', enum: ['Status'] },
      apiVersion: { type: 'string', enum: ['v1'] },
      status: { type: 'string', enum: ['Success', 'Failure'] },
      message: { type: 'string' },
      reason: { type: 'string' },
      code: { type: 'integer' },
      details: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          group: { type: 'string' },
          kind: { type: 'string' },
          causes: {
            type: 'array',
            items: { type: 'object', properties: { reason: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } },
          },
        },
      },
    },
  },
};

/** OpenAPI 3 at /openapi.json and browsable docs at /docs (both behind authentication). */
export function installOpenApi(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('Flotilla API')
    .setDescription('Multi-cluster Kubernetes control plane. Errors are Kubernetes Status objects.')
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'FLOTILLA_ADMIN_TOKEN' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = { ...document.components, schemas: { ...(document.components?.schemas ?? {}), ...SCHEMAS, ...IMPORT_SCHEMAS } as never };
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
}
