import * as healthV1 from './generated/grpc/health/v1/health';
import * as registryV1 from './generated/flotilla/registry/v1/registry';
import * as importsV1 from './generated/flotilla/registry/v1/imports';
import * as workerV1 from './generated/flotilla/worker/v1/worker';

export { healthV1, importsV1, registryV1, workerV1 };
export { PROTO_LOADER_OPTIONS, protoPath, protoRoot } from './proto-options';
export { ERROR_TRAILER, fromGrpcError, toGrpcError } from './grpc-errors';
export type { GrpcErrorObject } from './grpc-errors';
export { clusterFromProto, clusterToProto, statusFromProto, statusToProto } from './cluster-mapper';
export { importJobFromProto, importJobToProto } from './import-job-mapper';
import * as eventsV1 from './generated/flotilla/registry/v1/events';
export { eventsV1 };
import * as importV1 from './generated/flotilla/import/v1/import';
export { importV1 };
export { importCandidateFromProto, importCandidateToProto } from './import-mapper';
export { clusterEventFromProto, clusterEventToProto } from './cluster-event-mapper';
import * as credentialsV1 from './generated/flotilla/registry/v1/credentials';
export { credentialsV1 };
