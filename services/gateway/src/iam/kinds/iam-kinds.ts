import type { ResourceKind } from '../../resources/resource-kind';
import { cascadeUserDeletion } from '../user-cascade';
import { clusterAccessBindingKind } from './cluster-access-binding';
import { globalRoleBindingKind } from './global-role-binding';
import { globalRoleKind } from './global-role';
import { tokenKind } from './token';
import { userKind } from './user';

/** Every IAM kind the gateway serves (issue 14). */
export function iamKinds(options: { tokenMaxTtlDays: number; now?: () => Date }): ResourceKind[] {
  return [
    userKind((name, ctx) => cascadeUserDeletion(ctx.store, name)),
    globalRoleKind,
    globalRoleBindingKind,
    tokenKind({ maxTtlDays: options.tokenMaxTtlDays, now: options.now }),
    clusterAccessBindingKind,
  ];
}
