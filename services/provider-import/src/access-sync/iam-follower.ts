import { ObjectFollower, type ObjectStore } from '@flotilla/clients';
import { FOLLOWED_RESOURCES, type IamState, applyIamObject, emptyIamState } from './desired-access';

/**
 * The IAM objects the sync reads, in this replica's memory, kept by an ObjectFollower (every
 * followed resource listed, then the registry's change log polled; a Gone lists again).
 * Replaying changes the lists already showed is harmless (each is the object's whole state, in
 * revision order).
 */
export class IamFollower {
  state: IamState = emptyIamState();
  private follower?: ObjectFollower;
  private resolveSynced!: () => void;
  /** Resolves once the first full list is in memory. */
  readonly synced = new Promise<void>((resolve) => (this.resolveSynced = resolve));

  constructor(
    private readonly store: Pick<ObjectStore, 'list' | 'changes'>,
    /** Called after every batch that changed what the desired state reads. */
    private readonly onChange: () => void,
    private readonly options: { pollMs: number; onError?: (error: unknown) => void },
  ) {}

  start(): void {
    if (this.follower) return;
    const onError = (error: unknown) => this.options.onError?.(error);
    this.follower = new ObjectFollower(this.store, {
      pollMs: this.options.pollMs,
      maxBackoffMs: 30_000,
      onError,
      onGone: onError,
      // The follower always lists every followed resource at once (at start and after a Gone): a new state from scratch.
      onSync: (listings) => {
        const state = emptyIamState();
        for (const [resource, listing] of listings) for (const o of listing.items) applyIamObject(state, resource, o.name, o.object);
        this.state = state;
        this.resolveSynced();
        this.onChange();
      },
      onChanges: (changes) => {
        let changed = false;
        for (const c of changes) {
          changed = applyIamObject(this.state, c.object.resource, c.object.name, c.type === 'DELETED' ? undefined : c.object.object) || changed;
        }
        if (changed) this.onChange();
      },
    });
    this.follower.sync(FOLLOWED_RESOURCES);
  }

  stop(): void {
    void this.follower?.stop();
    this.follower = undefined;
  }
}
