import { ClusterCondition, CredentialConditionReason, CredentialConditionType } from '@flotilla/domain';
import { MemberRoleChoice, describeMemberRole } from '@flotilla/kube';

/** The MemberRole condition: which rights Flotilla's identity holds in the member (ADR 0029). */
export function memberRoleCondition(choice: MemberRoleChoice): ClusterCondition {
  return {
    type: CredentialConditionType.MemberRole,
    status: 'True',
    reason: choice === 'cluster-admin' ? CredentialConditionReason.ClusterAdmin : CredentialConditionReason.MinimalRole,
    message: describeMemberRole(choice),
  };
}
