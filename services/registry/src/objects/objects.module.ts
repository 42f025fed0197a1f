import { Module } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import { ObjectChangesRepository } from './object-changes.repository';
import { ObjectsGrpcController } from './objects.grpc.controller';
import { ObjectsRepository } from './objects.repository';
import { ObjectsService, SNAPSHOT_UNIT_OF_WORK } from './objects.service';

/**
 * The generic object store (issue 14): users, tokens, role bindings, later federated objects.
 * The gateway writes; provider-import and federation-sync read and follow the change log.
 */
@Module({
  controllers: [ObjectsGrpcController],
  providers: [
    ObjectsRepository,
    ObjectChangesRepository,
    ObjectsService,
    {
      provide: SNAPSHOT_UNIT_OF_WORK,
      inject: [REGISTRY_DATA_SOURCE],
      useFactory: (db: ConstructorParameters<typeof UnitOfWork>[0]) => new UnitOfWork(db, 'REPEATABLE READ'),
    },
  ],
  exports: [ObjectsRepository, ObjectChangesRepository],
})
export class ObjectsModule {}
