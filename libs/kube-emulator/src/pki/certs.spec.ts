import { X509Certificate, createPrivateKey } from 'node:crypto';
import { integer, newClientCert, newClusterPki } from './certs';

describe('emulator PKI', () => {
  it('encodes DER integers minimally, as strict parsers (OpenSSL) demand', () => {
    expect(integer(Buffer.from([0x00, 0x05]))).toEqual(Buffer.from([0x02, 0x01, 0x05]));
    expect(integer(Buffer.from([0x00, 0x00, 0x85]))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x85]));
    expect(integer(Buffer.from([0x85]))).toEqual(Buffer.from([0x02, 0x02, 0x00, 0x85]));
    expect(integer(Buffer.from([0x00]))).toEqual(Buffer.from([0x02, 0x01, 0x00]));
  });

  it('issues certificates that parse and verify against their own CA, every time', () => {
    // A one-in-256 encoding fault shows up well within this many certificates.
    for (let i = 0; i < 1500; i++) {
      const pki = newClusterPki(`c${i}`);
      const ca = new X509Certificate(pki.caPem);
      const server = new X509Certificate(pki.serverCertPem);
      expect(ca.verify(ca.publicKey)).toBe(true);
      expect(server.verify(ca.publicKey)).toBe(true);
      expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(server.checkPrivateKey(createPrivateKey(pki.serverKeyPem))).toBe(true);
      if (i % 100 === 0) {
        const client = new X509Certificate(newClientCert(pki, `c${i}`, 'kubernetes-admin', ['system:masters']).certPem);
        expect(client.verify(ca.publicKey)).toBe(true);
        expect(client.subject).toContain('CN=kubernetes-admin');
      }
    }
  });
});
