export { JOBS, JobName, QueueName, clusterImportPayload, clusterRemovePayload } from './catalogue';
export type { ClusterImportPayload, ClusterRemovePayload, JobDefinition, JobPayloads } from './catalogue';
export { InvalidJobPayloadError, parsePayload } from './payload';
export { JobQueue } from './job-queue';
export type { EnqueueResult } from './job-queue';
export { WorkerHost, checkHandlers } from './worker-host';
export type { JobContext, JobEvents, JobHandler, QueueRuntimeStatus } from './worker-host';
