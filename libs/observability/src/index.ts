export { REDACTED_PATHS, createLogger } from './logger';
export type { Logger } from './logger';
export { Metrics } from './metrics';
export { HealthState } from './health';
export type { ReadinessCheck, ReadinessReport } from './health';
export { REQUEST_ID_HEADER, currentRequestId, requestIdFrom, runWithRequestContext } from './request-context';
export type { RequestContext } from './request-context';
