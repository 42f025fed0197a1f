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

  it('refuses bad key specs with a message naming the fix', () => {
    expect(() => SecretBox.fromSpec('nocolon')).toThrow(/id:base64key/);
    expect(() => SecretBox.fromSpec(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/must be 32 bytes/);
    expect(() => SecretBox.fromSpec(`k1:${key().toString('base64')},k1:${key().toString('base64')}`)).toThrow(/appears twice/);
  });
});
