import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { ImportJobs1764100000000 } from './1764100000000-import-jobs';
import { ClusterEvents1764200000000 } from './1764200000000-cluster-events';
import { CredentialReencryptions1764310000000 } from './1764310000000-credential-reencryptions';
import { ObjectsAndAudit1764414000000 } from './1764414000000-objects-and-audit';

/** Every migration of the registry's schema, oldest first. */
export const REGISTRY_MIGRATIONS = [InitialSchema1764000000000, ImportJobs1764100000000, ClusterEvents1764200000000, CredentialReencryptions1764310000000, ObjectsAndAudit1764414000000];
