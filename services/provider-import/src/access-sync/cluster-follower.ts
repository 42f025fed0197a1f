import { ClusterFollower as RegistryClusterFollower, type ClusterFollowerRegistry } from '@flotilla/clients';

export type FollowerRegistry = ClusterFollowerRegistry;

/**
 * The fleet in this replica's memory, for the access sync: libs/clients' ClusterFollower (list,
 * then watch resumed by resourceVersion, re-list on 410 Expired, backoff). `onChange(name)`
 * follows every applied change (a removal included).
 */
export class ClusterFollower extends RegistryClusterFollower {
  constructor(registry: FollowerRegistry, onChange: (name: string) => void, onError: (error: unknown) => void = () => undefined) {
    super(registry, {
      onChanges: (changes) => {
        // One cluster's failure must not keep the others of a re-list from being evaluated.
        for (const c of changes) {
          try {
            onChange(c.name);
          } catch (error) {
            onError(error);
          }
        }
      },
      onError,
    });
  }
}
