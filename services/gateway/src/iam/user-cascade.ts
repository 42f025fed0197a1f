import type { ObjectStore, StoredObject } from '@flotilla/clients';
import { ErrorReason, FlotillaError, IamResource } from '@flotilla/domain';
import type { Subject } from '@flotilla/domain';

const PAGE = 500;
const ATTEMPTS = 5;

const isReason = (error: unknown, reason: ErrorReason) => error instanceof FlotillaError && error.reason === reason;

async function* everyObject(store: ObjectStore, resource: string): AsyncGenerator<StoredObject> {
  let next: string | undefined;
  do {
    const page = await store.list(resource, { limit: PAGE, continue: next });
    yield* page.items;
    next = page.continue || undefined;
  } while (next);
}

/**
 * What deleting a User takes with it (issue 14): its Tokens are deleted (revoked), and the user and
 * those tokens leave every GlobalRoleBinding and ClusterAccessBinding; a binding left with no
 * subject is deleted. Every step reads the current state and tolerates what a previous, interrupted
 * run already did (NotFound is success, a Conflict re-reads), so running it again is always safe.
 */
export async function cascadeUserDeletion(store: ObjectStore, user: string): Promise<void> {
  const tokens = new Set<string>();
  for await (const token of everyObject(store, IamResource.tokens)) {
    const spec = token.object.spec as { user?: unknown } | undefined;
    if (spec?.user === user) tokens.add(token.name);
  }
  for (const name of tokens) await deleteIgnoringAbsent(store, IamResource.tokens, name);
  const gone = (s: Subject) => (s.kind === 'User' && s.name === user) || (s.kind === 'Token' && tokens.has(s.name));
  for (const resource of [IamResource.globalRoleBindings, IamResource.clusterAccessBindings]) {
    for await (const binding of everyObject(store, resource)) {
      if (subjectsOf(binding).some(gone)) await removeSubjects(store, resource, binding, gone);
    }
  }
}

function subjectsOf(stored: StoredObject): Subject[] {
  const subjects = stored.object.subjects;
  return Array.isArray(subjects) ? (subjects as Subject[]) : [];
}

async function deleteIgnoringAbsent(store: ObjectStore, resource: string, name: string, preconditions?: { resourceVersion?: string }): Promise<void> {
  try {
    await store.delete(resource, name, undefined, preconditions);
  } catch (error) {
    if (!isReason(error, ErrorReason.NotFound)) throw error;
  }
}

/** Removes the subjects from one binding, deleting it when none is left; a concurrent change is re-read and retried. */
async function removeSubjects(store: ObjectStore, resource: string, first: StoredObject, gone: (s: Subject) => boolean): Promise<void> {
  let binding = first;
  for (let attempt = 1; ; attempt++) {
    const kept = subjectsOf(binding).filter((s) => !gone(s));
    const metadata = { ...(binding.object.metadata as Record<string, unknown>), resourceVersion: binding.resourceVersion };
    try {
      if (kept.length === 0) await store.delete(resource, binding.name, undefined, { resourceVersion: binding.resourceVersion });
      else await store.update(resource, { ...binding.object, metadata, subjects: kept });
      return;
    } catch (error) {
      if (isReason(error, ErrorReason.NotFound)) return;
      if (!isReason(error, ErrorReason.Conflict) || attempt >= ATTEMPTS) throw error;
    }
    try {
      binding = await store.get(resource, binding.name);
    } catch (error) {
      if (isReason(error, ErrorReason.NotFound)) return;
      throw error;
    }
    if (!subjectsOf(binding).some(gone)) return;
  }
}
