import { Inject, Injectable } from '@nestjs/common';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { KeyRingError, SecretBox, Transaction } from '@flotilla/persistence';
import { ObjectsRepository } from './objects.repository';
import { JsonObject, ObjectKey, sameJson } from './object-rules';
import {
  SEALED_RESOURCES,
  SealedValue,
  SecretPart,
  samePlaintext,
  sealedAssociatedData,
  sealedValueOf,
  secretFromPlaintext,
  secretPlaintext,
} from './sealed-fields';

/** The registry's key ring (FLOTILLA_ENCRYPTION_KEYS, the same keys as the credentials), built by the objects module. */
export const OBJECTS_SECRET_BOX = Symbol('registry.objects.secret-box');

const uidOf = (object: JsonObject): string => {
  const metadata = object.metadata as JsonObject | undefined;
  return typeof metadata?.uid === 'string' ? metadata.uid : '';
};

/**
 * Seals and opens the write-only part of stored objects (ADR 0034) with AES-256-GCM under the
 * registry's key ring, bound to the object's resource, namespace, name and uid; and moves sealed
 * values to the current key (re-encryption after a key rotation, as for credentials).
 */
@Injectable()
export class ObjectSealer {
  constructor(
    @Inject(OBJECTS_SECRET_BOX) private readonly box: SecretBox,
    private readonly objects: ObjectsRepository,
  ) {}

  seal(key: ObjectKey, uid: string, secret: SecretPart): SealedValue {
    const sealed = this.box.encrypt(secretPlaintext(secret), sealedAssociatedData(key.resource, key.namespace, key.name, uid));
    return { keyId: sealed.keyId, ciphertext: sealed.ciphertext.toString('base64') };
  }

  /** KeyRingError (naming the key id and the fix, never the content) when it cannot be opened. */
  open(key: ObjectKey, object: JsonObject, sealed: SealedValue): SecretPart {
    const text = this.box.decrypt({ keyId: sealed.keyId, ciphertext: Buffer.from(sealed.ciphertext, 'base64') }, sealedAssociatedData(key.resource, key.namespace, key.name, uidOf(object)));
    return secretFromPlaintext(text);
  }

  /** As open, for a caller: a FlotillaError (InternalError) naming the object and the key, never the content. */
  openForCaller(key: ObjectKey, object: JsonObject, sealed: SealedValue): SecretPart {
    try {
      return this.open(key, object, sealed);
    } catch (error) {
      const why = error instanceof KeyRingError ? error.message : 'the sealed data cannot be read';
      throw new FlotillaError(ErrorReason.InternalError, `the sealed data of ${key.resource} "${key.name}" cannot be opened: ${why}`);
    }
  }

  /**
   * The sealed part an update stores, from the stored object and what the write gave (undefined:
   * its template had neither data nor stringData, so the stored part is kept), and whether the
   * plaintext changed (what moves the generation). An unchanged part keeps its ciphertext, unless it
   * is under an older key (re-sealed under the current one). A stored part that cannot be opened is
   * kept as it is when the write gives none, and counts as changed when it gives one.
   */
  forUpdate(key: ObjectKey, stored: JsonObject, given: SecretPart | undefined): { sealed?: SealedValue; changed: boolean } {
    const current = sealedValueOf(stored);
    let opened: SecretPart | undefined;
    if (current) {
      try {
        opened = this.open(key, stored, current);
      } catch (error) {
        if (!(error instanceof KeyRingError)) throw error;
        return { sealed: given === undefined ? current : this.seal(key, uidOf(stored), given), changed: given !== undefined };
      }
    }
    if (given === undefined) {
      if (!current || !opened) return { changed: false };
      return { sealed: this.isCurrent(current) ? current : this.seal(key, uidOf(stored), opened), changed: false };
    }
    const changed = !samePlaintext(opened, given);
    const keep = current !== undefined && this.isCurrent(current) && sameJson(opened, given);
    return { sealed: keep ? current : this.seal(key, uidOf(stored), given), changed };
  }

  /** Whether a sealed value is under the key new values are sealed with (a write re-seals the others). */
  isCurrent(sealed: SealedValue): boolean {
    return sealed.keyId === this.box.activeKeyId;
  }

  /**
   * One re-encryption batch in the caller's transaction: locks (SKIP LOCKED) up to `limit` objects
   * whose sealed part is not under `targetKeyId` and re-seals each under it (the visible object and
   * its resourceVersion do not change). A value that cannot be opened fails the batch with an error
   * naming the object and the key, never the content.
   */
  async reencryptBatch(tx: Transaction, targetKeyId: string, limit: number): Promise<number> {
    if (targetKeyId !== this.box.activeKeyId) {
      throw new KeyRingError(`this registry encrypts with key "${this.box.activeKeyId}", not "${targetKeyId}": restart every replica with the same FLOTILLA_ENCRYPTION_KEYS`);
    }
    const rows = await this.objects.lockSealedNotUnderKey(tx, SEALED_RESOURCES, targetKeyId, limit);
    for (const row of rows) {
      const ad = sealedAssociatedData(row.resource, row.namespace, row.name, row.uid);
      let resealed;
      try {
        resealed = this.box.reseal({ keyId: row.sealed.keyId, ciphertext: Buffer.from(row.sealed.ciphertext, 'base64') }, ad);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new KeyRingError(`the sealed data of ${row.resource} "${row.namespace ? `${row.namespace}/` : ''}${row.name}" cannot be re-encrypted: ${why}`);
      }
      await this.objects.replaceSealed(tx, row, { keyId: resealed.keyId, ciphertext: resealed.ciphertext.toString('base64') });
    }
    return rows.length;
  }

  /** How many sealed objects are not under `keyId`. */
  countNotUnderKey(keyId: string): Promise<number> {
    return this.objects.countSealedNotUnderKey(SEALED_RESOURCES, keyId);
  }

  /** How many sealed objects each key id seals. */
  countByKey(): Promise<Map<string, number>> {
    return this.objects.countSealedByKey(SEALED_RESOURCES);
  }
}
