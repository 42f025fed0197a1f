import { Inject, Injectable } from '@nestjs/common';
import { CLUSTER_API_GROUP, Cluster, ErrorReason, FlotillaError } from '@flotilla/domain';
import {
  IMPORT_CHECKS,
  ImportCheck,
  ImportLookups,
  MemberFacts,
  assertSameMember,
  importCheckOptions,
  kubeconfigCertCondition,
  parseForImport,
  redactUrl,
  runImportChecks,
} from '@flotilla/kube';
import { CONFIG } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
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
   * certificate condition of the new credentials.
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
    const facts = await runImportChecks(
      { ...importCheckOptions(candidate, this.config, kubeconfig), skipNameCheck: true },
      { clusterWithUid: async () => undefined, nameTaken: async () => false },
      (check) => void started.add(check),
    );
    assertSameMember(facts.kubeSystemUid, expectedUid, name);
    const updated = await this.records.replace({ ...candidate, metadata: { ...candidate.metadata } });
    const written = await this.records.setStatus(name, { ...(updated.status ?? {}), conditions: [kubeconfigCertCondition(facts.resolved)] });
    return { cluster: written, checks: outcomes(started) };
  }
}
