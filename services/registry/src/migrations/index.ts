import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { ImportJobs1764100000000 } from './1764100000000-import-jobs';
import { ClusterEvents1764200000000 } from './1764200000000-cluster-events';
import { CredentialReencryptions1764310000000 } from './1764310000000-credential-reencryptions';
import { ObjectsAndAudit1764414000000 } from './1764414000000-objects-and-audit';
import { ClusterManagedFields1764520000000 } from './1764520000000-cluster-managed-fields';
import { SupersededCredentialFingerprints1764530000000 } from './1764530000000-superseded-credential-fingerprints';

/** Every migration of the registry's schema, oldest first. */
export const REGISTRY_MIGRATIONS = [InitialSchema1764000000000, ImportJobs1764100000000, ClusterEvents1764200000000, CredentialReencryptions1764310000000, ObjectsAndAudit1764414000000, ClusterManagedFields1764520000000, SupersededCredentialFingerprints1764530000000];
