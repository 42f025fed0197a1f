import { z } from 'zod';

/**
 * Every queue and job of the platform, in one place. Values are on the wire and in Redis:
 * never rename one; add a new name and migrate instead.
 */
export enum QueueName {
  ClusterImport = 'cluster-import',
  ClusterRemoval = 'cluster-removal',
}

export enum JobName {
  /** Import a newly created cluster: validate, detect the provider, bring it to Ready. */
  ClusterImport = 'cluster.import',
  /** Unbind a cluster marked for deletion: clean the member, then drop the unbind finalizer. */
  ClusterRemove = 'cluster.remove',
}

const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label');

/** A job's contract: its queue, payload schema, idempotency key and retry policy. */
export interface JobDefinition<P> {
  name: string;
  queue: string;
  /** Strict: unknown keys are refused, so nothing (a credential, say) can ride along. */
  schema: z.ZodType<P>;
  /** Same request, same key: BullMQ keeps one job per id, so a duplicate enqueue is a no-op. */
  idempotencyKey(payload: P): string;
  attempts: number;
  backoffMs: number;
}

export const clusterImportPayload = z.strictObject({
  name: dnsLabel,
  uid: z.uuid('must be the cluster uid (a UUID)'),
});
export type ClusterImportPayload = z.infer<typeof clusterImportPayload>;

export const clusterRemovePayload = z.strictObject({
  name: dnsLabel,
  uid: z.uuid('must be the cluster uid (a UUID)'),
});
export type ClusterRemovePayload = z.infer<typeof clusterRemovePayload>;

export interface JobPayloads {
  [JobName.ClusterImport]: ClusterImportPayload;
  [JobName.ClusterRemove]: ClusterRemovePayload;
}

export const JOBS: { [N in JobName]: JobDefinition<JobPayloads[N]> } = {
  [JobName.ClusterImport]: {
    name: JobName.ClusterImport,
    queue: QueueName.ClusterImport,
    schema: clusterImportPayload,
    idempotencyKey: (p) => `${JobName.ClusterImport}.${p.uid}`,
    attempts: 5,
    backoffMs: 2000,
  },
  [JobName.ClusterRemove]: {
    name: JobName.ClusterRemove,
    queue: QueueName.ClusterRemoval,
    schema: clusterRemovePayload,
    idempotencyKey: (p) => `${JobName.ClusterRemove}.${p.uid}`,
    attempts: 10,
    backoffMs: 2000,
  },
};
