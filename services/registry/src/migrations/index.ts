import { InitialSchema1764000000000 } from './1764000000000-initial-schema';

/** Every migration of the registry's schema, oldest first. */
export const REGISTRY_MIGRATIONS = [InitialSchema1764000000000];
