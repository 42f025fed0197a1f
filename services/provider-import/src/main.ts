import 'reflect-metadata';
import { runMain, startWorkerService } from '@flotilla/service-kit';
import { PROVIDER_IMPORT_CALLERS } from './callers';
import { providerImportConfigShape } from './config';
import { PROVIDER_IMPORT } from './service';

export { providerImportConfigShape };

export const startProviderImport = (env: NodeJS.ProcessEnv = process.env) => startWorkerService({ ...PROVIDER_IMPORT, callers: PROVIDER_IMPORT_CALLERS }, providerImportConfigShape, env);

if (require.main === module) void runMain(PROVIDER_IMPORT.name, () => startProviderImport());
