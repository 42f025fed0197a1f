export { eventually } from './eventually';
export {
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  createTestDatabase,
  freePort,
  randomEncryptionKeys,
  randomSecret,
  testQueuePrefix,
} from './databases';
export type { TestDatabase } from './databases';
export { PLATFORM_IDENTITIES, WORKSPACE_ROOT, makeDevPki, preparePlatformEnv, startPlatformProcesses, startServiceProcess } from './platform';
export type { PlatformEnv, PlatformIdentity, PlatformService, PlatformTls, ServiceProcess } from './platform';
export { startSourceProcess } from './source-process';
export type { SourceProcess } from './source-process';
export { grpcHealthCheck, grpcReflectionServices } from './grpc';
export { reasonOf, thrownBy } from './errors';
export { columnsHolding } from './pg-scan';
export { descendantPids } from './processes';
export { httpsCall } from './https-call';
export type { HttpsAnswer, HttpsCallInit, HttpsTarget } from './https-call';
export { writeTokenKubeconfig } from './kubeconfig';
export type { KubeconfigCa, TokenKubeconfigOptions } from './kubeconfig';
