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
export { WORKSPACE_ROOT, preparePlatformEnv, startServiceProcess } from './platform';
export type { PlatformEnv, ServiceProcess } from './platform';
export { grpcHealthCheck, grpcReflectionServices } from './grpc';
export { reasonOf } from './errors';
