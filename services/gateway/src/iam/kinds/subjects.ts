import type { Subject, SubjectKind } from '@flotilla/domain';
import { Causes, Json, dns1123SubdomainErrors, isObject } from '../../resources/validation';

const SUBJECT_KINDS: readonly SubjectKind[] = ['User', 'Group', 'Token'];
export const MAX_SUBJECTS = 1000;
const MAX_SUBJECT_NAME = 512;
/** A Token's name, as newTokenSecret makes it (and tokenNameOf reads it). */
const TOKEN_NAME = /^[a-z0-9]{8,40}$/;

/**
 * Problems with one subject's name. Users are Flotilla users (DNS subdomain names), `admin` (the
 * bootstrap identity) or `oidc:<claim>` (OIDC callers, prefixed so an identity provider cannot claim
 * a Flotilla name); groups are free-form but printable. `system:` names are Kubernetes' own and are
 * never Flotilla subjects: they would be impersonated into members as is.
 */
export function subjectNameErrors(kind: SubjectKind, name: string): string[] {
  if (name.length > MAX_SUBJECT_NAME) return [`must be no more than ${MAX_SUBJECT_NAME} characters`];
  if (name.toLowerCase().startsWith('system:')) return ['"system:" names are reserved for Kubernetes and cannot be bound in Flotilla'];
  if (/[\u0000-\u001f\u007f]/.test(name) || name.trim() !== name) return ['must be printable, without leading or trailing spaces or control characters'];
  switch (kind) {
    case 'Token':
      return TOKEN_NAME.test(name) ? [] : ['must be the name of a Token (metadata.name of iam.flotilla.io/v1alpha1 tokens, e.g. "t3f9a...")'];
    case 'User':
      if (name === 'admin' || (name.startsWith('oidc:') && name.length > 5)) return [];
      return dns1123SubdomainErrors(name).map((e) => `${e}; or "oidc:<name>" for a user of the identity provider`);
    case 'Group':
      return name === '' ? ['must not be empty'] : [];
  }
}

/** Checks `subjects` (non-empty, no duplicates, each a known kind and name) and returns them as stored: {kind, name}. */
export function validateSubjects(value: unknown, causes: Causes, field = 'subjects'): Subject[] {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    causes.required(field, 'Required value: bind at least one subject ({kind: User|Group|Token, name})');
    return [];
  }
  if (!Array.isArray(value)) {
    causes.invalid(field, value, 'must be a list of subjects ({kind: User|Group|Token, name})');
    return [];
  }
  if (value.length > MAX_SUBJECTS) {
    causes.tooMany(field, MAX_SUBJECTS);
    return [];
  }
  const out: Subject[] = [];
  const seen = new Set<string>();
  value.forEach((raw: unknown, i: number) => {
    const at = `${field}[${i}]`;
    if (!isObject(raw)) {
      causes.invalid(at, raw, 'must be an object {kind, name}');
      return;
    }
    const s = raw as Json;
    if (typeof s.kind !== 'string' || !(SUBJECT_KINDS as readonly string[]).includes(s.kind)) {
      causes.notSupported(`${at}.kind`, s.kind, SUBJECT_KINDS);
      return;
    }
    if (typeof s.name !== 'string' || s.name === '') {
      causes.required(`${at}.name`);
      return;
    }
    const kind = s.kind as SubjectKind;
    const errors = subjectNameErrors(kind, s.name);
    for (const e of errors) causes.invalid(`${at}.name`, s.name, e);
    if (errors.length > 0) return;
    const key = `${kind}/${s.name}`;
    if (seen.has(key)) {
      causes.list.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify({ kind, name: s.name })}`, field: at });
      return;
    }
    seen.add(key);
    out.push({ kind, name: s.name });
  });
  return out;
}
