import { ErrorReason, FLOTILLA_IAM_GROUP, FLOTILLA_IAM_VERSION, FlotillaError, IamResource, TOKEN_HASH_ANNOTATION, newTokenSecret } from '@flotilla/domain';
import type { KindContext, PreparedCreate, ResourceKind } from '../../resources/resource-kind';
import { Causes, Json, isObject, optionalString, parseTimestamp } from '../../resources/validation';
import { beginValidation, specOf, statusOf } from './common';
import { subjectNameErrors } from './subjects';

const API_VERSION = `${FLOTILLA_IAM_GROUP}/${FLOTILLA_IAM_VERSION}`;
const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_TOKEN_TTL_DAYS = 90;
/** The user a Token may name without a User object: the bootstrap identity. */
const ADMIN_USER = 'admin';

export interface TokenKindOptions {
  maxTtlDays: number;
  now?: () => Date;
}

const metaOf = (obj: Json): Json => (isObject(obj.metadata) ? obj.metadata : {});

/** The stored Token as the API shows it: never the secret's hash, never a secret. */
export function tokenToApi(obj: Json): Json {
  const meta = metaOf(obj);
  const annotations = isObject(meta.annotations) ? { ...meta.annotations } : undefined;
  if (annotations) delete annotations[TOKEN_HASH_ANNOTATION];
  const status = statusOf(obj);
  const { secret: _secret, ...shownStatus } = status;
  const out: Json = { ...obj, metadata: { ...meta } };
  if (annotations && Object.keys(annotations).length > 0) (out.metadata as Json).annotations = annotations;
  else delete (out.metadata as Json).annotations;
  if (obj.status !== undefined) out.status = shownStatus;
  return out;
}

/**
 * Token: a named bearer credential of a user. The server makes the name and the secret
 * (`flt_<name>_<secret>`); the answer to the POST carries the secret once, and the store keeps
 * only its sha256 in an annotation the API never shows. Only spec.description may change later
 * (and labels and annotations): anything else means a new token.
 */
export function tokenValidator(options: TokenKindOptions) {
  const now = options.now ?? (() => new Date());
  return function validateToken(obj: unknown, old?: Json): Json {
    const { causes, body, metadata } = beginValidation(obj, API_VERSION, 'Token', old, { generatedName: true });
    const sentMeta = metaOf(body);
    if (!old && ((typeof sentMeta.name === 'string' && sentMeta.name !== '') || (typeof sentMeta.generateName === 'string' && sentMeta.generateName !== ''))) {
      causes.forbidden('metadata.name', 'token names are made by the server (the secret carries the name): leave metadata.name and generateName out, and use spec.description to say what the token is for');
    }
    const annotations = isObject(metadata.annotations) ? { ...(metadata.annotations as Record<string, string>) } : undefined;
    if (annotations && TOKEN_HASH_ANNOTATION in annotations) {
      if (!old) causes.forbidden(`metadata.annotations[${TOKEN_HASH_ANNOTATION}]`, 'is set by the server only');
      delete annotations[TOKEN_HASH_ANNOTATION];
    }
    const spec = specOf(body);
    if (body.spec !== undefined && !isObject(body.spec)) causes.invalid('spec', body.spec, 'must be an object');
    const description = optionalString(spec.description, 'spec.description', causes, 1024);
    const out = old ? updatedSpec(spec, specOf(old), causes) : createdSpec(spec, causes, now(), options.maxTtlDays);
    if (description) out.description = description;
    else delete out.description;
    causes.throwIfAny('Token', typeof metadata.name === 'string' ? metadata.name : undefined);

    // The hash stays as stored: no client writes it, and it never leaves the gateway.
    const hash = old ? (metaOf(old).annotations as Record<string, string> | undefined)?.[TOKEN_HASH_ANNOTATION] : undefined;
    const merged = { ...(annotations ?? {}), ...(hash ? { [TOKEN_HASH_ANNOTATION]: hash } : {}) };
    const meta: Json = { ...metadata };
    if (Object.keys(merged).length > 0) meta.annotations = merged;
    else delete meta.annotations;
    const oldStatus = old ? statusOf(old) : {};
    const status = typeof oldStatus.lastUsedTime === 'string' ? { status: { lastUsedTime: oldStatus.lastUsedTime } } : {};
    return { apiVersion: API_VERSION, kind: 'Token', metadata: meta, spec: out, ...status };
  };
}

