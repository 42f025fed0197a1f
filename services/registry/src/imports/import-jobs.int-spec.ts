import { randomUUID } from 'node:crypto';
import { ImportJob } from '@flotilla/domain';
import { ImportJobsClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, preparePlatformEnv } from '@flotilla/testing';
import { Client } from 'pg';
import { startRegistry } from '../main';
import { ImportJobsRepository } from './import-jobs.repository';

function job(uid: string, over: Partial<ImportJob['status']> = {}): ImportJob {
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'ImportJob',
    metadata: { name: `import-${uid}` },
    spec: { type: 'import', clusterName: 'm1', clusterUid: uid },
    status: { state: 'Running', step: 'ServerAnswers', percent: 17, steps: [{ name: 'ServerAnswers', state: 'Running', time: '2026-11-24T00:00:00Z' }], startTime: '2026-11-24T00:00:00Z', ...over },
  };
}

describe('registry import job records (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let writer: ImportJobsClient;
  let reader: ImportJobsClient;
  let anonymous: ImportJobsClient;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    writer = new ImportJobsClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    // Job records are read by the gateway (the REST API): every call needs an internal identity now.
    reader = new ImportJobsClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens.gateway);
    anonymous = new ImportJobsClient(`127.0.0.1:${platform.ports.registryGrpc}`);
  });

  afterAll(async () => {
    writer?.close();
    reader?.close();
    anonymous?.close();
    await running?.stop();
    await platform?.cleanup();
  });

  it('keeps one record per job name, replaced by each report, with an opaque resourceVersion that changes', async () => {
    const uid = randomUUID();
    const first = await writer.report(job(uid));
    const second = await writer.report(job(uid, { state: 'Succeeded', step: 'Record', percent: 100, orphans: [{ kind: 'ConfigMap', namespace: 'flotilla-system', name: 'flotilla-host', reason: 'unreachable' }] }));
    expect(second.metadata.resourceVersion).not.toBe(first.metadata.resourceVersion);
    const list = await reader.list('m1');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'ImportJob', metadata: { name: `import-${uid}` }, status: { state: 'Succeeded', percent: 100, startTime: '2026-11-24T00:00:00Z' } });
    expect(list[0]!.status.orphans).toEqual([{ kind: 'ConfigMap', namespace: 'flotilla-system', name: 'flotilla-host', reason: 'unreachable' }]);
    expect(await reader.list('other')).toEqual([]);
  });

  it('accepts reports only with the internal token, and refuses invalid records naming the fields', async () => {
    await expect(anonymous.report(job(randomUUID()))).rejects.toMatchObject({ reason: 'Unauthorized' });
    await expect(reader.report(job(randomUUID()))).rejects.toMatchObject({ reason: 'Forbidden' });
    const bad = job(randomUUID(), { percent: 140, state: 'Maybe' as never });
    bad.metadata.name = 'whatever';
    try {
      await writer.report(bad);
      throw new Error('accepted');
    } catch (error) {
      expect((error as { reason: string }).reason).toBe('Invalid');
      expect((error as { details: { causes: { field: string }[] } }).details.causes.map((c) => c.field).sort()).toEqual(['metadata.name', 'status.percent', 'status.state']);
    }
  });

  it('prunes finished records past the retention, and keeps running ones', async () => {
    const old = randomUUID();
    const running_ = randomUUID();
    await writer.report(job(old, { state: 'Succeeded', step: 'Record', percent: 100, completionTime: '2026-01-01T00:00:00Z' }));
    await writer.report(job(running_));
    const pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    await pg.query(`UPDATE import_jobs SET created_at = now() - interval '40 days' WHERE cluster_uid = ANY($1::uuid[])`, [[old, running_]]);
    await pg.end();
    const pruned = await running.app.get(ImportJobsRepository).pruneFinished(30 * 24 * 3600);
    expect(pruned).toBe(1);
    const names = (await reader.list('m1')).map((j) => j.metadata.name);
    expect(names).toContain(`import-${running_}`);
    expect(names).not.toContain(`import-${old}`);
  });
});
