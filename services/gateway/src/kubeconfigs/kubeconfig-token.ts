import type { ObjectStore } from '@flotilla/clients';
import {
  ErrorReason,
  FLOTILLA_IAM_GROUP,
  FLOTILLA_IAM_VERSION,
  FlotillaError,
  IamResource,
  TOKEN_HASH_ANNOTATION,
  newTokenSecret,
  type Principal,
  type Token,
} from '@flotilla/domain';

/** Set on every Token minted for a kubeconfig (spec.purpose), so listings tell them apart. */
export const KUBECONFIG_PURPOSE = 'kubeconfig';

const ADMIN_REFUSAL = 'create a user and a token: the admin token is never written into a kubeconfig';

/** Kubernetes timestamps: seconds precision, UTC. */
const timestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

const OIDC_REFUSAL =
  'a kubeconfig with a minted token is for Flotilla users: an OIDC user keeps logging in through the identity provider; use GET .../clusters/{name}/kubeconfig (a template without a secret) with your OIDC token as its user credential';

/**
 * Who a kubeconfig may be minted for: any authenticated Flotilla user, never the bootstrap admin
 * (its token is for the first login and emergencies, and a kubeconfig is a file that travels), and
 * not an OIDC caller: a Flotilla token would outlive the identity provider's decision and lose the
 * caller's groups, so OIDC users present their identity provider's token instead.
 */
export function kubeconfigOwner(principal: Principal | undefined): Principal {
  if (!principal) throw new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: send a bearer token');
  if (principal.via === 'admin-token') throw new FlotillaError(ErrorReason.Forbidden, ADMIN_REFUSAL);
  if (principal.via === 'oidc') throw new FlotillaError(ErrorReason.Forbidden, OIDC_REFUSAL);
  return principal;
}

/**
 * A token minted from a token lives no longer than the token that minted it: a leaked short-lived
 * token must not be turned into a year-long one.
 */
async function expiryCap(store: ObjectStore, principal: Principal): Promise<Date | undefined> {
  if (!principal.tokenId) return undefined;
  const presented = (await store.get(IamResource.tokens, principal.tokenId)).object as unknown as Token;
  const expires = presented.spec?.expirationTimestamp;
  return expires ? new Date(expires) : undefined;
}

export interface MintedToken {
  name: string;
  secret: string;
  expirationTimestamp: string;
  /** The stored Token's resourceVersion, for waiting until the IAM mirror has it. */
  resourceVersion: string;
}

/**
 * Creates the caller's Token in the object store, in the stored form of the Token kind (secret
 * only as its sha256 in TOKEN_HASH_ANNOTATION), listed and revocable like any other token.
 * Returns the secret: it goes into the kubeconfig and nowhere else.
 */
export async function mintKubeconfigToken(
  store: ObjectStore,
  principal: Principal,
  request: { expirationSeconds: number; description: string },
  now: Date = new Date(),
): Promise<MintedToken> {
  let expires = new Date(now.getTime() + request.expirationSeconds * 1000);
  const cap = await expiryCap(store, principal);
  if (cap && cap < expires) expires = cap;
  if (expires <= now) throw new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: the token you presented has expired');
  const { name, secret, sha256 } = newTokenSecret();
  const token: Token = {
    apiVersion: `${FLOTILLA_IAM_GROUP}/${FLOTILLA_IAM_VERSION}` as Token['apiVersion'],
    kind: 'Token',
    metadata: { name, annotations: { [TOKEN_HASH_ANNOTATION]: sha256 } },
    spec: { user: principal.user, description: request.description, expirationTimestamp: timestamp(expires), purpose: KUBECONFIG_PURPOSE },
  };
  const stored = await store.create(IamResource.tokens, token as unknown as Record<string, unknown>);
  return { name, secret, expirationTimestamp: token.spec.expirationTimestamp!, resourceVersion: stored.resourceVersion };
}
