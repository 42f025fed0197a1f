/** OpenAPI schemas of the import routes (merged into SCHEMAS in openapi/schemas.ts). */
export const IMPORT_SCHEMAS: Record<string, object> = {
  ImportJob: {
    type: 'object',
    description: 'An import or removal job of a cluster: named steps, a percentage and a state. Kept after the cluster is removed.',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string', enum: ['ImportJob'] },
      metadata: { type: 'object', properties: { name: { type: 'string', description: 'import-<cluster uid> or remove-<cluster uid>' }, resourceVersion: { type: 'string' }, creationTimestamp: { type: 'string' } } },
      spec: { type: 'object', properties: { type: { type: 'string', enum: ['import', 'remove'] }, clusterName: { type: 'string' }, clusterUid: { type: 'string' } } },
      status: {
        type: 'object',
        properties: {
          state: { type: 'string', enum: ['Pending', 'Running', 'Succeeded', 'Failed'] },
          step: { type: 'string' },
          percent: { type: 'integer', minimum: 0, maximum: 100 },
          message: { type: 'string' },
          steps: {
            type: 'array',
            items: { type: 'object', properties: { name: { type: 'string' }, state: { type: 'string', enum: ['Running', 'Succeeded', 'Failed', 'Skipped'] }, message: { type: 'string' }, time: { type: 'string' } } },
          },
          orphans: {
            type: 'array',
            description: 'What removal left in an unreachable member',
            items: { type: 'object', properties: { kind: { type: 'string' }, namespace: { type: 'string' }, name: { type: 'string' }, reason: { type: 'string' } } },
          },
          warnings: { type: 'array', items: { type: 'string' } },
          startTime: { type: 'string' },
          completionTime: { type: 'string' },
        },
      },
    },
  },
  ImportJobList: {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string', enum: ['ImportJobList'] },
      metadata: { type: 'object', properties: { resourceVersion: { type: 'string' } } },
      items: { type: 'array', items: { $ref: '#/components/schemas/ImportJob' } },
    },
  },
};
