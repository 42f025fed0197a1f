import type { Provider } from '@nestjs/common';
import { CredentialsReaderClient } from '@flotilla/clients';
import { memberPolicyFromConfig } from '@flotilla/kube';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { FederationSyncConfig } from './config';
import { ApplierPool } from './members/applier-pool';
import { credentialsFromReader } from './members/member-credentials';
import { MEMBER_POOL, type MemberPool } from './members/member-pool';

/** The member pool as a Nest provider: credentials in batches from the registry, the member address policy, per-member limits from the config. */
export const memberPoolProvider: Provider = {
  provide: MEMBER_POOL,
  inject: [CONFIG, RUNTIME],
  useFactory: (config: FederationSyncConfig, runtime: ServiceRuntime): MemberPool => {
    const reader = new CredentialsReaderClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
    runtime.shutdown.onClose('credentials-reader', async () => reader.close());
    return new ApplierPool({
      credentials: credentialsFromReader(reader),
      policy: memberPolicyFromConfig(config),
      allowProxyUrl: config.FLOTILLA_ALLOW_PROXY_URL,
      applier: {
        concurrency: config.FLOTILLA_FEDERATION_MEMBER_CONCURRENCY,
        qps: config.FLOTILLA_FEDERATION_MEMBER_QPS,
        timeoutMs: config.FLOTILLA_FEDERATION_REQUEST_TIMEOUT_MS,
      },
    });
  },
};
