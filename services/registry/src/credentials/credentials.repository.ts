import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { EncryptedValue } from '@flotilla/persistence';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import { ClusterCredentialEntity, CredentialKind } from './cluster-credential.entity';

export type { CredentialKind } from './cluster-credential.entity';

export interface StoredCredential extends EncryptedValue {
  kind: CredentialKind;
}

/** A stored credential with the cluster it belongs to (for re-encryption). */
export interface LockedCredential extends StoredCredential {
  clusterUid: string;
}

/** The fingerprint of the user's credential the door replaced (cluster_credentials.superseded_*). */
export interface SupersededFingerprint {
  kind: CredentialKind;
  keyId: string;
  digest: Buffer;
}

/** The cluster_credentials table: ciphertext (and superseded fingerprints) only, one row per cluster and kind. */
@Injectable()
export class CredentialsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /** Inserts or replaces one credential of a cluster. */
  async put(tx: Transaction, clusterUid: string, kind: CredentialKind, value: EncryptedValue): Promise<void> {
    await transactionManager(tx)
      .createQueryBuilder()
      .insert()
      .into(ClusterCredentialEntity)
      .values({ clusterUid, kind, keyId: value.keyId, ciphertext: value.ciphertext, updatedAt: new Date() })
      .orUpdate(['key_id', 'ciphertext', 'updated_at'], ['cluster_uid', 'kind'])
      .execute();
  }

  /** In `tx` when given (a write that compares credentials reads them in its own transaction). */
  async findByCluster(clusterUid: string, tx?: Transaction): Promise<StoredCredential[]> {
    const rows = await (tx ? transactionManager(tx) : this.db.manager).getRepository(ClusterCredentialEntity).find({ where: { clusterUid } });
    return rows.map((r) => ({ kind: r.kind, keyId: r.keyId, ciphertext: r.ciphertext }));
  }

  /** The superseded fingerprints of a cluster's credentials, read in `tx`. */
  async findSuperseded(tx: Transaction, clusterUid: string): Promise<SupersededFingerprint[]> {
    const rows: { kind: CredentialKind; superseded_key_id: string; superseded_fingerprint: Buffer }[] = await transactionManager(tx).query(
      `SELECT kind, superseded_key_id, superseded_fingerprint FROM cluster_credentials WHERE cluster_uid = $1 AND superseded_fingerprint IS NOT NULL`,
      [clusterUid],
    );
    return rows.map((r) => ({ kind: r.kind, keyId: r.superseded_key_id, digest: r.superseded_fingerprint }));
  }

  /** Sets (or, with null, clears) the superseded fingerprint of a stored credential: only the latest is kept (a re-made one keeps its time). */
  async setSuperseded(tx: Transaction, clusterUid: string, kind: CredentialKind, value: { keyId: string; digest: Buffer } | null): Promise<void> {
    await transactionManager(tx).query(
      `UPDATE cluster_credentials SET superseded_key_id = $3, superseded_fingerprint = $4, superseded_at = CASE WHEN $4::bytea IS NULL THEN NULL ELSE COALESCE(superseded_at, now()) END
        WHERE cluster_uid = $1 AND kind = $2`,
      [clusterUid, kind, value?.keyId ?? null, value?.digest ?? null],
    );
  }

  /**
   * The stored credentials of many clusters by name, in one query: every named cluster that exists
   * gives its uid (and no rows of credentials when it has none). Reads the clusters table only for
   * the name-to-uid mapping, so that a batch costs one round trip instead of two per cluster.
   */
  async findByClusterNames(names: readonly string[]): Promise<{ name: string; uid: string; credentials: StoredCredential[] }[]> {
    if (names.length === 0) return [];
    const rows: { name: string; uid: string; kind: CredentialKind | null; key_id: string | null; ciphertext: Buffer | null }[] = await this.db.query(
      `SELECT c.name, c.uid, cc.kind, cc.key_id, cc.ciphertext
         FROM clusters c LEFT JOIN cluster_credentials cc ON cc.cluster_uid = c.uid
        WHERE c.name = ANY($1::text[])`,
      [names],
    );
    const byName = new Map<string, { name: string; uid: string; credentials: StoredCredential[] }>();
    for (const r of rows) {
      let entry = byName.get(r.name);
      if (!entry) byName.set(r.name, (entry = { name: r.name, uid: r.uid, credentials: [] }));
      if (r.kind && r.key_id && r.ciphertext) entry.credentials.push({ kind: r.kind, keyId: r.key_id, ciphertext: r.ciphertext });
    }
    return [...byName.values()];
  }

  /**
   * Locks (FOR UPDATE SKIP LOCKED) up to `limit` credentials not sealed by `keyId`, in the caller's
   * transaction. Rows another transaction holds (a write, or another replica's batch) are skipped.
   */
  async lockNotUnderKey(tx: Transaction, keyId: string, limit: number): Promise<LockedCredential[]> {
    const rows: { cluster_uid: string; kind: CredentialKind; key_id: string; ciphertext: Buffer }[] = await transactionManager(tx).query(
      `SELECT cluster_uid, kind, key_id, ciphertext FROM cluster_credentials WHERE key_id <> $1
        ORDER BY cluster_uid, kind LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [keyId, limit],
    );
    return rows.map((r) => ({ clusterUid: r.cluster_uid, kind: r.kind, keyId: r.key_id, ciphertext: r.ciphertext }));
  }

  /** Replaces the ciphertext of a row locked by `lockNotUnderKey` (updated_at is kept: the secret did not change). */
  async replaceCiphertext(tx: Transaction, clusterUid: string, kind: CredentialKind, value: EncryptedValue): Promise<void> {
    await transactionManager(tx).query(`UPDATE cluster_credentials SET key_id = $3, ciphertext = $4 WHERE cluster_uid = $1 AND kind = $2`, [
      clusterUid,
      kind,
      value.keyId,
      value.ciphertext,
    ]);
  }

  /** How many ciphertexts each key id seals. */
  async countByKey(): Promise<Map<string, number>> {
    const rows: { key_id: string; n: string }[] = await this.db.query(`SELECT key_id, count(*) AS n FROM cluster_credentials GROUP BY key_id`);
    return new Map(rows.map((r) => [r.key_id, Number(r.n)]));
  }

  /** How many ciphertexts are not sealed by `keyId` (locked rows included). */
  async countNotUnderKey(keyId: string, tx?: Transaction): Promise<number> {
    const sql = `SELECT count(*) AS n FROM cluster_credentials WHERE key_id <> $1`;
    const rows: { n: string }[] = tx ? await transactionManager(tx).query(sql, [keyId]) : await this.db.query(sql, [keyId]);
    return Number(rows[0]?.n ?? 0);
  }
}
