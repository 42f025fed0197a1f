import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import {
  Cluster,
  ClusterConditionType,
  ConnectionType,
  CredentialConditionReason,
  CredentialConditionType,
  ImportAnnotations,
  SERVICE_ACCOUNT_CREDENTIALS,
  findCondition,
  setCondition,
} from '@flotilla/domain';
import {
  MARKER_NAME,
  MARKER_NAMESPACE,
  MemberClient,
  MemberUnavailableError,
  SERVICE_ACCOUNT_NAME,
  TokenRequestError,
  expectSameMember,
  importCheckOptions,
  memberRoleChoice,
  memberAccessChoice,
  moveToMemberRole,
  parseKubeconfig,
  renewalDueAt,
  requestServiceAccountToken,
  serviceAccountKubeconfig,
  tokenLifetime,
  writeMarker,
} from '@flotilla/kube';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
import { ClusterRecords } from '../import/cluster-records';
import { memberRoleCondition } from './member-role-condition';

/** The clock renewal decisions use (tests inject one; the emulator's TokenRequest minimum is 600 s). */
export const RENEWAL_CLOCK = Symbol('provider-import.renewal-clock');
export type RenewalClock = () => number;

/** Failed attempts (with backoff) before CredentialsRenewalFailed turns on. */
export const RENEWAL_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 15 * 60_000;

export type RenewalResult = 'renewed' | 'not-due' | 'backing-off' | 'failed' | 'skipped';

interface Failures {
  count: number;
  nextAt: number;
}

/**
 * Renews the short-lived tokens Flotilla minted in members (ADR 0029): a sweep finds each
 * service-account cluster whose token has passed 80 % of its life, mints a new one through
 * TokenRequest with the current token, checks it reaches the same member, and stores it through
 * the registry. Failures retry with backoff; after RENEWAL_ATTEMPTS the cluster gets
 * CredentialsRenewalFailed=True with the reason and the fix, long before the token expires.
 * Identities imported with cluster-admin (before ADR 0029, not by choice) move to the member
 * role on their first renewal.
 */
