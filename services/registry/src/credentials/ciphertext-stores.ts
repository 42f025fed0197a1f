import { Injectable } from '@nestjs/common';
import type { Transaction } from '@flotilla/persistence';
import { ObjectSealer } from '../objects/object-sealer';
import { CredentialVault } from './credential-vault';

export interface KeyUsage {
  keyId: string;
  ciphertexts: number;
  current: boolean;
  inKeyRing: boolean;
}

/**
 * Everything the registry encrypts under FLOTILLA_ENCRYPTION_KEYS, seen as one set by the
 * re-encryption run: cluster credentials (CredentialVault) and sealed object fields, a
 * FederatedSecret's data (ObjectSealer, ADR 0034). A key can be retired only when neither holds
 * a ciphertext under it.
 */
@Injectable()
export class CiphertextStores {
  constructor(
    private readonly vault: CredentialVault,
    private readonly sealer: ObjectSealer,
  ) {}

  current(): string {
    return this.vault.keys().current;
  }

  /** Credentials first, then sealed objects: at most `limit` rows in this transaction. */
  async reencryptBatch(tx: Transaction, targetKeyId: string, limit: number): Promise<number> {
    const credentials = await this.vault.reencryptBatch(tx, targetKeyId, limit);
    if (credentials >= limit) return credentials;
    return credentials + (await this.sealer.reencryptBatch(tx, targetKeyId, limit - credentials));
  }

  async countNotUnderKey(keyId: string): Promise<number> {
    const [credentials, objects] = await Promise.all([this.vault.countNotUnderKey(keyId), this.sealer.countNotUnderKey(keyId)]);
    return credentials + objects;
  }

  /** Per key id: credentials plus sealed objects (every key of the ring listed, 0 when unused). */
  async ciphertextsByKey(): Promise<KeyUsage[]> {
    const [usage, sealed] = await Promise.all([this.vault.ciphertextsByKey(), this.sealer.countByKey()]);
    const out = usage.map((k) => ({ ...k, ciphertexts: k.ciphertexts + (sealed.get(k.keyId) ?? 0) }));
    const listed = new Set(usage.map((k) => k.keyId));
    for (const [keyId, n] of [...sealed].sort(([a], [b]) => a.localeCompare(b))) {
      if (!listed.has(keyId)) out.push({ keyId, ciphertexts: n, current: false, inKeyRing: false });
    }
    return out;
  }
}
