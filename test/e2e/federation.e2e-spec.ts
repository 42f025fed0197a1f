import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { stringify } from 'yaml';
import { HASH_ANNOTATION, federatedKindByKind, memberObjectFor } from '@flotilla/domain';
import { columnsHolding } from '@flotilla/testing';
import { API_DEPLOYMENT, API_PREFERENCE, IMAGE, OVERRIDDEN_IMAGE, PLACE_LABEL, PLACE_VALUE, SHOP_YAML, federatedConfigMap, federatedSecret } from './federation/fixtures';
import { CLUSTERS, FederationRig, Json, Member, NS, SCHEDULING, fedPath, within } from './federation/harness';

/**
 * Issue 15's proof, end to end: every service as its own process, five emulated members imported
 * through REST, kubefed YAML applied with a real kubectl against Flotilla, and a real kubectl against
 * each member to see what federation-sync put there.
 */
const MANAGED_BY = 'federation.flotilla.io/managed-by';
const FEDERATED_OBJECT = 'federation.flotilla.io/federated-object';
const HASH = 'federation.flotilla.io/hash';
const PLACED: Member[] = ['m1', 'm2', 'm3'];
const UNPLACED: Member[] = ['m4', 'm5'];
const { clusterStatus, condition } = FederationRig;
/** A kubectl run that succeeded, its stderr in the failure message otherwise. */
const succeeded = (r: { code: number | null; stdout: string; stderr: string }) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout;
};

