import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { ClusterEventsModule } from './events/cluster-events.module';
import { ClustersModule } from './clusters/clusters.module';
import { ClusterChangeEntity } from './clusters/store/cluster-change.entity';
import { ClusterEntity } from './clusters/store/cluster.entity';
import { ClusterCredentialEntity } from './credentials/cluster-credential.entity';
import { CredentialsModule } from './credentials/credentials.module';
import { ImportJobsModule } from './imports/import-jobs.module';
import { Clock } from './infrastructure/clock';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { OutboxEntity } from './outbox/outbox.entity';
import { OutboxModule } from './outbox/outbox.module';
import { ObjectsModule } from './objects/objects.module';
import { ProbeTimesModule } from './probe-times/probe-times.module';

/** Every TypeORM entity of the feature modules (import_jobs and cluster_events are read with SQL). */
export const REGISTRY_ENTITIES = [ClusterEntity, ClusterChangeEntity, ClusterCredentialEntity, OutboxEntity];

export interface RegistryOptions {
  /** The time source of records; tests move it forward. Defaults to the system clock. */
  clock?: Clock;
}

/**
 * The registry: a composition of feature modules (see README.md in this folder). A feature
 * module holds its gRPC controller, service and repository; writes that span modules share one
 * unit of work. Users, roles, audit and federated resources will come as modules of their own.
 */
@Module({})
export class RegistryModule {
  static forRoot(options: RegistryOptions = {}): DynamicModule {
    return {
      module: RegistryModule,
      imports: [
        InfrastructureModule.forRoot({ entities: REGISTRY_ENTITIES, clock: options.clock }),
        ClustersModule,
        CredentialsModule,
        ProbeTimesModule,
        OutboxModule,
        ImportJobsModule,
        ClusterEventsModule,
        ObjectsModule,
        AuditModule,
      ],
    };
  }
}
