import type { Provider } from '@nestjs/common';
import { CONFIG } from '@flotilla/service-kit';
import { GATEWAY_CA, type GatewayCa } from './kubeconfigs.service';
import { type GatewayTlsConfig, loadGatewayCa } from './tls-config';

/** FLOTILLA_GATEWAY_TLS_CA, read once when the gateway starts (a bad file stops the start, naming the variable). */
export const gatewayCaProvider: Provider = {
  provide: GATEWAY_CA,
  inject: [CONFIG],
  useFactory: (config: GatewayTlsConfig): GatewayCa => ({ pem: loadGatewayCa(config) }),
};
