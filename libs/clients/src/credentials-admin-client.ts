import { credentialsV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const CREDENTIALS_ADMIN_CLIENT = Symbol('flotilla.clients.credentials-admin');

export type ReencryptionPhase = 'Running' | 'Succeeded' | 'Failed';

/** How many ciphertexts one key seals now. */
export interface KeyUsage {
  keyId: string;
  ciphertexts: number;
  /** The key new writes and re-encryption use. */
  current: boolean;
  /** False for a key id found in the database but missing from the registry's key ring. */
  inKeyRing: boolean;
}

/** One re-encryption run of the registry's credentials to its current key (counts only). */
export interface Reencryption {
  name: string;
  targetKeyId: string;
  phase: ReencryptionPhase;
  rowsTotal: number;
  rowsDone: number;
  rowsRemaining: number;
  message: string;
  /** RFC 3339. */
  createdAt: string;
  completedAt?: string;
  keys: KeyUsage[];
}

const keyFromProto = (k: credentialsV1.KeyUsage): KeyUsage => ({
  keyId: k.keyId ?? '',
  ciphertexts: Number(k.ciphertexts ?? 0),
  current: k.current ?? false,
  inKeyRing: k.inKeyRing ?? false,
});

function fromProto(r: credentialsV1.Reencryption): Reencryption {
  return {
    name: r.name ?? '',
    targetKeyId: r.targetKeyId ?? '',
    phase: (r.phase ?? 'Running') as ReencryptionPhase,
    rowsTotal: Number(r.rowsTotal ?? 0),
    rowsDone: Number(r.rowsDone ?? 0),
    rowsRemaining: Number(r.rowsRemaining ?? 0),
    message: r.message ?? '',
    createdAt: r.createdAt ?? '',
    ...(r.completedAt ? { completedAt: r.completedAt } : {}),
    keys: (r.keys ?? []).map(keyFromProto),
  };
}

/** The registry's credentials administration (flotilla.registry.credentials.v1): the gateway calls it for the admin. */
export class CredentialsAdminClient {
  private readonly grpc: GrpcServiceClient<credentialsV1.CredentialsAdminClient>;

  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: credentialsV1.PROTOBUF_PACKAGE, protoFile: credentialsV1.PROTO_FILE, service: credentialsV1.CREDENTIALSADMIN_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  /** Starts re-encrypting every credential to the current key, or returns the run in progress (`created` false). */
  async startReencryption(): Promise<{ run: Reencryption; created: boolean }> {
    const out = await this.grpc.unary(this.grpc.service.startReencryption, {});
    return { run: fromProto(out.reencryption ?? {}), created: out.created ?? false };
  }

  async getReencryption(name: string): Promise<Reencryption> {
    return fromProto(await this.grpc.unary(this.grpc.service.getReencryption, { name }));
  }

  /** Runs, newest first, and how many ciphertexts each key seals now. */
  async listReencryptions(): Promise<{ items: Reencryption[]; keys: KeyUsage[] }> {
    const out = await this.grpc.unary(this.grpc.service.listReencryptions, {});
    return { items: (out.items ?? []).map(fromProto), keys: (out.keys ?? []).map(keyFromProto) };
  }

  close(): void {
    this.grpc.close();
  }
}
