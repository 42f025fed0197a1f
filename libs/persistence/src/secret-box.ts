import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface EncryptedValue {
  keyId: string;
  /** iv (12 bytes) | auth tag (16 bytes) | ciphertext */
  ciphertext: Buffer;
}

export class KeyRingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingError';
  }
}

/**
 * AES-256-GCM encryption of secrets at rest under a ring of keys. The first key encrypts;
 * every key decrypts, so keys can be rotated: add a new key in front, re-encrypt, then drop
 * the old one. The associated data binds a ciphertext to its row and field, so ciphertexts
 * cannot be swapped between clusters.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: { id: string; key: Buffer }[]) {
    if (keys.length === 0) throw new KeyRingError('at least one encryption key is required');
    this.keys = new Map();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new KeyRingError(`key id "${id}" must be 1-32 letters, digits, '-' or '_'`);
      if (key.length !== 32) throw new KeyRingError(`key "${id}" must be 32 bytes (base64 of 32 random bytes), got ${key.length}`);
      if (this.keys.has(id)) throw new KeyRingError(`key id "${id}" appears twice`);
      this.keys.set(id, key);
    }
    this.activeKeyId = keys[0]!.id;
  }

  /** Parses "id:base64key[,id:base64key...]" (the first key is the active one). */
  static fromSpec(spec: string): SecretBox {
    const keys = spec
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const at = part.indexOf(':');
        if (at <= 0) throw new KeyRingError('each key must be written id:base64key, e.g. k1:$(openssl rand -base64 32)');
        return { id: part.slice(0, at), key: Buffer.from(part.slice(at + 1), 'base64') };
      });
    return new SecretBox(keys);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  hasKey(id: string): boolean {
    return this.keys.has(id);
  }

  /** The ids of the ring, the active one first (never the keys). */
  keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * The same secret sealed under the active key, bound to the same associated data: what a
   * re-encryption writes back to the row. A value already under the active key is returned as it
   * is (re-sealing is idempotent); one that does not decrypt throws, naming the key and the fix.
   */
  reseal(value: EncryptedValue, associatedData: string): EncryptedValue {
    if (value.keyId === this.activeKeyId) return value;
    return this.encrypt(this.decrypt(value, associatedData), associatedData);
  }

  /**
   * A keyed fingerprint of a secret: HMAC-SHA256 under a key derived (HKDF-SHA256) from a ring key
   * for `purpose` only. It tells whether a value presented later is the same secret; it cannot be
   * reversed or used in the secret's place, and differs per purpose (bind it to the record). Made
   * under the active key unless `keyId` names another key of the ring.
   */
  fingerprint(value: string, purpose: string, keyId: string = this.activeKeyId): { keyId: string; digest: Buffer } {
    const key = this.keys.get(keyId);
    if (!key) throw new KeyRingError(`no key "${keyId}" in the key ring: add it back to FLOTILLA_ENCRYPTION_KEYS`);
    const macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `flotilla/fingerprint/${purpose}`, 32));
    return { keyId, digest: createHmac('sha256', macKey).update(value, 'utf8').digest() };
  }

  encrypt(plaintext: string, associatedData: string): EncryptedValue {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.activeKeyId, ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]) };
  }

  decrypt(value: EncryptedValue, associatedData: string): string {
    const key = this.keys.get(value.keyId);
    if (!key) throw new KeyRingError(`no key "${value.keyId}" in the key ring: add it back to FLOTILLA_ENCRYPTION_KEYS`);
    if (value.ciphertext.length < IV_BYTES + TAG_BYTES) throw new KeyRingError('ciphertext is truncated');
    const iv = value.ciphertext.subarray(0, IV_BYTES);
    const tag = value.ciphertext.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const body = value.ciphertext.subarray(IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv(ALGORITHM, key, iv);
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyRingError(`ciphertext does not authenticate under key "${value.keyId}" (tampered, or bound to another record)`);
    }
  }
}
