import { ErrorReason, FlotillaError, FleetRole, MemberRole, Principal, placementSelects } from '@flotilla/domain';

/** The fleet as this replica knows it (the ClusterMirror implements it). */
export interface FleetView {
  names(): string[];
  labelsOf(cluster: string): Record<string, string> | undefined;
}
/** Roles of a caller (the gateway's Authorizer implements it). */
export interface RoleSource {
  fleetRoles(p: Principal): Set<FleetRole>;
  memberRole(p: Principal, cluster: string): MemberRole | undefined;
}

export const FEDERATION_FLEET = Symbol('gateway.federation.fleet');
export const FEDERATION_ROLES = Symbol('gateway.federation.roles');

/** What is being written, for the refusal message. */
export interface WriteAttributes {
  verb: string;
  group: string;
  resource: string;
  name: string;
  namespace: string;
}

const WRITER_ROLES: ReadonlySet<MemberRole | undefined> = new Set([MemberRole.admin, MemberRole.editor]);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Who may write a federated object (issue 15): fleet-admin, or a caller holding cluster-editor or
 * cluster-admin on every cluster its placement selects at that moment. On an update both the old
 * and the new placement count (moving an object off a cluster changes that cluster too); on a
 * delete, the stored one. Decided from memory (the Authorizer's cached roles, the fleet mirror).
 */
export class FederationWriteGuard {
  constructor(
    private readonly roles: RoleSource,
    private readonly fleet: FleetView,
  ) {}

  /** The clusters any of these placements selects now, by name. */
  selected(placements: readonly unknown[]): string[] {
    const usable = placements.filter(isObject) as Parameters<typeof placementSelects>[0][];
    if (usable.length === 0) return [];
    const out: string[] = [];
    for (const name of [...this.fleet.names()].sort()) {
      const cluster = { name, labels: this.fleet.labelsOf(name) ?? {} };
      if (usable.some((p) => placementSelects(p, cluster))) out.push(name);
    }
    return out;
  }

  /** Throws Forbidden (kube-apiserver's wording) naming the first selected cluster where the caller may not write. */
  check(p: Principal | undefined, a: WriteAttributes, placements: readonly unknown[]): void {
    if (!p) throw new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: send "Authorization: Bearer <token>"');
    if (this.roles.fleetRoles(p).has(FleetRole.admin)) return;
    for (const cluster of this.selected(placements)) {
      if (!WRITER_ROLES.has(this.roles.memberRole(p, cluster))) throw placementForbidden(p, a, cluster);
    }
  }
}

export function placementForbidden(p: Principal, a: WriteAttributes, cluster: string): FlotillaError {
  const what = a.group ? `${a.resource}.${a.group}` : a.resource;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : '';
  return new FlotillaError(
    ErrorReason.Forbidden,
    `${what} "${a.name}" is forbidden: User "${p.user}" cannot ${a.verb} resource "${a.resource}" in API group "${a.group}"${where}: ` +
      `its placement selects cluster "${cluster}", where ${MemberRole.editor} or ${MemberRole.admin} is required (ClusterAccessBinding)`,
    { name: a.name, group: a.group, kind: a.resource },
  );
}
