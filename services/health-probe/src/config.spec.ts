import { ConfigError, loadConfig } from '@flotilla/config';
import { checkHealthProbeConfig, healthProbeConfigShape } from './config';

const shape = healthProbeConfigShape({ http: 8083, grpc: 50053 });
const env = { FLOTILLA_INTERNAL_TOKEN: 'x'.repeat(32), REDIS_URL: 'redis://127.0.0.1:6379' };

describe('health-probe configuration: the shutdown handoff (ADR 0037)', () => {
  it('has defaults that fit the default shutdown timeout', () => {
    const config = loadConfig('health-probe', shape, env);
    expect(config).toMatchObject({ PROBE_SHUTDOWN_REGISTRY_MS: 2_000, PROBE_SHUTDOWN_REDIS_MS: 3_000, PROBE_HANDOFF_CHECK_MS: 30_000 });
    expect(() => checkHealthProbeConfig(config)).not.toThrow();
  });

  it('refuses shutdown bounds longer than half of SHUTDOWN_TIMEOUT_MS, naming the variables and the fix', () => {
    const config = loadConfig('health-probe', shape, { ...env, SHUTDOWN_TIMEOUT_MS: '6000' });
    expect(() => checkHealthProbeConfig(config)).toThrow(ConfigError);
    expect(() => checkHealthProbeConfig(config)).toThrow(/PROBE_SHUTDOWN_REGISTRY_MS \+ PROBE_SHUTDOWN_REDIS_MS \(5000 ms\) must be at most half of SHUTDOWN_TIMEOUT_MS \(6000 ms\): lower them or raise SHUTDOWN_TIMEOUT_MS/);
  });

  it('names a bad bound', () => {
    expect(() => loadConfig('health-probe', shape, { ...env, PROBE_HANDOFF_CHECK_MS: '10' })).toThrow(/PROBE_HANDOFF_CHECK_MS: must be at least 1000/);
  });
});