function createdSpec(spec: Json, causes: Causes, now: Date, maxTtlDays: number): Json {
  const out: Json = {};
  if (typeof spec.user !== 'string' || spec.user === '') causes.required('spec.user', 'Required value: the name of the User this token signs in as');
  else {
    const errors = spec.user === ADMIN_USER ? [] : subjectNameErrors('User', spec.user);
    if (spec.user.startsWith('oidc:')) errors.push('OIDC users sign in with their identity provider; tokens are for Flotilla users (and admin)');
    for (const e of errors) causes.invalid('spec.user', spec.user, e);
    out.user = spec.user;
  }
  const max = new Date(now.getTime() + maxTtlDays * DAY_MS);
  if (spec.expirationTimestamp === undefined || spec.expirationTimestamp === null || spec.expirationTimestamp === '') {
    out.expirationTimestamp = new Date(now.getTime() + Math.min(DEFAULT_TOKEN_TTL_DAYS, maxTtlDays) * DAY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  } else if (typeof spec.expirationTimestamp !== 'string' || !parseTimestamp(spec.expirationTimestamp)) {
    causes.invalid('spec.expirationTimestamp', spec.expirationTimestamp, 'must be an RFC 3339 time, e.g. "2030-01-31T00:00:00Z"');
  } else {
    const at = parseTimestamp(spec.expirationTimestamp)!;
    if (at.getTime() <= now.getTime()) causes.invalid('spec.expirationTimestamp', spec.expirationTimestamp, 'must be in the future');
    else if (at.getTime() > max.getTime()) causes.invalid('spec.expirationTimestamp', spec.expirationTimestamp, `must be at most ${maxTtlDays} days from now (before ${max.toISOString()}); FLOTILLA_TOKEN_MAX_TTL_DAYS sets the limit`);
    else out.expirationTimestamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  const purpose = optionalString(spec.purpose, 'spec.purpose', causes, 253);
  if (purpose) out.purpose = purpose;
  return out;
}

/** On update only the description may change: every other field must be left out or sent unchanged. */
function updatedSpec(spec: Json, old: Json, causes: Causes): Json {
  for (const field of ['user', 'expirationTimestamp', 'purpose']) {
    if (spec[field] !== undefined && spec[field] !== null && spec[field] !== old[field]) {
      causes.forbidden(`spec.${field}`, 'only spec.description of a token may change: create a new token (and delete this one) for another user or expiry');
    }
  }
  const out: Json = {};
  for (const field of ['user', 'expirationTimestamp', 'purpose']) if (old[field] !== undefined) out[field] = old[field];
  return out;
}

/** Names the token and keeps its secret's hash; the secret itself goes only into this one answer. */
function prepareToken(obj: Json): PreparedCreate {
  const minted = newTokenSecret();
  const meta = metaOf(obj);
  const annotations = { ...((meta.annotations as Record<string, string> | undefined) ?? {}), [TOKEN_HASH_ANNOTATION]: minted.sha256 };
  return {
    object: { ...obj, metadata: { ...meta, name: minted.name, annotations } },
    reveal: (shown) => ({ ...shown, status: { ...statusOf(shown), secret: minted.secret } }),
  };
}

/** A token signs in as an existing User (or the bootstrap admin). */
async function admitToken(obj: Json, old: Json | undefined, ctx: KindContext): Promise<void> {
  if (old) return;
  const user = String(specOf(obj).user);
  if (user === ADMIN_USER) return;
  try {
    await ctx.store.get(IamResource.users, user);
  } catch (error) {
    if (!(error instanceof FlotillaError) || error.reason !== ErrorReason.NotFound) throw error;
    const causes = new Causes();
    causes.invalid('spec.user', user, `no such user: create it first (POST /apis/iam.kubesphere.io/v1beta1/users), or name "${ADMIN_USER}"`);
    causes.throwIfAny('Token', undefined);
  }
}

export function tokenKind(options: TokenKindOptions): ResourceKind {
  return {
    group: FLOTILLA_IAM_GROUP,
    version: FLOTILLA_IAM_VERSION,
    kind: 'Token',
    listKind: 'TokenList',
    plural: 'tokens',
    singular: 'token',
    shortNames: [],
    namespaced: false,
    storeKey: IamResource.tokens,
    validate: tokenValidator(options),
    toApi: tokenToApi,
    prepareCreate: prepareToken,
    admit: admitToken,
  };
}
