import * as healthV1 from './generated/grpc/health/v1/health';
import * as registryV1 from './generated/flotilla/registry/v1/registry';
import * as workerV1 from './generated/flotilla/worker/v1/worker';

export { healthV1, registryV1, workerV1 };
export { PROTO_LOADER_OPTIONS, protoPath, protoRoot } from './proto-options';
export { ERROR_TRAILER, fromGrpcError, toGrpcError } from './grpc-errors';
export type { GrpcErrorObject } from './grpc-errors';
export { clusterFromProto, clusterToProto, statusFromProto, statusToProto } from './cluster-mapper';
