import { Inject, Injectable } from '@nestjs/common';
import { CLUSTER_API_GROUP, Cluster, ClusterCondition, ErrorReason, FlotillaError } from '@flotilla/domain';
import {
  IMPORT_CHECKS,
  ImportCheck,
  ImportLookups,
  MemberClient,
  MemberFacts,
  ResolvedKubeconfig,
  assertSameMember,
  createServiceAccountKubeconfig,
  expectSameMember,
  importCheckOptions,
  kubeconfigCertCondition,
  memberAccessChoice,
  memberPolicyOf,
  memberRoleChoice,
  parseForImport,
  parseKubeconfig,
  redactUrl,
  runImportChecks,
  writeMarker,
} from '@flotilla/kube';
import { CONFIG } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
import { memberRoleCondition } from '../credentials/member-role-condition';
import { ClusterRecords } from '../import/cluster-records';

export interface CheckOutcome {
  name: ImportCheck;
  result: 'Passed' | 'Skipped';
}

export interface Validation {
  checks: CheckOutcome[];
  facts: MemberFacts;
}

export interface Rotation {
  cluster: Cluster;
  checks: CheckOutcome[];
}

/** Every check reported as started, in order, passed once the run ends; the others skipped. */
function outcomes(started: Set<ImportCheck>): CheckOutcome[] {
  return IMPORT_CHECKS.map((name) => ({ name, result: started.has(name) ? 'Passed' : 'Skipped' }));
}

/**
 * The import checks on request, for the gateway (ADR 0027): the kubeconfig guard, the dry-run
 * validation and credential rotation. The same policy and the same check options as the import
 * job (importCheckOptions), so the edge and the job cannot disagree.
 */
@Injectable()
export class ImportApiService {
  constructor(
    private readonly records: ClusterRecords,
    @Inject(CONFIG) private readonly config: ProviderImportConfig,
  ) {}

  /** The guard under the import policy: parse rules, proxy-url, member addresses; no connection. */
  async check(candidate: Cluster): Promise<{ server: string }> {
    const resolved = await parseForImport(importCheckOptions(candidate, this.config, candidate.spec.connection.kubeconfig ?? ''));
    return { server: redactUrl(resolved.server) };
  }

  /** Every import check against the member; writes nothing. */
  async validate(candidate: Cluster): Promise<Validation> {
    const lookups: ImportLookups = {
      clusterWithUid: (uid, except) => this.records.clusterWithMemberUid(uid, except),
      nameTaken: async (name) => (await this.records.find(name)) !== undefined,
    };
    const started = new Set<ImportCheck>();
    const facts = await runImportChecks(importCheckOptions(candidate, this.config, candidate.spec.connection.kubeconfig ?? ''), lookups, (check) => void started.add(check));
    return { checks: outcomes(started), facts };
  }

  /**
   * Replaces the credentials of cluster `name` once `kubeconfig` passes the guard and the checks
   * and reaches the member the cluster was imported from (same kube-system UID); then records the
   * certificate condition of the new credentials. A service-account cluster
   * (import.flotilla.io/credentials=service-account) keeps a Flotilla-made kubeconfig: the new one
   * only sets up (and so upgrades) Flotilla's role in the member and mints a fresh token, as the
   * import does (issue 14, ADR 0030); the user's kubeconfig is never stored.
   */
  async rotate(name: string, kubeconfig: string): Promise<Rotation> {
    const cluster = await this.records.get(name);
    const expectedUid = cluster.status?.uid;
    if (!expectedUid) {
      throw new FlotillaError(ErrorReason.Conflict, `Operation cannot be fulfilled on clusters.${CLUSTER_API_GROUP} "${name}": it is not imported yet (no status.uid); wait for the import, or delete and create it again`, {
        name,
        group: CLUSTER_API_GROUP,
        kind: 'clusters',
      });
    }
    const candidate: Cluster = { ...cluster, spec: { ...cluster.spec, connection: { ...cluster.spec.connection, kubeconfig } } };
    const started = new Set<ImportCheck>();
    const options = { ...importCheckOptions(candidate, this.config, kubeconfig), skipNameCheck: true };
    const facts = await runImportChecks(options, { clusterWithUid: async () => undefined, nameTaken: async () => false }, (check) => void started.add(check));
    assertSameMember(facts.kubeSystemUid, expectedUid, name);
    let stored = { kubeconfig, resolved: facts.resolved, conditions: [] as ClusterCondition[] };
    if (options.needServiceAccount === true) stored = await this.mintServiceAccountKubeconfig(cluster, facts);
    const updated = await this.records.replace({ ...candidate, spec: { ...candidate.spec, connection: { ...candidate.spec.connection, kubeconfig: stored.kubeconfig } } });
    const written = await this.records.setStatus(name, { ...(updated.status ?? {}), conditions: [kubeconfigCertCondition(stored.resolved), ...stored.conditions] });
    return { cluster: written, checks: outcomes(started) };
  }

  /**
   * The service-account path of the import, run with the new kubeconfig's rights: Flotilla's
   * ServiceAccount, its role (the annotations' current choice, so rotating with wider rights
   * upgrades a role the old credentials could not grant) and a token; the minted kubeconfig must
   * reach the same member, and the marker records the objects made (for careful removal).
   */
  private async mintServiceAccountKubeconfig(cluster: Cluster, facts: MemberFacts): Promise<{ kubeconfig: string; resolved: ResolvedKubeconfig; conditions: ClusterCondition[] }> {
    const name = cluster.metadata.name;
    const annotations = cluster.metadata.annotations;
    const timeoutMs = this.config.IMPORT_CONNECT_TIMEOUT_MS;
    const policy = memberPolicyOf(this.config);
    const memberRole = memberRoleChoice(annotations);
    const opened: MemberClient[] = [];
    try {
      const client = new MemberClient(facts.resolved, timeoutMs, { policy });
      opened.push(client);
      const setup = await createServiceAccountKubeconfig(client, facts.resolved, name, {
        timeoutMs,
        tokenTtlSeconds: this.config.FLOTILLA_MEMBER_TOKEN_TTL_SECONDS,
        memberRole,
        access: memberAccessChoice(annotations),
      });
      const resolved = parseKubeconfig(setup.kubeconfig);
      const minted = new MemberClient(resolved, timeoutMs, { policy });
      opened.push(minted);
      await expectSameMember(minted, facts.kubeSystemUid, name, 'the service-account kubeconfig');
      await writeMarker(
        minted,
        { hostId: this.config.FLOTILLA_HOST_ID, clusterName: name, clusterUid: cluster.metadata.uid!, objects: setup.objects, ...(setup.owner ? { owner: setup.owner } : {}) },
        timeoutMs,
      );
      return { kubeconfig: setup.kubeconfig, resolved, conditions: [memberRoleCondition(memberRole)] };
    } finally {
      for (const c of opened) c.close();
    }
  }
}
