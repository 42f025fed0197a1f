/**
 * What makes a cluster look like kubeadm, EKS or ACK: version suffixes, regions, default nodes,
 * provider labels and IDs on Node objects, and the ConfigMap each flavour leaves in kube-system.
 */
import { type JsonObject } from '@flotilla/apply';
import { randomBytes } from 'node:crypto';

export type Flavour = 'kubeadm' | 'eks' | 'ack';

export interface NodeSpec {
  name: string;
  zone: string;
  region: string;
  instanceType?: string;
}

/** The parts of a cluster its flavour's objects are made from. */
export interface FlavourIdentity {
  readonly name: string;
  readonly flavour: Flavour;
  readonly region: string;
  readonly gitVersion: string;
  readonly nodes: readonly NodeSpec[];
}

const REGIONS: Record<Flavour, string[]> = {
  kubeadm: ['dc-1', 'dc-2'],
  eks: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  ack: ['cn-hangzhou', 'cn-beijing', 'cn-shanghai'],
};

/** `n` random hex digits. */
export function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

export function randomRegion(flavour: Flavour): string {
  return REGIONS[flavour][Math.floor(Math.random() * REGIONS[flavour].length)];
}

export function flavourVersion(flavour: Flavour, version: string | undefined): string {
  const base = version ?? 'v1.30.4';
  if (flavour === 'eks' && !base.includes('-eks-')) return `${base}-eks-${hex(7)}`;
  if (flavour === 'ack' && !base.includes('-aliyun')) return `${base}-aliyun.1`;
  return base;
}

export function defaultNodes(flavour: Flavour, region: string, clusterName: string): NodeSpec[] {
  const zones = ['a', 'b', 'c'];
  return zones.slice(0, 2).map((z, i) => ({
    name: flavour === 'eks' ? `ip-10-0-${i + 1}-${10 + i}.${region}.compute.internal` : flavour === 'ack' ? `${region}.10.0.${i + 1}.${10 + i}` : `${clusterName}-${i === 0 ? 'control-plane' : `worker-${i}`}`,
    zone: flavour === 'ack' ? `${region}-${String.fromCharCode(104 + i)}` : `${region}${z}`,
    region,
    instanceType: flavour === 'eks' ? 'm5.large' : flavour === 'ack' ? 'ecs.g7.xlarge' : undefined,
  }));
}

/** The kube-system ConfigMap a flavour's installer leaves behind, and the manager that wrote it. */
export function flavourConfigMap(c: FlavourIdentity): { object: JsonObject; manager: string } {
  if (c.flavour === 'kubeadm') {
    const [major, minor, patch] = c.gitVersion.replace(/^v/, '').split(/[.-]/);
    return {
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
        data: {
          ClusterConfiguration: `apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta3\nclusterName: ${c.name}\ncontrollerManager: {}\ndns: {}\netcd:\n  local:\n    dataDir: /var/lib/etcd\nkind: ClusterConfiguration\nkubernetesVersion: v${major}.${minor}.${patch}\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\n`,
        },
      },
      manager: 'kubeadm',
    };
  }
  if (c.flavour === 'eks') {
    return { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles: `- rolearn: arn:aws:iam::123456789012:role/${c.name}-nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n` } }, manager: 'eks' };
  }
  return { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ack-cluster-profile', namespace: 'kube-system' }, data: { clusterid: `c${hex(32)}`, 'cluster-type': 'ManagedKubernetes', region: c.region } }, manager: 'ack' };
}

export function nodeObject(c: FlavourIdentity, n: NodeSpec): JsonObject {
  const labels: JsonObject = {
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'topology.kubernetes.io/zone': n.zone,
    'topology.kubernetes.io/region': n.region,
    'failure-domain.beta.kubernetes.io/zone': n.zone,
    'failure-domain.beta.kubernetes.io/region': n.region,
  };
  let providerID: string | undefined;
  if (c.flavour === 'eks') {
    labels['eks.amazonaws.com/nodegroup'] = `${c.name}-ng`;
    labels['eks.amazonaws.com/capacityType'] = 'ON_DEMAND';
    labels['node.kubernetes.io/instance-type'] = n.instanceType ?? 'm5.large';
    providerID = `aws:///${n.zone}/i-0${hex(16)}`;
  } else if (c.flavour === 'ack') {
    labels['alibabacloud.com/nodepool-id'] = `np${hex(32)}`;
    labels['node.kubernetes.io/instance-type'] = n.instanceType ?? 'ecs.g7.xlarge';
    providerID = `${n.region}.i-${hex(20)}`;
  } else if (c.nodes[0] === n) {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
  }
  const kubelet = c.gitVersion;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
    spec: providerID ? { providerID } : {},
    status: {
      capacity: { cpu: '2', memory: '8010152Ki', pods: '110', 'ephemeral-storage': '81106868Ki' },
      allocatable: { cpu: '1930m', memory: '7172520Ki', pods: '110', 'ephemeral-storage': '74748094778' },
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      addresses: [
        { type: 'InternalIP', address: `10.0.${c.nodes.indexOf(n) + 1}.10` },
        { type: 'Hostname', address: n.name },
      ],
      nodeInfo: {
        kubeletVersion: kubelet,
        kubeProxyVersion: kubelet,
        osImage: c.flavour === 'eks' ? 'Amazon Linux 2023' : c.flavour === 'ack' ? 'Alibaba Cloud Linux 3' : 'Ubuntu 22.04.4 LTS',
        kernelVersion: '6.1.0-18-amd64',
        containerRuntimeVersion: 'containerd://1.7.13',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}
