export { checkServerAddress, kubeconfigError, parseKubeconfig } from './kubeconfig/kubeconfig';
export type { KubeAuth, KubeconfigPolicy, ResolvedKubeconfig } from './kubeconfig/kubeconfig';
