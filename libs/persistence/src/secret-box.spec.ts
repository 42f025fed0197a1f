import { randomBytes } from 'node:crypto';
import { KeyRingError, SecretBox } from './secret-box';

const key = () => randomBytes(32);

describe('SecretBox', () => {
  it('round-trips under the active key and never stores the plaintext', () => {
    const box = new SecretBox([{ id: 'k1', key: key() }]);
    const secret = 'apiVersion: v1\nusers:\n- user:\n    token: super-secret-token\n';
    const sealed = box.encrypt(secret, 'cluster/u1/kubeconfig');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext.toString('utf8')).not.toContain('super-secret-token');
    expect(box.decrypt(sealed, 'cluster/u1/kubeconfig')).toBe(secret);
  });

  it('binds a ciphertext to its record: another record cannot decrypt it', () => {
    const box = new SecretBox([{ id: 'k1', key: key() }]);
    const sealed = box.encrypt('s', 'cluster/u1/token');
    expect(() => box.decrypt(sealed, 'cluster/u2/token')).toThrow(KeyRingError);
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    tampered.ciphertext[tampered.ciphertext.length - 1]! ^= 1;
    expect(() => box.decrypt(tampered, 'cluster/u1/token')).toThrow(/does not authenticate/);
  });

  it('rotates: a new key encrypts, old ciphertexts still decrypt, a dropped key is named', () => {
    const k1 = key();
    const old = new SecretBox([{ id: 'k1', key: k1 }]).encrypt('s', 'a');
    const rotated = SecretBox.fromSpec(`k2:${key().toString('base64')},k1:${k1.toString('base64')}`);
    expect(rotated.activeKeyId).toBe('k2');
    expect(rotated.decrypt(old, 'a')).toBe('s');
    expect(rotated.encrypt('s', 'a').keyId).toBe('k2');
    const dropped = SecretBox.fromSpec(`k3:${key().toString('base64')}`);
    expect(() => dropped.decrypt(old, 'a')).toThrow('no key "k1" in the key ring');
  });

  it('reseals an old ciphertext under the active key, bound to the same record, and leaves a current one as it is', () => {
    const k1 = key();
    const old = new SecretBox([{ id: 'k1', key: k1 }]).encrypt('secret-s', 'cluster/u1/kubeconfig');
    const k2 = key();
    const rotated = SecretBox.fromSpec(`k2:${k2.toString('base64')},k1:${k1.toString('base64')}`);
    expect(rotated.keyIds()).toEqual(['k2', 'k1']);
    const moved = rotated.reseal(old, 'cluster/u1/kubeconfig');
    expect(moved.keyId).toBe('k2');
    expect(moved.ciphertext.equals(old.ciphertext)).toBe(false);
    expect(rotated.reseal(moved, 'cluster/u1/kubeconfig')).toBe(moved);
    // Still bound: it opens only as its own record, and without k1 in the ring.
    const k2Only = new SecretBox([{ id: 'k2', key: k2 }]);
    expect(k2Only.decrypt(moved, 'cluster/u1/kubeconfig')).toBe('secret-s');
    expect(() => k2Only.decrypt(moved, 'cluster/u2/kubeconfig')).toThrow(/does not authenticate/);
    // An old ciphertext bound to another record is refused rather than re-sealed.
    expect(() => rotated.reseal(old, 'cluster/u2/kubeconfig')).toThrow(/does not authenticate under key "k1"/);
  });

  it('refuses bad key specs with a message naming the fix', () => {
    expect(() => SecretBox.fromSpec('nocolon')).toThrow(/id:base64key/);
    expect(() => SecretBox.fromSpec(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/must be 32 bytes/);
    expect(() => SecretBox.fromSpec(`k1:${key().toString('base64')},k1:${key().toString('base64')}`)).toThrow(/appears twice/);
  });
});
