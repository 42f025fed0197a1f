/** kubeconfig files for a virtual cluster, as the providers hand them out. */
import { stringify } from 'yaml';
import type { UserKind, VirtualCluster } from './cluster/cluster';

export function kubeconfigFor(c: VirtualCluster, user: UserKind): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const userName = `${c.name}-${user === 'admin-token' ? 'admin' : user}`;
  let userEntry: Record<string, unknown>;
  switch (user) {
    case 'admin':
      if (c.flavour === 'kubeadm') {
        const cert = c.clientCertificate();
        userEntry = { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) };
      } else userEntry = { token: c.tokens.admin };
      break;
    case 'admin-token':
      userEntry = { token: c.tokens.admin };
      break;
    case 'readonly':
      userEntry = { token: c.tokens.readonly };
      break;
    case 'noaccess':
      userEntry = { token: c.tokens.noaccess };
      break;
    case 'eks-exec':
      if (c.flavour !== 'eks') throw new Error(`cluster ${c.name} is not an EKS cluster`);
      userEntry = {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'aws',
          args: ['--region', c.region, 'eks', 'get-token', '--cluster-name', c.name, '--output', 'json'],
          env: null,
          interactiveMode: 'IfAvailable',
          provideClusterInfo: false,
        },
      };
      break;
  }
  const clusterName = c.flavour === 'eks' ? `arn:aws:eks:${c.region}:123456789012:cluster/${c.name}` : c.name;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: c.server, 'certificate-authority-data': b64(c.pki.caPem) } }],
    users: [{ name: userName, user: userEntry }],
    contexts: [{ name: `${userName}@${c.name}`, context: { cluster: clusterName, user: userName } }],
    'current-context': `${userName}@${c.name}`,
    preferences: {},
  };
  return stringify(doc);
}
