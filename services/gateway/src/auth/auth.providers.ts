import type { Provider } from '@nestjs/common';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { IamMirror } from '../iam/iam-mirror';
import { CHANGE_FEED, ChangeFeed } from '../resources/change-feed';
import { Authorizer, CLUSTER_LABELS, ClusterLabelSource } from '../authz/authorizer';
import { AuthConfig, oidcSettings } from './auth-config';
import { Authenticator } from './authenticator';
import { OidcVerifier } from './oidc-verifier';

export const IAM_MIRROR = Symbol('gateway.iam-mirror');
export const AUTHENTICATOR = Symbol('gateway.authenticator');
export const AUTHORIZER = Symbol('gateway.authorizer');
/** The admin token, given by main.ts from the environment (it never enters the shown config). */
export const ADMIN_TOKEN = Symbol('gateway.admin-token');

/**
 * The gateway's identity providers. The mirror follows the change feed from start; the gateway is
 * not ready (readyz) until it holds every user, token and binding, so a load balancer never sends
 * a request to a replica that would refuse everyone for lack of data.
 */
export const authProviders: Provider[] = [
  {
    provide: IAM_MIRROR,
    inject: [CHANGE_FEED, RUNTIME],
    useFactory: (feed: ChangeFeed, runtime: ServiceRuntime) => {
      const mirror = new IamMirror(feed);
      mirror.start();
      runtime.health.register({
        name: 'iam-mirror',
        check: async () => {
          if (!mirror.isSynced) throw new Error('users, tokens and bindings not loaded yet');
        },
      });
      runtime.shutdown.onClose('iam-mirror', async () => mirror.stop());
      return mirror;
    },
  },
  {
    provide: AUTHENTICATOR,
    inject: [ADMIN_TOKEN, IAM_MIRROR, CONFIG],
    useFactory: (adminToken: string, mirror: IamMirror, config: AuthConfig) => {
      const oidc = oidcSettings(config);
      return new Authenticator(adminToken, mirror, oidc ? new OidcVerifier(oidc) : undefined);
    },
  },
  {
    provide: AUTHORIZER,
    inject: [IAM_MIRROR, CLUSTER_LABELS],
    useFactory: (mirror: IamMirror, labels: ClusterLabelSource) => new Authorizer(mirror, labels),
  },
];
