import { ClusterAccessBinding, LabelRequirement, MEMBER_ROLES, labelSelectorRequirements } from '@flotilla/domain';

/** A ClusterAccessBinding prepared for matching: the names as a set, the selector parsed once. */
export interface AccessRule {
  binding: string;
  role: ClusterAccessBinding['role'];
  /** The role's index in MEMBER_ROLES (0 is the strongest). */
  rank: number;
  clusters?: ReadonlySet<string>;
  /** undefined: no selector. `null`: a selector Flotilla cannot read, which matches nothing (fail closed). */
  selector?: LabelRequirement[] | null;
}


export function accessRule(name: string, b: ClusterAccessBinding): AccessRule {
  const clusters = Array.isArray(b.clusters) ? new Set(b.clusters.filter((c) => typeof c === 'string')) : undefined;
  return { binding: name, role: b.role, rank: MEMBER_ROLES.indexOf(b.role), clusters, selector: labelSelectorRequirements(b.clusterSelector) };
}
