import 'reflect-metadata';
import { runMain, startWorkerService } from '@flotilla/service-kit';
import { providerImportConfigShape } from './config';
import { PROVIDER_IMPORT } from './service';

export { providerImportConfigShape };

export const startProviderImport = (env: NodeJS.ProcessEnv = process.env) => startWorkerService(PROVIDER_IMPORT, providerImportConfigShape, env);

if (require.main === module) void runMain(PROVIDER_IMPORT.name, () => startProviderImport());
