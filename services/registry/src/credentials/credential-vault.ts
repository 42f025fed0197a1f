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