describe('issue 15: federation end to end (kubefed YAML to five emulated members)', () => {
  const rig = new FederationRig();
  const secret = { password: `pw-${randomBytes(12).toString('hex')}`, token: `tk-${randomBytes(12).toString('hex')}` };
  const secretNeedles = [secret.password, secret.token, Buffer.from(secret.password).toString('base64'), Buffer.from(secret.token).toString('base64')];

  const web = () => rig.expectCall(200, 'GET', fedPath('federateddeployments', 'web'));
  const image = (d: Json | undefined) => d?.spec?.template?.spec?.containers?.[0]?.image as string | undefined;
  const events = async (plural: string, name: string) => ((await rig.expectCall(200, 'GET', `${fedPath(plural, name)}/events`)).items ?? []) as Json[];

  beforeAll(async () => {
    await rig.start();
    await rig.importMembers();
    for (const m of PLACED) await rig.label(m, { [PLACE_LABEL]: PLACE_VALUE, env: 'e2e' });
    for (const m of UNPLACED) await rig.label(m, { [PLACE_LABEL]: 'batch', env: 'e2e' });
  }, 240_000);

  afterAll(async () => {
    await rig.stop();
  });

  it('1. kubectl apply of a FederatedNamespace and a FederatedDeployment: exactly the 3 labelled members get them, m2 with its image override', async () => {
    const applied = succeeded(await rig.flotillaKubectl(['apply', '--validate=false', '-f', '-'], SHOP_YAML));
    expect(applied).toContain(`namespace/${NS} created`);
    expect(applied).toContain(`federatednamespace.types.kubefed.io/${NS} created`);
    expect(applied).toContain('federateddeployment.types.kubefed.io/web created');

    const hashes: Record<string, string> = {};
    for (const m of PLACED) {
      await within(20_000, async () => {
        const ns = await rig.memberObject(m, 'namespace', NS);
        expect(ns?.metadata.labels).toMatchObject({ [MANAGED_BY]: `${NS}.${NS}` });
        const d = await rig.memberObject(m, 'deployment', 'web', NS);
        expect([m, image(d)]).toEqual([m, m === 'm2' ? OVERRIDDEN_IMAGE : IMAGE]);
        expect(d!.metadata.labels).toEqual({ app: 'web', [MANAGED_BY]: `${NS}.web` });
        expect(d!.metadata.annotations).toMatchObject({ [FEDERATED_OBJECT]: `federateddeployments.types.kubefed.io/${NS}/web`, [HASH]: expect.stringMatching(/^[0-9a-f]{64}$/) });
        expect(d!.spec.replicas).toBe(2);
        hashes[m] = d!.metadata.annotations[HASH] as string;
      });
    }
    // The hash is the domain's, of the per-cluster object computed from the stored federated object:
    // the same for m1 and m3, m2's differs by its override.
    const stored = await web();
    for (const m of PLACED) expect([m, hashes[m]]).toEqual([m, memberObjectFor(federatedKindByKind('FederatedDeployment')!, stored, m).metadata.annotations?.[HASH_ANNOTATION]]);
    expect(hashes.m1).toBe(hashes.m3);
    expect(hashes.m2).not.toBe(hashes.m1);
    for (const m of UNPLACED) {
      expect([m, await rig.memberObject(m, 'namespace', NS)]).toEqual([m, undefined]);
      expect([m, await rig.memberObject(m, 'deployment', 'web', NS)]).toEqual([m, undefined]);
    }

    // Status per cluster, and the members' workload status summarised back.
    await within(30_000, async () => {
      const fed = await web();
      const byCluster = clusterStatus(fed);
      expect(Object.keys(byCluster).sort()).toEqual(PLACED);
      for (const m of PLACED) expect(byCluster[m]).toMatchObject({ status: 'Applied', generation: fed.metadata.generation, replicas: 2, readyReplicas: 2, availableReplicas: 2 });
      expect(condition(fed, 'Propagation')).toMatchObject({ status: 'True' });
      expect(condition(fed, 'Ready')).toMatchObject({ status: 'True' });
      expect(fed.status).toMatchObject({ observedGeneration: fed.metadata.generation, replicas: 6, readyReplicas: 6, availableReplicas: 6 });
    });
    // The same through kubectl against Flotilla.
    const got = succeeded(await rig.flotillaKubectl(['get', 'federateddeployment', 'web', '-n', NS, '-o', 'jsonpath={range .status.clusters[*]}{.name}={.status} {end}']));
    expect(got.trim()).toBe('m1=Applied m2=Applied m3=Applied');
  }, 120_000);

  it('2. relabelling a cluster brings the objects to it, and takes them away', async () => {
    await rig.label('m4', { [PLACE_LABEL]: PLACE_VALUE });
    await within(20_000, async () => {
      expect(image(await rig.memberObject('m4', 'deployment', 'web', NS))).toBe(IMAGE);
      expect(clusterStatus(await web()).m4).toMatchObject({ status: 'Applied' });
    });
    await rig.label('m4', { [PLACE_LABEL]: 'batch' });
    await within(20_000, async () => {
      expect(await rig.memberObject('m4', 'deployment', 'web', NS)).toBeUndefined();
      expect(await rig.memberObject('m4', 'namespace', NS)).toBeUndefined();
      const m4 = clusterStatus(await web()).m4;
      if (m4) expect(m4.status).toBe('Removed');
    });
    // The others were not touched.
    for (const m of PLACED) expect([m, image(await rig.memberObject(m, 'deployment', 'web', NS))]).toEqual([m, m === 'm2' ? OVERRIDDEN_IMAGE : IMAGE]);
  }, 90_000);

  it('3. a change made directly in a member is repaired within seconds (the watch, not the 300 s comparison)', async () => {
    succeeded(await rig.kubectl('m1', ['set', 'image', 'deployment/web', 'web=evil:6.6', '-n', NS]));
    succeeded(await rig.kubectl('m3', ['delete', 'deployment', 'web', '-n', NS]));
    await within(15_000, async () => {
      expect(image(await rig.memberObject('m1', 'deployment', 'web', NS))).toBe(IMAGE);
      expect(image(await rig.memberObject('m3', 'deployment', 'web', NS))).toBe(IMAGE);
    });
    await within(10_000, async () => {
      const metrics = await rig.metrics();
      for (const m of ['m1', 'm3']) expect(metrics).toMatch(new RegExp(`flotilla_federation_drift_repairs_total\\{[^}]*cluster="${m}"[^}]*\\} [1-9]`));
    });
    await within(10_000, async () => {
      const related = (await events('federateddeployments', 'web')).filter((e) => /drift/i.test(`${e.reason} ${e.message}`)).map((e) => e.related?.name as string);
      expect(related).toEqual(expect.arrayContaining(['m1', 'm3']));
    });
  }, 60_000);

  it('4. a stopped member is named in status (ClusterNotReady) while the rest stay Applied; once it is back it converges', async () => {
    await rig.member('m3').down();
    const changed = await rig.expectCall(200, 'PATCH', fedPath('federateddeployments', 'web'), [{ op: 'replace', path: '/spec/template/spec/template/spec/containers/0/image', value: 'nginx:1.26' }], 'application/json-patch+json');
    const generation = changed.metadata.generation as number;
    await within(30_000, async () => {
      const byCluster = clusterStatus(await web());
      expect(byCluster.m3).toMatchObject({ reason: 'ClusterNotReady' });
      expect(byCluster.m3!.status).not.toBe('Applied');
      expect(byCluster.m1).toMatchObject({ status: 'Applied', generation });
      expect(byCluster.m2).toMatchObject({ status: 'Applied', generation });
      expect(image(await rig.memberObject('m1', 'deployment', 'web', NS))).toBe('nginx:1.26');
      expect(image(await rig.memberObject('m2', 'deployment', 'web', NS))).toBe(OVERRIDDEN_IMAGE);
    });
    await rig.member('m3').up();
    await within(40_000, async () => {
      expect(image(await rig.memberObject('m3', 'deployment', 'web', NS))).toBe('nginx:1.26');
      const fed = await web();
      expect(clusterStatus(fed).m3).toMatchObject({ status: 'Applied', generation });
      expect(condition(fed, 'Propagation')).toMatchObject({ status: 'True' });
    });
  }, 120_000);

  it('5. a delete with one member unreachable finishes in bounded time, reports an orphan (list and events), and cleans it when the member returns', async () => {
    const uid = (await web()).metadata.uid as string;
    await rig.member('m3').down();
    const deleted = await rig.expectCall(200, 'DELETE', fedPath('federateddeployments', 'web'));
    expect(deleted.metadata.deletionTimestamp).toEqual(expect.any(String));
    await within(30_000, async () => {
      expect(await rig.memberObject('m1', 'deployment', 'web', NS)).toBeUndefined();
      expect(await rig.memberObject('m2', 'deployment', 'web', NS)).toBeUndefined();
      expect((await rig.call('GET', fedPath('federateddeployments', 'web'))).status).toBe(404);
    });
    const orphans = await rig.expectCall(200, 'GET', `${CLUSTERS}/m3/orphans`);
    expect(orphans).toMatchObject({ apiVersion: 'federation.flotilla.io/v1alpha1', kind: 'OrphanList' });
    expect(orphans.items).toEqual([
      expect.objectContaining({
        kind: 'Orphan',
        metadata: expect.objectContaining({ name: expect.stringMatching(/^m3\.[0-9a-f]{16}$/), labels: { 'federation.flotilla.io/cluster': 'm3' } }),
        spec: expect.objectContaining({
          cluster: 'm3',
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          namespace: NS,
          name: 'web',
          federatedObject: { resource: 'federateddeployments.types.kubefed.io', namespace: NS, name: 'web', uid },
        }),
      }),
    ]);
    expect((await rig.expectCall(200, 'GET', `${CLUSTERS}/m1/orphans`)).items).toEqual([]);
    // An event on the federated object and one on the Cluster.
    expect((await events('federateddeployments', 'web')).filter((e) => e.reason === 'Orphaned' && e.related?.name === 'm3')).toHaveLength(1);
    const clusterEvents = (await rig.expectCall(200, 'GET', `${CLUSTERS}/m3/events`)).items as Json[];
    expect(clusterEvents.filter((e) => e.reason === 'Orphaned' && String(e.message).includes('web'))).not.toHaveLength(0);

    await rig.member('m3').up();
    await within(40_000, async () => {
      expect(await rig.memberObject('m3', 'deployment', 'web', NS)).toBeUndefined();
      expect((await rig.expectCall(200, 'GET', `${CLUSTERS}/m3/orphans`)).items).toEqual([]);
    });
  }, 120_000);

  it('6. an object already in a member is not adopted without federation.flotilla.io/adopt (Conflict), and is with it', async () => {
    succeeded(await rig.kubectl('m1', ['create', 'configmap', 'settings', '-n', NS, '--from-literal=mode=handmade']));
    await rig.expectCall(201, 'POST', fedPath('federatedconfigmaps'), federatedConfigMap());
    await within(20_000, async () => {
      const byCluster = clusterStatus(await rig.expectCall(200, 'GET', fedPath('federatedconfigmaps', 'settings')));
      expect(byCluster.m1).toMatchObject({ reason: 'Conflict' });
      expect(byCluster.m2).toMatchObject({ status: 'Applied' });
      expect((await rig.memberObject('m2', 'configmap', 'settings', NS))?.data).toEqual({ mode: 'federated' });
    });
    const untouched = await rig.memberObject('m1', 'configmap', 'settings', NS);
    expect(untouched?.data).toEqual({ mode: 'handmade' });
    expect(untouched?.metadata.labels?.[MANAGED_BY]).toBeUndefined();
    expect((await events('federatedconfigmaps', 'settings')).filter((e) => e.reason === 'Conflict' && e.related?.name === 'm1')).toHaveLength(1);

    await rig.expectCall(200, 'PATCH', fedPath('federatedconfigmaps', 'settings'), { metadata: { annotations: { 'federation.flotilla.io/adopt': 'true' } } }, 'application/merge-patch+json');
    await within(20_000, async () => {
      const adopted = await rig.memberObject('m1', 'configmap', 'settings', NS);
      expect(adopted?.data).toEqual({ mode: 'federated' });
      expect(adopted?.metadata.labels).toMatchObject({ [MANAGED_BY]: `${NS}.settings` });
      expect(clusterStatus(await rig.expectCall(200, 'GET', fedPath('federatedconfigmaps', 'settings'))).m1).toMatchObject({ status: 'Applied' });
    });
  }, 60_000);

  it('7. a FederatedSecret reaches its member, yet its data is in no answer, no last-applied-configuration and no Postgres column', async () => {
    const applied = succeeded(await rig.flotillaKubectl(['apply', '--validate=false', '-f', '-'], stringify(federatedSecret(secret.password, secret.token))));
    expect(applied).toContain('federatedsecret.types.kubefed.io/db-credentials created');
    await within(20_000, async () => {
      const s = await rig.memberObject('m1', 'secret', 'db-credentials', NS);
      expect(s?.data).toEqual({ password: Buffer.from(secret.password).toString('base64'), token: Buffer.from(secret.token).toString('base64') });
      expect(s?.metadata.labels).toMatchObject({ [MANAGED_BY]: `${NS}.db-credentials` });
      expect(clusterStatus(await rig.expectCall(200, 'GET', fedPath('federatedsecrets', 'db-credentials'))).m1).toMatchObject({ status: 'Applied' });
    });
    expect(await rig.memberObject('m2', 'secret', 'db-credentials', NS)).toBeUndefined();

    const shown = await rig.call('GET', fedPath('federatedsecrets', 'db-credentials'));
    expect(shown.status).toBe(200);
    expect(shown.json.spec.template.data).toBeUndefined();
    expect(shown.json.spec.template.stringData).toBeUndefined();
    expect(shown.json.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toEqual(expect.any(String));
    const listed = await rig.call('GET', '/apis/types.kubefed.io/v1beta1/federatedsecrets');
    expect([listed.status, listed.json.items?.map((i: Json) => i.metadata.name)]).toEqual([200, ['db-credentials']]);
    const got = succeeded(await rig.flotillaKubectl(['get', 'federatedsecret', 'db-credentials', '-n', NS, '-o', 'yaml']));
    expect(got).toContain('name: db-credentials');
    for (const needle of secretNeedles) {
      expect([needle, shown.text.includes(needle), listed.text.includes(needle), got.includes(needle)]).toEqual([needle, false, false, false]);
    }

    const pg = new Client({ connectionString: rig.platform.db.url });
    await pg.connect();
    try {
      // The rows exist (the scan below is not vacuous), in the log too.
      const rows = await pg.query(`SELECT (SELECT count(*)::int FROM objects WHERE resource = $1) AS objects, (SELECT count(*)::int FROM object_changes WHERE resource = $1) AS changes`, ['federatedsecrets.types.kubefed.io']);
      expect(rows.rows[0].objects).toBe(1);
      expect(rows.rows[0].changes).toBeGreaterThanOrEqual(1);
      for (const needle of secretNeedles) {
        const { tables, hits } = await columnsHolding(pg, needle);
        expect(tables).toEqual(expect.arrayContaining(['objects', 'object_changes']));
        expect([needle, hits]).toEqual([needle, []]);
      }
    } finally {
      await pg.end();
    }
  }, 60_000);

  it('8. a ReplicaSchedulingPreference divides 10 replicas 7/3 by weight, and moves them when a member goes NotReady', async () => {
    await rig.expectCall(201, 'POST', fedPath('federateddeployments'), API_DEPLOYMENT);
    await rig.expectCall(201, 'POST', `${SCHEDULING}/namespaces/${NS}/replicaschedulingpreferences`, API_PREFERENCE);
    const replicas = async (m: Member) => (await rig.memberObject(m, 'deployment', 'api', NS))?.spec?.replicas as number | undefined;
    await within(20_000, async () => expect({ m1: await replicas('m1'), m2: await replicas('m2') }).toEqual({ m1: 7, m2: 3 }));

    await rig.member('m2').down();
    await rig.waitReady('m2', 'False');
    await within(30_000, async () => expect(await replicas('m1')).toBe(10));

    await rig.member('m2').up();
    await rig.waitReady('m2', 'True');
    await within(30_000, async () => expect({ m1: await replicas('m1'), m2: await replicas('m2') }).toEqual({ m1: 7, m2: 3 }));
  }, 120_000);

  it("9. no service's output (debug level, the whole run) holds the FederatedSecret's data", () => {
    const logs = rig.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain('federation-sync');
    for (const needle of secretNeedles) expect([needle, logs.includes(needle)]).toEqual([needle, false]);
  });
});
