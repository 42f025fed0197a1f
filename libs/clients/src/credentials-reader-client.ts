import { credentialsV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

/** One cluster's credentials from a batch read (never logged). */
export interface BatchCredentials {
  name: string;
  uid: string;
  kubeconfig?: string;
  token?: string;
  /** Set when the registry could not open the stored ciphertext (the reason and the fix; never the content). */
  error?: string;
}

export interface CredentialsBatchResult {
  items: BatchCredentials[];
  /** Names that are not stored clusters. */
  missing: string[];
}

/** Names per call: the registry takes at most 1,000. */
export const CREDENTIALS_BATCH_MAX = 1000;

/**
 * The registry's batched credential reads (flotilla.registry.credentials.v1.CredentialsReader):
 * many clusters' decrypted credentials in one call, for a service starting with, or taking over,
 * thousands of clusters. Internal identity required (health-probe).
 */
export class CredentialsReaderClient {
  private readonly grpc: GrpcServiceClient<credentialsV1.CredentialsReaderClient>;

  constructor(target: string, internalToken?: string, deadlineMs = 15_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: credentialsV1.PROTOBUF_PACKAGE, protoFile: credentialsV1.PROTO_FILE, service: credentialsV1.CREDENTIALSREADER_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  /**
   * The credentials of `names` (any number: asked in calls of at most CREDENTIALS_BATCH_MAX, and
   * again for the names an answer left for its size limit).
   */
  async batchGet(names: readonly string[]): Promise<CredentialsBatchResult> {
    const items: BatchCredentials[] = [];
    const missing: string[] = [];
    let todo = [...new Set(names)];
    while (todo.length > 0) {
      const ask = todo.slice(0, CREDENTIALS_BATCH_MAX);
      const out = await this.grpc.unary(this.grpc.service.batchGetClusterCredentials, { names: ask });
      for (const i of out.items ?? []) {
        items.push({
          name: i.name ?? '',
          uid: i.uid ?? '',
          ...(i.kubeconfig ? { kubeconfig: i.kubeconfig } : {}),
          ...(i.token ? { token: i.token } : {}),
          ...(i.error ? { error: i.error } : {}),
        });
      }
      missing.push(...(out.missing ?? []));
      const remaining = out.remaining ?? [];
      // An answer always carries at least one item, so asking again for the rest makes progress.
      if (remaining.length >= ask.length) throw new Error('the registry answered no credentials for a batch');
      todo = [...remaining, ...todo.slice(ask.length)];
    }
    return { items, missing };
  }

  close(): void {
    this.grpc.close();
  }
}
