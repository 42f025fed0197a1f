/**
 * The emulated workload status controllers, over real HTTPS: Deployments, StatefulSets and
 * DaemonSets become ready after the configured delay (or fail when told to), Jobs complete or
 * exceed their backoff limit, a scale runs the controller again, and status writes are ordinary
 * writes (new resourceVersion, watch events). The control endpoint's `workloads` action too.
 */
import { type JsonObject, type JsonValue } from '@flotilla/apply';
import { request } from 'node:http';
import { eventually } from '@flotilla/testing';
import { startControlServer, type ControlServer } from './control';
import { KubeEmulator, type ClusterHandle } from './emulator';
import { rawRequest, type RawResponse } from './testing/http-client';

interface Workload extends JsonObject {
  metadata: JsonObject & { generation: number; resourceVersion: string };
  status: JsonObject & { conditions?: Array<Record<string, string>> };
}

const labels = { app: 'web' };
const podTemplate = { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } };
const deployment = (name: string, replicas: number): JsonObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas, selector: { matchLabels: labels }, template: podTemplate } });

describe('workload status controllers', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  let control: ControlServer;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ workloads: { readyDelayMs: 300 } });
    c = await emu.addCluster({ name: 'w1', flavour: 'kubeadm', nodes: [{ name: 'n1', zone: 'z1', region: 'r1' }, { name: 'n2', zone: 'z2', region: 'r1' }] });
    control = await startControlServer(emu);
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  });
  afterAll(async () => {
    await control.close();
    await emu.stop();
  });
  afterEach(() => c.setWorkloads({ fail: false, readyDelayMs: 300 }));

  function call(method: string, path: string, body?: JsonValue, contentType?: string): Promise<RawResponse> {
    return rawRequest(c.server, c.caPem, { method, path, token: c.tokens.admin, body, contentType });
  }
  const get = async (path: string): Promise<Workload> => (await call('GET', path)).json as Workload;
  const condition = (w: Workload, type: string): Record<string, string> | undefined => w.status.conditions?.find((x) => x.type === type);

  test('a Deployment is observed at once, then ready after the delay, with the real controller status', async () => {
    const path = '/apis/apps/v1/namespaces/apps/deployments';
    const created = await call('POST', path, deployment('web', 3));
    expect(created.status).toBe(201);
    const startRv = String((created.json as Workload).metadata.resourceVersion);
    const watch = rawRequest(c.server, c.caPem, {
      method: 'GET',
      path: `${path}?watch=true&resourceVersion=${startRv}`,
      token: c.tokens.admin,
      stream: { until: (t) => t.includes('NewReplicaSetAvailable') },
    });
    const progressing = await eventually(async () => {
      const w = await get(`${path}/web`);
      expect(w.status.observedGeneration).toBe(1);
      return w;
    });
    // the first sync: not yet available (only possible while the delay runs)
    if (progressing.status.readyReplicas === undefined) {
      expect(progressing.status).toMatchObject({ replicas: 3, updatedReplicas: 3, unavailableReplicas: 3 });
      expect(condition(progressing, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
      expect(condition(progressing, 'Progressing')).toMatchObject({ status: 'True', reason: 'ReplicaSetUpdated' });
    }
    const ready = await eventually(async () => {
      const w = await get(`${path}/web`);
      expect(w.status.readyReplicas).toBe(3);
      return w;
    });
    expect(Object.keys(ready.status)).toEqual(['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'conditions']);
    expect(ready.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(ready.status.conditions?.map((x) => x.type)).toEqual(['Available', 'Progressing']);
    expect(condition(ready, 'Available')).toEqual({
      type: 'Available',
      status: 'True',
      lastUpdateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      lastTransitionTime: expect.any(String),
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    });
    expect(condition(ready, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: expect.stringMatching(/^ReplicaSet "web-[a-z0-9]{10}" has successfully progressed\.$/) });
    // status writes are writes: generation unchanged, a newer resourceVersion, managed by kube-controller-manager on the status subresource
    expect(ready.metadata.generation).toBe(1);
    expect(Number(ready.metadata.resourceVersion)).toBeGreaterThan(Number(startRv));
    const statusEntry = (ready.metadata.managedFields as JsonObject[]).find((e) => e.manager === 'kube-controller-manager');
    expect(statusEntry).toMatchObject({ operation: 'Update', apiVersion: 'apps/v1', subresource: 'status' });
    const statusFields = ((statusEntry?.fieldsV1 as JsonObject)['f:status'] ?? {}) as JsonObject;
    expect(Object.keys(statusFields)).toEqual(expect.arrayContaining(['f:observedGeneration', 'f:readyReplicas', 'f:conditions']));
    expect(Object.keys(statusFields['f:conditions'] as JsonObject)).toEqual(expect.arrayContaining(['k:{"type":"Available"}', 'k:{"type":"Progressing"}']));
    const events = (await watch).text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: Workload });
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.every((e) => e.type === 'MODIFIED')).toBe(true);
    expect(events.at(-1)?.object.status.readyReplicas).toBe(3);
  });

  test('a scale (spec.replicas) runs the controller again', async () => {
    const path = '/apis/apps/v1/namespaces/apps/deployments/web';
    await eventually(async () => expect((await get(path)).status.readyReplicas).toBe(3));
    const scaled = await call('PATCH', `${path}/scale`, { spec: { replicas: 5 } }, 'application/merge-patch+json');
    expect(scaled.status).toBe(200);
    const w = await eventually(async () => {
      const x = await get(path);
      expect(x.status).toMatchObject({ observedGeneration: 2, replicas: 5, readyReplicas: 5, availableReplicas: 5 });
      return x;
    });
    expect(w.metadata.generation).toBe(2);
  });

  test('a Deployment told to fail exceeds its progress deadline with too few ready replicas; recovering makes it ready', async () => {
    c.setWorkloads({ fail: ['apps/stuck'] });
    await call('POST', '/apis/apps/v1/namespaces/apps/deployments', deployment('stuck', 2));
    const failed = await eventually(async () => {
      const w = await get('/apis/apps/v1/namespaces/apps/deployments/stuck');
      expect(condition(w, 'Progressing')?.reason).toBe('ProgressDeadlineExceeded');
      return w;
    });
    expect(failed.status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, unavailableReplicas: 2 });
    expect(failed.status.readyReplicas).toBeUndefined();
    expect(condition(failed, 'Progressing')).toMatchObject({ status: 'False', message: expect.stringMatching(/^ReplicaSet "stuck-[a-z0-9]{10}" has timed out progressing\.$/) });
    expect(condition(failed, 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
    // the other deployment is not named: unaffected
    expect((await get('/apis/apps/v1/namespaces/apps/deployments/web')).status.readyReplicas).toBe(5);
    c.setWorkloads({ fail: false });
    await eventually(async () => {
      const w = await get('/apis/apps/v1/namespaces/apps/deployments/stuck');
      expect(w.status.readyReplicas).toBe(2);
      expect(condition(w, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    });
  });

  test('StatefulSet: replicas, readyReplicas, currentReplicas, updatedReplicas, availableReplicas, revisions', async () => {
    await call('POST', '/apis/apps/v1/namespaces/apps/statefulsets', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: labels }, template: podTemplate } });
    const s = await eventually(async () => {
      const w = await get('/apis/apps/v1/namespaces/apps/statefulsets/db');
      expect(w.status.readyReplicas).toBe(2);
      return w;
    });
    expect(Object.keys(s.status)).toEqual(['observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'currentRevision', 'updateRevision', 'collisionCount', 'availableReplicas']);
    expect(s.status).toMatchObject({ observedGeneration: 1, replicas: 2, currentReplicas: 2, updatedReplicas: 2, availableReplicas: 2, collisionCount: 0 });
    expect(s.status.currentRevision).toMatch(/^db-[a-z0-9]{10}$/);
    expect(s.status.updateRevision).toBe(s.status.currentRevision);
    await call('PATCH', '/apis/apps/v1/namespaces/apps/statefulsets/db', { spec: { replicas: 4 } }, 'application/merge-patch+json');
    await eventually(async () => expect((await get('/apis/apps/v1/namespaces/apps/statefulsets/db')).status).toMatchObject({ observedGeneration: 2, replicas: 4, readyReplicas: 4 }));
  });

  test('DaemonSet: desiredNumberScheduled is the node count (following nodes), numberReady after the delay', async () => {
    await call('POST', '/apis/apps/v1/namespaces/apps/daemonsets', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: labels }, template: podTemplate } });
    const path = '/apis/apps/v1/namespaces/apps/daemonsets/agent';
    const d = await eventually(async () => {
      const w = await get(path);
      expect(w.status.numberReady).toBe(2);
      return w;
    });
    expect(d.status).toEqual({ currentNumberScheduled: 2, numberMisscheduled: 0, desiredNumberScheduled: 2, numberReady: 2, observedGeneration: 1, updatedNumberScheduled: 2, numberAvailable: 2 });
    c.addNode({ name: 'n3', zone: 'z3', region: 'r1' });
    await eventually(async () => expect((await get(path)).status).toMatchObject({ desiredNumberScheduled: 3, numberReady: 3, numberAvailable: 3 }));
    c.setWorkloads({ fail: ['agent'] });
    await eventually(async () => expect((await get(path)).status).toMatchObject({ desiredNumberScheduled: 3, numberReady: 0, numberUnavailable: 3 }));
  });

  test('Jobs complete (succeeded + Complete) or fail (Failed, BackoffLimitExceeded)', async () => {
    const job = (name: string): JsonObject => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name }, spec: { completions: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'busybox' }] } } } });
    c.setWorkloads({ fail: ['bad'] });
    await call('POST', '/apis/batch/v1/namespaces/apps/jobs', job('good'));
    await call('POST', '/apis/batch/v1/namespaces/apps/jobs', job('bad'));
    const good = await eventually(async () => {
      const w = await get('/apis/batch/v1/namespaces/apps/jobs/good');
      expect(w.status.succeeded).toBe(2);
      return w;
    });
    expect(Object.keys(good.status)).toEqual(['conditions', 'startTime', 'completionTime', 'succeeded', 'uncountedTerminatedPods', 'ready']);
    expect(good.status.conditions).toEqual([{ type: 'Complete', status: 'True', lastProbeTime: expect.any(String), lastTransitionTime: expect.any(String) }]);
    const bad = await eventually(async () => {
      const w = await get('/apis/batch/v1/namespaces/apps/jobs/bad');
      expect(w.status.failed).toBe(7);
      return w;
    });
    expect(bad.status.conditions).toEqual([expect.objectContaining({ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' })]);
    expect(bad.status.completionTime).toBeUndefined();
    // a finished Job stays as it is when the options change
    c.setWorkloads({ fail: false });
    await eventually(async () => expect((await get('/apis/apps/v1/namespaces/apps/daemonsets/agent')).status.numberReady).toBe(3));
    expect((await get('/apis/batch/v1/namespaces/apps/jobs/bad')).status.failed).toBe(7);
  });

  test('the control endpoint sets the options and refuses bad ones naming the field', async () => {
    const post = (path: string, body: unknown): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${control.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    expect(await post('/clusters/w1/workloads', { readyDelayMs: -5 })).toEqual({ status: 400, body: expect.stringContaining('workloads.readyDelayMs') });
    expect(await post('/clusters/w1/workloads', { fail: 'web' })).toEqual({ status: 400, body: expect.stringContaining('workloads.fail') });
    expect((await post('/clusters/w1/workloads', { fail: ['web'], readyDelayMs: 10 })).status).toBe(200);
    await eventually(async () => expect(condition(await get('/apis/apps/v1/namespaces/apps/deployments/web'), 'Progressing')?.reason).toBe('ProgressDeadlineExceeded'));
  });

  test('a cluster started with controllers off keeps status {} like a server without kube-controller-manager, until enabled', async () => {
    const off = await emu.addCluster({ name: 'w-off', workloads: { enabled: false, readyDelayMs: 0 } });
    const offPath = '/apis/apps/v1/namespaces/default/deployments';
    const offGet = async (): Promise<Workload> => (await rawRequest(off.server, off.caPem, { method: 'GET', path: `${offPath}/idle`, token: off.tokens.admin })).json as Workload;
    expect((await rawRequest(off.server, off.caPem, { method: 'POST', path: offPath, token: off.tokens.admin, body: deployment('idle', 1) })).status).toBe(201);
    // the same write on a cluster whose controllers run (no delay): once it is ready there, `off` had the same chance
    c.setWorkloads({ readyDelayMs: 0 });
    await call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('idle', 1));
    await eventually(async () => expect((await get('/apis/apps/v1/namespaces/default/deployments/idle')).status.readyReplicas).toBe(1));
    expect((await offGet()).status).toEqual({});
    off.setWorkloads({ enabled: true });
    await eventually(async () => expect((await offGet()).status.readyReplicas).toBe(1));
  });
});
