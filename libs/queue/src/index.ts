export { JOBS, JobName, QueueName, clusterImportPayload, clusterRemovePayload } from './catalogue';
export type { ClusterImportPayload, ClusterRemovePayload, JobDefinition, JobPayloads } from './catalogue';
export { InvalidJobPayloadError, parsePayload } from './payload';
export { COMPLETED_RETENTION_SECONDS, JobQueue } from './job-queue';
export type { EnqueueResult, QueuedJobState } from './job-queue';
export { WorkerHost, checkHandlers } from './worker-host';
export type { GaveUpJob, JobContext, JobEvents, JobHandler, QueueRuntimeStatus, WorkerTimings } from './worker-host';
