import 'reflect-metadata';
import { loadConfig } from '@flotilla/config';
import { runMain, startWorkerService } from '@flotilla/service-kit';
import { checkHealthProbeConfig, healthProbeConfigShape as shape } from './config';
import { HEALTH_PROBE } from './service';

export const healthProbeConfigShape = shape(HEALTH_PROBE.ports);

export const startHealthProbe = async (env: NodeJS.ProcessEnv = process.env) => {
  checkHealthProbeConfig(loadConfig(HEALTH_PROBE.name, healthProbeConfigShape, env));
  return startWorkerService(HEALTH_PROBE, healthProbeConfigShape, env);
};

if (require.main === module) void runMain(HEALTH_PROBE.name, () => startHealthProbe());
