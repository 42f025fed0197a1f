import type { CredentialsReaderClient } from '@flotilla/clients';
import type { StoredCredentials } from '@flotilla/kube';

/** What the pool asks of the registry: many clusters' credentials in one call. */
export interface CredentialsPort {
  /** Credentials per name; a name absent from the map is not a stored cluster; `error` says why they cannot be opened. */
  batch(names: string[]): Promise<Map<string, StoredCredentials | { error: string }>>;
}

/** The port over the registry's CredentialsReader (BatchGetClusterCredentials, internal identity). */
export function credentialsFromReader(reader: Pick<CredentialsReaderClient, 'batchGet'>): CredentialsPort {
  return {
    async batch(names) {
      const { items } = await reader.batchGet(names);
      const out = new Map<string, StoredCredentials | { error: string }>();
      for (const i of items) {
        out.set(i.name, i.error ? { error: i.error } : { ...(i.kubeconfig ? { kubeconfig: i.kubeconfig } : {}), ...(i.token ? { token: i.token } : {}) });
      }
      return out;
    },
  };
}