@Injectable()
export class CredentialRenewalService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly failures = new Map<string, Failures>();
  /** When each cluster's token is due, as last read, by cluster resourceVersion: spares reading credentials every sweep. */
  private readonly due = new Map<string, { resourceVersion: string; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private readonly clock: RenewalClock;

  constructor(
    private readonly records: ClusterRecords,
    @Inject(CONFIG) private readonly config: ProviderImportConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Optional() @Inject(RENEWAL_CLOCK) clock?: RenewalClock,
  ) {
    this.clock = clock ?? Date.now;
  }

  onApplicationBootstrap(): void {
    const every = this.config.CREDENTIAL_RENEWAL_SWEEP_MS;
    if (every <= 0) return;
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .catch((e: unknown) => this.runtime.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'credential renewal sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, every);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass over every cluster, at `now`. Returns what happened to each service-account cluster. */
  async sweep(now = this.clock()): Promise<Map<string, RenewalResult>> {
    const results = new Map<string, RenewalResult>();
    const seen = new Set<string>();
    for await (const cluster of this.records.all()) {
      if (!this.applies(cluster)) continue;
      seen.add(cluster.metadata.uid!);
      try {
        results.set(cluster.metadata.name, await this.renew(cluster, now));
      } catch (error) {
        // A registry hiccup or an unusable stored kubeconfig for one cluster must not stop the others.
        this.runtime.logger.warn({ cluster: cluster.metadata.name, err: error instanceof Error ? error.message : String(error) }, 'credential renewal skipped a cluster');
        results.set(cluster.metadata.name, 'skipped');
      }
    }
    for (const uid of [...this.due.keys(), ...this.failures.keys()]) {
      if (seen.has(uid)) continue;
      this.due.delete(uid);
      this.failures.delete(uid);
    }
    return results;
  }

  private applies(cluster: Cluster): boolean {
    return (
      !cluster.metadata.deletionTimestamp &&
      cluster.spec.connection.type === ConnectionType.Direct &&
      (cluster.metadata.annotations ?? {})[ImportAnnotations.credentials] === SERVICE_ACCOUNT_CREDENTIALS &&
      findCondition(cluster.status?.conditions, ClusterConditionType.Initialized)?.status === 'True'
    );
  }

  /** Renews one cluster's token when it is due (and not backing off after a failure). */
  async renew(cluster: Cluster, now = this.clock()): Promise<RenewalResult> {
    const { name } = cluster.metadata;
    const uid = cluster.metadata.uid!;
    const known = this.due.get(uid);
    if (known && known.resourceVersion === cluster.metadata.resourceVersion && now < known.at) return 'not-due';
    const { kubeconfig } = await this.records.credentials(name);
    if (!kubeconfig) return 'skipped';
    const options = importCheckOptions(cluster, this.config, kubeconfig);
    const resolved = parseKubeconfig(kubeconfig, { context: options.context, allowInsecureSkipTlsVerify: options.allowInsecureSkipTlsVerify, allowProxyUrl: options.allowProxyUrl });
    if (resolved.auth.type !== 'token') return 'skipped';
    const lifetime = tokenLifetime(resolved.auth.token);
    // A token without an expiry is a legacy token Secret's (before ADR 0029): replace it now.
    if (lifetime && cluster.metadata.resourceVersion) this.due.set(uid, { resourceVersion: cluster.metadata.resourceVersion, at: renewalDueAt(lifetime) });
    if (lifetime && now < renewalDueAt(lifetime)) return 'not-due';
    const failed = this.failures.get(uid);
    if (failed && now < failed.nextAt) return 'backing-off';

    const choice = memberRoleChoice(cluster.metadata.annotations);
    const client = new MemberClient(resolved, this.config.IMPORT_CONNECT_TIMEOUT_MS, { policy: options.policy });
    const ttl = this.config.FLOTILLA_MEMBER_TOKEN_TTL_SECONDS;
    const connect = (token: string) => new MemberClient(parseKubeconfig(serviceAccountKubeconfig(resolved, name, token), { allowInsecureSkipTlsVerify: options.allowInsecureSkipTlsVerify }), this.config.IMPORT_CONNECT_TIMEOUT_MS, { policy: options.policy });
    let renewed: string;
    try {
      let token: string;
      if (choice === 'minimal' && !findCondition(cluster.status?.conditions, CredentialConditionType.MemberRole)) {
        // Imported before ADR 0029, bound to cluster-admin: move to the member role while it still can.
        const { owner, objects, minted } = await moveToMemberRole(client, { timeoutMs: this.config.IMPORT_CONNECT_TIMEOUT_MS, tokenTtlSeconds: ttl, connect, access: memberAccessChoice(cluster.metadata.annotations) });
        token = minted.token;
        const next = connect(token);
        try {
          await writeMarker(next, { hostId: this.config.FLOTILLA_HOST_ID, clusterName: name, clusterUid: uid, objects, owner }, this.config.IMPORT_CONNECT_TIMEOUT_MS);
        } finally {
          next.close();
        }
      } else {
        token = (await requestServiceAccountToken(client, ttl)).token;
      }
      renewed = serviceAccountKubeconfig(resolved, name, token);
      const check = connect(token);
      try {
        if (cluster.status?.uid) await expectSameMember(check, cluster.status.uid, name, 'the renewed token');
      } finally {
        check.close();
      }
    } catch (error) {
      return this.failed(cluster, error, now, lifetime?.expiresAt);
    } finally {
      client.close();
    }
    const stored = await this.records.storeKubeconfig(name, uid, renewed);
    if (!stored) return 'skipped';
    this.failures.delete(uid);
    let conditions = setCondition(stored.status?.conditions, memberRoleCondition(choice), new Date(now));
    if (findCondition(conditions, CredentialConditionType.CredentialsRenewalFailed)) {
      conditions = setCondition(conditions, { type: CredentialConditionType.CredentialsRenewalFailed, status: 'False', reason: CredentialConditionReason.Renewed, message: 'the token was renewed' }, new Date(now));
    }
    await this.records.setStatus(name, { ...(stored.status ?? {}), conditions });
    this.runtime.logger.info({ cluster: name }, 'renewed the member token');
    return 'renewed';
  }

  private async failed(cluster: Cluster, error: unknown, now: number, expiresAt: number | undefined): Promise<RenewalResult> {
    const uid = cluster.metadata.uid!;
    const count = (this.failures.get(uid)?.count ?? 0) + 1;
    this.failures.set(uid, { count, nextAt: now + Math.min(BACKOFF_BASE_MS * 2 ** (count - 1), BACKOFF_MAX_MS) });
    const why = error instanceof Error ? error.message : String(error);
    this.runtime.logger.warn({ cluster: cluster.metadata.name, attempt: count, err: why }, 'renewing the member token failed');
    if (count < RENEWAL_ATTEMPTS) return 'failed';
    const reason =
      error instanceof TokenRequestError ? CredentialConditionReason.TokenRequestRefused : error instanceof MemberUnavailableError ? CredentialConditionReason.MemberUnreachable : CredentialConditionReason.RenewalError;
    const fix =
      reason === CredentialConditionReason.TokenRequestRefused
        ? `let ServiceAccount ${MARKER_NAMESPACE}/${SERVICE_ACCOUNT_NAME} create serviceaccounts/token for itself (Role ${MARKER_NAMESPACE}/flotilla:host; see docs/security.md) and check the marker ConfigMap ${MARKER_NAMESPACE}/${MARKER_NAME}`
        : reason === CredentialConditionReason.MemberUnreachable
          ? 'make the member reachable from provider-import'
          : 'fix the cause';
    const expiry = expiresAt ? `; the current token expires at ${new Date(expiresAt).toISOString()}` : '';
    const message = `renewing Flotilla's token failed ${count} times: ${why}${expiry}. Fix: ${fix}; Flotilla keeps retrying, or give new credentials with PUT .../kubeconfig`;
    const latest = await this.records.find(cluster.metadata.name);
    if (!latest || latest.metadata.uid !== uid) return 'failed';
    const conditions = setCondition(latest.status?.conditions, { type: CredentialConditionType.CredentialsRenewalFailed, status: 'True', reason, message }, new Date(now));
    await this.records.setStatus(cluster.metadata.name, { ...(latest.status ?? {}), conditions });
    return 'failed';
  }
}
