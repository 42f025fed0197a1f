import 'reflect-metadata';
import { runMain, startWorkerService } from '@flotilla/service-kit';
import { federationSyncConfigShape as shape } from './config';
import { FEDERATION_SYNC } from './service';

export const federationSyncConfigShape = shape(FEDERATION_SYNC.ports);

export const startFederationSync = (env: NodeJS.ProcessEnv = process.env) => startWorkerService(FEDERATION_SYNC, federationSyncConfigShape, env);

if (require.main === module) void runMain(FEDERATION_SYNC.name, () => startFederationSync());
