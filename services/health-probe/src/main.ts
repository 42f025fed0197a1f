import 'reflect-metadata';
import { runMain, startWorkerService } from '@flotilla/service-kit';
import { healthProbeConfigShape as shape } from './config';
import { HEALTH_PROBE } from './service';

export const healthProbeConfigShape = shape(HEALTH_PROBE.ports);

export const startHealthProbe = (env: NodeJS.ProcessEnv = process.env) => startWorkerService(HEALTH_PROBE, healthProbeConfigShape, env);

if (require.main === module) void runMain(HEALTH_PROBE.name, () => startHealthProbe());
