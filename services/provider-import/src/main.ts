import 'reflect-metadata';
import { configParts } from '@flotilla/config';
import { runMain, startWorkerService, workerConfigShape } from '@flotilla/service-kit';
import { PROVIDER_IMPORT } from './service';

/** provider-import also reads credentials from the registry, so it needs the internal token. */
export const providerImportConfigShape = {
  ...workerConfigShape(PROVIDER_IMPORT.ports),
  FLOTILLA_INTERNAL_TOKEN: configParts.internalToken,
};

export const startProviderImport = (env: NodeJS.ProcessEnv = process.env) => startWorkerService(PROVIDER_IMPORT, providerImportConfigShape, env);

if (require.main === module) void runMain(PROVIDER_IMPORT.name, () => startProviderImport());
