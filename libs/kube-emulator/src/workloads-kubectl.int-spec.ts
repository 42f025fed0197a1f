/**
 * A real kubectl v1.33.9 sees the emulated workload controllers as it sees kube-controller-manager:
 * `rollout status` waits for readiness and reports success (or the exceeded progress deadline),
 * `get deploy` shows READY 3/3, `wait --for=condition=complete` returns for a Job.
 */
import { KubeEmulator, type ClusterHandle } from './emulator';
import { ensureKubectl, kubectl, writeKubeconfig } from './kubectl';

const deployment = (name: string, replicas: number): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: apps}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: web, image: 'nginx:1.25'}]}
`;

describe('kubectl and the workload status controllers', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  let kc: string;
  const k = (args: string[], input?: string): ReturnType<typeof kubectl> => kubectl(args, { kubeconfig: kc, input, timeoutMs: 30_000 });

  beforeAll(async () => {
    await ensureKubectl();
    // Replicas stay unready until a test shortens the delay: no race with kubectl's start-up time.
    emu = await KubeEmulator.start({ workloads: { readyDelayMs: 600_000 } });
    c = await emu.addCluster({ flavour: 'kubeadm' });
    kc = writeKubeconfig(c.kubeconfig('admin'));
    await k(['create', 'namespace', 'apps']);
  });
  afterAll(async () => emu.stop());

  test('rollout status waits while replicas are unready and succeeds once they are; get deploy shows READY 3/3', async () => {
    expect(await k(['apply', '-f', '-'], deployment('web', 3))).toMatchObject({ code: 0, stdout: 'deployment.apps/web created\n' });
    const waiting = await k(['-n', 'apps', 'rollout', 'status', 'deployment/web', '--timeout=2s']);
    expect(waiting.code).not.toBe(0);
    expect(waiting.stdout).toContain('Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are available...');
    c.setWorkloads({ readyDelayMs: 100 }); // re-runs every workload
    const rollout = await k(['-n', 'apps', 'rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(rollout).toMatchObject({ code: 0, stdout: expect.stringContaining('deployment "web" successfully rolled out') });
    const got = await k(['-n', 'apps', 'get', 'deploy', 'web']);
    expect(got.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+3\/3\s+3\s+3\s+/);
  });

  test('kubectl scale runs the controller again', async () => {
    c.setWorkloads({ readyDelayMs: 200 });
    expect((await k(['-n', 'apps', 'scale', 'deployment/web', '--replicas=5'])).code).toBe(0);
    expect((await k(['-n', 'apps', 'rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    expect((await k(['-n', 'apps', 'get', 'deploy', 'web'])).stdout).toMatch(/\nweb\s+5\/5\s+5\s+5\s+/);
  });

  test('a failing deployment: rollout status reports the exceeded progress deadline', async () => {
    c.setWorkloads({ readyDelayMs: 200, fail: ['stuck'] });
    expect((await k(['apply', '-f', '-'], deployment('stuck', 2))).code).toBe(0);
    const r = await k(['-n', 'apps', 'rollout', 'status', 'deployment/stuck', '--timeout=20s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('error: deployment "stuck" exceeded its progress deadline');
    expect((await k(['-n', 'apps', 'get', 'deploy', 'stuck'])).stdout).toMatch(/\nstuck\s+0\/2\s+2\s+0\s+/);
  });

  test('statefulset and daemonset rollouts, a Job waited for until complete', async () => {
    c.setWorkloads({ readyDelayMs: 200, fail: false });
    const sts = deployment('db', 2).replace('kind: Deployment', 'kind: StatefulSet').replace('  replicas: 2', '  replicas: 2\n  serviceName: db');
    expect((await k(['apply', '-f', '-'], sts)).code).toBe(0);
    expect(await k(['-n', 'apps', 'rollout', 'status', 'statefulset/db', '--timeout=20s'])).toMatchObject({ code: 0, stdout: expect.stringContaining('partitioned roll out complete: 2 new pods have been updated...') });
    const ds = deployment('agent', 1).replace('kind: Deployment', 'kind: DaemonSet').replace('  replicas: 1\n', '');
    expect((await k(['apply', '-f', '-'], ds)).code).toBe(0);
    expect(await k(['-n', 'apps', 'rollout', 'status', 'daemonset/agent', '--timeout=20s'])).toMatchObject({ code: 0, stdout: expect.stringContaining('daemon set "agent" successfully rolled out') });
    // (apply: `kubectl create job` sends protobuf, which the emulator takes only for a few kinds)
    const job = 'apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: apps}\nspec:\n  template:\n    spec: {restartPolicy: Never, containers: [{name: x, image: busybox}]}\n';
    expect((await k(['apply', '-f', '-'], job)).code).toBe(0);
    expect(await k(['-n', 'apps', 'wait', '--for=condition=complete', 'job/once', '--timeout=20s'])).toMatchObject({ code: 0, stdout: 'job.batch/once condition met\n' });
    expect((await k(['-n', 'apps', 'get', 'job', 'once'])).stdout).toMatch(/\nonce\s+1\/1\s+/);
  });
});
