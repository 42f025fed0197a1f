import { IamResource, KUBESPHERE_IAM_GROUP, KUBESPHERE_IAM_VERSION } from '@flotilla/domain';
import type { ResourceKind } from '../../resources/resource-kind';
import { Causes, Json, isObject, optionalString } from '../../resources/validation';
import { beginValidation, specOf, statusOf } from './common';
import { subjectNameErrors } from './subjects';

const API_VERSION = `${KUBESPHERE_IAM_GROUP}/${KUBESPHERE_IAM_VERSION}`;
const STATES = ['Active', 'Disabled'] as const;
const MAX_GROUPS = 100;
/** Names a User may not take: the bootstrap identity is `admin` and always fleet-admin. */
const RESERVED = new Set(['admin']);

function validateGroups(value: unknown, causes: Causes): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    causes.invalid('spec.groups', value, 'must be a list of group names');
    return undefined;
  }
  if (value.length > MAX_GROUPS) {
    causes.tooMany('spec.groups', MAX_GROUPS);
    return undefined;
  }
  const groups: string[] = [];
  value.forEach((g: unknown, i: number) => {
    if (typeof g !== 'string' || g === '') return causes.invalid(`spec.groups[${i}]`, g, 'must be a non-empty string');
    const errors = subjectNameErrors('Group', g);
    for (const e of errors) causes.invalid(`spec.groups[${i}]`, g, e);
    if (errors.length === 0 && !groups.includes(g)) groups.push(g);
  });
  return groups;
}

/**
 * User, KubeSphere's iam.kubesphere.io/v1beta1 shape. Flotilla users sign in with Tokens or OIDC,
 * never a password, so spec.password is refused rather than stored. status.state may be set to
 * Disabled (the authenticator refuses a disabled user's tokens); lastLoginTime is the server's.
 */
export function validateUser(obj: unknown, old?: Json): Json {
  const { causes, body, metadata, name } = beginValidation(obj, API_VERSION, 'User', old);
  if (!old && name !== undefined && RESERVED.has(name)) {
    causes.forbidden('metadata.name', `"${name}" is reserved for the bootstrap admin token; choose another name`);
  }
  const spec = specOf(body);
  if (body.spec !== undefined && !isObject(body.spec)) causes.invalid('spec', body.spec, 'must be an object');
  if (spec.password !== undefined && spec.password !== null && spec.password !== '') {
    causes.forbidden('spec.password', 'Flotilla users have no password: they sign in with a Token (POST /apis/iam.flotilla.io/v1alpha1/tokens) or OIDC');
  }
  const out: Json = {};
  const email = optionalString(spec.email, 'spec.email', causes, 254);
  if (email !== undefined && email !== '' && !/^[^\s@]+@[^\s@]+$/.test(email)) causes.invalid('spec.email', email, 'must be an e-mail address, e.g. "alice@example.com"');
  if (email) out.email = email;
  const displayName = optionalString(spec.displayName, 'spec.displayName', causes, 256);
  if (displayName) out.displayName = displayName;
  const description = optionalString(spec.description, 'spec.description', causes, 1024);
  if (description) out.description = description;
  const lang = optionalString(spec.lang, 'spec.lang', causes, 32);
  if (lang) out.lang = lang;
  const groups = validateGroups(spec.groups, causes);
  if (groups) out.groups = groups;

  const status = statusOf(body);
  let state: string = 'Active';
  if (status.state !== undefined && status.state !== null && status.state !== '') {
    if (typeof status.state !== 'string' || !(STATES as readonly string[]).includes(status.state)) causes.notSupported('status.state', status.state, STATES);
    else state = status.state;
  }
  causes.throwIfAny('User', name);
  const oldStatus = old ? statusOf(old) : {};
  const lastLoginTime = typeof oldStatus.lastLoginTime === 'string' ? { lastLoginTime: oldStatus.lastLoginTime } : {};
  return { apiVersion: API_VERSION, kind: 'User', metadata, spec: out, status: { state, ...lastLoginTime } };
}

export function userKind(cascade: ResourceKind['cascadeDelete']): ResourceKind {
  return {
    group: KUBESPHERE_IAM_GROUP,
    version: KUBESPHERE_IAM_VERSION,
    kind: 'User',
    listKind: 'UserList',
    plural: 'users',
    singular: 'user',
    shortNames: [],
    namespaced: false,
    storeKey: IamResource.users,
    validate: validateUser,
    toApi: (obj) => obj,
    cascadeDelete: cascade,
  };
}
