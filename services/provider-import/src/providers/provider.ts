import type { MemberClient, MemberFacts } from '@flotilla/kube';

/** What an adapter sees: the facts the checks gathered, and a client for further questions. */
export interface ProviderContext {
  facts: MemberFacts;
  client: MemberClient;
}

export interface ProviderDescription {
  region?: string;
  zones: string[];
  warnings: string[];
}

/** One kind of cluster (kubeadm, ACK, EKS, ...): how to recognise it and what to say about it. */
export interface ProviderAdapter {
  readonly name: string;
  /** Recognises the provider from what the cluster itself shows (server URL, version, node labels). */
  detect(ctx: ProviderContext): Promise<boolean> | boolean;
  /** Whether the given kubeconfig should be replaced by a lasting service-account kubeconfig. */
  prefersServiceAccount(ctx: ProviderContext): boolean;
  describe(ctx: ProviderContext): ProviderDescription;
}

export const PROVIDER_ADAPTERS = Symbol('provider-import.adapters');

const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';

/** Zones and region from the nodes' topology labels. */
export function topology(ctx: ProviderContext): { region?: string; zones: string[] } {
  const zones = [...new Set(ctx.facts.nodes.map((n) => n.labels[ZONE]).filter((z): z is string => !!z))].sort();
  const region = ctx.facts.nodes.map((n) => n.labels[REGION]).find((r) => !!r);
  return { zones, ...(region ? { region } : {}) };
}

/** True for loopback and RFC 1918 / unique-local addresses: likely unreachable from elsewhere. */
export function isPrivateHost(server: string): boolean {
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return true;
  if (/^10\./.test(host) || /^192\.168\./.test(host)) return true;
  const m = /^172\.(\d+)\./.exec(host);
  if (m && Number(m[1]) >= 16 && Number(m[1]) <= 31) return true;
  return /^f[cd][0-9a-f]{2}:/i.test(host);
}
