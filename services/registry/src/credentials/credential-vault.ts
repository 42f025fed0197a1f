import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ClusterCredentials } from '@flotilla/domain';
import { KeyRingError, SecretBox, Transaction } from '@flotilla/persistence';
import { CredentialKind, CredentialsRepository } from './credentials.repository';

export const SECRET_BOX = Symbol('registry.secret-box');

/** One cluster's credentials from openMany: decrypted, or the reason they cannot be. */
export interface OpenedCredentials {
  name: string;
  uid: string;
  credentials: ClusterCredentials;
  keyId: string;
  error?: string;
}

const KINDS: readonly CredentialKind[] = ['kubeconfig', 'token'];

/** Binds a ciphertext to its cluster and kind, so it cannot be swapped into another record. */
const associatedData = (clusterUid: string, kind: CredentialKind) => `cluster/${clusterUid}/${kind}`;
/** Binds a superseded fingerprint to its cluster and kind: the same kubeconfig gives unrelated fingerprints on two clusters. */
const supersededPurpose = (clusterUid: string, kind: CredentialKind) => `superseded/cluster/${clusterUid}/${kind}`;
const isKind = (field: string): field is CredentialKind => (KINDS as readonly string[]).includes(field);

/**
 * Credentials at rest: encrypted (AES-256-GCM under the key ring) before they reach the
 * repository, decrypted only for internal callers. What other modules use to store credentials.
 */
@Injectable()
export class CredentialVault {
  constructor(
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    private readonly repo: CredentialsRepository,
  ) {}

  /** Encrypts and stores the given credentials in the caller's transaction; omitted kinds are kept. */
  async store(tx: Transaction, clusterUid: string, credentials: ClusterCredentials): Promise<void> {
    for (const kind of KINDS) {
      const value = credentials[kind];
      if (value !== undefined) await this.repo.put(tx, clusterUid, kind, this.secrets.encrypt(value, associatedData(clusterUid, kind)));
    }
  }

  /**
   * After a credential-door write (in its transaction, before or after `store`): keeps the keyed
   * fingerprint of a credential the user submitted that the write replaces with one Flotilla made
   * (`lasting`: the service-account path, where every door write is a Flotilla-made kubeconfig).
   * A credential row without a fingerprint holds what the user submitted (create, or a rotation
   * stored as given); once one is recorded, the stored credential is Flotilla's, and later lasting
   * writes (token renewal, a rotation turned into a lasting kubeconfig) keep it. A door write that
   * is not lasting stores the user's new credential as given and clears the fingerprint.
   */
  async recordSuperseded(tx: Transaction, clusterUid: string, stored: ClusterCredentials, written: ClusterCredentials, lasting: boolean): Promise<void> {
    const replaced = KINDS.filter((kind) => {
      const previous = stored[kind];
      const next = written[kind];
      return previous !== undefined && previous !== '' && next !== undefined && next !== '' && next !== previous;
    });
    if (replaced.length === 0) return;
    const recorded = new Set((await this.repo.findSuperseded(tx, clusterUid)).map((f) => f.kind));
    for (const kind of replaced) {
      const previous = stored[kind]!;
      if (!lasting) {
        if (recorded.has(kind)) await this.repo.setSuperseded(tx, clusterUid, kind, null);
      } else if (!recorded.has(kind)) {
        await this.repo.setSuperseded(tx, clusterUid, kind, this.secrets.fingerprint(previous, supersededPurpose(clusterUid, kind)));
      }
    }
  }

  /**
   * Of the credential fields a resource-api write would change (`fields`), those that do not present
   * exactly the superseded credential (recordSuperseded): the write keeps the stored credential for
   * the others. Compared in constant time under the key that made the fingerprint; a fingerprint
   * made under an older key of the ring is made again under the active key when it matches, so it
   * survives the old key's retirement; one whose key has left the ring matches nothing.
   */
  async notSuperseded(tx: Transaction, clusterUid: string, fields: readonly string[], given: ClusterCredentials): Promise<string[]> {
    if (fields.length === 0) return [];
    const recorded = new Map((await this.repo.findSuperseded(tx, clusterUid)).map((f) => [f.kind, f]));
    const refused: string[] = [];
    for (const field of fields) {
      const found = isKind(field) ? recorded.get(field) : undefined;
      const value = isKind(field) ? given[field] : undefined;
      if (!found || value === undefined || !this.secrets.hasKey(found.keyId) || found.digest.length !== 32) {
        refused.push(field);
        continue;
      }
      const purpose = supersededPurpose(clusterUid, found.kind);
      if (!timingSafeEqual(this.secrets.fingerprint(value, purpose, found.keyId).digest, found.digest)) {
        refused.push(field);
        continue;
      }
      if (found.keyId !== this.secrets.activeKeyId) await this.repo.setSuperseded(tx, clusterUid, found.kind, this.secrets.fingerprint(value, purpose));
    }
    return refused;
  }

