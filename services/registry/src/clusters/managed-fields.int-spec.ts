import { Client } from 'pg';
import { firstValueFrom, take, toArray } from 'rxjs';
import { CLUSTER_API_VERSION, Cluster, ErrorReason, FlotillaError, ManagedFieldsEntry, PatchType } from '@flotilla/domain';
import { ClusterWatchEvent, RegistryClient } from '@flotilla/clients';
import { PlatformEnv, columnsHolding, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { TestRegistry, directCluster, startTestRegistry, tokenKubeconfig } from '../testing/registry-harness';

/**
 * Issue 16, server-side apply of the Cluster resource: the registry's cluster store keeps
 * metadata.managedFields (a jsonb column), returns them on get, list and watch, keeps them through
 * writes that do not name them, and refuses lists that are too large, malformed, or hold a credential.
 */
const SECRET = 'MANAGED-FIELDS-SECRET-TOKEN-5b1d';
const KUBECONFIG = tokenKubeconfig(SECRET);

const entry = (manager: string, fieldsV1: Record<string, unknown>, operation = 'Apply', time = '2026-11-27T10:00:00Z'): ManagedFieldsEntry => ({
  manager,
  operation,
  apiVersion: CLUSTER_API_VERSION,
  time,
  fieldsType: 'FieldsV1',
  fieldsV1,
});
const LABELS_BY_KUBECTL = entry('kubectl', { 'f:metadata': { 'f:labels': { 'f:env': {} } }, 'f:spec': { 'f:provider': {} } });

function cluster(name: string, managedFields?: ManagedFieldsEntry[]): Cluster {
  return directCluster(name, KUBECONFIG, { labels: { env: 'prod' }, ...(managedFields ? { managedFields } : {}) });
}

const invalidCause = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(FlotillaError);
    const e = error as FlotillaError;
    return { reason: e.reason, message: e.message, fields: (e.details?.causes ?? []).map((c) => c.field) };
  }
  throw new Error('expected the write to be refused');
};

