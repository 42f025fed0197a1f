import { FleetRole, IamResource, KUBESPHERE_IAM_GROUP, KUBESPHERE_IAM_VERSION } from '@flotilla/domain';
import type { ResourceKind } from '../../resources/resource-kind';
import { Json, isObject } from '../../resources/validation';
import { beginValidation } from './common';
import { validateSubjects } from './subjects';

const API_VERSION = `${KUBESPHERE_IAM_GROUP}/${KUBESPHERE_IAM_VERSION}`;
const ROLES = Object.values(FleetRole) as string[];

/**
 * GlobalRoleBinding, KubeSphere's shape: subjects (User, Group, Token) bound to one built-in
 * GlobalRole. As in Kubernetes RBAC, roleRef cannot change: delete the binding and create another.
 */
export function validateGlobalRoleBinding(obj: unknown, old?: Json): Json {
  const { causes, body, metadata, name } = beginValidation(obj, API_VERSION, 'GlobalRoleBinding', old);
  const subjects = validateSubjects(body.subjects, causes);
  const ref = isObject(body.roleRef) ? body.roleRef : undefined;
  let roleName = '';
  if (!ref) causes.required('roleRef', `Required value: {apiGroup: iam.kubesphere.io, kind: GlobalRole, name: ${ROLES.join(' | ')}}`);
  else {
    if (ref.apiGroup !== undefined && ref.apiGroup !== KUBESPHERE_IAM_GROUP) causes.notSupported('roleRef.apiGroup', ref.apiGroup, [KUBESPHERE_IAM_GROUP]);
    if (ref.kind !== undefined && ref.kind !== 'GlobalRole') causes.notSupported('roleRef.kind', ref.kind, ['GlobalRole']);
    if (typeof ref.name !== 'string' || ref.name === '') causes.required('roleRef.name', `Required value: one of ${ROLES.map((r) => `"${r}"`).join(', ')}`);
    else if (!ROLES.includes(ref.name)) causes.notSupported('roleRef.name', ref.name, ROLES);
    else roleName = ref.name;
  }
  const oldRef = old && isObject(old.roleRef) ? old.roleRef : undefined;
  if (oldRef && roleName !== '' && oldRef.name !== roleName) {
    causes.invalid('roleRef', { name: roleName }, 'cannot change roleRef: delete this binding and create a new one');
  }
  causes.throwIfAny('GlobalRoleBinding', name);
  return { apiVersion: API_VERSION, kind: 'GlobalRoleBinding', metadata, subjects, roleRef: { apiGroup: KUBESPHERE_IAM_GROUP, kind: 'GlobalRole', name: roleName } };
}

export const globalRoleBindingKind: ResourceKind = {
  group: KUBESPHERE_IAM_GROUP,
  version: KUBESPHERE_IAM_VERSION,
  kind: 'GlobalRoleBinding',
  listKind: 'GlobalRoleBindingList',
  plural: 'globalrolebindings',
  singular: 'globalrolebinding',
  shortNames: [],
  namespaced: false,
  storeKey: IamResource.globalRoleBindings,
  validate: validateGlobalRoleBinding,
  toApi: (obj) => obj,
};
