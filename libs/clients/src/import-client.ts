import type { Metadata } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { Cluster, ErrorReason, FlotillaError } from '@flotilla/domain';
import { importCandidateToProto, importV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const IMPORT_CLIENT = Symbol('flotilla.clients.import');

/** One import check and how it ended (a failed check is a domain error instead). */
export interface ImportCheckResult {
  name: string;
  result: 'Passed' | 'Skipped';
}

/** What a passed dry-run import learned about the member. */
export interface ClusterValidation {
  checks: ImportCheckResult[];
  /** The kubeconfig's server, without userinfo. */
  server: string;
  kubernetesVersion: string;
  nodeCount: number;
  kubeSystemUid: string;
}

export interface CredentialRotation {
  /** Opaque: compare for equality only. */
  resourceVersion: string;
  checks: ImportCheckResult[];
}

const checks = (list: importV1.CheckResult[] | undefined): ImportCheckResult[] =>
  (list ?? []).map((c) => ({ name: c.name ?? '', result: c.result === 'Skipped' ? 'Skipped' : 'Passed' }));

/**
 * provider-import's synchronous import API (flotilla.import.v1.ImportService) for the gateway:
 * the kubeconfig guard under the import policy, the dry-run validation and credential rotation.
 * Calls carry the internal token; errors come back as the domain errors provider-import threw.
 */
export class ImportClient {
  private readonly grpc: GrpcServiceClient<importV1.ImportServiceClient>;

  /**
   * `deadlineMs` bounds each call; keep it a little above provider-import's
   * IMPORT_CONNECT_TIMEOUT_MS so that a member's own timeout is reported, not the call's.
   */
  constructor(target: string, internalToken?: string, deadlineMs = 15_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: importV1.PROTOBUF_PACKAGE, protoFile: importV1.PROTO_FILE, service: importV1.IMPORT_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'provider-import' },
    );
  }

  /** The kubeconfig guard under the import policy; no connection to the member. */
  async checkKubeconfig(cluster: Cluster): Promise<{ server: string }> {
    const out = await this.call(this.grpc.service.checkKubeconfig, { cluster: importCandidateToProto(cluster) });
    return { server: out.server ?? '' };
  }

  /** Every import check against the member; writes nothing. */
  async validateCluster(cluster: Cluster): Promise<ClusterValidation> {
    const out = await this.call(this.grpc.service.validateCluster, { cluster: importCandidateToProto(cluster) });
    return {
      checks: checks(out.checks),
      server: out.server ?? '',
      kubernetesVersion: out.kubernetesVersion ?? '',
      nodeCount: out.nodeCount ?? 0,
      kubeSystemUid: out.kubeSystemUid ?? '',
    };
  }

  /** Replaces the credentials of cluster `name` once `kubeconfig` (YAML) passes the checks and reaches the same member. */
  async rotateCredentials(name: string, kubeconfig: string): Promise<CredentialRotation> {
    const out = await this.call(this.grpc.service.rotateCredentials, { name, kubeconfig });
    return { resourceVersion: out.resourceVersion ?? '', checks: checks(out.checks) };
  }

  close(): void {
    this.grpc.close();
  }

  /**
   * A refusal of this caller's own identity is a fault of the deployment, not of the request:
   * it must not reach a REST client as its 401 or 403.
   */
  private async call<Req, Res>(method: (request: Req, metadata?: Metadata) => Observable<Res>, request: Req): Promise<Res> {
    try {
      return await this.grpc.unary(method, request, true);
    } catch (error) {
      if (error instanceof FlotillaError && (error.reason === ErrorReason.Unauthorized || error.reason === ErrorReason.Forbidden)) {
        throw new FlotillaError(ErrorReason.InternalError, 'provider-import refused this service\'s internal identity: check FLOTILLA_INTERNAL_TOKEN on both');
      }
      throw error;
    }
  }
}