describe('registry: managedFields of clusters (real Postgres, over gRPC)', () => {
  let registry: TestRegistry<PlatformEnv>;
  let client: RegistryClient;
  let pg: Client;

  beforeAll(async () => {
    registry = await startTestRegistry(preparePlatformEnv);
    ({ client, pg } = registry);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('stores them with the cluster and returns them on get, list and watch', async () => {
    const created = await client.createCluster(cluster('mf-a', [LABELS_BY_KUBECTL]));
    expect(created.metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);
    expect((await client.getCluster('mf-a')).metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);
    const page = await client.listClusters({ fieldSelector: 'metadata.name=mf-a' });
    expect(page.items[0]!.metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);
    const events = await firstValueFrom(client.watchClusters({ fieldSelector: 'metadata.name=mf-a' }).pipe(take(1), toArray()));
    expect((events[0] as Extract<ClusterWatchEvent, { object: Cluster }>).object.metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);
    const { rows } = await pg.query<{ managed_fields: unknown }>('SELECT managed_fields FROM clusters WHERE name = $1', ['mf-a']);
    expect(rows[0]!.managed_fields).toEqual([LABELS_BY_KUBECTL]);
    // A cluster created without any has none (an empty list is not shown).
    expect((await client.createCluster(cluster('mf-b'))).metadata.managedFields).toBeUndefined();
    expect((await client.getCluster('mf-b')).metadata.managedFields).toBeUndefined();
  });

  it('keeps them through writes that do not name them; [] clears them; a change of times alone writes nothing', async () => {
    const before = await client.getCluster('mf-a');
    const { managedFields: _m, ...meta } = before.metadata;
    const relabelled = await client.updateCluster({ ...before, metadata: { ...meta, labels: { env: 'dev' } } });
    expect(relabelled.metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);
    const patched = await client.patchCluster('mf-a', PatchType.Merge, JSON.stringify({ spec: { description: 'patched' } }));
    expect(patched.metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);
    const status = await client.updateClusterStatus('mf-a', { kubernetesVersion: 'v1.30.1' });
    expect(status.metadata.managedFields).toEqual([LABELS_BY_KUBECTL]);

    const retimed = await client.updateCluster({ ...status, metadata: { ...status.metadata, managedFields: [{ ...LABELS_BY_KUBECTL, time: '2026-11-27T11:00:00Z' }] } });
    expect(retimed.metadata.resourceVersion).toBe(status.metadata.resourceVersion);

    const owner = entry('kubectl-label', { 'f:metadata': { 'f:labels': { 'f:env': {} } } }, 'Update');
    const moved = await client.updateCluster({ ...status, metadata: { ...status.metadata, managedFields: [LABELS_BY_KUBECTL, owner] } });
    expect(moved.metadata.managedFields).toEqual([LABELS_BY_KUBECTL, owner]);
    expect(moved.metadata.resourceVersion).not.toBe(status.metadata.resourceVersion);
    expect(moved.metadata.generation).toBe(status.metadata.generation);

    const cleared = await client.updateCluster({ ...moved, metadata: { ...moved.metadata, managedFields: [] } });
    expect(cleared.metadata.managedFields).toBeUndefined();
  });

  it('a patch carries the managedFields computed for it, against the resourceVersion it names (else Conflict)', async () => {
    const current = await client.getCluster('mf-b');
    const owner = entry('kubectl-annotate', { 'f:metadata': { 'f:annotations': { 'f:team': {} } } }, 'Update');
    const stale = client.patchCluster('mf-b', PatchType.Merge, JSON.stringify({ metadata: { annotations: { team: 'a' } } }), { managedFields: [owner], resourceVersion: '1' });
    expect(await reasonOf(stale)).toBe(ErrorReason.Conflict);
    const patched = await client.patchCluster('mf-b', PatchType.Merge, JSON.stringify({ metadata: { annotations: { team: 'a' } } }), {
      managedFields: [owner],
      resourceVersion: current.metadata.resourceVersion!,
    });
    expect(patched.metadata.annotations).toEqual({ team: 'a' });
    expect(patched.metadata.managedFields).toEqual([owner]);
    // Dry run: answered, not stored.
    const dry = await client.patchCluster('mf-b', PatchType.Merge, JSON.stringify({ spec: { description: 'dry' } }), { dryRun: true, managedFields: [] });
    expect(dry.metadata.managedFields).toBeUndefined();
    expect((await client.getCluster('mf-b')).metadata.managedFields).toEqual([owner]);
  });

  it('refuses lists that are too large, malformed, or hold a credential, naming the field and never the value', async () => {
    const current = await client.getCluster('mf-b');
    const huge = entry('big', Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`f:field-number-${i}`, {}])));
    const tooLarge = await invalidCause(client.updateCluster({ ...current, metadata: { ...current.metadata, managedFields: [huge] } }));
    expect(tooLarge).toMatchObject({ reason: ErrorReason.Invalid, fields: ['metadata.managedFields'] });
    expect(tooLarge.message).toContain('65536 bytes');

    const badOperation = await invalidCause(client.updateCluster({ ...current, metadata: { ...current.metadata, managedFields: [{ ...LABELS_BY_KUBECTL, operation: 'Delete' }] } }));
    expect(badOperation).toMatchObject({ reason: ErrorReason.Invalid, fields: ['metadata.managedFields[0].operation'] });
    const badPath = await invalidCause(client.updateCluster({ ...current, metadata: { ...current.metadata, managedFields: [entry('x', { metadata: {} })] } }));
    expect(badPath).toMatchObject({ reason: ErrorReason.Invalid, fields: ['metadata.managedFields[0].fieldsV1'] });

    // A set's path element carries a value: one that is the cluster's own credential is refused.
    const leaking = entry('x', { 'f:metadata': { 'f:finalizers': { [`v:"${SECRET}"`]: {} } } });
    const leak = await invalidCause(client.updateCluster({ ...current, metadata: { ...current.metadata, managedFields: [leaking] } }));
    expect(leak).toMatchObject({ reason: ErrorReason.Invalid, fields: ['metadata.managedFields'] });
    expect(leak.message).not.toContain(SECRET);
    const leakOnCreate = await invalidCause(client.createCluster(cluster('mf-c', [leaking])));
    expect(leakOnCreate).toMatchObject({ reason: ErrorReason.Invalid, fields: ['metadata.managedFields'] });
    expect((await columnsHolding(pg, SECRET)).hits).toEqual([]);
    expect((await client.getCluster('mf-b')).metadata.managedFields).toEqual(current.metadata.managedFields);
  });
});
