/** /readyz, /livez and /healthz (with `?verbose`), answering the cluster's injected health state. */
import type { ServerResponse } from 'node:http';
import type { HealthEndpoint, VirtualCluster } from '../cluster/cluster';
import { sendPageNotFound, sendText } from './wire';

const READYZ_CHECKS = [
  'ping', 'log', 'etcd', 'etcd-readiness', 'informer-sync', 'poststarthook/start-kube-apiserver-admission-initializer', 'poststarthook/generic-apiserver-start-informers',
  'poststarthook/priority-and-fairness-config-consumer', 'poststarthook/priority-and-fairness-filter', 'poststarthook/storage-object-count-tracker-hook', 'poststarthook/start-apiextensions-informers',
  'poststarthook/start-apiextensions-controllers', 'poststarthook/crd-informer-synced', 'poststarthook/bootstrap-controller', 'poststarthook/rbac/bootstrap-roles',
  'poststarthook/scheduling/bootstrap-system-priority-classes', 'poststarthook/priority-and-fairness-config-producer', 'poststarthook/start-cluster-authentication-info-controller',
  'poststarthook/start-kube-apiserver-identity-lease-controller', 'poststarthook/start-kube-apiserver-identity-lease-garbage-collector', 'poststarthook/start-legacy-token-tracking-controller',
  'poststarthook/start-kube-aggregator-informers', 'poststarthook/apiservice-registration-controller', 'poststarthook/apiservice-status-available-controller',
  'poststarthook/apiservice-wait-for-first-sync', 'poststarthook/kube-apiserver-autoregistration', 'autoregister-completion', 'poststarthook/apiservice-openapi-controller',
  'poststarthook/apiservice-openapiv3-controller', 'shutdown',
];

function healthBody(kind: HealthEndpoint, ok: boolean, verbose: boolean): string {
  const checks = kind === 'readyz' ? READYZ_CHECKS : READYZ_CHECKS.filter((c) => c !== 'etcd-readiness' && c !== 'informer-sync' && c !== 'shutdown');
  if (!verbose && ok) return 'ok';
  const lines = checks.map((c) => (c === 'etcd' && !ok ? '[-]etcd failed: reason withheld' : `[+]${c} ok`));
  return `${lines.join('\n')}\n${kind} check ${ok ? 'passed' : 'failed'}\n`;
}

/** Answers a health endpoint; false when `p` (without a trailing slash) is not one. */
export function serveHealth(c: VirtualCluster, res: ServerResponse, p: string, q: URLSearchParams): boolean {
  const health = p.slice(1).split('/')[0] as HealthEndpoint;
  if (health !== 'readyz' && health !== 'livez' && health !== 'healthz') return false;
  const h = c.health[health];
  if (h.notFound) sendPageNotFound(res);
  else sendText(res, h.ok ? 200 : 500, healthBody(health, h.ok, q.has('verbose')));
  return true;
}