  /** The id of the key new ciphertexts are sealed with, and every id of the ring (active first). */
  keys(): { current: string; ring: string[] } {
    return { current: this.secrets.activeKeyId, ring: this.secrets.keyIds() };
  }

  /**
   * One re-encryption batch in the caller's transaction: locks (SKIP LOCKED) up to `limit`
   * ciphertexts not under `targetKeyId`, and re-seals each under it, bound to its own row as
   * before. Returns how many rows moved. A row that cannot be opened fails the batch (rolled
   * back by the caller) with an error naming its cluster uid, kind and key, never its content.
   */
  async reencryptBatch(tx: Transaction, targetKeyId: string, limit: number): Promise<number> {
    if (targetKeyId !== this.secrets.activeKeyId) {
      throw new KeyRingError(`this registry encrypts with key "${this.secrets.activeKeyId}", not "${targetKeyId}": restart every replica with the same FLOTILLA_ENCRYPTION_KEYS`);
    }
    const rows = await this.repo.lockNotUnderKey(tx, targetKeyId, limit);
    for (const row of rows) {
      let sealed;
      try {
        sealed = this.secrets.reseal(row, associatedData(row.clusterUid, row.kind));
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new KeyRingError(`the ${row.kind} of cluster uid ${row.clusterUid} cannot be re-encrypted: ${why}`);
      }
      await this.repo.replaceCiphertext(tx, row.clusterUid, row.kind, sealed);
    }
    return rows.length;
  }

  /** How many ciphertexts are not under `keyId` (rows locked by others included). */
  countNotUnderKey(keyId: string): Promise<number> {
    return this.repo.countNotUnderKey(keyId);
  }

  /** How many ciphertexts each key seals: every key of the ring (0 when unused), and any other id found in the table. */
  async ciphertextsByKey(): Promise<{ keyId: string; ciphertexts: number; current: boolean; inKeyRing: boolean }[]> {
    const counts = await this.repo.countByKey();
    const ring = this.secrets.keyIds();
    const ids = [...ring, ...[...counts.keys()].filter((id) => !ring.includes(id)).sort()];
    return ids.map((keyId) => ({ keyId, ciphertexts: counts.get(keyId) ?? 0, current: keyId === this.secrets.activeKeyId, inKeyRing: ring.includes(keyId) }));
  }

  /**
   * The decrypted credentials of many clusters by name, read in one query. A cluster whose
   * ciphertext cannot be opened gets `error` (the reason and the fix, never the content) instead of
   * failing the batch: the others are still usable. Names not stored are left out.
   */
  async openMany(names: readonly string[]): Promise<OpenedCredentials[]> {
    const out: OpenedCredentials[] = [];
    for (const { name, uid, credentials: rows } of await this.repo.findByClusterNames(names)) {
      const credentials: ClusterCredentials = {};
      let keyId = '';
      try {
        for (const row of rows) {
          credentials[row.kind] = this.secrets.decrypt(row, associatedData(uid, row.kind));
          keyId = row.keyId;
        }
        out.push({ name, uid, credentials, keyId });
      } catch (error) {
        out.push({ name, uid, credentials: {}, keyId, error: error instanceof KeyRingError ? error.message : 'the stored credentials cannot be decrypted' });
      }
    }
    return out;
  }

  /** The decrypted credentials of a cluster and the id of the key that sealed them (read in `tx` when given). */
  async open(clusterUid: string, tx?: Transaction): Promise<{ credentials: ClusterCredentials; keyId: string }> {
    const credentials: ClusterCredentials = {};
    let keyId = '';
    for (const row of await this.repo.findByCluster(clusterUid, tx)) {
      credentials[row.kind] = this.secrets.decrypt(row, associatedData(clusterUid, row.kind));
      keyId = row.keyId;
    }
    return { credentials, keyId };
  }
}
