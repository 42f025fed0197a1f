/**
 * The streaming wire protocols without kubectl: the WebSocket channel form of port-forward
 * (`v4.channel.k8s.io`, `?ports=`), exec over v4 channels, and the Status answers given before
 * any upgrade (no upgrade, unknown pod, bad options, no negotiable protocol, RBAC).
 */
import { request } from 'node:https';
import { WebSocket } from 'ws';
import { eventually } from '@flotilla/testing';
import { KubeEmulator, type ClusterHandle } from './emulator';

describe('streaming protocols on the wire', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  const base = (): string => `wss://127.0.0.1:${c.port}/api/v1/namespaces/default/pods`;
  const open = (path: string, protocols: string[], token = c.tokens.admin): WebSocket =>
    new WebSocket(`${base()}/${path}`, protocols, { ca: c.caPem, headers: { Authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    emu = await KubeEmulator.start();
    c = await emu.addCluster({ flavour: 'eks' });
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } });
    await new Promise<void>((resolve, reject) => {
      const r = request(`${c.server}/api/v1/namespaces/default/pods`, { method: 'POST', ca: c.caPem, headers: { Authorization: `Bearer ${c.tokens.admin}`, 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(String(res.statusCode)))));
      });
      r.end(body);
    });
  });
  afterAll(async () => emu?.stop());

  test('port-forward over WebSocket channels: port prefixes, data both ways', async () => {
    const ws = open('p/portforward?ports=9090', ['v4.channel.k8s.io']);
    const messages: Buffer[] = [];
    ws.on('message', (d: Buffer) => messages.push(d));
    await new Promise((r) => ws.once('open', r));
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    // each channel starts with the port, little-endian
    await eventually(() => expect(messages.slice(0, 2).map((m) => m.toString('hex'))).toEqual(['00822300'.slice(0, 6), '01822300'.slice(0, 6)])); // 9090 = 0x2382
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping over channels')]));
    await eventually(() => expect(Buffer.concat(messages.slice(2).filter((m) => m[0] === 0).map((m) => m.subarray(1))).toString()).toBe('ping over channels'));
    ws.close();
  });

  test('exec over v4.channel.k8s.io: output channels and the final Status', async () => {
    const ws = open('p/exec?container=b&command=sh&command=-c&command=echo%20out%3B%20nope%3B%20exit%205&stdout=true&stderr=true', ['v4.channel.k8s.io']);
    const byChannel: Record<number, string> = {};
    ws.on('message', (d: Buffer) => (byChannel[d[0]] = (byChannel[d[0]] ?? '') + d.subarray(1).toString()));
    await new Promise((r) => ws.once('close', r));
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    expect(byChannel[1]).toBe('out\n');
    expect(byChannel[2]).toContain('exec: "nope": executable file not found in $PATH');
    expect(JSON.parse(byChannel[3])).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c echo out; nope; exit 5], exit code 5',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '5' }] },
    });
    expect(c.streamConnections().at(-1)).toMatchObject({ subresource: 'exec', transport: 'websocket', protocol: 'v4.channel.k8s.io' });
  });

  test('refusals come back as Status answers before any upgrade', async () => {
    const refusal = (ws: WebSocket): Promise<{ code: number; body: string }> =>
      new Promise((resolve) =>
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        }),
      );
    const noContainer = await refusal(open('p/exec?command=true&stdout=true', ['v5.channel.k8s.io']));
    expect(noContainer).toMatchObject({ code: 400 });
    expect(JSON.parse(noContainer.body).message).toBe('a container name must be specified for pod p, choose one of: [a b]');
    const missing = await refusal(open('nope/exec?container=a&command=true&stdout=true', ['v5.channel.k8s.io']));
    expect(JSON.parse(missing.body)).toMatchObject({ code: 404, message: 'pods "nope" not found' });
    const noStreams = await refusal(open('p/exec?container=a&command=true', ['v5.channel.k8s.io']));
    expect(JSON.parse(noStreams.body).message).toBe('you must specify at least 1 of stdin, stdout, stderr');
    const oldProtocol = await refusal(open('p/exec?container=a&command=true&stdout=true', ['v3.channel.k8s.io']));
    expect(JSON.parse(oldProtocol.body).message).toContain('unable to negotiate protocol');
    // (the readonly user's `get` on `*` covers pods/exec, so a WebSocket exec, a GET, is allowed
    // to it, as on kube-apiserver before v1.35: the denial is shown with the noaccess user)
    const denied = await refusal(open('p/exec?container=a&command=true&stdout=true', ['v5.channel.k8s.io'], c.tokens.noaccess));
    expect(JSON.parse(denied.body)).toMatchObject({ code: 403, message: 'pods "p" is forbidden: User "flotilla-noaccess" cannot get resource "pods/exec" in API group "" in the namespace "default"' });
    const noUpgrade = await fetchStatus(`${c.server}/api/v1/namespaces/default/pods/p/exec?container=a&command=true&stdout=true`, 'POST');
    expect(noUpgrade).toMatchObject({ code: 400, message: 'Upgrade request required' });
  });

  /** A plain request (no upgrade), answered with a Status. */
  function fetchStatus(url: string, method: string): Promise<{ code: number; message: string }> {
    return new Promise((resolve, reject) => {
      const r = request(url, { method, ca: c.caPem, headers: { Authorization: `Bearer ${c.tokens.admin}` } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body) as { code: number; message: string }));
      });
      r.on('error', reject);
      r.end();
    });
  }
});
