import { Module } from '@nestjs/common';
import { SecretBox, UnitOfWork } from '@flotilla/persistence';
import { CONFIG } from '@flotilla/service-kit';
import type { RegistryConfig } from '../config';
import { WATCH_LIMITS, watchLimitsFrom } from '../clusters/watch-limits';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import { OBJECT_WATCH_TUNING, ObjectChangeHub, ObjectWatchTuning } from './object-change-hub';
import { ObjectChangesRepository } from './object-changes.repository';
import { OBJECTS_SECRET_BOX, ObjectSealer } from './object-sealer';
import { ObjectsGrpcController } from './objects.grpc.controller';
import { ObjectsRepository } from './objects.repository';
import { ObjectsService, SNAPSHOT_UNIT_OF_WORK } from './objects.service';

/**
 * The generic object store (issue 14): users, tokens, role bindings, later federated objects.
 * The gateway writes; provider-import and federation-sync read and follow the change log, pushed
 * to them by WatchObjectChanges (ADR 0036).
 * Write-only fields (a FederatedSecret's data) are sealed under the credentials' key ring (ADR 0034).
 */
@Module({
  controllers: [ObjectsGrpcController],
  providers: [
    ObjectsRepository,
    ObjectChangesRepository,
    ObjectsService,
    ObjectSealer,
    ObjectChangeHub,
    // The clusters watch's settings: the same safety re-read, bookmarks and per-caller bounds.
    { provide: OBJECT_WATCH_TUNING, inject: [CONFIG], useFactory: (config: RegistryConfig): ObjectWatchTuning => ({ pollMs: config.WATCH_POLL_MS, bookmarkMs: config.WATCH_BOOKMARK_MS }) },
    { provide: WATCH_LIMITS, inject: [CONFIG], useFactory: (config: RegistryConfig) => watchLimitsFrom(config) },
    {
      // The same keys as the credentials (FLOTILLA_ENCRYPTION_KEYS): one ring to rotate.
      provide: OBJECTS_SECRET_BOX,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => SecretBox.fromSpec(config.FLOTILLA_ENCRYPTION_KEYS),
    },
    {
      provide: SNAPSHOT_UNIT_OF_WORK,
      inject: [REGISTRY_DATA_SOURCE],
      useFactory: (db: ConstructorParameters<typeof UnitOfWork>[0]) => new UnitOfWork(db, 'REPEATABLE READ'),
    },
  ],
  // ObjectSealer: for the credentials' re-encryption run to move sealed objects to the current key too.
  exports: [ObjectsRepository, ObjectChangesRepository, ObjectSealer],
})
export class ObjectsModule {}
