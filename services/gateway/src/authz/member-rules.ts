import { MemberRole } from '@flotilla/domain';

/**
 * What a member role allows when Flotilla alone decides (impersonation off for that cluster).
 * With impersonation on, the member's own RBAC decides with the bound admin/edit/view roles, and
 * this is not consulted. The rules follow Kubernetes' built-in admin, edit and view ClusterRoles,
 * simplified so they can be stated in a few lines (and checked without the member's RBAC):
 *
 * - cluster-admin: everything (as the member's cluster-admin).
 * - cluster-editor (like `edit`): every read; every write (create, update, patch, delete,
 *   deletecollection) and exec, attach, port-forward and proxy, except:
 *     - anything in rbac.authorization.k8s.io (no granting of rights: roles and bindings are read-only);
 *     - the verbs impersonate, escalate, bind, approve and sign (no becoming or minting someone else);
 *     - writes to cluster-wide infrastructure: namespaces, nodes, persistentvolumes, storageclasses,
 *       priorityclasses, CRDs, admission webhooks, APIServices, certificate signing requests.
 * - cluster-viewer (like `view`): get, list and watch, except:
 *     - Secrets (view excludes them: they hold credentials);
 *     - the subresources that run code or open a channel, even on GET (kubectl exec over WebSocket
 *       is a GET of pods/exec): exec, attach, portforward, proxy; and serviceaccounts/token.
 * - Non-resource requests (discovery, /version, /openapi, /healthz...): get for every role.
 */
const READS = new Set(['get', 'list', 'watch']);
const EDITOR_FORBIDDEN_VERBS = new Set(['impersonate', 'escalate', 'bind', 'approve', 'sign']);
const VIEWER_FORBIDDEN_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy', 'token']);
/** `<group>/<resource>` of cluster-wide infrastructure an editor may read but not change. */
const INFRASTRUCTURE = new Set([
  '/namespaces',
  '/nodes',
  '/persistentvolumes',
  'storage.k8s.io/storageclasses',
  'scheduling.k8s.io/priorityclasses',
  'apiextensions.k8s.io/customresourcedefinitions',
  'admissionregistration.k8s.io/mutatingwebhookconfigurations',
  'admissionregistration.k8s.io/validatingwebhookconfigurations',
  'admissionregistration.k8s.io/validatingadmissionpolicies',
  'admissionregistration.k8s.io/validatingadmissionpolicybindings',
  'apiregistration.k8s.io/apiservices',
  'certificates.k8s.io/certificatesigningrequests',
]);

export interface MemberAttributes {
  verb: string;
  group: string;
  /** Empty for a non-resource request. */
  resource: string;
  subresource?: string;
}

export function memberAllows(role: MemberRole, a: MemberAttributes): boolean {
  if (role === MemberRole.admin) return true;
  if (a.resource === '') return a.verb === 'get';
  if (role === MemberRole.editor) {
    if (EDITOR_FORBIDDEN_VERBS.has(a.verb)) return false;
    if (READS.has(a.verb) && !a.subresource) return true;
    if (a.group === 'rbac.authorization.k8s.io') return false;
    // Writes to a subresource of infrastructure (nodes/status, namespaces/finalize) count as writes to it.
    if (INFRASTRUCTURE.has(`${a.group}/${a.resource}`) && !(READS.has(a.verb) && a.subresource !== 'proxy')) return false;
    return true;
  }
  if (role === MemberRole.viewer) {
    if (!READS.has(a.verb)) return false;
    if (a.group === '' && a.resource === 'secrets') return false;
    return a.subresource === undefined || !VIEWER_FORBIDDEN_SUBRESOURCES.has(a.subresource);
  }
  return false;
}
