import { X509Certificate } from 'node:crypto';
import { createCertificate, keyPem, newKeyPair } from '@flotilla/kube-emulator';
import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { kubeconfigCertCondition } from './import-checks';

function withClientCertificate(days: number): ResolvedKubeconfig {
  const ca = newKeyPair();
  const key = newKeyPair();
  const dn = { cn: 'test-ca' };
  // The emulator's DER encoder now and then writes a serial Node refuses: make another then.
  let certPem = '';
  for (;;) {
    certPem = createCertificate({ subject: { cn: 'user', o: ['system:masters'] }, issuer: dn, publicKey: key.publicKey, signingKey: ca.privateKey, usage: 'client', days });
    try {
      new X509Certificate(certPem);
      break;
    } catch {
      // try again
    }
  }
  return { contextName: 'c', clusterName: 'c', userName: 'u', server: 'https://127.0.0.1:6443', insecureSkipTlsVerify: false, auth: { type: 'clientCertificate', certData: certPem, keyData: keyPem(key.privateKey) } };
}

describe('KubeConfigCertExpiresInSevenDays', () => {
  it('is True when the client certificate expires within seven days', () => {
    expect(kubeconfigCertCondition(withClientCertificate(3))).toMatchObject({ type: 'KubeConfigCertExpiresInSevenDays', status: 'True', reason: 'CertificateExpiresSoon' });
  });

  it('is False when it expires later, and names the date', () => {
    const c = kubeconfigCertCondition(withClientCertificate(30));
    expect(c).toMatchObject({ status: 'False', reason: 'CertificateValid' });
    expect(c.message).toMatch(/expires at \d{4}-\d\d-\d\dT/);
  });

  it('is False without a client certificate', () => {
    const token: ResolvedKubeconfig = { ...withClientCertificate(30), auth: { type: 'token', token: 't' } };
    expect(kubeconfigCertCondition(token)).toMatchObject({ status: 'False', reason: 'NoClientCertificate' });
  });
});
