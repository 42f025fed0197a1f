import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { credentialsV1 } from '@flotilla/contracts';
import { KeyUsage, ReencryptionService, ReencryptionView } from './reencryption.service';

const S = credentialsV1.CREDENTIALSADMIN_SERVICE_NAME;

const keyToProto = (k: KeyUsage): credentialsV1.KeyUsage => ({ keyId: k.keyId, ciphertexts: String(k.ciphertexts), current: k.current, inKeyRing: k.inKeyRing });

function toProto(r: ReencryptionView): credentialsV1.Reencryption {
  return {
    name: r.name,
    targetKeyId: r.targetKeyId,
    phase: r.phase,
    rowsTotal: String(r.rowsTotal),
    rowsDone: String(r.rowsDone),
    rowsRemaining: String(r.rowsRemaining),
    message: r.message,
    createdAt: r.createdAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? '',
    keys: r.keys.map(keyToProto),
  };
}

/** flotilla.registry.credentials.v1.CredentialsAdmin (the gateway, for the admin): maps messages in and out. */
@Controller()
export class CredentialsAdminGrpcController implements credentialsV1.CredentialsAdminController {
  constructor(private readonly reencryption: ReencryptionService) {}

  @GrpcMethod(S, 'StartReencryption')
  async startReencryption(): Promise<credentialsV1.StartReencryptionResponse> {
    const { run, created } = await this.reencryption.start();
    return { reencryption: toProto(run), created };
  }

  @GrpcMethod(S, 'GetReencryption')
  async getReencryption(r: credentialsV1.GetReencryptionRequest): Promise<credentialsV1.Reencryption> {
    return toProto(await this.reencryption.get(r.name ?? ''));
  }

  @GrpcMethod(S, 'ListReencryptions')
  async listReencryptions(): Promise<credentialsV1.ReencryptionList> {
    const { items, keys } = await this.reencryption.list();
    return { items: items.map(toProto), keys: keys.map(keyToProto) };
  }
}
