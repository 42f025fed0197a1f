import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ErrorCause, ErrorReason, FlotillaError, ImportJob, dns1123LabelErrors } from '@flotilla/domain';
import { CONFIG } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { ImportJobsRepository } from './import-jobs.repository';

const STATES = ['Pending', 'Running', 'Succeeded', 'Failed'];
const TYPES = ['import', 'remove'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Job records of imports and removals: written by provider-import, read through the gateway. */
@Injectable()
export class ImportJobsService implements OnModuleInit {
  constructor(
    private readonly repo: ImportJobsRepository,
    private readonly prune: PruneScheduler,
    @Inject(CONFIG) private readonly config: RegistryConfig,
  ) {}

  onModuleInit(): void {
    // Finished records go after IMPORT_JOB_RETENTION_SECONDS; running ones stay.
    this.prune.register('import-jobs', () => this.repo.pruneFinished(this.config.IMPORT_JOB_RETENTION_SECONDS));
  }

  async report(job: ImportJob): Promise<ImportJob> {
    const causes: ErrorCause[] = [];
    const bad = (field: string, message: string) => causes.push({ reason: 'FieldValueInvalid', field, message });
    if (!TYPES.includes(job.spec.type)) bad('spec.type', 'supported values: "import", "remove"');
    if (!STATES.includes(job.status.state)) bad('status.state', `supported values: ${STATES.join(', ')}`);
    if (!UUID.test(job.spec.clusterUid)) bad('spec.clusterUid', 'must be the cluster uid (a UUID)');
    if (dns1123LabelErrors(job.spec.clusterName).length > 0) bad('spec.clusterName', 'must be a cluster name');
    if (job.metadata.name !== `${job.spec.type}-${job.spec.clusterUid}`) bad('metadata.name', 'must be <type>-<clusterUid>');
    if (!Number.isInteger(job.status.percent) || job.status.percent < 0 || job.status.percent > 100) bad('status.percent', 'must be a whole number from 0 to 100');
    if (causes.length > 0) throw new FlotillaError(ErrorReason.Invalid, `ImportJob "${job.metadata.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { causes });
    return this.repo.upsert(job);
  }

  list(clusterName: string): Promise<ImportJob[]> {
    return this.repo.listForCluster(clusterName);
  }
}
