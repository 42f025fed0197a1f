import { importV1 } from '@flotilla/contracts';
import { CallerTable, InternalIdentity as Id, grpcPath } from '@flotilla/service-kit';

const api = (method: string) => grpcPath(importV1.PROTOBUF_PACKAGE, importV1.IMPORT_SERVICE_NAME, method);

/**
 * Who may call each of provider-import's methods (docs/security.md): the import checks on
 * request serve the gateway's validation and rotation endpoints. A method missing here is
 * refused to everyone by service-kit's caller check.
 */
export const PROVIDER_IMPORT_CALLERS: CallerTable = {
  [api('CheckKubeconfig')]: [Id.Gateway],
  [api('ValidateCluster')]: [Id.Gateway],
  [api('RotateCredentials')]: [Id.Gateway],
};
