import type { MemberClient, MemberFacts } from '@flotilla/kube';
import { AliyunAckProvider } from './aliyun-ack/aliyun-ack.provider';
import { AwsEksProvider } from './aws-eks/aws-eks.provider';
import { GenericProvider } from './generic/generic.provider';
import { KubeadmProvider } from './kubeadm/kubeadm.provider';
import { ProviderContext, isPrivateHost } from './provider';
import { ProviderRegistry } from './provider-registry';

function ctx(over: Partial<MemberFacts> = {}, kubeadmConfig = false): ProviderContext {
  const facts: MemberFacts = {
    resolved: { contextName: 'c', clusterName: 'c', userName: 'u', server: 'https://203.0.113.7:6443', insecureSkipTlsVerify: false, auth: { type: 'token', token: 't' } },
    gitVersion: 'v1.30.4',
    kubeSystemUid: 'uid',
    nodes: [],
    ...over,
  };
  const client = { request: async () => ({ status: kubeadmConfig ? 200 : 404, body: {} }) } as unknown as MemberClient;
  return { facts, client };
}

const registry = new ProviderRegistry([new AwsEksProvider(), new AliyunAckProvider(), new KubeadmProvider(), new GenericProvider()]);
const detect = async (c: ProviderContext, requested?: string) => (await registry.pick(c, requested)).adapter.name;

describe('provider adapters', () => {
  it('detect EKS from the version string, node labels, providerID or endpoint', async () => {
    expect(await detect(ctx({ gitVersion: 'v1.30.4-eks-1a2b3c' }))).toBe('aws-eks');
    expect(await detect(ctx({ nodes: [{ name: 'n', labels: { 'eks.amazonaws.com/nodegroup': 'ng' } }] }))).toBe('aws-eks');
    expect(await detect(ctx({ nodes: [{ name: 'n', labels: {}, providerID: 'aws:///eu-west-1a/i-1' }] }))).toBe('aws-eks');
    const eksUrl = ctx();
    eksUrl.facts.resolved.server = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com';
    expect(await detect(eksUrl)).toBe('aws-eks');
  });

  it('detect ACK, kubeadm, and fall back to generic', async () => {
    expect(await detect(ctx({ gitVersion: 'v1.30.4-aliyun.1' }))).toBe('aliyun-ack');
    expect(await detect(ctx({ nodes: [{ name: 'n', labels: { 'alibabacloud.com/nodepool-id': 'np' } }] }))).toBe('aliyun-ack');
    expect(await detect(ctx({}, true))).toBe('kubeadm');
    expect(await detect(ctx())).toBe('generic');
  });

  it('let spec.provider override detection', async () => {
    const picked = await registry.pick(ctx({ gitVersion: 'v1.30.4-eks-1' }), 'generic');
    expect([picked.adapter.name, picked.detected]).toEqual(['generic', 'aws-eks']);
  });

  it('warn about private kubeadm addresses and the ACK internal endpoint, not about public ones', () => {
    const priv = ctx();
    priv.facts.resolved.server = 'https://10.0.0.5:6443';
    expect(new KubeadmProvider().describe(priv).warnings.join()).toMatch(/private or loopback/);
    expect(new AliyunAckProvider().describe(priv).warnings.join()).toMatch(/internal \(VPC\) endpoint/);
    const pub = ctx();
    pub.facts.resolved.auth = { type: 'clientCertificate', certData: 'c', keyData: 'k' };
    expect(new KubeadmProvider().describe(pub).warnings).toEqual([]);
    expect(new AliyunAckProvider().describe(pub).warnings).toEqual([]);
  });

  it('read zones and region from the nodes', () => {
    const c = ctx({ nodes: [
      { name: 'a', labels: { 'topology.kubernetes.io/zone': 'z2', 'topology.kubernetes.io/region': 'r' } },
      { name: 'b', labels: { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r' } },
      { name: 'c', labels: { 'topology.kubernetes.io/zone': 'z1' } },
    ] });
    expect(new GenericProvider().describe(c)).toMatchObject({ zones: ['z1', 'z2'], region: 'r' });
  });

  it('classify private hosts', () => {
    expect(['https://127.0.0.1:1', 'https://192.168.1.1', 'https://172.20.0.1', 'https://[fd12::1]:6443'].map(isPrivateHost)).toEqual([true, true, true, true]);
    expect(['https://172.32.0.1', 'https://8.8.8.8', 'https://api.example.com'].map(isPrivateHost)).toEqual([false, false, false]);
  });
});
