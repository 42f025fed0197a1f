import { type Cluster, ClusterErrors, ErrorReason, FlotillaError, type MemberRole, type Principal } from '@flotilla/domain';
import { MEMBER_ROLE_ANNOTATION } from '@flotilla/kube';
import type { ClusterMirror } from '../fleet/cluster-mirror';
import { type RequestInfo, requestInfo } from '../http/request-info';
import { type ImpersonationRequest, type MemberIdentity, impersonationRefusal } from './proxy-headers';
import type { ProxyTarget } from './proxy-path';
import type { ProxyAuthorizer } from './proxy-ports';

/** Subresources that are protocol upgrades (exec, attach, port-forward): their audit verb is their name. */
export const UPGRADE_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

/** The annotation that turns impersonation off for one cluster (Flotilla's role check alone then applies). */
export const IMPERSONATION_ANNOTATION = 'proxy.flotilla.io/impersonation';

/** A request the proxy will forward: to which cluster, as whom, and what it asks for. */
export interface Admitted {
  cluster: Cluster;
  /** What the member request asks for, read as kube-apiserver reads it (http/request-info.ts). */
  attrs: RequestInfo;
  /** The verb recorded in the audit log (exec, attach, portforward for upgrades). */
  auditVerb: string;
  /** The Flotilla identity the request acts as (the caller, or whom a fleet-admin impersonates). */
  actingAs: Principal;
  role: MemberRole;
  identity: MemberIdentity;
}

const GROUP = 'cluster.kubesphere.io';
const forbidden = (cluster: string, message: string) => new FlotillaError(ErrorReason.Forbidden, message, { name: cluster, group: GROUP, kind: 'clusters' });

/**
 * The proxy's decisions before any byte goes to a member, in this order: the fleet is loaded
 * (503); the cluster exists (404); caller-supplied impersonation (fleet-admins only, never a
 * system: name); the caller's member role (403); the member is Ready (503, with its Ready reason);
 * with impersonation off, the role allows the request (403). Throws FlotillaErrors the edge maps
 * to Status answers; reads only memory.
 */
export class ProxyAdmission {
  constructor(
    private readonly mirror: Pick<ClusterMirror, 'get' | 'readiness' | 'isSynced'>,
    private readonly authorizer: ProxyAuthorizer,
  ) {}

  admit(principal: Principal, target: ProxyTarget, method: string, impersonation: ImpersonationRequest | undefined, upgrade: boolean): Admitted {
    const name = target.cluster;
    const attrs = requestInfo(method, target.memberPath);
    if (attrs.subresource === 'proxy' || attrs.verb === 'proxy') {
      throw new FlotillaError(ErrorReason.BadRequest, `the proxied path asks for the ${attrs.resource}/proxy subresource: Flotilla does not chain proxies into a member's services, pods or nodes`);
    }
    if (!this.mirror.isSynced) throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the gateway is still loading the fleet from the registry: retry in a few seconds', { retryAfterSeconds: 1 });
    const cluster = this.mirror.get(name);
    if (!cluster) throw ClusterErrors.notFound(name);

    const actingAs = this.actingAs(principal, name, impersonation);
    const upgradeVerb = upgrade && attrs.subresource && UPGRADE_SUBRESOURCES.has(attrs.subresource) ? attrs.subresource : undefined;
    const auditVerb = upgradeVerb ?? attrs.verb;
    const role = this.authorizer.memberRole(actingAs, name);
    if (!role) throw forbidden(name, `user "${actingAs.user}" cannot ${auditVerb} clusters/proxy "${name}": no ClusterAccessBinding gives them a role on this cluster`);

    const readiness = this.mirror.readiness(name)!;
    if (!readiness.ready) {
      throw new FlotillaError(ErrorReason.ServiceUnavailable, `cluster "${name}" is not Ready (${readiness.reason}): ${readiness.message}`, { name, group: GROUP, kind: 'clusters', retryAfterSeconds: 10 });
    }
    const annotations = cluster.metadata.annotations ?? {};
    if (annotations[IMPERSONATION_ANNOTATION] !== 'off') return { cluster, attrs, auditVerb, actingAs, role, identity: { impersonate: true, user: actingAs.user, role } };

    // Impersonation off: Flotilla acts with its own rights, so they must be wide enough by an explicit choice.
    if (annotations[MEMBER_ROLE_ANNOTATION] !== 'cluster-admin') {
      throw forbidden(
        name,
        `cluster "${name}" has ${IMPERSONATION_ANNOTATION}: "off" but Flotilla's identity in it holds only its minimal role: without impersonation Flotilla would act with its own rights, which must be granted by the explicit choice ${MEMBER_ROLE_ANNOTATION}: cluster-admin (or remove ${IMPERSONATION_ANNOTATION})`,
      );
    }
    const allowed = attrs.resourceRequest
      ? this.authorizer.memberAllows(role, { verb: upgradeVerb ? 'create' : attrs.verb, group: attrs.group, resource: attrs.resource, ...(attrs.subresource ? { subresource: attrs.subresource } : {}) })
      : // Discovery, version, OpenAPI and health: readable by every role (as system:discovery gives every authenticated user); other non-resource writes only by cluster-admin.
        method === 'GET' || method === 'HEAD' || role === 'cluster-admin';
    if (!allowed) {
      const what = attrs.resourceRequest ? `${attrs.resource}${attrs.subresource ? `/${attrs.subresource}` : ''}${attrs.group ? `.${attrs.group}` : ''}` : `path ${target.pathname}`;
      throw forbidden(name, `user "${actingAs.user}" (${role}) cannot ${auditVerb} ${what} in cluster "${name}" (impersonation is off for this cluster, so Flotilla's role check applies)`);
    }
    return { cluster, attrs, auditVerb, actingAs, role, identity: { impersonate: false } };
  }

  /** The caller, or the Flotilla user a fleet-admin acts as with Impersonate-User (kubectl --as). */
  private actingAs(principal: Principal, cluster: string, requested: ImpersonationRequest | undefined): Principal {
    if (!requested) return principal;
    const admin = this.authorizer.fleet(principal, { verb: 'impersonate', group: '', resource: 'users' }).allowed;
    if (!admin) {
      throw forbidden(cluster, `user "${principal.user}" sent Impersonate-* headers, which the Flotilla proxy accepts only from a fleet-admin: Flotilla sends the member your own identity`);
    }
    const refusal = impersonationRefusal(requested);
    if (refusal) throw new FlotillaError(ErrorReason.Forbidden, refusal.message, { name: cluster, group: GROUP, kind: 'clusters' });
    return { user: requested.user!, groups: requested.groups, via: principal.via };
  }
}
