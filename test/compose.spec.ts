import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { gatewayConfigShape } from '../services/gateway/src/config';
import { registryConfigShape } from '../services/registry/src/config';
import { providerImportConfigShape } from '../services/provider-import/src/main';
import { healthProbeConfigShape } from '../services/health-probe/src/main';
import { federationSyncConfigShape } from '../services/federation-sync/src/main';

/** No Docker engine runs here, so the compose file is checked against the services' own config schemas. */
const root = join(__dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; build?: { dockerfile: string }; ports?: string[]; depends_on?: Record<string, unknown>; healthcheck?: unknown }>;
};

const shapes: Record<string, z.ZodRawShape> = {
  registry: registryConfigShape,
  gateway: gatewayConfigShape,
  'provider-import': providerImportConfigShape,
  'health-probe': healthProbeConfigShape,
  'federation-sync': federationSyncConfigShape,
};

/** Variables a schema cannot default: they must be set. */
function required(shape: z.ZodRawShape): string[] {
  const result = z.object(shape).safeParse({});
  return result.success ? [] : [...new Set(result.error.issues.map((i) => String(i.path[0])))].sort();
}

describe('docker-compose.yml', () => {
  it('runs Postgres, Redis and every service', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['federation-sync', 'gateway', 'health-probe', 'postgres', 'provider-import', 'redis', 'registry']);
  });

  it.each(Object.keys(shapes))('%s: every variable is one its config knows, every required one is set, and the values pass its schema', (name) => {
    const svc = compose.services[name]!;
    const env = { ...svc.environment };
    expect(env.SERVICE).toBe(name);
    delete env.SERVICE;
    const shape = shapes[name]!;
    expect(Object.keys(env).filter((k) => !(k in shape))).toEqual([]);
    expect(required(shape).filter((k) => !(k in env))).toEqual([]);
    // Resolve ${VAR:?message} the way compose would, with sample secrets, and validate.
    const sample: Record<string, string> = {
      FLOTILLA_GATEWAY_TOKEN: 'g'.repeat(64),
      FLOTILLA_PROVIDER_IMPORT_TOKEN: 'p'.repeat(64),
      FLOTILLA_HEALTH_PROBE_TOKEN: 'h'.repeat(64),
      FLOTILLA_FEDERATION_SYNC_TOKEN: 'f'.repeat(64),
      FLOTILLA_INTERNAL_CALLERS: `gateway:${'0'.repeat(64)},provider-import:${'1'.repeat(64)}`,
      FLOTILLA_ADMIN_TOKEN: 'a'.repeat(64),
      FLOTILLA_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
    };
    const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{(\w+):\?[^}]*\}/g, (_, n: string) => sample[n]!)]));
    expect(Object.entries(resolved).filter(([, v]) => v.includes('undefined'))).toEqual([]);
    const parsed = z.object(shape).safeParse(resolved);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`)).toEqual([]);
    expect(svc.build?.dockerfile).toBe('infra/docker/Dockerfile');
    expect(svc.healthcheck).toBeDefined();
  });

  it('points every service at the registry, Postgres and Redis by their compose names', () => {
    expect(compose.services.registry!.environment!.DATABASE_URL).toMatch(/@postgres:5432\//);
    for (const name of Object.keys(shapes)) {
      const env = compose.services[name]!.environment!;
      if ('REGISTRY_GRPC_URL' in shapes[name]!) expect([name, env.REGISTRY_GRPC_URL]).toEqual([name, `registry:${compose.services.registry!.environment!.GRPC_PORT}`]);
      if ('REDIS_URL' in env) expect(env.REDIS_URL).toBe('redis://redis:6379');
    }
    expect(compose.services.gateway!.ports).toEqual([`127.0.0.1:8080:${compose.services.gateway!.environment!.PORT}`]);
  });

  it('gives each calling service its own internal token, and every service the same callers list (docs/security.md)', () => {
    const tokens = Object.keys(shapes).map((name) => compose.services[name]!.environment!.FLOTILLA_INTERNAL_TOKEN).filter(Boolean);
    expect(tokens).toHaveLength(4);
    expect(new Set(tokens).size).toBe(4);
    for (const name of Object.keys(shapes)) expect([name, compose.services[name]!.environment!.FLOTILLA_INTERNAL_CALLERS]).toEqual([name, '${FLOTILLA_INTERNAL_CALLERS:?set FLOTILLA_INTERNAL_CALLERS}']);
    // Only the gateway is published outside the compose network.
    expect(Object.keys(compose.services).filter((name) => compose.services[name]!.ports)).toEqual(['gateway']);
  });

  it('builds a multi-stage image that runs as a non-root user', () => {
    const dockerfile = readFileSync(join(root, 'infra/docker/Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const user = /^USER\s+(\S+)/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(dockerfile).toMatch(/COPY --from=build/);
  });
});
