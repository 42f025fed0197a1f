/**
 * The streaming subresources driven by a real kubectl v1.33.9: logs -f, exec, attach and
 * port-forward, over WebSocket (kubectl's default) and over SPDY/3.1 (forced by environment).
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { eventually } from '@flotilla/testing';
import { KubeEmulator, type ClusterHandle } from './emulator';
import { ensureKubectl, kubectl, kubectlSpawn, writeKubeconfig } from './kubectl';

const SPDY = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
const WEBSOCKET = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'true', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'true' };

const POD = `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: streams}
spec:
  containers:
  - name: app
    image: nginx:1.27
    env: [{name: GREETING, value: hello}]
`;

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (code) => r(code))));

/** Sends `text` to a local port and resolves with everything read back until the server closes. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.write(text);
  });
}

describe('streaming subresources with a real kubectl', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  let kc: string;
  let upper: Server;
  const k = (args: string[], o: { input?: string; env?: Record<string, string> } = {}): ReturnType<typeof kubectl> => kubectl(args, { kubeconfig: kc, timeoutMs: 20_000, ...o });

  beforeAll(async () => {
    await ensureKubectl();
    emu = await KubeEmulator.start();
    c = await emu.addCluster({ flavour: 'eks' });
    kc = writeKubeconfig(c.kubeconfig('admin'));
    // An upper-casing echo server stands for the container's process on pod port 8080.
    upper = createServer((s) => s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase())));
    await new Promise<void>((r) => upper.listen(0, '127.0.0.1', () => r()));
    expect((await k(['create', 'namespace', 'streams'])).code).toBe(0);
    expect((await k(['apply', '-f', '-'], { input: POD })).code).toBe(0);
    await eventually(async () => expect((await k(['-n', 'streams', 'get', 'pod', 'web', '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Running'));
    c.setPortTarget('streams', 'web', 8080, { port: (upper.address() as { port: number }).port });
  });
  afterAll(async () => {
    upper?.close();
    await emu?.stop();
  });

  test('logs, then logs -f receives lines appended after it started, and ends when the pod goes', async () => {
    c.appendLog('streams', 'web', 'first line\nsecond line');
    const r = await k(['-n', 'streams', 'logs', 'web', '--tail=1']);
    expect(r).toMatchObject({ code: 0, stdout: 'second line\n' });
    const ts = await k(['-n', 'streams', 'logs', 'web', '--timestamps']);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z first line\n/);

    await k(['apply', '-f', '-'], { input: POD.replace('name: web', 'name: tail') });
    const follower = await kubectlSpawn(['-n', 'streams', 'logs', '-f', 'tail'], { kubeconfig: kc });
    const got = collect(follower);
    c.appendLog('streams', 'tail', 'before');
    await eventually(() => expect(got.out()).toBe('before\n'));
    c.appendLog('streams', 'tail', 'live one');
    c.appendLog('streams', 'tail', 'live two', { container: 'app' });
    await eventually(() => expect(got.out()).toBe('before\nlive one\nlive two\n'));
    expect((await k(['-n', 'streams', 'delete', 'pod', 'tail', '--wait=false'])).code).toBe(0);
    expect(await exited(follower)).toBe(0);
  });

  for (const [transport, env, kind] of [
    ['WebSocket', WEBSOCKET, 'websocket'],
    ['SPDY/3.1', SPDY, 'spdy'],
  ] as const) {
    test(`exec over ${transport}: stdin round trip, exit codes, stderr, env`, async () => {
      const before = c.streamConnections().length;
      const cat = await k(['-n', 'streams', 'exec', '-i', 'web', '--', 'cat'], { input: 'line one\nline two\n', env });
      expect(cat).toMatchObject({ code: 0, stdout: 'line one\nline two\n' });
      const exit3 = await k(['-n', 'streams', 'exec', 'web', '--', 'sh', '-c', 'exit 3'], { env });
      expect(exit3.code).toBe(3);
      expect(exit3.stderr).toContain('command terminated with exit code 3');
      const echo = await k(['-n', 'streams', 'exec', 'web', '-c', 'app', '--', 'echo', 'hi', 'there'], { env });
      expect(echo).toMatchObject({ code: 0, stdout: 'hi there\n' });
      const unknown = await k(['-n', 'streams', 'exec', 'web', '--', 'nope'], { env });
      expect(unknown.code).toBe(127);
      expect(unknown.stderr).toContain('executable file not found');
      const envOut = await k(['-n', 'streams', 'exec', 'web', '--', 'env'], { env });
      expect(envOut.stdout).toContain('GREETING=hello\n');
      const used = c.streamConnections().slice(before);
      expect(used).toHaveLength(5);
      expect(used.every((r) => r.subresource === 'exec' && r.transport === kind && r.protocol === 'v5.channel.k8s.io')).toBe(true);
    });

    test(`attach over ${transport}: stdin comes back as the container's output`, async () => {
      const r = await k(['-n', 'streams', 'attach', '-i', 'web'], { input: `attached via ${transport}\n`, env });
      expect(r.stdout).toContain(`attached via ${transport}\n`);
      expect(r.code).toBe(0);
      expect((await k(['-n', 'streams', 'logs', 'web'])).stdout).toContain(`attached via ${transport}\n`);
      expect(c.streamConnections().at(-1)).toMatchObject({ subresource: 'attach', transport: kind });
    });

    test(`port-forward over ${transport} carries bytes both ways, to the registered target and to the echo`, async () => {
      const started = new Date();
      const pf = await kubectlSpawn(['-n', 'streams', 'port-forward', 'pod/web', '0:8080', '0:9090'], { kubeconfig: kc, env });
      const got = collect(pf);
      try {
        const ports = await eventually(() => {
          const m = [...got.out().matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)];
          expect(m.length).toBe(2);
          return Object.fromEntries(m.map((x) => [x[2], Number(x[1])]));
        });
        expect(await roundTrip(ports['8080'], 'shout this')).toBe('SHOUT THIS');
        expect(await roundTrip(ports['9090'], 'echo me')).toBe('echo me');
        const big = 'x'.repeat(200_000);
        expect(await roundTrip(ports['9090'], big)).toBe(big);
      } finally {
        pf.kill('SIGTERM');
        await exited(pf);
      }
      expect(got.err()).not.toContain('error');
      const used = c.streamConnections().filter((r) => r.subresource === 'portforward');
      expect(used.at(-1)).toEqual(expect.objectContaining({ transport: kind, protocol: kind === 'spdy' ? 'portforward.k8s.io' : 'SPDY/3.1+portforward.k8s.io' }));
      expect(used.filter((r) => r.at >= started)).toHaveLength(1); // no fallback: one upgrade, the intended one
    });
  }
});
